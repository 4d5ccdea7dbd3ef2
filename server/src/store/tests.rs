//! The store's SQL against a real in-memory database.

use proptest::prelude::*;
use rusqlite::Connection;

use super::changes::apply;
use super::queries::{before, match_expression, prune, search, Scope};
use super::schema::migrate;
use super::Retention;
use crate::action::{Action, Actor, Change, Event, React, Say};
use crate::model::{ChatMessage, User, GENERAL};

/// The change that stores `message` as it is.
fn said(message: ChatMessage) -> Change {
    Change {
        ts: message.ts,
        action: Action::Say(Say {
            id: message.id,
            ..Say::text(message.text)
        }),
        by: Actor::Person(message.from),
    }
}

fn database(texts: &[&str]) -> Connection {
    let mut conn = Connection::open_in_memory().expect("in memory");
    migrate(&mut conn).expect("migrates");
    let messages: Vec<ChatMessage> = (1..)
        .zip(texts)
        .map(|(id, text)| {
            let ann = User {
                id: 1,
                uid: "ann".into(),
                name: "Ann".into(),
            };
            ChatMessage::plain(id, ann, (*text).into(), id * 1000)
        })
        .collect();
    let tx = conn.transaction().expect("transaction");
    for message in messages {
        apply(&tx, said(message))
            .expect("inserts")
            .expect("accepted");
    }
    tx.commit().expect("commits");
    conn
}

#[test]
fn words_become_quoted_phrases_the_last_maybe_a_prefix() {
    assert_eq!(match_expression("  ", true), None);
    assert_eq!(match_expression("(( ** --", true), None);
    assert_eq!(
        match_expression("a\"b OR (c", true),
        Some("\"a\"\"b\" \"OR\" \"(c\"*".into())
    );
    assert_eq!(match_expression("a b", false), Some("\"a\" \"b\"".into()));
}

#[test]
fn a_page_that_would_exceed_its_byte_budget_is_cut_from_the_far_end() {
    let big = "x".repeat(1000);
    let conn = database(&[&big, &big, &big, "small"]);
    let page = before(&conn, GENERAL, 100, 10, 2000).expect("page");
    let ids: Vec<u64> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, [3, 4], "the messages nearest `before` stay");
    assert!(page.more);
}

#[test]
fn retention_by_count_and_age_takes_the_stricter() {
    let mut conn = database(&["a", "b", "c", "d", "e"]);
    let retention = Retention {
        max_messages: Some(4),
        max_age: Some(std::time::Duration::from_secs(2)),
    };
    // Now is 5 s: messages at 1..5 s; by age keep ts >= 3 s (ids 3..5).
    let first_kept = prune(&mut conn, retention, std::time::Duration::from_secs(5));
    assert_eq!(first_kept.expect("prunes"), Some(3));
    let left: i64 = conn
        .query_row("SELECT count(*) FROM messages_fts", [], |r| r.get(0))
        .expect("count");
    assert_eq!(left, 3, "the index follows");
}

proptest! {
    #[test]
    fn any_typed_search_is_a_valid_query(typed in "\\PC{0,40}|[\"()*:^+\\-{} ANDORNEAR]{0,20}") {
        let conn = database(&["hello world", "(quoted) \"text\" * NEAR"]);
        prop_assert!(search(&conn, &typed, &general(), 10, 1 << 20).is_ok());
    }
}

#[test]
fn a_version_1_conversation_migrates_and_keeps_its_messages() {
    let mut conn = Connection::open_in_memory().expect("in memory");
    conn.execute_batch(super::schema::MIGRATIONS[0])
        .expect("version 1");
    conn.pragma_update(None, "user_version", 1)
        .expect("version");
    conn.execute(
        "INSERT INTO messages (id, ts, user_id, user_name, text) VALUES (7, 1, 3, 'Ann', 'old words')",
        [],
    )
    .expect("an old message");
    migrate(&mut conn).expect("migrates to the current version");
    let page = before(&conn, GENERAL, i64::MAX as u64, 10, 1 << 20).expect("reads");
    let old = &page.messages[0];
    assert_eq!(
        (old.id, old.text.as_str(), old.from.name.as_str()),
        (7, "old words", "Ann")
    );
    assert_eq!(
        old.from.uid, "",
        "nobody owns a message from before identities"
    );
    assert!(old.reply_to.is_none() && !old.deleted && old.edited_ts.is_none());
    assert_eq!(
        search(&conn, "old", &general(), 10, 1 << 20)
            .expect("searches")
            .len(),
        1
    );
}

