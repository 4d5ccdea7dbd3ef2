//! What people do to the conversation, applied on the writer thread inside
//! its group-commit transaction: each change is checked against what is
//! stored (does the message exist, is it theirs) and applied, or rejected
//! without touching anything.

use rusqlite::{params, OptionalExtension as _, Transaction};

use super::rooms;
use crate::action::{Action, Actor, Change, Delete, Deleted, Edit, Edited, Event, React, Reacted};
use crate::model::{excerpt, ChatMessage, FileInfo, Quote, RoomId, User, GENERAL};

/// Why a change was not applied. Nothing was written for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No such message or file (or the message was deleted).
    #[error("no such message")]
    NotFound,
    /// The message is someone else's.
    #[error("only its author may change that message")]
    Forbidden,
    /// The message has [`MAX_DISTINCT_REACTIONS`] different emoji already,
    /// or the person [`MAX_REACTIONS_PER_PERSON`] on it.
    #[error("that message has as many reactions as it may")]
    TooManyReactions,
    /// The files people sent fill the room's quota.
    #[error("the room's space for files is full")]
    FilesFull,
    /// The person's files fill their quota.
    #[error("your space for files is full")]
    PersonFilesFull,
    /// The host's disk has too little free space.
    #[error("the host's disk is nearly full")]
    DiskFull,
    /// A room whose name looks like this one's exists.
    #[error("a room with that name exists")]
    NameTaken,
    /// The person is not in that room.
    #[error("join the room first")]
    NotMember,
    /// The room is archived: read-only.
    #[error("the room is archived")]
    Archived,
}

/// Most different emoji on one message: a message's reactions stay
/// something people read at a glance, and its size bounded.
pub const MAX_DISTINCT_REACTIONS: i64 = 20;

/// Most reactions one person (uid) may put on one message.
pub const MAX_REACTIONS_PER_PERSON: i64 = 10;

/// Applies `change` within `tx`. The outer error is SQLite failing (the
/// whole batch rolls back); the inner one, a change refused on its merits.
pub fn apply(tx: &Transaction<'_>, change: Change) -> rusqlite::Result<Result<Event, Rejected>> {
    let Change { by, ts, action } = change;
    match (action, by) {
        (Action::Say(say), Actor::Person(user)) => {
            let room = say.room.unwrap_or(GENERAL);
            if let Err(rejected) = may_act_in(tx, room, &user.uid, true)? {
                return Ok(Err(rejected));
            }
            let mut message = ChatMessage::plain(say.id, user, say.text, ts);
            message.room = room;
            insert_message(tx, message, say.reply_to, &say.files)
        }
        (Action::Edit(Edit { id, text }), Actor::Person(user)) => {
            let room = match authorize(tx, id, Some(&user.uid))? {
                Ok(room) => room,
                Err(rejected) => return Ok(Err(rejected)),
            };
            tx.prepare_cached("UPDATE messages SET text = ?2, edited_ts = ?3 WHERE id = ?1")?
                .execute(params![id, text, ts])?;
            Ok(Ok(Event::Edited(Edited {
                id,
                room,
                text,
                edited_ts: ts,
            })))
        }
        (Action::Delete(Delete { id }), by) => {
            let room = match authorize(tx, id, by.uid())? {
                Ok(room) => room,
                Err(rejected) => return Ok(Err(rejected)),
            };
            let gone = delete(tx, id)?;
            Ok(Ok(Event::Deleted(Deleted { id, room, gone })))
        }
        (Action::React(React { id, emoji }), Actor::Person(user)) => react(tx, id, emoji, user),
        // Only deleting is the host's; the room never asks anything else.
        (_, Actor::Host) => Ok(Err(Rejected::Forbidden)),
    }
}

/// Whether `uid` may change things in room `id`: they can see it (or it
/// is not found, whether it exists or not), it is open, and, when
/// `as_member`, they are in it.
fn may_act_in(
    tx: &Transaction<'_>,
    id: RoomId,
    uid: &str,
    as_member: bool,
) -> rusqlite::Result<Result<(), Rejected>> {
    Ok(match rooms::access(tx, id, uid)? {
        Some(access) if !access.visible => Err(Rejected::NotFound),
        None => Err(Rejected::NotFound),
        Some(access) if access.archived => Err(Rejected::Archived),
        Some(access) if as_member && !access.member => Err(Rejected::NotMember),
        Some(_) => Ok(()),
    })
}

