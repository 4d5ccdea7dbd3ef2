//! The SQL the room runs: loading, storing, pages, search and pruning.

use std::time::Duration;

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension as _, Row};

use crate::model::{excerpt, ChatMessage, Quote, Reaction, RoomId, User, GENERAL};

/// The most messages one history page carries.
pub const PAGE_LIMIT: usize = 200;

/// The most results one search returns.
pub const SEARCH_LIMIT: usize = 100;

/// Most words of a search that count; the rest are ignored.
const MAX_SEARCH_WORDS: usize = 16;

/// Rows deleted per transaction when pruning, so the writer is never away
/// from new messages for long.
const PRUNE_CHUNK: i64 = 5000;

/// Every message with the state of the one it answers (which may have
/// been edited or deleted since).
pub(super) const SELECT_MESSAGES: &str =
    "SELECT m.id, m.ts, m.user_id, m.user_uid, m.user_name, m.text,
        m.edited_ts, m.deleted, m.reply_to, m.reply_user_id, m.reply_user_uid,
        m.reply_user_name, o.text, o.deleted, m.room
    FROM messages m LEFT JOIN messages o ON o.id = m.reply_to";

/// A run of consecutive messages, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether more lie beyond this page, in the direction asked for.
    pub more: bool,
}

/// A message from a row of [`SELECT_MESSAGES`], without its files and
/// reactions (see [`decorate`]).
pub(super) fn message(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    let mut message = ChatMessage::plain(
        row.get(0)?,
        User {
            id: row.get(2)?,
            uid: row.get(3)?,
            name: row.get(4)?,
        },
        row.get(5)?,
        row.get(1)?,
    );
    message.room = row.get(14)?;
    message.edited_ts = row.get(6)?;
    message.deleted = row.get(7)?;
    if let Some(original) = row.get::<_, Option<u64>>(8)? {
        let text: Option<String> = row.get(12)?;
        // Gone (cleared, pruned) or deleted: the quote keeps only its author.
        let deleted = row.get::<_, Option<bool>>(13)?.unwrap_or(true);
        message.reply_to = Some(Quote {
            id: original,
            from: User {
                id: row.get::<_, Option<usize>>(9)?.unwrap_or_default(),
                uid: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
                name: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            },
            excerpt: match (&text, deleted) {
                (Some(text), false) => excerpt(text),
                _ => String::new(),
            },
            deleted,
        });
    }
    Ok(message)
}

/// Adds their files and reactions to `messages`.
pub(super) fn decorate(conn: &Connection, messages: &mut [ChatMessage]) -> rusqlite::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(&messages.iter().map(|m| m.id).collect::<Vec<_>>())
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
    let index: HashMap<u64, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    let mut files = conn.prepare_cached(
        "SELECT f.message_id, u.id, u.name, u.size, u.type
         FROM message_files f JOIN uploads u ON u.id = f.upload_id
         WHERE f.message_id IN (SELECT value FROM json_each(?1))
         ORDER BY f.message_id, f.position",
    )?;
    let mut rows = files.query([&ids])?;
    while let Some(row) = rows.next()? {
        if let Some(&at) = index.get(&row.get(0)?) {
            messages[at].files.push(super::changes::file_info(row, 1)?);
        }
    }
    let mut reactions = conn.prepare_cached(
        "SELECT message_id, emoji, user_id, user_uid, user_name FROM reactions
         WHERE message_id IN (SELECT value FROM json_each(?1))
         ORDER BY rowid",
    )?;
    let mut rows = reactions.query([&ids])?;
    // Each (message, emoji) found by hash, so decorating is linear in the
    // reactions however many different ones a message has.
    let mut slots: HashMap<(usize, String), usize> = HashMap::new();
    while let Some(row) = rows.next()? {
        let Some(&at) = index.get(&row.get(0)?) else {
            continue;
        };
        let emoji: String = row.get(1)?;
        let user = User {
            id: row.get(2)?,
            uid: row.get(3)?,
            name: row.get(4)?,
        };
        let reactions = &mut messages[at].reactions;
        match slots.entry((at, emoji)) {
            Entry::Occupied(slot) => reactions[*slot.get()].users.push(user),
            Entry::Vacant(slot) => {
                let emoji = slot.key().1.clone();
                slot.insert(reactions.len());
                reactions.push(Reaction {
                    emoji,
                    users: vec![user],
                });
            }
        }
    }
    Ok(())
}

