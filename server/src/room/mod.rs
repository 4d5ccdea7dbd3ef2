//! The room: who is here, what was said, and the fan-out of every event.
//!
//! All state sits behind one short-held lock. Fan-out happens under that lock,
//! so every peer's outbox receives events in the same order (one total order),
//! and it never waits: pushing into an [`Outbox`] is a bounded, non-blocking
//! operation.
//!
//! A chat message is numbered under the lock and queued for the store; the
//! store's writer thread commits it and only then hands it back
//! ([`Observer::committed`]) to be fanned out. So nobody, its sender
//! included, ever receives a message the database does not hold.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch, Notify, Semaphore};

use crate::config::Config;
use crate::model::names::MAX_NAME_CHARS;
use crate::model::{ConnectedFrom, PeerId, User};
use crate::protocol::AnnouncedLimits;
use crate::store::{FileQuota, Observer, Opened, Storage, StorageError, Store};

mod actions;
mod conversations;
mod counters;
mod fanout;
mod history;
mod host;
mod identity;
mod members;
mod outbox;
mod people;
mod presence;
mod reads;
mod refused;
mod rooms;
mod uploads;

use conversations::Conversations;
use counters::Counters;
use presence::PresenceEvent;

pub use actions::Pending;
pub use counters::{RoomCounters, RoomStats};
pub use history::History;
pub use host::RoomEdit;
pub use outbox::{Closing, Drained, Eviction, Outbox, Push};
pub use refused::Refused;
pub use uploads::UploadLimits;

/// One person in the host's people list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    /// The connection's id.
    pub id: PeerId,
    /// Their name.
    pub name: String,
    /// Their network address; `None` for this computer.
    pub address: Option<IpAddr>,
}

/// Peers whose outbox is over half its budget after a fan-out: the sender
/// gives them a moment to catch up before it reads more.
pub type Laggards = Vec<Arc<Outbox>>;

/// What travels with a message through the store: how its sender learns
/// whether it went out, and whom it then has to wait for.
type Ticket = oneshot::Sender<Result<Laggards, Refused>>;

#[derive(Debug)]
pub(super) struct Member {
    outbox: Arc<Outbox>,
    from: ConnectedFrom,
    /// `None` until the peer has joined (sent `hello` or its first `say`).
    user: Option<User>,
    joined_seq: u64,
    /// Presence events before this one are already in what the peer was
    /// told (its `welcome`), so batches leave them out for it.
    seen_presence: u64,
    /// Whether the peer has been sent the whole people list (its `welcome`
    /// or a `people` page had no next page): only then are newcomers listed
    /// to it one by one.
    knows_everyone: bool,
    /// The join sequence up to which the peer may hold people: the last of
    /// the pages it was sent, or of those it was told joined; `u64::MAX`
    /// once it has been sent the whole list. Only departures up to here are
    /// named to it: anyone later it never had, and meets no more.
    loaded_through: u64,
}

#[derive(Debug)]
pub(super) struct State {
    members: HashMap<PeerId, Member>,
    /// Joined members in joining order (join sequence → id), so listing
    /// people never needs a sort.
    roster: BTreeMap<u64, PeerId>,
    /// Names in use, by [`name_key`], so look-alike names clash.
    names: HashMap<String, PeerId>,
    history: History,
    next_message_id: u64,
    /// The oldest message id still kept (or the next id, when none is):
    /// anything older was cleared or pruned.
    first_id: u64,
    next_join_seq: u64,
    /// Joins and departures not yet announced (large rooms announce them
    /// in batches), oldest first.
    presence: Vec<PresenceEvent>,
    next_presence_seq: u64,
    /// Set on shutdown: everyone leaves at once, so nobody is told who left.
    closing: bool,
    /// General, the rooms, the direct conversations, and who reads what.
    conversations: Conversations,
}

/// The shared chat room. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Room {
    state: Mutex<State>,
    next_peer_id: AtomicUsize,
    limits: AnnouncedLimits,
    /// The room's identity: kept with its messages, so the same data
    /// directory is the same room after a restart. It also salts the uids.
    instance: String,
    store: Store<Ticket>,
    /// Most bytes of JSON in one history page or search answer.
    page_bytes: usize,
    /// Bytes of messages said whose senders have not yet heard they went
    /// out (and waited for any laggards), room-wide. Once a peer lags,
    /// whatever is in flight may still reach it before the senders hold
    /// back, so this bound (a quarter of a peer's send budget) keeps
    /// everyone's queue within its budget while letting bursts batch.
    in_flight: Arc<Semaphore>,
    in_flight_bytes: usize,
    stats: watch::Sender<RoomStats>,
    /// Wakes the presence ticker: a batch started, or someone left (the
    /// ticker also trims the heap once things are quiet).
    presence_queued: Notify,
    counters: Counters,
    /// Quotas on the files people send.
    uploads: UploadLimits,
    opened: Instant,
    /// Whether everyone may make rooms (the host's setting).
    anyone_creates_rooms: AtomicBool,
    /// Rooms the house may have, General included.
    max_rooms: usize,
    /// New people one person may open direct conversations with in an hour.
    max_directs_per_hour: usize,
    /// The room itself, for work that finishes on the store's thread.
    me: Weak<Room>,
}