#[test]
fn an_export_across_several_chunks_keeps_every_message_and_its_reactions() {
    let texts: Vec<String> = (1..=600).map(|i| format!("message {i}")).collect();
    let mut conn = database(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    let tx = conn.transaction().expect("transaction");
    for id in [1, 256, 257, 600] {
        let user = User {
            id: 2,
            uid: "bob".into(),
            name: "Bob".into(),
        };
        let emoji = "👍".to_owned();
        let react = Change {
            by: Actor::Person(user),
            ts: 1,
            action: Action::React(React { id, emoji }),
        };
        apply(&tx, react).expect("reacts").expect("accepted");
    }
    tx.commit().expect("commits");
    let mut out = Vec::new();
    let count = super::write_conversation(&conn, super::ExportFormat::Json, false, &mut out)
        .expect("exports");
    assert_eq!(count, 600);
    let exported: super::Exported = serde_json::from_slice(&out).expect("JSON");
    let reacted: Vec<u64> = exported
        .messages
        .iter()
        .filter(|m| !m.reactions.is_empty())
        .map(|m| m.id)
        .collect();
    assert_eq!(reacted, [1, 256, 257, 600]);
}

/// Delivers nothing; records, for each committed message, whether another
/// connection to the same file could already read it at that moment.
struct Witness {
    reader: std::sync::Mutex<Connection>,
    seen: std::sync::mpsc::Sender<(u32, bool)>,
}

impl super::Observer<u32> for Witness {
    fn committed(&self, batch: Vec<(Result<Event, super::changes::Rejected>, u32)>) {
        let reader = self.reader.lock().expect("reader");
        for (outcome, ticket) in batch {
            if let Ok(Event::Said(message)) = outcome {
                let stored: i64 = reader
                    .query_row(
                        "SELECT count(*) FROM messages WHERE id = ?1",
                        [message.id],
                        |row| row.get(0),
                    )
                    .expect("reads");
                let _ = self.seen.send((ticket, stored == 1));
            }
        }
    }

    fn failed(&self, _batch: Vec<u32>, _err: super::StorageError) {}

    fn pruned(&self, _first_kept: u64) {}
}

/// Issue 23.16b: "nobody receives what is not stored", checked without a
/// race. The observer (which delivers in the room) is handed a batch only
/// once another connection can read it; and while another connection holds
/// the write lock, the commit is held and nothing is handed over.
#[test]
fn a_batch_reaches_the_observer_only_once_it_is_committed() {
    use std::sync::Arc;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("temp dir");
    let storage = super::Storage::Dir(dir.path().to_owned());
    let opened = super::Store::<u32>::open(&storage, Retention::default(), 10).expect("opens");
    let path = dir.path().join(super::DATABASE_FILE);
    let (seen, deliveries) = std::sync::mpsc::channel();
    let witness: Arc<dyn super::Observer<u32>> = Arc::new(Witness {
        reader: std::sync::Mutex::new(Connection::open(&path).expect("a second connection")),
        seen,
    });
    opened.store.observe(Arc::downgrade(&witness));
    let ann = User {
        id: 1,
        uid: "ann".into(),
        name: "Ann".into(),
    };
    let say = |id: u64| said(ChatMessage::plain(id, ann.clone(), format!("m{id}"), id));
    let next = opened.next_id;
    opened.store.append(say(next), 1);
    assert_eq!(
        deliveries.recv_timeout(Duration::from_secs(10)),
        Ok((1, true))
    );

    // Another connection holds the write lock: the commit waits for it.
    let blocker = Connection::open(&path).expect("a blocking connection");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock");
    opened.store.append(say(next + 1), 2);
    assert!(
        deliveries.recv_timeout(Duration::from_millis(500)).is_err(),
        "handed over while its commit could not happen"
    );
    blocker.execute_batch("COMMIT").expect("lets go");
    assert_eq!(
        deliveries.recv_timeout(Duration::from_secs(10)),
        Ok((2, true)),
        "delivered once stored, and stored when delivered"
    );
    drop(witness);
}

/// A file that would leave the disk with less free space than the reserve
/// is refused before a byte of it is written; the store goes on working.
#[tokio::test]
async fn an_upload_that_would_leave_the_disk_nearly_full_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = super::Storage::Dir(dir.path().to_owned());
    let opened = super::Store::<u32>::open(&storage, Retention::default(), 10).expect("opens");
    let quota = super::FileQuota {
        total: u64::MAX,
        per_person: u64::MAX,
        disk_reserve: u64::MAX / 2,
    };
    let bytes = bytes::Bytes::from_static(b"hello");
    let upload = |quota| {
        opened
            .store
            .add_upload(bytes.clone(), "a.txt".into(), 1, "ann".into(), quota)
    };
    assert!(matches!(
        upload(quota).await,
        Ok(Err(super::Rejected::DiskFull))
    ));
    let files = dir.path().join(super::FILES_DIR);
    let kept = || std::fs::read_dir(&files).map_or(0, |d| d.count());
    assert_eq!(kept(), 0, "nothing written");
    let roomy = super::FileQuota {
        disk_reserve: 0,
        ..quota
    };
    assert!(matches!(upload(roomy).await, Ok(Ok(_))));
    assert_eq!(kept(), 1);
}

