//! The storage threads: the writer (group commits, then delivery; pruning)
//! and the reader.

use std::fs::File;
use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Weak;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::changes::{self, Rejected};
use super::{queries, Blobs, Observer, Retention, StorageError};
use crate::action::{Change, Event};

/// The most messages one transaction takes; more wait for the next.
const MAX_BATCH: usize = 1024;

/// How often retention runs, and forgotten uploads are collected.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// How long after an edit or a deletion the write-ahead log is
/// checkpointed and truncated, so the old text leaves the disk: soon, but
/// not on every commit of a conversation full of edits.
const SCRUB_AFTER: Duration = Duration::from_secs(1);

/// How long the scrub's checkpoint waits for readers to move on before it
/// tries again later: the writer has messages to commit meanwhile.
const SCRUB_BUSY_WAIT: Duration = Duration::from_millis(50);

/// How long an upload may wait for a message to use it before it is
/// collected.
/// (Collected at the next prune, so within a minute after.)
const UNSENT_UPLOAD_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// What a storage thread is asked to do.
pub enum Job<T> {
    /// Apply a change in the next group commit.
    Append(Change, T),
    /// Run a query (or a write of its own) in turn.
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
    /// From now on, committed batches go to this observer.
    Observe(Weak<dyn Observer<T>>),
    /// Commit what is queued, close the database, release the data
    /// directory, then answer.
    Close(oneshot::Sender<()>),
}

impl<T> std::fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Append(..) => "Append",
            Job::Run(_) => "Run",
            Job::Observe(_) => "Observe",
            Job::Close(_) => "Close",
        })
    }
}

/// The queues of the two threads (one and the same when ephemeral).
pub struct Threads<T> {
    pub writer: Sender<Job<T>>,
    pub reader: Sender<Job<T>>,
}

/// Starts the writer on `writer` and, when given, a reader on `reader`;
/// without one, reads queue on the writer. `lock` is held until the writer
/// ends.
pub fn spawn<T: Send + 'static>(
    writer: Connection,
    reader: Option<Connection>,
    lock: Option<File>,
    retention: Retention,
    blobs: Blobs,
) -> io::Result<Threads<T>> {
    let (write_queue, writes) = mpsc::channel();
    thread::Builder::new()
        .name("hearth-store-writer".into())
        .spawn(move || {
            let closed = Writer::new(writer, retention, blobs).run(writes);
            drop(lock);
            if let Some(closed) = closed {
                let _ = closed.send(());
            }
        })?;
    let read_queue = match reader {
        None => write_queue.clone(),
        Some(conn) => {
            let (read_queue, reads) = mpsc::channel();
            thread::Builder::new()
                .name("hearth-store-reader".into())
                .spawn(move || read_loop(conn, reads))?;
            read_queue
        }
    };
    Ok(Threads {
        writer: write_queue,
        reader: read_queue,
    })
}

fn read_loop<T>(mut conn: Connection, jobs: Receiver<Job<T>>) {
    for job in jobs {
        match job {
            Job::Run(work) => work(&mut conn),
            Job::Close(_) => return,
            Job::Append(..) | Job::Observe(_) => {}
        }
    }
}

struct Writer<T> {
    conn: Connection,
    observer: Option<Weak<dyn Observer<T>>>,
    pending: Vec<(Change, T)>,
    retention: Retention,
    blobs: Blobs,
    next_prune: Instant,
    /// When the write-ahead log is next to be scrubbed of removed text;
    /// `None` while nothing was removed since the last scrub.
    scrub_due: Option<Instant>,
    /// Set while commits fail, so an outage is logged once, not per batch.
    failing: bool,
}