/// Toggles `user`'s reaction `emoji` on message `id`.
fn react(
    tx: &Transaction<'_>,
    id: u64,
    emoji: String,
    user: User,
) -> rusqlite::Result<Result<Event, Rejected>> {
    let room = match authorize(tx, id, None)? {
        Ok(room) => room,
        Err(rejected) => return Ok(Err(rejected)),
    };
    // Reacting is taking part: members only.
    if let Err(rejected) = may_act_in(tx, room, &user.uid, true)? {
        return Ok(Err(rejected));
    }
    let removed = tx
        .prepare_cached(
            "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_uid = ?3",
        )?
        .execute(params![id, emoji, user.uid])?;
    if removed == 0 {
        if let Err(rejected) = room_for_reaction(tx, id, &emoji, &user.uid)? {
            return Ok(Err(rejected));
        }
        tx.prepare_cached(
            "INSERT INTO reactions (message_id, emoji, user_uid, user_id, user_name)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, emoji, user.uid, user.id, user.name])?;
    }
    Ok(Ok(Event::Reacted(Reacted {
        id,
        room,
        emoji,
        user,
        added: removed == 0,
    })))
}

/// Whether `uid` may add `emoji` to message `id`: under both caps. Both
/// counts use the reactions' unique index on (message, emoji, uid).
fn room_for_reaction(
    tx: &Transaction<'_>,
    id: u64,
    emoji: &str,
    uid: &str,
) -> rusqlite::Result<Result<(), Rejected>> {
    let (distinct, used, mine): (i64, bool, i64) = tx
        .prepare_cached(
            "SELECT count(DISTINCT emoji), coalesce(max(emoji = ?2), 0),
                    coalesce(sum(user_uid = ?3), 0)
             FROM reactions WHERE message_id = ?1",
        )?
        .query_row(params![id, emoji, uid], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    let full = (!used && distinct >= MAX_DISTINCT_REACTIONS) || mine >= MAX_REACTIONS_PER_PERSON;
    Ok(if full {
        Err(Rejected::TooManyReactions)
    } else {
        Ok(())
    })
}

/// Stores a new message, with the message it answers quoted and its files.
fn insert_message(
    tx: &Transaction<'_>,
    mut message: ChatMessage,
    reply_to: Option<u64>,
    files: &[String],
) -> rusqlite::Result<Result<Event, Rejected>> {
    if let Some(original) = reply_to {
        let quoted = tx
            .prepare_cached(
                "SELECT user_id, user_uid, user_name, text FROM messages
                 WHERE id = ?1 AND deleted = 0 AND room = ?2",
            )?
            .query_row(params![original, message.room], |row| {
                Ok(Quote {
                    id: original,
                    from: User {
                        id: row.get(0)?,
                        uid: row.get(1)?,
                        name: row.get(2)?,
                    },
                    excerpt: excerpt(&row.get::<_, String>(3)?),
                    deleted: false,
                })
            })
            .optional()?;
        match quoted {
            Some(quote) => message.reply_to = Some(quote),
            None => return Ok(Err(Rejected::NotFound)),
        }
    }
    for id in files {
        // Only the sender's own uploads, and only ones no message carries
        // yet: nobody can keep someone else's file alive by attaching it.
        let file = tx
            .prepare_cached(
                "SELECT id, name, size, type FROM uploads
                 WHERE id = ?1 AND owner = ?2
                 AND NOT EXISTS (SELECT 1 FROM message_files WHERE upload_id = uploads.id)",
            )?
            .query_row(params![id, message.from.uid], |row| file_info(row, 0))
            .optional()?;
        match file {
            Some(file) => message.files.push(file),
            None => return Ok(Err(Rejected::NotFound)),
        }
    }
    let quote = message.reply_to.as_ref();
    tx.prepare_cached(
        "INSERT INTO messages (id, ts, user_id, user_uid, user_name, text,
                               reply_to, reply_user_id, reply_user_uid, reply_user_name, room)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        message.id,
        message.ts,
        message.from.id,
        message.from.uid,
        message.from.name,
        message.text,
        quote.map(|q| q.id),
        quote.map(|q| q.from.id),
        quote.map(|q| &q.from.uid),
        quote.map(|q| &q.from.name),
        message.room,
    ])?;
    // What one says, one has read (and everything before it).
    rooms::set_read(tx, &message.from.uid, message.room, message.id)?;
    for (position, file) in message.files.iter().enumerate() {
        tx.prepare_cached(
            "INSERT INTO message_files (message_id, position, upload_id) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![message.id, position, file.id])?;
    }
    Ok(Ok(Event::Said(message)))
}

/// Where a file is fetched from.
pub fn file_url(id: &str) -> String {
    format!("/files/{id}")
}

/// An upload as messages show it, from the columns `id, name, size, type`
/// of `row`, starting at `first`.
pub(super) fn file_info(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<FileInfo> {
    let id: String = row.get(first)?;
    Ok(FileInfo {
        url: file_url(&id),
        id,
        name: row.get(first + 1)?,
        size: row.get(first + 2)?,
        kind: row.get(first + 3)?,
    })
}

/// Whether message `id` exists, is not deleted, and (when `by` is given)
/// was written by `by`; answers its room. Whether the room lets them is
/// [`may_act_in`]'s to say: an author may still edit and delete what they
/// said in a room they left, never in one they cannot see.
fn authorize(
    tx: &Transaction<'_>,
    id: u64,
    by: Option<&str>,
) -> rusqlite::Result<Result<RoomId, Rejected>> {
    let found: Option<(String, RoomId)> = tx
        .prepare_cached("SELECT user_uid, room FROM messages WHERE id = ?1 AND deleted = 0")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((author, room)) = found else {
        return Ok(Err(Rejected::NotFound));
    };
    if let Some(by) = by {
        if let Err(rejected) = may_act_in(tx, room, by, false)? {
            return Ok(Err(rejected));
        }
        if author != by {
            return Ok(Err(Rejected::Forbidden));
        }
    }
    Ok(Ok(room))
}

/// Removes a message's text, quote, reactions and files for good, keeping
/// the row (a "message deleted" line, and ids never reused). Returns the
/// content hashes nothing uses any more.
fn delete(tx: &Transaction<'_>, id: u64) -> rusqlite::Result<Vec<String>> {
    tx.prepare_cached(
        "UPDATE messages SET text = '', deleted = 1, edited_ts = NULL, reply_to = NULL,
                reply_user_id = NULL, reply_user_uid = NULL, reply_user_name = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1")?
        .execute([id])?;
    let uploads: Vec<String> = tx
        .prepare_cached("DELETE FROM message_files WHERE message_id = ?1 RETURNING upload_id")?
        .query_map([id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut hashes = Vec::new();
    for upload in uploads {
        let hash: Option<String> = tx
            .prepare_cached(
                "DELETE FROM uploads WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM message_files WHERE upload_id = ?1)
                 RETURNING hash",
            )?
            .query_row([&upload], |row| row.get(0))
            .optional()?;
        hashes.extend(hash);
    }
    unused(tx, hashes)
}

/// The `hashes` no upload points at any more.
pub(super) fn unused(
    tx: &Transaction<'_>,
    mut hashes: Vec<String>,
) -> rusqlite::Result<Vec<String>> {
    hashes.sort();
    hashes.dedup();
    let mut gone = Vec::new();
    for hash in hashes {
        let used: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM uploads WHERE hash = ?1)")?
            .query_row([&hash], |row| row.get(0))?;
        if !used {
            gone.push(hash);
        }
    }
    Ok(gone)
}

/// Forgets uploads older than `before_ts` that no message uses (uploaded,
/// then never sent, or their messages pruned). Returns the content hashes
/// nothing uses any more.
pub fn collect_orphans(tx: &Transaction<'_>, before_ts: u64) -> rusqlite::Result<Vec<String>> {
    let hashes: Vec<String> = tx
        .prepare_cached(
            "DELETE FROM uploads WHERE ts < ?1
             AND NOT EXISTS (SELECT 1 FROM message_files WHERE upload_id = uploads.id)
             RETURNING hash",
        )?
        .query_map([before_ts], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    unused(tx, hashes)
}

/// A stored upload: its hash, and what a message shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Where its bytes are kept.
    pub hash: String,
    /// What messages show.
    pub info: FileInfo,
}

/// Records an upload of `owner`'s.
pub fn insert_upload(
    tx: &Transaction<'_>,
    upload: &Upload,
    owner: &str,
    ts: u64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO uploads (id, hash, name, size, type, ts, owner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        upload.info.id,
        upload.hash,
        upload.info.name,
        upload.info.size,
        upload.info.kind,
        ts,
        owner
    ])?;
    Ok(())
}

/// Bytes kept for uploads in all, and for `owner`'s: what the quotas are
/// checked against (sent or not; a file sent twice counts twice).
pub fn upload_bytes(tx: &Transaction<'_>, owner: &str) -> rusqlite::Result<(u64, u64)> {
    tx.prepare_cached(
        "SELECT coalesce(sum(size), 0), coalesce(sum(CASE WHEN owner = ?1 THEN size END), 0)
         FROM uploads",
    )?
    .query_row([owner], |row| Ok((row.get(0)?, row.get(1)?)))
}

/// The upload `id`, if it exists.
pub fn upload(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<Upload>> {
    conn.prepare_cached("SELECT hash, id, name, size, type FROM uploads WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(Upload {
                hash: row.get(0)?,
                info: file_info(row, 1)?,
            })
        })
        .optional()
}