fn general() -> Scope {
    Scope {
        rooms: vec![GENERAL],
        ..Scope::default()
    }
}

/// A database as Hearth kept it before rooms (schema 3), with messages,
/// a reply, a reaction: the migration puts all of it in General, ids and
/// all, and the people who wrote them are remembered.
#[test]
fn the_rooms_migration_keeps_every_message_in_general_with_its_id() {
    let mut conn = Connection::open_in_memory().expect("in memory");
    for sql in &super::schema::MIGRATIONS[..3] {
        conn.execute_batch(sql).expect("an old step");
    }
    conn.pragma_update(None, "user_version", 3)
        .expect("version 3");
    conn.execute_batch(
        "INSERT INTO messages (id, ts, user_id, user_uid, user_name, text)
         VALUES (7, 1, 1, 'ann', 'Ann', 'first'), (9, 2, 2, 'bob', 'Bob', 'second');
         INSERT INTO messages (id, ts, user_id, user_uid, user_name, text, reply_to)
         VALUES (12, 3, 1, 'ann', 'Ann B', 'third', 9);
         INSERT INTO reactions VALUES (9, '👍', 'ann', 1, 'Ann');",
    )
    .expect("old rows");
    migrate(&mut conn).expect("migrates");
    let rows: Vec<(u64, u64)> = conn
        .prepare("SELECT id, room FROM messages ORDER BY id")
        .and_then(|mut q| q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("rows");
    assert_eq!(rows, [(7, GENERAL), (9, GENERAL), (12, GENERAL)]);
    let page = before(&conn, GENERAL, u64::MAX >> 1, 10, 1 << 20).expect("a page");
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first", "second", "third"]);
    assert_eq!(page.messages[2].reply_to.as_ref().map(|q| q.id), Some(9));
    assert_eq!(page.messages[1].reactions.len(), 1);
    let saved = super::rooms::load(&conn).expect("conversations");
    assert_eq!(saved.all.len(), 1);
    assert_eq!(saved.all[0].name, "General");
    let mut people = saved.people.clone();
    people.sort();
    assert_eq!(
        people,
        [("ann".into(), "Ann B".into()), ("bob".into(), "Bob".into())]
    );
    // Found by search in General, and the new message ids go on from 13.
    assert_eq!(
        search(&conn, "second", &general(), 10, 1 << 20)
            .expect("searches")
            .len(),
        1
    );
    let next: u64 = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'messages'",
            [],
            |r| r.get(0),
        )
        .expect("the sequence");
    assert_eq!(next, 12);
}

/// Direct conversations stay out of an export unless asked for.
#[test]
fn export_leaves_direct_conversations_out_unless_asked() {
    let mut conn = database(&["in general"]);
    let tx = conn.transaction().expect("transaction");
    let new = super::NewConversation {
        kind: crate::model::Kind::Direct,
        name: String::new(),
        key: String::new(),
        topic: None,
        pair: Some(("ann".into(), "bob".into())),
    };
    let (dm, fresh) = super::rooms::create(&tx, &new, 5)
        .expect("creates")
        .expect("accepted");
    assert!(fresh);
    let mut whisper = ChatMessage::plain(
        2,
        User {
            id: 1,
            uid: "ann".into(),
            name: "Ann".into(),
        },
        "just between us".into(),
        6,
    );
    whisper.room = dm;
    let mut change = said(whisper);
    if let Action::Say(say) = &mut change.action {
        say.room = Some(dm);
    }
    apply(&tx, change).expect("inserts").expect("accepted");
    tx.commit().expect("commits");
    let export = |include_direct| {
        let mut out = Vec::new();
        super::write_conversation(
            &conn,
            super::ExportFormat::Markdown,
            include_direct,
            &mut out,
        )
        .expect("exports");
        String::from_utf8(out).expect("text")
    };
    let without = export(false);
    assert!(
        without.contains("in general") && !without.contains("between us"),
        "{without}"
    );
    assert!(export(true).contains("just between us"));
}