/// What the room starts from: its id, the next message id, the oldest id
/// kept (`None` when none is), and General's `recent` newest messages.
pub struct Loaded {
    pub room: String,
    pub next_id: u64,
    pub first_id: Option<u64>,
    pub recent: Vec<ChatMessage>,
}

/// Loads what the room starts from.
pub fn load(conn: &Connection, recent: usize) -> rusqlite::Result<Loaded> {
    let room: String = conn.query_row("SELECT value FROM meta WHERE key = 'room'", [], |r| {
        r.get(0)
    })?;
    let last = last_id(conn)?;
    let mut messages = messages_where(
        conn,
        "WHERE m.room = ?2 ORDER BY m.id DESC LIMIT ?1",
        params![recent, GENERAL],
    )?;
    messages.reverse();
    let first_id: Option<u64> = conn.query_row("SELECT min(id) FROM messages", [], |r| r.get(0))?;
    Ok(Loaded {
        room,
        next_id: last.map_or(1, |id| id + 1),
        first_id,
        recent: messages,
    })
}

/// The highest id ever stored: the sequence remembers it even once pruned
/// or cleared, so ids never go back.
fn last_id(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    conn.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = 'messages'",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// Deletes every message in one transaction; returns the lowest id a
/// message stored later can have.
pub fn clear_all(conn: &mut Connection) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    tx.execute_batch(super::schema::CLEAR_ALL)?;
    let last = last_id(&tx)?;
    tx.commit()?;
    Ok(last.map_or(1, |id| id + 1))
}

/// Up to `limit` messages of `room` before `before`, oldest first, within
/// `max_bytes` of JSON (the newest of them are kept).
pub fn before(
    conn: &Connection,
    room: RoomId,
    before: u64,
    limit: usize,
    max_bytes: usize,
) -> rusqlite::Result<Page> {
    let newest_first = messages_where(
        conn,
        "WHERE m.room = ?3 AND m.id < ?1 ORDER BY m.id DESC LIMIT ?2",
        params![before, limit + 1, room],
    )?;
    let (mut messages, more) = within(newest_first, limit, max_bytes);
    messages.reverse();
    Ok(Page { messages, more })
}

/// Up to `limit` messages of `room` after `after`, oldest first, within
/// `max_bytes` of JSON (the oldest of them are kept).
pub fn after(
    conn: &Connection,
    room: RoomId,
    after: u64,
    limit: usize,
    max_bytes: usize,
) -> rusqlite::Result<Page> {
    let oldest_first = messages_where(
        conn,
        "WHERE m.room = ?3 AND m.id > ?1 ORDER BY m.id ASC LIMIT ?2",
        params![after, limit + 1, room],
    )?;
    let (messages, more) = within(oldest_first, limit, max_bytes);
    Ok(Page { messages, more })
}

/// Takes up to `limit` of `rows` (fetched one beyond it) while their JSON
/// stays within `max_bytes`; says whether any were left out.
fn within(mut rows: Vec<ChatMessage>, limit: usize, max_bytes: usize) -> (Vec<ChatMessage>, bool) {
    let mut more = rows.len() > limit;
    rows.truncate(limit);
    let mut bytes = 0;
    let fits = rows
        .iter()
        .take_while(|m| {
            bytes += serde_json::to_string(m).map_or(usize::MAX / 2, |json| json.len() + 1);
            bytes <= max_bytes
        })
        .count();
    if fits < rows.len() {
        // Never an empty page while messages remain: the cursor would not
        // move and the client would ask again at once. The nearest message
        // comes with what it carries trimmed instead.
        let fits = fits.max(1);
        rows.truncate(fits);
        if let (1, Some(only)) = (fits, rows.first_mut()) {
            only.trim_reactions_to(max_bytes);
        }
        more = true;
    }
    (rows, more)
}

