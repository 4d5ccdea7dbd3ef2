//! The SQL of conversations: rooms and direct conversations, who is in
//! which room, each person's read position in each, and everyone who has
//! been here.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension as _, Transaction};

use super::changes::Rejected;
use crate::model::{Conversation, Kind, RoomId, GENERAL};

/// What the house starts from besides its messages.
#[derive(Debug, Default)]
pub struct SavedConversations {
    /// Every conversation, General first, each with its members.
    pub all: Vec<Conversation>,
    /// Read positions: (uid, conversation, last id read).
    pub reads: Vec<(String, RoomId, u64)>,
    /// Everyone who has been here: (uid, latest name).
    pub people: Vec<(String, String)>,
    /// Every message not deleted, (id, conversation), by id: what unread
    /// counts count.
    pub messages: Vec<(u64, RoomId)>,
}

/// A conversation to make.
#[derive(Debug, Clone)]
pub struct NewConversation {
    /// Room or direct.
    pub kind: Kind,
    /// A room's name (empty for a direct one).
    pub name: String,
    /// The name's comparison key.
    pub key: String,
    /// The room's topic.
    pub topic: Option<String>,
    /// A direct conversation's two uids, sorted.
    pub pair: Option<(String, String)>,
}

/// What to change of a room; `None` leaves that as it is.
#[derive(Debug, Clone, Default)]
pub struct RoomChange {
    /// A new name, with its comparison key.
    pub name: Option<(String, String)>,
    /// A new topic (`Some(None)` removes it).
    pub topic: Option<Option<String>>,
    /// Archived or open again.
    pub archived: Option<bool>,
}

/// Loads every conversation, membership, read position and person.
pub fn load(conn: &Connection) -> rusqlite::Result<SavedConversations> {
    let mut all: Vec<Conversation> = conn
        .prepare(
            "SELECT id, kind, name, topic, archived, direct_a, direct_b FROM rooms ORDER BY id",
        )?
        .query_map([], |row| {
            let kind: String = row.get(1)?;
            let a: Option<String> = row.get(5)?;
            let b: Option<String> = row.get(6)?;
            Ok(Conversation {
                id: row.get(0)?,
                kind: if kind == "direct" {
                    Kind::Direct
                } else {
                    Kind::Room
                },
                name: row.get(2)?,
                topic: row.get(3)?,
                archived: row.get(4)?,
                pair: a.zip(b),
                members: HashSet::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut members = conn.prepare("SELECT room, uid FROM room_members ORDER BY room")?;
    let mut rows = members.query([])?;
    while let Some(row) = rows.next()? {
        let room: RoomId = row.get(0)?;
        if let Ok(at) = all.binary_search_by_key(&room, |c| c.id) {
            all[at].members.insert(row.get(1)?);
        }
    }
    let reads = conn
        .prepare("SELECT uid, room, id FROM reads")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let people = conn
        .prepare("SELECT uid, name FROM people")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let messages = conn
        .prepare("SELECT id, room FROM messages WHERE deleted = 0 ORDER BY id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(SavedConversations {
        all,
        reads,
        people,
        messages,
    })
}

/// Makes a conversation; a room whose name looks like another's is
/// refused, and a direct conversation that exists is returned as it is.
/// Answers its id and whether it is new.
pub fn create(
    tx: &Transaction<'_>,
    new: &NewConversation,
    ts: u64,
) -> rusqlite::Result<Result<(RoomId, bool), Rejected>> {
    if let Some((a, b)) = &new.pair {
        let found: Option<RoomId> = tx
            .prepare_cached(
                "SELECT id FROM rooms WHERE kind = 'direct' AND direct_a = ?1 AND direct_b = ?2",
            )?
            .query_row(params![a, b], |row| row.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(Ok((id, false)));
        }
    } else {
        let taken: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM rooms WHERE kind = 'room' AND name_key = ?1)",
            )?
            .query_row([&new.key], |row| row.get(0))?;
        if taken {
            return Ok(Err(Rejected::NameTaken));
        }
    }
    tx.prepare_cached(
        "INSERT INTO rooms (kind, name, name_key, topic, created_ts, direct_a, direct_b)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        new.kind.as_str(),
        new.name,
        new.key,
        new.topic,
        ts,
        new.pair.as_ref().map(|p| &p.0),
        new.pair.as_ref().map(|p| &p.1),
    ])?;
    Ok(Ok((
        RoomId::try_from(tx.last_insert_rowid()).unwrap_or_default(),
        true,
    )))
}

