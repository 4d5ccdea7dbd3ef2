//! Opening the database: the data directory, the one-Hearth-at-a-time lock,
//! the connection settings, migrations, and a clear error for each way it
//! can go wrong.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::schema::{migrate, SchemaError, SCHEMA_VERSION};
use super::worker::{spawn, Threads};
use super::{queries, Blobs, Opened, Retention, Storage, Store, DATABASE_FILE, FILES_DIR};

/// Held for as long as a server uses the data directory.
const LOCK_FILE: &str = "hearth.lock";

/// How long a statement waits for a lock another connection holds.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the room's storage could not be opened or used. The messages say
/// what to do, for the one line a person reads.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The data directory could not be created or written.
    #[error(
        "cannot use the data directory {path}: {source}. Make it writable, \
         pick another with --data-dir, or run with --ephemeral to keep nothing"
    )]
    NotWritable {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Another running Hearth holds the data directory.
    #[error(
        "another Hearth is already using {path}. Close it first, or start this \
         one with another --data-dir"
    )]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// The database file is damaged or is not a database at all.
    #[error(
        "{path} is not a Hearth database, or it is damaged. Hearth leaves it \
         untouched: move it aside (or pick another --data-dir) and start again"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The database was written by a newer Hearth.
    #[error(
        "{path} was written by a newer Hearth (schema {found}; this one knows \
         up to {SCHEMA_VERSION}). Use the newer Hearth, or another --data-dir"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
    },
    /// Any other SQLite failure while opening.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Reading or writing failed while running (disk full, I/O error).
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// The storage thread is gone (the room is closing).
    #[error("storage has stopped")]
    Stopped,
}

impl StorageError {
    /// Wraps a failure of a running database.
    pub(super) fn from_running(err: rusqlite::Error) -> Self {
        StorageError::Unavailable(err.to_string())
    }

    /// Names what went wrong with the file at `path`.
    pub(super) fn opening(path: &Path, err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as Code;
        let path = path.to_owned();
        match err.sqlite_error_code() {
            Some(Code::NotADatabase | Code::DatabaseCorrupt) => StorageError::NotADatabase { path },
            Some(Code::DatabaseBusy | Code::DatabaseLocked) => StorageError::Locked { path },
            _ => StorageError::Open { path, source: err },
        }
    }

    fn schema(path: &Path, err: SchemaError) -> Self {
        match err {
            SchemaError::TooNew { found } => StorageError::TooNew {
                path: path.to_owned(),
                found,
            },
            SchemaError::Sqlite(err) => StorageError::opening(path, err),
        }
    }
}

/// Opens `storage` and starts the threads that serve it.
pub fn open<T: Send + 'static>(
    storage: &Storage,
    retention: Retention,
    recent: usize,
) -> Result<Opened<T>, StorageError> {
    let (writer, reader, lock, path) = match storage {
        Storage::Ephemeral => {
            let mut conn = Connection::open_in_memory()
                .map_err(|err| StorageError::opening(Path::new(":memory:"), err))?;
            migrate(&mut conn).map_err(|err| StorageError::schema(Path::new(":memory:"), err))?;
            (conn, None, None, PathBuf::from(":memory:"))
        }
        Storage::Dir(dir) => {
            let lock = lock_dir(dir)?;
            let path = dir.join(DATABASE_FILE);
            let writer = open_writer(&path)?;
            let reader = Connection::open_with_flags(&path, read_only_flags())
                .and_then(|conn| configure(&conn).map(|()| conn))
                .map_err(|err| StorageError::opening(&path, err))?;
            (writer, Some(reader), Some(lock), path)
        }
    };
    let mut writer = writer;
    if retention.prunes() {
        // Before loading the recent messages, so `welcome` never shows
        // what is already past keeping.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        queries::prune(&mut writer, retention, now)
            .map_err(|err| StorageError::opening(&path, err))?;
    }
    let loaded = queries::load(&writer, recent).map_err(|err| StorageError::opening(&path, err))?;
    let conversations =
        super::rooms::load(&writer).map_err(|err| StorageError::opening(&path, err))?;
    if let Some(dir) = storage.dir() {
        log::info!("messages are kept in {}", dir.join(DATABASE_FILE).display());
    } else {
        log::info!("messages are kept in memory only (ephemeral room)");
    }
    let blobs = match storage {
        Storage::Ephemeral => Blobs::memory(),
        Storage::Dir(dir) => Blobs::Dir(dir.join(FILES_DIR)),
    };
    let Threads { writer, reader } = spawn(writer, reader, lock, retention, blobs.clone())
        .map_err(|source| StorageError::NotWritable {
            path: path.clone(),
            source,
        })?;
    Ok(Opened {
        store: Store {
            writer,
            reader,
            location: storage.clone(),
            blobs,
        },
        room_id: loaded.room,
        next_id: loaded.next_id,
        first_id: loaded.first_id.unwrap_or(loaded.next_id),
        recent: loaded.recent,
        conversations,
    })
}