/// Where a search looks, and what else a result must have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The conversations searched.
    pub rooms: Vec<RoomId>,
    /// Only messages by these people (uids), when given.
    pub from: Option<Vec<String>>,
    /// Only messages with files.
    pub has_file: bool,
    /// Only messages with pictures.
    pub has_image: bool,
    /// Only messages with links.
    pub has_link: bool,
}

impl Scope {
    /// The conditions on message `m` beyond its room, as SQL (`?4` is the
    /// list of uids).
    fn conditions(&self, m: &str) -> String {
        let mut sql = format!(
            "{m}.room IN (SELECT value FROM json_each(?3))
             AND (?4 IS NULL OR {m}.user_uid IN (SELECT value FROM json_each(?4)))"
        );
        if self.has_file {
            sql +=
                &format!(" AND EXISTS (SELECT 1 FROM message_files f WHERE f.message_id = {m}.id)");
        }
        if self.has_image {
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM message_files f JOIN uploads u ON u.id = f.upload_id
                   WHERE f.message_id = {m}.id AND u.type LIKE 'image/%')"
            );
        }
        if self.has_link {
            sql += &format!(" AND ({m}.text LIKE '%http://%' OR {m}.text LIKE '%https://%')");
        }
        sql
    }

    /// The rooms and the uids, as the JSON arrays `json_each` reads.
    fn params(&self) -> rusqlite::Result<(String, Option<String>)> {
        let from = self.from.as_deref().map(json_list).transpose()?;
        Ok((json_list(&self.rooms)?, from))
    }
}

/// A list as the JSON array SQLite's `json_each` reads.
fn json_list<T: serde::Serialize>(list: &[T]) -> rusqlite::Result<String> {
    serde_json::to_string(list)
        .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))
}

/// Up to `limit` messages in `scope` matching `typed`, newest first, within
/// `max_bytes`. With no words, the newest messages in `scope`.
///
/// Whole words first: that answers the common case (a word that is in many
/// messages) by walking the index from the newest match and stopping at
/// `limit`. Only when that finds too few is the last word widened to a
/// prefix, the search people expect while they type; a prefix query merges
/// every word it starts, so it runs only when needed.
pub fn search(
    conn: &Connection,
    typed: &str,
    scope: &Scope,
    limit: usize,
    max_bytes: usize,
) -> rusqlite::Result<Vec<ChatMessage>> {
    if scope.rooms.is_empty() {
        return Ok(Vec::new());
    }
    let (rooms, from) = scope.params()?;
    let Some(exact) = match_expression(typed, false) else {
        let filtered = scope.from.is_some() || scope.has_file || scope.has_image || scope.has_link;
        if !typed.trim().is_empty() || !filtered {
            return Ok(Vec::new());
        }
        // Filters alone (`has:image`): the newest messages that pass them.
        let found = messages_where(
            conn,
            &format!(
                "WHERE ?1 = '' AND m.deleted = 0 AND {} ORDER BY m.id DESC LIMIT ?2",
                scope.conditions("m")
            ),
            params![typed.trim(), limit, rooms, from],
        )?;
        return Ok(within(found, limit, max_bytes).0);
    };
    let mut found = matching(conn, &exact, scope, limit, &rooms, &from)?;
    if found.len() < limit {
        if let Some(widened) = match_expression(typed, true) {
            found = matching(conn, &widened, scope, limit, &rooms, &from)?;
        }
    }
    Ok(within(found, limit, max_bytes).0)
}