/// Renames, retopics or (un)archives room `id`.
pub fn update(
    tx: &Transaction<'_>,
    id: RoomId,
    change: &RoomChange,
) -> rusqlite::Result<Result<(), Rejected>> {
    let kind: Option<String> = tx
        .prepare_cached("SELECT kind FROM rooms WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    if kind.as_deref() != Some("room") {
        return Ok(Err(Rejected::NotFound));
    }
    if let Some((name, key)) = &change.name {
        let taken: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM rooms
                 WHERE kind = 'room' AND name_key = ?1 AND id != ?2)",
            )?
            .query_row(params![key, id], |row| row.get(0))?;
        if taken {
            return Ok(Err(Rejected::NameTaken));
        }
        tx.prepare_cached("UPDATE rooms SET name = ?2, name_key = ?3 WHERE id = ?1")?
            .execute(params![id, name, key])?;
    }
    if let Some(topic) = &change.topic {
        tx.prepare_cached("UPDATE rooms SET topic = ?2 WHERE id = ?1")?
            .execute(params![id, topic])?;
    }
    if let Some(archived) = change.archived {
        tx.prepare_cached("UPDATE rooms SET archived = ?2 WHERE id = ?1")?
            .execute(params![id, archived])?;
    }
    Ok(Ok(()))
}

/// Deletes room `id` with every message in it, their reactions and files;
/// returns the content hashes nothing uses any more.
pub fn delete(tx: &Transaction<'_>, id: RoomId) -> rusqlite::Result<Result<Vec<String>, Rejected>> {
    if id == GENERAL {
        return Ok(Err(Rejected::Forbidden));
    }
    let removed = tx
        .prepare_cached("DELETE FROM rooms WHERE id = ?1 AND kind = 'room'")?
        .execute([id])?;
    if removed == 0 {
        return Ok(Err(Rejected::NotFound));
    }
    tx.prepare_cached(
        "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE room = ?1)",
    )?
    .execute([id])?;
    let uploads: Vec<String> = tx
        .prepare_cached(
            "DELETE FROM message_files
             WHERE message_id IN (SELECT id FROM messages WHERE room = ?1)
             RETURNING upload_id",
        )?
        .query_map([id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tx.prepare_cached("DELETE FROM messages WHERE room = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM room_members WHERE room = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM reads WHERE room = ?1")?
        .execute([id])?;
    let mut hashes = Vec::new();
    for upload in uploads {
        let hash: Option<String> = tx
            .prepare_cached("DELETE FROM uploads WHERE id = ?1 RETURNING hash")?
            .query_row([&upload], |row| row.get(0))
            .optional()?;
        hashes.extend(hash);
    }
    Ok(Ok(super::changes::unused(tx, hashes)?))
}

/// Makes `uid` a member of room `id`, or not.
pub fn set_member(conn: &Connection, id: RoomId, uid: &str, member: bool) -> rusqlite::Result<()> {
    let sql = if member {
        "INSERT OR IGNORE INTO room_members (room, uid) VALUES (?1, ?2)"
    } else {
        "DELETE FROM room_members WHERE room = ?1 AND uid = ?2"
    };
    conn.prepare_cached(sql)?.execute(params![id, uid])?;
    Ok(())
}

/// Moves `uid`'s read position in room `id` up to `read` (never back).
pub fn set_read(conn: &Connection, uid: &str, id: RoomId, read: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO reads (uid, room, id) VALUES (?1, ?2, ?3)
         ON CONFLICT (uid, room) DO UPDATE SET id = max(id, excluded.id)",
    )?
    .execute(params![uid, id, read])?;
    Ok(())
}

/// Remembers that `uid` was here as `name`.
pub fn remember(conn: &Connection, uid: &str, name: &str, ts: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO people (uid, name, seen_ts) VALUES (?1, ?2, ?3)
         ON CONFLICT (uid) DO UPDATE SET name = excluded.name, seen_ts = excluded.seen_ts",
    )?
    .execute(params![uid, name, ts])?;
    Ok(())
}

/// Whether `uid` may act on a message in room `id`: who can see it, and
/// whether it is open. `Ok(None)` is a room that does not exist.
pub(super) fn access(
    tx: &Transaction<'_>,
    id: RoomId,
    uid: &str,
) -> rusqlite::Result<Option<Access>> {
    tx.prepare_cached(
        "SELECT kind, archived, direct_a, direct_b,
                EXISTS (SELECT 1 FROM room_members WHERE room = ?1 AND uid = ?2)
         FROM rooms WHERE id = ?1",
    )?
    .query_row(params![id, uid], |row| {
        let kind: String = row.get(0)?;
        let a: Option<String> = row.get(2)?;
        let b: Option<String> = row.get(3)?;
        let direct = kind == "direct";
        let party = a.as_deref() == Some(uid) || b.as_deref() == Some(uid);
        Ok(Access {
            visible: !direct || party,
            member: if direct {
                party
            } else {
                id == GENERAL || row.get::<_, bool>(4)?
            },
            archived: row.get(1)?,
        })
    })
    .optional()
}

/// What a person may do in a conversation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Access {
    /// They may see it.
    pub visible: bool,
    /// They are in it.
    pub member: bool,
    /// It is read-only.
    pub archived: bool,
}
