//! The room's memory: every chat message in SQLite.
//!
//! SQLite calls block, so none runs on a tokio worker. One thread owns the
//! writing connection: it takes every queued message in one transaction (a
//! group commit), and only once that commits does it hand the batch to the
//! room to deliver, so no client ever sees a message the database does not
//! hold. A second thread with a read-only connection answers history pages
//! and searches, so a long search never delays a message. An ephemeral room
//! keeps the same tables in memory, on the one thread.

mod changes;
mod export;
mod files;
mod open;
mod queries;
mod rooms;
mod schema;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Weak;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::action::{Change, Event};
use crate::model::{ChatMessage, FileInfo, RoomId};

pub use changes::{Rejected, Upload};
pub use export::{export, write_conversation, ExportError, ExportFormat, Exported, ExportedRoom};
pub use files::{clean_file_name, sniff, Blob, Blobs, FILES_DIR};
pub use open::StorageError;
pub use queries::{Page, Scope, PAGE_LIMIT, SEARCH_LIMIT};
pub use rooms::{NewConversation, RoomChange, SavedConversations};

use worker::Job;

/// The database's file name inside the data directory.
pub const DATABASE_FILE: &str = "hearth.db";

/// Where the room keeps its messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Storage {
    /// In memory only: nothing outlives the process.
    #[default]
    Ephemeral,
    /// In [`DATABASE_FILE`] inside this directory, created if missing.
    Dir(PathBuf),
}

impl Storage {
    /// The data directory, unless the room is ephemeral.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Storage::Ephemeral => None,
            Storage::Dir(dir) => Some(dir),
        }
    }
}

/// How long messages are kept; `None` keeps them for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Messages older than this are pruned.
    pub max_age: Option<Duration>,
    /// Only the newest this many are kept.
    pub max_messages: Option<u64>,
}

impl Retention {
    /// Whether anything is ever pruned.
    pub fn prunes(&self) -> bool {
        self.max_age.is_some() || self.max_messages.is_some()
    }
}

/// What the writer thread tells the room. Called on that thread, in commit
/// order.
pub trait Observer<T>: Send + Sync {
    /// A batch was committed: each change applied (deliver it) or rejected
    /// on its merits (tell its sender why).
    fn committed(&self, batch: Vec<(Result<Event, Rejected>, T)>);
    /// A batch was rolled back: nothing in it happened.
    fn failed(&self, batch: Vec<T>, err: StorageError);
    /// Retention removed every message older than `first_kept`.
    fn pruned(&self, first_kept: u64);
}

/// What a freshly opened store already holds.
#[derive(Debug)]
pub struct Opened<T> {
    /// The handle.
    pub store: Store<T>,
    /// The room's identity: the same for the same data directory.
    pub room_id: String,
    /// The id the next message gets: above every id ever stored.
    pub next_id: u64,
    /// The oldest id still kept, or `next_id` when none is.
    pub first_id: u64,
    /// General's newest messages, oldest first, at most as many as asked for.
    pub recent: Vec<ChatMessage>,
    /// The conversations, who is in them, and where each person has read to.
    pub conversations: SavedConversations,
}

/// A handle to the room's database. Each message carries a ticket `T` that
/// comes back with it when its batch commits.
#[derive(Debug)]
pub struct Store<T> {
    writer: Sender<Job<T>>,
    reader: Sender<Job<T>>,
    location: Storage,
    blobs: Blobs,
}

