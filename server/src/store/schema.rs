//! The database schema and its migrations, keyed by `PRAGMA user_version`.
//! `docs/storage.md` describes the same tables; keep the two together.

use rusqlite::Connection;

/// Keeps the index in step when a message is deleted; [`CLEAR_ALL`] drops
/// and recreates it.
macro_rules! unindexed_trigger {
    () => {
        r#"
        CREATE TRIGGER messages_unindexed AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
        END;
        "#
    };
}

/// Each migration takes the schema from version `index` to `index + 1`.
/// Append only: a released migration never changes.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: messages, their full-text index, and the room's own facts.
    concat!(
        r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE messages (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        ts        INTEGER NOT NULL,
        user_id   INTEGER NOT NULL,
        user_name TEXT NOT NULL,
        text      TEXT NOT NULL
    ) STRICT;

    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text,
        content = 'messages',
        content_rowid = 'id',
        tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co So'",
        prefix = '2 3 4'
    );

    CREATE TRIGGER messages_indexed AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;

    "#,
        unindexed_trigger!(),
        r#"

    CREATE TRIGGER messages_reindexed AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;

    INSERT INTO meta (key, value) VALUES ('room', lower(hex(randomblob(16))));
    "#
    ),
    // 2: who wrote a message (stable uid), replies, edits and deletions,
    // reactions, and files.
    r#"
    ALTER TABLE messages ADD COLUMN user_uid TEXT NOT NULL DEFAULT '';
    ALTER TABLE messages ADD COLUMN reply_to INTEGER;
    ALTER TABLE messages ADD COLUMN reply_user_id INTEGER;
    ALTER TABLE messages ADD COLUMN reply_user_uid TEXT;
    ALTER TABLE messages ADD COLUMN reply_user_name TEXT;
    ALTER TABLE messages ADD COLUMN edited_ts INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE reactions (
        message_id INTEGER NOT NULL,
        emoji      TEXT NOT NULL,
        user_uid   TEXT NOT NULL,
        user_id    INTEGER NOT NULL,
        user_name  TEXT NOT NULL,
        UNIQUE (message_id, emoji, user_uid)
    ) STRICT;

    CREATE TABLE uploads (
        id   TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        type TEXT NOT NULL,
        ts   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX uploads_by_hash ON uploads (hash);

    CREATE TABLE message_files (
        message_id INTEGER NOT NULL,
        position   INTEGER NOT NULL,
        upload_id  TEXT NOT NULL,
        PRIMARY KEY (message_id, position)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX message_files_by_upload ON message_files (upload_id);
    "#,
    // 3: who uploaded a file (their uid), so only they may attach it and
    // their files count against their quota. Older uploads have no owner
    // and can no longer be attached.
    r#"
    ALTER TABLE uploads ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    CREATE INDEX uploads_by_owner ON uploads (owner);
    "#,
    // 4: rooms and direct conversations. Everything said so far is in
    // General (id 1), ids unchanged. Memberships of rooms, each person's
    // read position in each conversation, and everyone who has been here.
    r#"
    CREATE TABLE rooms (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        kind        TEXT NOT NULL CHECK (kind IN ('room', 'direct')),
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL,
        topic       TEXT,
        archived    INTEGER NOT NULL DEFAULT 0,
        created_ts  INTEGER NOT NULL,
        direct_a    TEXT,
        direct_b    TEXT
    ) STRICT;
    CREATE UNIQUE INDEX rooms_by_name ON rooms (name_key) WHERE kind = 'room';
    CREATE UNIQUE INDEX rooms_direct ON rooms (direct_a, direct_b) WHERE kind = 'direct';
    INSERT INTO rooms (id, kind, name, name_key, created_ts)
    VALUES (1, 'room', 'General', 'general', 0);

    ALTER TABLE messages ADD COLUMN room INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX messages_by_room ON messages (room, id);

    CREATE TABLE room_members (
        room INTEGER NOT NULL,
        uid  TEXT NOT NULL,
        PRIMARY KEY (room, uid)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE reads (
        uid  TEXT NOT NULL,
        room INTEGER NOT NULL,
        id   INTEGER NOT NULL,
        PRIMARY KEY (uid, room)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE people (
        uid     TEXT PRIMARY KEY,
        name    TEXT NOT NULL,
        seen_ts INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    INSERT INTO people (uid, name, seen_ts)
    SELECT user_uid, user_name, max(ts) FROM messages
    WHERE user_uid != '' GROUP BY user_uid;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database comes from a newer Hearth.
    #[error("schema version {found} is newer than this Hearth's {SCHEMA_VERSION}")]
    TooNew {
        /// The version found in the file.
        found: i64,
    },
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings the schema to [`SCHEMA_VERSION`], one transaction per step, so a
/// crash mid-way leaves a database at some whole version.
pub fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found });
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        log::info!("database schema migrated to version {version}");
    }
    Ok(())
}

/// Clears every message in one statement (SQLite's truncate optimisation
/// needs a table without delete triggers), then empties the index. The
/// message ids keep counting up.
pub const CLEAR_ALL: &str = concat!(
    r#"
    DROP TRIGGER messages_unindexed;
    DELETE FROM messages;
    INSERT INTO messages_fts (messages_fts) VALUES ('delete-all');
    DELETE FROM reactions;
    DELETE FROM message_files;
    DELETE FROM uploads;
    "#,
    unindexed_trigger!()
);