/// Creates the directory and takes its lock, so two Hearths never share one
/// database (SQLite would let them, and both would hand out the same ids).
fn lock_dir(dir: &Path) -> Result<File, StorageError> {
    let not_writable = |source| StorageError::NotWritable {
        path: dir.to_owned(),
        source,
    };
    fs::create_dir_all(dir).map_err(not_writable)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(not_writable)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(StorageError::Locked {
            path: dir.to_owned(),
        }),
        Err(fs::TryLockError::Error(source)) => Err(not_writable(source)),
    }
}

fn open_writer(path: &Path) -> Result<Connection, StorageError> {
    let mut conn = Connection::open(path).map_err(|err| StorageError::opening(path, err))?;
    configure(&conn).map_err(|err| StorageError::opening(path, err))?;
    // Before anything writes (switching to WAL rewrites the header): a file
    // that is not ours, or is newer, stays exactly as it was.
    refuse_newer(&conn, path)?;
    // WAL: readers never block the writer; NORMAL: a commit is durable
    // against a crash of the process (the log is in the OS's hands), and
    // costs no fsync per transaction.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(|err| StorageError::opening(path, err))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("{} is in journal mode {mode}, not WAL", path.display());
    }
    conn.pragma_update(None, "synchronous", "normal")
        .map_err(|err| StorageError::opening(path, err))?;
    migrate(&mut conn).map_err(|err| StorageError::schema(path, err))?;
    scrub_removals(&conn).map_err(|err| StorageError::opening(path, err))?;
    Ok(conn)
}

/// Makes "deleted" mean gone from the file: SQLite zeroes what it deletes
/// (rows, old versions of edited ones), and the full-text index removes a
/// deleted message's words from its pages instead of only marking them.
/// The write-ahead log is scrubbed after each removal by the writer.
fn scrub_removals(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "secure_delete", "on")?;
    conn.execute(
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1)",
        [],
    )?;
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)
}

fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
}

/// Opens an existing database to read it while it may be in use, without
/// creating, migrating or locking anything (for export).
pub fn open_read_only(dir: &Path) -> Result<Connection, StorageError> {
    let path = dir.join(DATABASE_FILE);
    if !path.exists() {
        return Err(StorageError::Open {
            path,
            source: rusqlite::Error::InvalidPath("no conversation has been kept here yet".into()),
        });
    }
    let conn = Connection::open_with_flags(&path, read_only_flags())
        .map_err(|err| StorageError::opening(&path, err))?;
    configure(&conn).map_err(|err| StorageError::opening(&path, err))?;
    refuse_newer(&conn, &path)?;
    Ok(conn)
}

/// Reads the schema version (which fails on a file that is not a database)
/// and refuses one from a newer Hearth.
fn refuse_newer(conn: &Connection, path: &Path) -> Result<(), StorageError> {
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|err| StorageError::opening(path, err))?;
    if found > SCHEMA_VERSION {
        return Err(StorageError::TooNew {
            path: path.to_owned(),
            found,
        });
    }
    Ok(())
}