impl<T: Send + 'static> Store<T> {
    /// Opens (creating or migrating) the database at `storage` and starts its
    /// threads; loads the `recent` newest messages.
    pub fn open(
        storage: &Storage,
        retention: Retention,
        recent: usize,
    ) -> Result<Opened<T>, StorageError> {
        open::open(storage, retention, recent)
    }

    /// Names the observer that delivers committed batches. Every message
    /// appended before this is delivered to nobody, so call it first.
    pub fn observe(&self, observer: Weak<dyn Observer<T>>) {
        self.send_write(Job::Observe(observer));
    }

    /// Where the messages live.
    pub fn location(&self) -> &Storage {
        &self.location
    }

    /// Queues `change` for the next group commit. Queue new messages in id
    /// order: batches commit, and come back to the observer, in the order
    /// queued.
    pub fn append(&self, change: Change, ticket: T) {
        self.send_write(Job::Append(change, ticket));
    }

    /// Keeps `owner`'s uploaded file: its bytes under their hash (once),
    /// and an upload of them under a new random id, if it fits `quota` and
    /// the disk. On the writer thread, so a message deleted meanwhile cannot
    /// remove the bytes under it, and two uploads cannot both take the last
    /// of a quota.
    pub async fn add_upload(
        &self,
        bytes: bytes::Bytes,
        name: String,
        ts: u64,
        owner: String,
        quota: FileQuota,
    ) -> Result<Result<FileInfo, Rejected>, StorageError> {
        let blobs = self.blobs.clone();
        let id = random_id().map_err(|err| StorageError::Unavailable(err.to_string()))?;
        let upload = Upload {
            hash: Blobs::hash(&bytes),
            info: FileInfo {
                url: changes::file_url(&id),
                id,
                name,
                size: bytes.len() as u64,
                kind: sniff(&bytes).to_owned(),
            },
        };
        let size = upload.info.size;
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let (all, mine) = changes::upload_bytes(&tx, &owner)?;
            if all.saturating_add(size) > quota.total {
                return Ok(Ok(Err(Rejected::FilesFull)));
            }
            if mine.saturating_add(size) > quota.per_person {
                return Ok(Ok(Err(Rejected::PersonFilesFull)));
            }
            if blobs
                .free_space()
                .is_some_and(|free| free < size.saturating_add(quota.disk_reserve))
            {
                return Ok(Ok(Err(Rejected::DiskFull)));
            }
            if let Err(err) = blobs.put(&upload.hash, &bytes) {
                return Ok(Err(err));
            }
            changes::insert_upload(&tx, &upload, &owner, ts)?;
            tx.commit()?;
            Ok(Ok(Ok(upload.info)))
        })
        .await?
        .map_err(|err| StorageError::Unavailable(format!("cannot keep the file: {err}")))
    }

    /// Free space on the disk that holds the files (`None` in memory).
    pub fn free_space(&self) -> Option<u64> {
        self.blobs.free_space()
    }

    /// The upload `id` and its bytes, if it exists.
    pub async fn upload(&self, id: String) -> Result<Option<(FileInfo, Blob)>, StorageError> {
        let Some(upload) = self.read(move |conn| changes::upload(conn, &id)).await? else {
            return Ok(None);
        };
        let blobs = self.blobs.clone();
        let bytes = tokio::task::spawn_blocking(move || blobs.open(&upload.hash))
            .await
            .map_err(|err| StorageError::Unavailable(err.to_string()))?;
        match bytes {
            Ok(bytes) => Ok(Some((upload.info, bytes))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                log::warn!("the bytes of upload {} are missing", upload.info.id);
                Ok(None)
            }
            Err(err) => Err(StorageError::Unavailable(err.to_string())),
        }
    }

    fn send_write(&self, job: Job<T>) {
        // Once closed, a message's ticket is dropped with it: its sender
        // learns it was not stored.
        if self.writer.send(job).is_err() {
            log::debug!("storage is closed");
        }
    }

    /// Commits what is queued and closes the database, releasing the data
    /// directory for the next server; later requests fail.
    pub async fn close(&self) {
        let (closed, done) = oneshot::channel();
        self.send_write(Job::Close(closed));
        let (stop_reader, _) = oneshot::channel();
        let _ = self.reader.send(Job::Close(stop_reader));
        let _ = done.await;
    }

    /// Runs `work` on the writing connection, after everything queued before.
    async fn write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StorageError> {
        run_on(&self.writer, work).await
    }

    /// Deletes every message, then, still on the writer thread (so before
    /// any message stored later is handed back), calls `then` with the
    /// lowest id a message stored later can have.
    pub async fn clear(&self, then: impl FnOnce(u64) + Send + 'static) -> Result<(), StorageError> {
        let blobs = self.blobs.clone();
        self.write(move |conn| {
            let first_id = queries::clear_all(conn)?;
            blobs.remove_all();
            then(first_id);
            Ok(())
        })
        .await
    }

    /// Runs `work` on the reading connection.
    pub async fn read<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, StorageError> {
        run_on(&self.reader, work).await
    }

    /// The page of up to `limit` messages of `room` just before `before`,
    /// oldest first.
    pub async fn page_before(
        &self,
        room: RoomId,
        before: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, StorageError> {
        self.read(move |conn| queries::before(conn, room, before, limit, max_bytes))
            .await
    }

    /// The page of up to `limit` messages of `room` just after `after`,
    /// oldest first.
    pub async fn page_after(
        &self,
        room: RoomId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, StorageError> {
        self.read(move |conn| queries::after(conn, room, after, limit, max_bytes))
            .await
    }

    /// Up to `limit` messages in `scope` matching what a person typed,
    /// newest first.
    pub async fn search(
        &self,
        query: String,
        scope: Scope,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        self.read(move |conn| queries::search(conn, &query, &scope, limit, max_bytes))
            .await
    }

    /// Makes a conversation (a direct one that exists is returned as it
    /// is): its id, and whether it is new.
    pub async fn create_conversation(
        &self,
        new: NewConversation,
        ts: u64,
    ) -> Result<Result<(RoomId, bool), Rejected>, StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let made = rooms::create(&tx, &new, ts)?;
            tx.commit()?;
            Ok(made)
        })
        .await
    }

    /// Renames, retopics or (un)archives a room.
    pub async fn change_room(
        &self,
        id: RoomId,
        change: RoomChange,
    ) -> Result<Result<(), Rejected>, StorageError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = rooms::update(&tx, id, &change)?;
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    /// Deletes a room with its messages and their files, for good.
    pub async fn delete_room(&self, id: RoomId) -> Result<Result<(), Rejected>, StorageError> {
        let blobs = self.blobs.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let gone = match rooms::delete(&tx, id)? {
                Ok(gone) => gone,
                Err(rejected) => return Ok(Err(rejected)),
            };
            tx.commit()?;
            gone.iter().for_each(|hash| blobs.remove(hash));
            Ok(Ok(()))
        })
        .await
    }

    /// Makes `uid` a member of room `id`, or not.
    pub async fn set_member(
        &self,
        id: RoomId,
        uid: String,
        member: bool,
    ) -> Result<(), StorageError> {
        self.write(move |conn| rooms::set_member(conn, id, &uid, member))
            .await
    }

    /// Keeps `uid`'s read position in room `id`, after whatever is queued.
    /// Nobody waits for it: a position lost to a crash is only a count.
    pub fn set_read(&self, uid: String, id: RoomId, read: u64) {
        self.write_later(move |conn| rooms::set_read(conn, &uid, id, read));
    }

    /// Keeps that `uid` was here as `name`; nobody waits for it.
    pub fn remember(&self, uid: String, name: String, ts: u64) {
        self.write_later(move |conn| rooms::remember(conn, &uid, &name, ts));
    }

    fn write_later(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static) {
        self.send_write(Job::Run(Box::new(move |conn: &mut Connection| {
            if let Err(err) = work(conn) {
                log::warn!("could not keep a read position or a person: {err}");
            }
        })));
    }
}

/// How much room uploaded files may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileQuota {
    /// All files together, sent or not yet, in bytes.
    pub total: u64,
    /// One person's files (by uid), in bytes.
    pub per_person: u64,
    /// Free disk space that must be left after a file is kept, so the
    /// conversation itself can still be written.
    pub disk_reserve: u64,
}

/// A new random id (128 bits, hex): unguessable, so knowing one file's
/// address tells nothing of another's.
pub fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

async fn run_on<T, R: Send + 'static>(
    thread: &Sender<Job<T>>,
    work: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
) -> Result<R, StorageError> {
    let (reply, answer) = oneshot::channel();
    let job = Job::Run(Box::new(move |conn: &mut Connection| {
        let _ = reply.send(work(conn));
    }));
    thread.send(job).map_err(|_| StorageError::Stopped)?;
    match answer.await {
        Ok(result) => result.map_err(StorageError::from_running),
        Err(_) => Err(StorageError::Stopped),
    }
}

#[cfg(test)]
mod tests;