impl Room {
    /// Opens the room kept in `config.storage` (creating it if new) with the
    /// history bounds and limits of `config`.
    pub fn open(config: &Config) -> Result<Arc<Self>, StorageError> {
        let Opened {
            store,
            room_id,
            next_id,
            first_id,
            recent,
            conversations,
        } = Store::open(&config.storage, config.retention, config.history)?;
        let quota = FileQuota {
            total: config.files_quota(store.free_space()),
            per_person: config.max_person_files_bytes,
            disk_reserve: uploads::DISK_RESERVE_BYTES,
        };
        log::info!(
            "files people send may take {} MiB in all, {} MiB each",
            quota.total / (1024 * 1024),
            quota.per_person / (1024 * 1024)
        );
        let mut history = History::new(config.history, config.history_bytes());
        for message in recent {
            let size = history::size_of(&message);
            history.push(message, size);
        }
        let state = State {
            members: HashMap::new(),
            roster: BTreeMap::new(),
            names: HashMap::new(),
            history,
            next_message_id: next_id,
            first_id,
            next_join_seq: 0,
            presence: Vec::new(),
            next_presence_seq: 1,
            closing: false,
            conversations: Conversations::from_saved(conversations),
        };
        Ok(Arc::new_cyclic(|me: &Weak<Room>| {
            let observer: Weak<dyn Observer<Ticket>> = me.clone();
            store.observe(observer);
            Self {
                state: Mutex::new(state),
                next_peer_id: AtomicUsize::new(1),
                limits: AnnouncedLimits {
                    max_message_bytes: config.max_message_bytes,
                    max_name_chars: MAX_NAME_CHARS,
                    max_upload_bytes: config.max_upload_bytes,
                    max_files: crate::action::MAX_FILES,
                },
                stats: watch::Sender::new(RoomStats::default()),
                presence_queued: Notify::new(),
                instance: room_id,
                store,
                page_bytes: config.history_bytes(),
                in_flight: Arc::new(Semaphore::new(
                    (config.send_queue_bytes / 4).min(Semaphore::MAX_PERMITS),
                )),
                in_flight_bytes: config.send_queue_bytes / 4,
                counters: Counters::default(),
                uploads: UploadLimits::new(quota),
                opened: Instant::now(),
                anyone_creates_rooms: AtomicBool::new(config.anyone_creates_rooms),
                max_rooms: config.max_rooms,
                max_directs_per_hour: config.max_directs_per_hour,
                me: me.clone(),
            }
        }))
    }

    /// Commits what is queued and closes the database: the last step of
    /// shutting down.
    pub async fn close_storage(&self) {
        self.store.close().await;
    }

    /// Where the room keeps its messages.
    pub fn storage(&self) -> &Storage {
        self.store.location()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // Every update below leaves the state consistent at each step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(outbox: &Outbox) -> Vec<serde_json::Value> {
        let mut frames = Vec::new();
        outbox.drain_into(&mut frames);
        frames
            .iter()
            .filter_map(|f| serde_json::from_str(f.to_text().ok()?).ok())
            .collect()
    }

    fn room(history: usize) -> Arc<Room> {
        Room::open(&Config {
            history,
            ..Config::default()
        })
        .expect("an ephemeral room opens")
    }

    #[test]
    fn names_are_unique_case_insensitively() {
        let room = room(10);
        let a = room.connect(Arc::new(Outbox::new(1 << 20)), ConnectedFrom::ThisComputer);
        let b = room.connect(Arc::new(Outbox::new(1 << 20)), ConnectedFrom::ThisComputer);
        assert!(room.join(a, "Ann", None).is_ok());
        assert_eq!(
            room.join(b, " ann ", None).map(|_| ()),
            Err(Refused::NameTaken("ann".into()))
        );
        assert_eq!(
            room.join(b, "\u{410}nn", None).map(|_| ()),
            Err(Refused::NameTaken("\u{410}nn".into()))
        );
        assert_eq!(room.stats().people, 1);
        assert_eq!(room.people()[0].name, "Ann");
        assert_eq!(room.stats().connections, 2);
    }

    #[tokio::test]
    async fn say_before_hello_joins_with_a_default_name() {
        let room = room(10);
        let outbox = Arc::new(Outbox::new(1 << 20));
        let id = room.connect(outbox.clone(), ConnectedFrom::ThisComputer);
        room.say(id, "hi").await.expect("said");
        let frames = texts(&outbox);
        assert_eq!(frames[0]["type"], "welcome");
        assert_eq!(frames[1]["type"], "message");
        assert_eq!(frames[1]["from"]["name"], format!("guest-{id}"));
    }

    #[tokio::test]
    async fn history_keeps_only_the_last_n() {
        let room = room(2);
        let id = room.connect(Arc::new(Outbox::new(1 << 20)), ConnectedFrom::ThisComputer);
        for text in ["one", "two", "three"] {
            room.say(id, text).await.expect("said");
        }
        let late = Arc::new(Outbox::new(1 << 20));
        let late_id = room.connect(late.clone(), ConnectedFrom::ThisComputer);
        assert!(room.join(late_id, "Late", None).is_ok());
        let welcome = &texts(&late)[0];
        let history: Vec<_> = welcome["history"]
            .as_array()
            .map(|h| h.iter().map(|m| m["text"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(history, ["two", "three"]);
    }
}