impl<T: Send + 'static> Writer<T> {
    fn new(conn: Connection, retention: Retention, blobs: Blobs) -> Self {
        Self {
            conn,
            observer: None,
            pending: Vec::new(),
            retention,
            blobs,
            // `open` has just pruned.
            next_prune: Instant::now() + PRUNE_EVERY,
            scrub_due: None,
            failing: false,
        }
    }

    /// Serves jobs until told to close (returning whom to tell once the
    /// database is closed) or until every handle is gone.
    fn run(mut self, jobs: Receiver<Job<T>>) -> Option<oneshot::Sender<()>> {
        loop {
            let next = self
                .scrub_due
                .map_or(self.next_prune, |due| due.min(self.next_prune));
            let wait = next.saturating_duration_since(Instant::now());
            match jobs.recv_timeout(wait) {
                Ok(first) => {
                    let mut closing = self.take(first);
                    // Everything queued meanwhile joins this commit.
                    for job in jobs.try_iter().take(MAX_BATCH) {
                        if closing.is_some() {
                            break;
                        }
                        closing = self.take(job);
                    }
                    self.commit();
                    if closing.is_some() {
                        return closing;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= self.next_prune {
                self.prune();
                self.next_prune = Instant::now() + PRUNE_EVERY;
            }
            if self.scrub_due.is_some_and(|due| Instant::now() >= due) {
                self.scrub();
            }
        }
        self.commit();
        None
    }

    /// Takes one job; a `Close` is handed back for the caller to finish.
    fn take(&mut self, job: Job<T>) -> Option<oneshot::Sender<()>> {
        match job {
            Job::Append(change, ticket) => self.pending.push((change, ticket)),
            Job::Run(work) => {
                // In queue order: what was appended before runs first.
                self.commit();
                work(&mut self.conn);
            }
            Job::Observe(observer) => self.observer = Some(observer),
            Job::Close(closed) => return Some(closed),
        }
        None
    }

    /// Applies the pending changes in one transaction, then hands their
    /// outcomes to the observer: to deliver, or to refuse if the commit
    /// failed. Files no message uses any more go once it has committed.
    fn commit(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let (changes, tickets): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let outcome = apply_all(&mut self.conn, changes);
        match &outcome {
            Ok(_) if self.failing => {
                self.failing = false;
                log::info!("storage works again; messages are being kept");
            }
            Err(err) if !self.failing => {
                self.failing = true;
                log::error!("cannot store messages, so none are sent until it works again: {err}");
            }
            _ => {}
        }
        let observer = self.observer.as_ref().and_then(Weak::upgrade);
        match outcome {
            Ok(applied) => {
                for outcome in &applied {
                    match outcome {
                        Ok(Event::Deleted(deleted)) => {
                            deleted.gone.iter().for_each(|hash| self.blobs.remove(hash));
                            self.scrub_soon();
                        }
                        Ok(Event::Edited(_)) => self.scrub_soon(),
                        _ => {}
                    }
                }
                if let Some(observer) = observer {
                    observer.committed(applied.into_iter().zip(tickets).collect());
                }
            }
            Err(err) => {
                if let Some(observer) = observer {
                    observer.failed(tickets, StorageError::from_running(err));
                }
            }
        }
    }

    /// Applies retention, then collects the uploads nothing uses.
    fn prune(&mut self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.commit();
        if self.retention.prunes() {
            match queries::prune(&mut self.conn, self.retention, now) {
                Ok(Some(first_kept)) => {
                    self.scrub_soon();
                    if let Some(observer) = self.observer.as_ref().and_then(Weak::upgrade) {
                        observer.pruned(first_kept);
                    }
                }
                Ok(None) => {}
                Err(err) => log::warn!("could not prune old messages: {err}"),
            }
        }
        self.collect_orphans(now);
    }
}

impl<T> Writer<T> {
    /// Asks for a scrub within [`SCRUB_AFTER`], unless one is already due.
    fn scrub_soon(&mut self) {
        self.scrub_due
            .get_or_insert_with(|| Instant::now() + SCRUB_AFTER);
    }

    /// Takes removed text off the disk: `secure_delete` has zeroed it in
    /// the database's pages, but the write-ahead log still holds the pages
    /// as they were. A checkpoint copies the log into the database and
    /// truncates it. If a reader holds an older snapshot, it tries again
    /// later rather than keep the writer waiting.
    fn scrub(&mut self) {
        self.scrub_due = None;
        let _ = self.conn.busy_timeout(SCRUB_BUSY_WAIT);
        let started = Instant::now();
        let outcome = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
        let _ = self.conn.busy_timeout(super::open::BUSY_TIMEOUT);
        match outcome {
            // Its cost, on the writer's thread, is what docs/performance.md
            // measures.
            Ok(0) => log::debug!(
                "the write-ahead log is checkpointed and truncated in {:.2} ms",
                started.elapsed().as_secs_f64() * 1000.0
            ),
            Ok(_) => self.scrub_soon(),
            Err(err) => {
                log::debug!("checkpoint after a removal: {err}; trying again");
                self.scrub_soon();
            }
        }
    }

    /// Forgets uploads no message has used for [`UNSENT_UPLOAD_LIFETIME`].
    fn collect_orphans(&mut self, now: Duration) {
        let before = now.saturating_sub(UNSENT_UPLOAD_LIFETIME).as_millis();
        let collected = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .and_then(|tx| {
                let gone = changes::collect_orphans(&tx, u64::try_from(before).unwrap_or(0))?;
                tx.commit()?;
                Ok(gone)
            });
        match collected {
            Ok(gone) => gone.iter().for_each(|hash| self.blobs.remove(hash)),
            Err(err) => log::warn!("could not collect unsent uploads: {err}"),
        }
    }
}

/// Applies every change in one transaction; a change rejected on its merits
/// writes nothing and does not stop the others.
fn apply_all(
    conn: &mut Connection,
    changes: Vec<Change>,
) -> rusqlite::Result<Vec<Result<Event, Rejected>>> {
    // Immediate: the changes read before they write, and a transaction
    // that has read cannot wait for the write lock (SQLite answers busy at
    // once), so it takes the lock first, waiting as long as it may.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let outcomes = changes
        .into_iter()
        .map(|change| changes::apply(&tx, change))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(outcomes)
}