fn matching(
    conn: &Connection,
    pattern: &str,
    scope: &Scope,
    limit: usize,
    rooms: &str,
    from: &Option<String>,
) -> rusqlite::Result<Vec<ChatMessage>> {
    messages_where(
        conn,
        &format!(
            "WHERE m.id IN (
                 SELECT messages_fts.rowid FROM messages_fts
                 JOIN messages s ON s.id = messages_fts.rowid
                 WHERE messages_fts MATCH ?1 AND {}
                 ORDER BY messages_fts.rowid DESC LIMIT ?2
             ) ORDER BY m.id DESC",
            scope.conditions("s")
        ),
        params![pattern, limit, rooms, from],
    )
}

/// The messages (`m`) that `{SELECT_MESSAGES} {clause}` finds, in its
/// order, with their files and reactions.
fn messages_where(
    conn: &Connection,
    clause: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut query = conn.prepare_cached(&format!("{SELECT_MESSAGES} {clause}"))?;
    let rows = query.query_map(params, message)?;
    let mut messages = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    decorate(conn, &mut messages)?;
    Ok(messages)
}

/// Turns what a person typed into an FTS5 expression that treats all of it
/// as text: each word becomes a quoted phrase (quotes doubled, so no
/// operator, column filter or parenthesis can form), all of which must
/// match; with `last_as_prefix`, the last word matches the start of a word.
/// `None` when nothing searchable remains.
pub fn match_expression(typed: &str, last_as_prefix: bool) -> Option<String> {
    let words: Vec<String> = typed
        .split_whitespace()
        // A word with no letter, digit or symbol has no token to match,
        // and `""*` is not valid FTS5.
        .filter(|word| word.chars().any(|c| c.is_alphanumeric() || !c.is_ascii()))
        .take(MAX_SEARCH_WORDS)
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    let mut expression = words.join(" ");
    if expression.is_empty() {
        return None;
    }
    if last_as_prefix {
        expression.push('*');
    }
    Some(expression)
}

/// Applies `retention`; returns the first id kept when anything went.
pub fn prune(
    conn: &mut Connection,
    retention: super::Retention,
    now: Duration,
) -> rusqlite::Result<Option<u64>> {
    let mut cutoff: Option<u64> = None;
    if let Some(keep) = retention.max_messages {
        let first_kept: Option<u64> = conn
            .query_row(
                "SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?1",
                [keep.saturating_sub(1)],
                |r| r.get(0),
            )
            .optional()?;
        cutoff = first_kept;
    }
    if let Some(age) = retention.max_age {
        let oldest_ts = u64::try_from(now.saturating_sub(age).as_millis()).unwrap_or(u64::MAX);
        // Ids follow time: scanning from the oldest stops at the first
        // message young enough to keep.
        let first_young: Option<u64> = conn
            .query_row(
                "SELECT id FROM messages WHERE ts >= ?1 ORDER BY id LIMIT 1",
                [oldest_ts],
                |r| r.get(0),
            )
            .optional()?;
        // Nothing young enough: everything goes (ids stay within SQLite's range).
        let by_age = first_young.unwrap_or(i64::MAX as u64);
        cutoff = Some(cutoff.map_or(by_age, |c| c.max(by_age)));
    }
    let Some(cutoff) = cutoff else {
        return Ok(None);
    };
    let mut removed = 0;
    loop {
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM messages WHERE id IN
                 (SELECT id FROM messages WHERE id < ?1 ORDER BY id LIMIT ?2)",
            params![cutoff, PRUNE_CHUNK],
        )?;
        if i64::try_from(n).unwrap_or(i64::MAX) < PRUNE_CHUNK {
            // Their reactions and file links go with the last chunk; the
            // files themselves once no message uses them (`collect_orphans`).
            tx.execute("DELETE FROM reactions WHERE message_id < ?1", [cutoff])?;
            tx.execute("DELETE FROM message_files WHERE message_id < ?1", [cutoff])?;
        }
        tx.commit()?;
        removed += n;
        if i64::try_from(n).unwrap_or(i64::MAX) < PRUNE_CHUNK {
            break;
        }
    }
    if removed == 0 {
        return Ok(None);
    }
    log::info!("pruned {removed} old messages");
    Ok(Some(cutoff))
}
