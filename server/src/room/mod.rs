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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::config::Config;
use crate::protocol::{
    clean_text, AnnouncedLimits, ChatMessage, PeerId, ServerMessage, User, PEOPLE_PAGE,
};
use crate::store::{
    Applied, Change, FileQuota, Observer, Opened, Rejected, Storage, StorageError, Store,
    PAGE_LIMIT, SEARCH_LIMIT,
};

mod history;
mod identity;
mod names;
mod outbox;
mod reactions;
mod refused;
mod uploads;

pub use history::History;
pub use names::{name_key, validate_name, MAX_NAME_CHARS};
pub use outbox::{Closing, Drained, Eviction, Outbox, Push};
pub use reactions::validate_emoji;
pub use refused::Refused;
pub use uploads::UploadLimits;

/// Where a connection comes from: what the host's people list shows, and
/// what ties a guest on the network to the invite pass that let them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectedFrom {
    /// Through the loopback address: the host's own computer.
    ThisComputer,
    /// Through a shared network address.
    Network {
        /// The guest's address.
        ip: IpAddr,
        /// The invite pass it presented.
        pass: Option<u64>,
    },
}

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

/// A live snapshot of the room, for the desktop shell and `/healthz`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoomStats {
    /// Open WebSocket connections, joined or not.
    pub connections: usize,
    /// People who have joined.
    pub people: usize,
}

/// Running totals since the room opened, for `/healthz` and the tools that
/// read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoomCounters {
    /// Chat messages broadcast.
    pub messages: u64,
    /// Peers dropped because their send queue overflowed.
    pub evicted_overflow: u64,
    /// Peers dropped because they stopped taking what was sent to them.
    pub evicted_stalled: u64,
    /// Connections closed because they never joined.
    pub join_timeouts: u64,
    /// Messages refused by the room-wide rate ceiling.
    pub room_rate_limited: u64,
    /// Messages refused because they could not be stored.
    pub storage_failures: u64,
    /// Seconds since the room opened.
    pub uptime_secs: u64,
}

#[derive(Debug, Default)]
struct Counters {
    messages: AtomicU64,
    evicted_overflow: AtomicU64,
    evicted_stalled: AtomicU64,
    join_timeouts: AtomicU64,
    room_rate_limited: AtomicU64,
    storage_failures: AtomicU64,
}

/// Peers whose outbox is over half its budget after a fan-out: the sender
/// gives them a moment to catch up before it reads more.
pub type Laggards = Vec<Arc<Outbox>>;

/// What travels with a message through the store: how its sender learns
/// whether it went out, and whom it then has to wait for.
type Ticket = oneshot::Sender<Result<Laggards, Refused>>;

/// What a message takes of the in-flight budget beyond its text: its frame's
/// JSON around it, generously.
const FRAME_OVERHEAD: usize = 160;

/// Most files one message may carry.
pub const MAX_FILES: usize = 10;

/// A change someone asks for, queued through the store like a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new message.
    Say {
        /// Its text (may be empty when it carries files).
        text: String,
        /// The message it answers.
        reply_to: Option<u64>,
        /// Upload ids.
        files: Vec<String>,
    },
    /// New text for one's own message.
    Edit {
        /// Which message.
        id: u64,
        /// The new text.
        text: String,
    },
    /// Deleting one's own message.
    Delete {
        /// Which message.
        id: u64,
    },
    /// Toggling one's reaction.
    React {
        /// Which message.
        id: u64,
        /// The emoji.
        emoji: String,
    },
}

impl Action {
    /// What it weighs in the room's in-flight budget (see [`Room::reserve`]).
    pub fn weight(&self) -> usize {
        let text = match self {
            Action::Say { text, files, .. } => text.len() + files.len() * 2 * FRAME_OVERHEAD,
            Action::Edit { text, .. } => text.len(),
            Action::Delete { .. } => 0,
            Action::React { emoji, .. } => emoji.len(),
        };
        text + FRAME_OVERHEAD
    }
}

/// A message on its way through the store. It completes once the message
/// is stored and fanned out (with the peers its sender should give a moment
/// to catch up), or refused (`storage_unavailable`). It holds the message's
/// share of the room's in-flight budget until dropped: the sender drops it
/// once it has waited for the laggards, so no more than the budget can
/// reach a lagging peer before every sender holds back.
#[derive(Debug)]
pub struct Pending {
    answer: oneshot::Receiver<Result<Laggards, Refused>>,
    _share: Option<Share>,
}

/// A message's share of the room's in-flight budget (see [`Room::reserve`]).
#[derive(Debug)]
pub struct Share {
    /// Given back to the budget when dropped.
    _permit: OwnedSemaphorePermit,
}

impl std::future::Future for Pending {
    type Output = Result<Laggards, Refused>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.answer)
            .poll(cx)
            // The store dropped the ticket: it has closed.
            .map(|answer| answer.unwrap_or(Err(Refused::StorageUnavailable)))
    }
}

/// How many messages a history page or a search carries when the client
/// does not say.
const DEFAULT_PAGE: usize = 50;

#[derive(Debug)]
struct Member {
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
struct State {
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
}

/// A join or departure waiting for the next presence batch.
#[derive(Debug)]
struct PresenceEvent {
    seq: u64,
    user: User,
    joined: bool,
    /// The person's place in the roster (their join sequence).
    roster_seq: u64,
}

/// From this many people on, joins and departures are announced in
/// batches: one frame per peer per tick instead of one per person.
const BATCH_PRESENCE_FROM: usize = 200;

/// How long presence stays quiet after a batch before the heap is trimmed.
const QUIET_BEFORE_TRIM: std::time::Duration = std::time::Duration::from_millis(250);

/// Most people one `presence` frame lists.
const PRESENCE_FRAME_PEOPLE: usize = 25;

/// How long a join or departure in a large room may wait for its batch.
pub const PRESENCE_TICK: std::time::Duration = std::time::Duration::from_millis(200);

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
                    max_files: MAX_FILES,
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

    /// The running totals.
    pub fn counters(&self) -> RoomCounters {
        let c = &self.counters;
        RoomCounters {
            messages: c.messages.load(Ordering::Relaxed),
            evicted_overflow: c.evicted_overflow.load(Ordering::Relaxed),
            evicted_stalled: c.evicted_stalled.load(Ordering::Relaxed),
            join_timeouts: c.join_timeouts.load(Ordering::Relaxed),
            room_rate_limited: c.room_rate_limited.load(Ordering::Relaxed),
            storage_failures: c.storage_failures.load(Ordering::Relaxed),
            uptime_secs: self.opened.elapsed().as_secs(),
        }
    }

    /// Counts a peer dropped by the server for not keeping up.
    pub fn record_eviction(&self, reason: Eviction) {
        let counter = match reason {
            Eviction::Overflow => &self.counters.evicted_overflow,
            Eviction::Stalled => &self.counters.evicted_stalled,
            // The host's choices, not the room defending itself.
            Eviction::RemovedByHost | Eviction::SharingStopped => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed for never joining.
    pub fn record_join_timeout(&self) {
        self.counters.join_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message refused by the room-wide ceiling.
    pub fn record_room_rate_limited(&self) {
        self.counters
            .room_rate_limited
            .fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update below leaves the state consistent at each step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current snapshot.
    pub fn stats(&self) -> RoomStats {
        self.stats.borrow().clone()
    }

    /// A receiver that sees every change of [`RoomStats`].
    pub fn subscribe(&self) -> watch::Receiver<RoomStats> {
        self.stats.subscribe()
    }

    /// Registers a new connection (not yet joined) and returns its id.
    pub fn connect(&self, outbox: Arc<Outbox>, from: ConnectedFrom) -> PeerId {
        let id = self.next_peer_id.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        state.members.insert(
            id,
            Member {
                outbox,
                from,
                user: None,
                joined_seq: 0,
                seen_presence: 0,
                knows_everyone: false,
                loaded_through: 0,
            },
        );
        self.publish_stats(&state);
        id
    }

    /// The peer's current name, if it has joined.
    pub fn name_of(&self, id: PeerId) -> Option<String> {
        let state = self.lock();
        state
            .members
            .get(&id)?
            .user
            .as_ref()
            .map(|u| u.name.clone())
    }

    /// Joins a connected peer under `name`: it gets `welcome`, the others `joined`.
    /// `key`, the client's secret, makes it the same person (`uid`) as
    /// every connection with that key; without one it gets an identity of
    /// its own. A second `hello` from a joined peer acts as a rename.
    pub fn join(&self, id: PeerId, name: &str, key: Option<&str>) -> Result<Laggards, Refused> {
        let name = validate_name(name)?;
        let uid = match key {
            Some(key) => identity::uid_for(&self.instance, key)?,
            None => identity::fresh_uid(),
        };
        let mut state = self.lock();
        if state.members.get(&id).is_some_and(|m| m.user.is_some()) {
            drop(state);
            return self.rename(id, &name);
        }
        if name_taken(&state, &name, id) {
            return Err(Refused::NameTaken(name));
        }
        Ok(self.admit(&mut state, id, name, uid))
    }

    fn admit(&self, state: &mut State, id: PeerId, name: String, uid: String) -> Laggards {
        let seq = state.next_join_seq;
        state.next_join_seq += 1;
        let user = User { id, uid, name };
        if !state.members.contains_key(&id) {
            return Vec::new();
        }
        // Small rooms announce at once; anything batched goes out first.
        let batching = state.roster.len() + 1 >= BATCH_PRESENCE_FROM;
        let mut laggards = if batching {
            Vec::new()
        } else {
            self.flush_presence(state)
        };
        log::info!("peer {id} joined as name={}", user.name);
        state.roster.insert(seq, id);
        state.names.insert(name_key(&user.name), id);
        if let Some(member) = state.members.get_mut(&id) {
            member.user = Some(user.clone());
            member.joined_seq = seq;
        }
        let (users, people_next) = people_page(state, None);
        let welcome = ServerMessage::Welcome {
            room: &self.instance,
            you: &user,
            users,
            people: state.roster.len(),
            people_next,
            history: state.history.messages(),
            first_id: state.first_id,
            limits: self.limits,
        }
        .to_frame();
        if let Some(member) = state.members.get_mut(&id) {
            member.outbox.push(welcome);
            member.knows_everyone = people_next.is_none();
            member.loaded_through = people_next.unwrap_or(u64::MAX);
        }
        if batching {
            self.queue_presence(state, user.clone(), true, seq);
        }
        // Its welcome holds everyone so far, and its own join (just queued,
        // if batched) is news only to the others.
        let seen = state.next_presence_seq;
        if let Some(member) = state.members.get_mut(&id) {
            member.seen_presence = seen;
        }
        if !batching {
            let joined = ServerMessage::Joined { user: &user }.to_frame();
            laggards.extend(fan_out(state, &joined, Some(id)));
            // Everyone now holds the newcomer, so everyone must hear if
            // they leave (naming someone a peer lacks is harmless).
            for member in state.members.values_mut() {
                member.loaded_through = member.loaded_through.max(seq);
            }
        }
        self.publish_stats(state);
        laggards
    }

    /// Queues a join or departure for the next batch, and wakes the ticker
    /// that sends it.
    fn queue_presence(&self, state: &mut State, user: User, joined: bool, roster_seq: u64) {
        let seq = state.next_presence_seq;
        state.next_presence_seq += 1;
        state.presence.push(PresenceEvent {
            seq,
            user,
            joined,
            roster_seq,
        });
        if state.presence.len() == 1 {
            self.presence_queued.notify_one();
        }
    }

    /// Sends the batched joins and departures: one `presence` frame to
    /// everyone, except that peers who joined meanwhile get only what their
    /// `welcome` did not already tell them.
    fn flush_presence(&self, state: &mut State) -> Laggards {
        if state.presence.is_empty() {
            return Vec::new();
        }
        let events = std::mem::take(&mut state.presence);
        let first = events.first().map_or(0, |e| e.seq);
        let people = state.roster.len();
        let everything = presence_frames(&events, first, true, u64::MAX, people);
        let mut partial: HashMap<(u64, bool, u64), Vec<Message>> = HashMap::new();
        let mut laggards = Vec::new();
        for member in state.members.values() {
            if member.user.is_none() {
                continue;
            }
            // Knowing everyone means `loaded_through` is `u64::MAX` too.
            let frames = if member.seen_presence <= first && member.knows_everyone {
                &everything
            } else {
                // Peers that paged alike share their frames: those who
                // never paged (most, in a crowd) share one set.
                let key = (
                    member.seen_presence.max(first),
                    member.knows_everyone,
                    member.loaded_through,
                );
                &*partial
                    .entry(key)
                    .or_insert_with(|| presence_frames(&events, key.0, key.1, key.2, people))
            };
            let mut lagging = false;
            for frame in frames {
                lagging |= member.outbox.push(frame.clone()) == Push::Lagging;
            }
            if lagging {
                laggards.push(member.outbox.clone());
            }
        }
        laggards
    }

    /// Sends what presence is waiting, at most one tick after the first of
    /// it was queued, and trims the heap once comings and goings have been
    /// quiet a moment. Sleeps while there is nothing to do. It holds the room
    /// while it waits, so it runs until aborted (the server does so at
    /// shutdown), or stops on waking to find the room gone.
    pub async fn announce_presence(room: Weak<Room>) {
        // Whether people came or went since the heap was last trimmed.
        let mut since_trim = false;
        loop {
            let Some(strong) = room.upgrade() else {
                return;
            };
            let woken = async move { strong.presence_queued.notified().await };
            // After people came or went, a quiet moment: give back the
            // memory their connections and announcements took.
            if since_trim {
                if tokio::time::timeout(QUIET_BEFORE_TRIM, woken)
                    .await
                    .is_err()
                {
                    crate::limits::trim_heap();
                    since_trim = false;
                    continue;
                }
            } else {
                woken.await;
            }
            since_trim = true;
            let batched = room
                .upgrade()
                .is_some_and(|room| !room.lock().presence.is_empty());
            if !batched {
                continue;
            }
            tokio::time::sleep(PRESENCE_TICK).await;
            let Some(room) = room.upgrade() else {
                return;
            };
            let mut state = room.lock();
            // Laggards catch up on what matters: chat, which waits for them.
            drop(room.flush_presence(&mut state));
        }
    }

    /// Answers `people`: the next page of the people in the room after the
    /// cursor `after`.
    pub fn people_after(&self, id: PeerId, after: u64) -> Result<Laggards, Refused> {
        let mut state = self.lock();
        if state.members.get(&id).is_none_or(|m| m.user.is_none()) {
            return Err(Refused::NotJoined);
        }
        // The page reflects the roster now: what is still batched goes first.
        let laggards = self.flush_presence(&mut state);
        let (users, next) = people_page(&state, Some(after));
        let frame = ServerMessage::People { users, next }.to_frame();
        if let Some(member) = state.members.get_mut(&id) {
            member.outbox.push(frame);
            member.knows_everyone = next.is_none();
            // A peer may page from the start again and still hold later pages.
            member.loaded_through = member.loaded_through.max(next.unwrap_or(u64::MAX));
        }
        Ok(laggards)
    }

    /// Broadcasts a chat message to everyone including the sender, once its
    /// text is cleaned (see [`clean_text`]) and it is stored. A peer that has
    /// not said `hello` joins first under a default name.
    pub async fn say(&self, id: PeerId, text: &str) -> Result<Laggards, Refused> {
        self.act(
            id,
            Action::Say {
                text: text.to_owned(),
                reply_to: None,
                files: Vec::new(),
            },
        )
        .await
    }

    /// Does `action` for the peer and waits until everyone has it.
    pub async fn act(&self, id: PeerId, action: Action) -> Result<Laggards, Refused> {
        let share = self.reserve(action.weight()).await?;
        let (mut laggards, pending) = self.queue(id, action, share)?;
        if let Some(pending) = pending {
            laggards.extend(pending.await?);
        }
        Ok(laggards)
    }

    /// The share of the in-flight budget `weight` bytes need, waiting until
    /// the room has it. A peer should hold no share of its own while it
    /// waits, or it could wait on itself.
    pub async fn reserve(&self, weight: usize) -> Result<Share, Refused> {
        self.in_flight
            .clone()
            .acquire_many_owned(self.share_of(weight))
            .await
            .map(|permit| Share { _permit: permit })
            // The budget is never closed.
            .map_err(|_| Refused::StorageUnavailable)
    }

    /// [`Room::reserve`] if the budget has room now.
    pub fn try_reserve(&self, weight: usize) -> Option<Share> {
        self.in_flight
            .clone()
            .try_acquire_many_owned(self.share_of(weight))
            .ok()
            .map(|permit| Share { _permit: permit })
    }

    fn share_of(&self, weight: usize) -> u32 {
        u32::try_from(weight.min(self.in_flight_bytes)).unwrap_or(u32::MAX)
    }

    /// [`Room::act`] without waiting for the store, given the action's
    /// `share` of the in-flight budget: checks it, numbers a new message,
    /// and queues the change, under the lock, so the store receives
    /// messages in id order. Returns the peers a default-name join made
    /// lag, and the change's progress (`None` if the peer is gone).
    pub fn queue(
        &self,
        id: PeerId,
        action: Action,
        share: Share,
    ) -> Result<(Laggards, Option<Pending>), Refused> {
        let action = checked(action)?;
        let mut state = self.lock();
        let mut laggards = Vec::new();
        let Some(member) = state.members.get(&id) else {
            return Ok((laggards, None));
        };
        let user = match (&member.user, &action) {
            (Some(user), _) => user.clone(),
            (None, Action::Say { .. }) => {
                let name = default_name(&state, id);
                laggards = self.admit(&mut state, id, name, identity::fresh_uid());
                match state.members.get(&id).and_then(|m| m.user.clone()) {
                    Some(user) => user,
                    None => return Ok((laggards, None)),
                }
            }
            (None, _) => return Err(Refused::NotJoined),
        };
        let change = match action {
            Action::Say {
                text,
                reply_to,
                files,
            } => {
                let message = ChatMessage::plain(state.next_message_id, user, text, now_millis());
                state.next_message_id += 1;
                Change::Say {
                    message: Box::new(message),
                    reply_to,
                    files,
                }
            }
            Action::Edit { id, text } => Change::Edit {
                id,
                by: user.uid,
                text,
                ts: now_millis(),
            },
            Action::Delete { id } => Change::Delete {
                id,
                by: Some(user.uid),
            },
            Action::React { id, emoji } => Change::React { id, emoji, user },
        };
        let (ticket, answer) = oneshot::channel();
        self.store.append(change, ticket);
        Ok((
            laggards,
            Some(Pending {
                answer,
                _share: Some(share),
            }),
        ))
    }

    /// Deletes any message, as the host: only the desktop window (a Tauri
    /// command) or the machine's own owner can ask, never a peer.
    pub async fn delete_as_host(&self, id: u64) -> Result<(), Refused> {
        let (ticket, answer) = oneshot::channel();
        self.store.append(Change::Delete { id, by: None }, ticket);
        let pending = Pending {
            answer,
            _share: None,
        };
        pending.await.map(drop)
    }

    /// Sends the peer up to `limit` stored messages just before `before` (or
    /// just after `after`), oldest first.
    pub async fn history_page(
        &self,
        id: PeerId,
        before: Option<u64>,
        after: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Laggards, Refused> {
        self.require_joined(id)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, PAGE_LIMIT);
        let page = match after {
            Some(after) => self.store.page_after(after, limit, self.page_bytes).await,
            None => {
                let before = before.unwrap_or(u64::MAX).min(i64::MAX as u64);
                self.store.page_before(before, limit, self.page_bytes).await
            }
        }
        .map_err(|err| self.storage_refusal(&err))?;
        let frame = ServerMessage::History {
            messages: &page.messages,
            more: page.more,
            before: if after.is_none() { before } else { None },
            after,
        }
        .to_frame();
        self.send_to(id, frame);
        Ok(Vec::new())
    }

    /// Sends the peer up to `limit` stored messages that match `query`,
    /// newest first.
    pub async fn search(
        &self,
        id: PeerId,
        query: String,
        limit: Option<usize>,
    ) -> Result<Laggards, Refused> {
        self.require_joined(id)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, SEARCH_LIMIT);
        let messages = self
            .store
            .search(query.clone(), limit, self.page_bytes)
            .await
            .map_err(|err| self.storage_refusal(&err))?;
        let frame = ServerMessage::Results {
            query: &query,
            messages: &messages,
        }
        .to_frame();
        self.send_to(id, frame);
        Ok(Vec::new())
    }

    /// Deletes every stored message; everyone present is told to empty
    /// their view. Message ids keep counting up.
    pub async fn clear_history(&self) -> Result<(), StorageError> {
        let me = self.me.clone();
        self.store
            .clear(move |first_id| {
                // On the writer thread: ordered after every message stored
                // before, and before any stored after.
                if let Some(room) = me.upgrade() {
                    room.cleared(first_id);
                }
            })
            .await
    }

    fn cleared(&self, first_id: u64) {
        let mut state = self.lock();
        state.history.clear();
        state.first_id = first_id;
        log::info!("the host cleared the history");
        let mut state = state;
        self.broadcast(&mut state, &ServerMessage::Cleared {}.to_frame(), None);
    }

    /// Writes the whole stored conversation to `out`, from the reading
    /// thread.
    pub async fn export(
        &self,
        format: crate::store::ExportFormat,
        mut out: impl std::io::Write + Send + 'static,
    ) -> Result<u64, crate::store::ExportError> {
        let written = self
            .store
            .read(move |conn| Ok(crate::store::write_conversation(conn, format, &mut out)))
            .await??;
        Ok(written)
    }

    fn require_joined(&self, id: PeerId) -> Result<(), Refused> {
        let state = self.lock();
        match state.members.get(&id) {
            Some(member) if member.user.is_some() => Ok(()),
            _ => Err(Refused::NotJoined),
        }
    }

    fn storage_refusal(&self, err: &StorageError) -> Refused {
        log::warn!("a history or search request failed: {err}");
        Refused::ReadFailed
    }

    fn send_to(&self, id: PeerId, frame: Message) {
        if let Some(member) = self.lock().members.get(&id) {
            member.outbox.push(frame);
        }
    }

    /// Changes a joined peer's name and tells everyone (the peer included).
    pub fn rename(&self, id: PeerId, name: &str) -> Result<Laggards, Refused> {
        let name = validate_name(name)?;
        let mut state = self.lock();
        if name_taken(&state, &name, id) {
            return Err(Refused::NameTaken(name));
        }
        let Some(user) = state.members.get_mut(&id).and_then(|m| m.user.as_mut()) else {
            return Err(Refused::NotJoined);
        };
        if user.name == name {
            return Ok(Vec::new());
        }
        let previous = std::mem::replace(&mut user.name, name);
        let user = user.clone();
        state.names.remove(&name_key(&previous));
        state.names.insert(name_key(&user.name), id);
        log::info!(
            "peer {id} renamed from name={previous} to name={}",
            user.name
        );
        let frame = ServerMessage::Renamed {
            user: &user,
            previous: &previous,
        }
        .to_frame();
        let laggards = self.broadcast(&mut state, &frame, None);
        self.publish_stats(&state);
        Ok(laggards)
    }

    /// Tells the others that this peer is typing.
    pub fn typing(&self, id: PeerId) -> Result<Laggards, Refused> {
        let mut state = self.lock();
        let Some(user) = state.members.get(&id).and_then(|m| m.user.as_ref()) else {
            return Err(Refused::NotJoined);
        };
        let frame = ServerMessage::Typing { user }.to_frame();
        // A hint nobody needs to wait for: laggards catch up on real messages.
        drop(self.broadcast(&mut state, &frame, Some(id)));
        Ok(Vec::new())
    }

    /// Removes a peer; if it had joined, the others get `left`.
    pub fn disconnect(&self, id: PeerId) {
        let mut state = self.lock();
        let Some(member) = state.members.remove(&id) else {
            return;
        };
        if let Some(user) = &member.user {
            let batching = state.roster.len() >= BATCH_PRESENCE_FROM;
            // Leaving a small room is announced at once; whatever is still
            // batched goes first, counted with the leaver still here.
            if !state.closing && !batching {
                drop(self.flush_presence(&mut state));
            }
            state.roster.remove(&member.joined_seq);
            state.names.remove(&name_key(&user.name));
            // On shutdown everyone leaves at once: nobody is told who left.
            if !state.closing {
                if batching {
                    self.queue_presence(&mut state, user.clone(), false, member.joined_seq);
                } else {
                    let frame = ServerMessage::Left { user }.to_frame();
                    drop(fan_out(&state, &frame, None));
                }
            }
        }
        // The ticker trims the heap once departures have been quiet a moment.
        self.presence_queued.notify_one();
        // On shutdown, publish once, when the last one has gone.
        if state.closing && !state.members.is_empty() {
            return;
        }
        self.publish_stats(&state);
    }

    /// Who has joined, in joining order, and where each connects from: the
    /// host's people list.
    pub fn people(&self) -> Vec<Person> {
        let state = self.lock();
        state
            .roster
            .values()
            .filter_map(|id| {
                let member = state.members.get(id)?;
                let user = member.user.as_ref()?;
                Some(Person {
                    id: user.id,
                    name: user.name.clone(),
                    address: match member.from {
                        ConnectedFrom::ThisComputer => None,
                        ConnectedFrom::Network { ip, .. } => Some(ip),
                    },
                })
            })
            .collect()
    }

    /// Closes peer `id` with 1008 "removed by the host", and every other
    /// connection on the same invite pass (the same browser's other tabs).
    /// Returns where it was connected from, `None` if no such peer.
    pub fn remove(&self, id: PeerId) -> Option<ConnectedFrom> {
        let state = self.lock();
        let from = state.members.get(&id)?.from;
        for member in state.members.values() {
            let same = match (from, member.from) {
                (
                    ConnectedFrom::Network { pass: Some(a), .. },
                    ConnectedFrom::Network { pass: Some(b), .. },
                ) => a == b,
                _ => false,
            };
            if same {
                member.outbox.evict(Eviction::RemovedByHost);
            }
        }
        if let Some(member) = state.members.get(&id) {
            member.outbox.evict(Eviction::RemovedByHost);
        }
        Some(from)
    }

    /// Closes every connection from the network with `reason`; returns how many.
    pub fn evict_network(&self, reason: Eviction) -> usize {
        let state = self.lock();
        let mut count = 0;
        for member in state.members.values() {
            if matches!(member.from, ConnectedFrom::Network { .. }) {
                member.outbox.evict(reason);
                count += 1;
            }
        }
        count
    }

    /// Marks the room as closing: departures are no longer announced, which
    /// would cost every remaining peer one frame per leaver.
    pub fn close(&self) {
        self.lock().closing = true;
    }

    /// Fans `frame` out to every joined peer but `except`, after whatever
    /// presence is still batched, so everyone sees one order of events.
    fn broadcast(&self, state: &mut State, frame: &Message, except: Option<PeerId>) -> Laggards {
        let mut laggards = self.flush_presence(state);
        laggards.extend(fan_out(state, frame, except));
        laggards
    }

    /// Tells everyone about a stored change and keeps `welcome`'s history
    /// in step; returns the peers now lagging.
    fn deliver(&self, state: &mut State, applied: Applied) -> Laggards {
        match applied {
            Applied::Said(message) => {
                log::debug!(
                    "message {} from peer {} ({} bytes)",
                    message.id,
                    message.from.id,
                    message.text.len()
                );
                let frame = ServerMessage::Message(&message).to_frame();
                let laggards = self.broadcast(state, &frame, None);
                // The frame wraps the message in a few bytes more than
                // `welcome` needs for it: a safe bound for the history.
                state.history.push(message, frame.len());
                laggards
            }
            Applied::Edited {
                id,
                text,
                edited_ts,
            } => {
                log::debug!("message {id} edited");
                state.history.edit(id, &text, edited_ts);
                let frame = ServerMessage::Edited {
                    id,
                    text: &text,
                    edited_ts,
                }
                .to_frame();
                self.broadcast(state, &frame, None)
            }
            Applied::Deleted { id, .. } => {
                log::debug!("message {id} deleted");
                state.history.delete(id);
                self.broadcast(state, &ServerMessage::Deleted { id }.to_frame(), None)
            }
            Applied::Reacted {
                id,
                emoji,
                user,
                added,
            } => {
                state.history.react(id, &emoji, &user, added);
                let frame = ServerMessage::Reaction {
                    id,
                    emoji: &emoji,
                    user: &user,
                    added,
                }
                .to_frame();
                self.broadcast(state, &frame, None)
            }
        }
    }

    fn publish_stats(&self, state: &State) {
        let stats = RoomStats {
            connections: state.members.len(),
            people: state.roster.len(),
        };
        self.stats.send_if_modified(|current| {
            if *current == stats {
                false
            } else {
                *current = stats;
                true
            }
        });
    }
}

impl Observer<Ticket> for Room {
    fn committed(&self, batch: Vec<(Result<Applied, Rejected>, Ticket)>) {
        // Counted before anyone can see them, so a client that has a
        // message never reads a count without it.
        let said = batch
            .iter()
            .filter(|(outcome, _)| matches!(outcome, Ok(Applied::Said(_))))
            .count();
        self.counters
            .messages
            .fetch_add(said as u64, Ordering::Relaxed);
        let mut state = self.lock();
        let mut answers = Vec::with_capacity(batch.len());
        for (outcome, ticket) in batch {
            let answer = match outcome {
                Ok(applied) => Ok(self.deliver(&mut state, applied)),
                Err(rejected) => Err(Refused::from(rejected)),
            };
            answers.push((ticket, answer));
        }
        drop(state);
        for (ticket, answer) in answers {
            let _ = ticket.send(answer);
        }
    }

    fn failed(&self, batch: Vec<Ticket>, _err: StorageError) {
        self.counters
            .storage_failures
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        for ticket in batch {
            let _ = ticket.send(Err(Refused::StorageUnavailable));
        }
    }

    fn pruned(&self, first_kept: u64) {
        let mut state = self.lock();
        state.history.forget_before(first_kept);
        state.first_id = state.first_id.max(first_kept);
    }
}

/// `action` with its text cleaned and its emoji checked, before it takes
/// the lock.
fn checked(action: Action) -> Result<Action, Refused> {
    Ok(match action {
        Action::Say {
            text,
            reply_to,
            mut files,
        } => {
            if files.len() > MAX_FILES {
                return Err(Refused::TooManyFiles(MAX_FILES));
            }
            files.dedup();
            let text = match clean_text(&text) {
                Some(text) => text,
                // A picture needs no words.
                None if !files.is_empty() => String::new(),
                None => return Err(Refused::EmptyMessage),
            };
            Action::Say {
                text,
                reply_to,
                files,
            }
        }
        Action::Edit { id, text } => Action::Edit {
            id,
            text: clean_text(&text).ok_or(Refused::EmptyMessage)?,
        },
        Action::React { id, emoji } => Action::React {
            id,
            emoji: validate_emoji(&emoji)?,
        },
        delete @ Action::Delete { .. } => delete,
    })
}

/// Pushes one shared frame to every joined member (except `except`); never waits.
fn fan_out(state: &State, frame: &Message, except: Option<PeerId>) -> Laggards {
    let mut laggards = Vec::new();
    for (id, member) in &state.members {
        if member.user.is_none() || Some(*id) == except {
            continue;
        }
        // Cloning a frame shares its bytes; it does not copy them.
        if member.outbox.push(frame.clone()) == Push::Lagging {
            laggards.push(member.outbox.clone());
        }
    }
    laggards
}

/// The `presence` frames for a peer that has seen every event before
/// `seen`: who joined (only for a peer that has loaded the whole people
/// list; others meet newcomers when they page on, as they join at its end),
/// then who left (only those the peer may hold: joined by `loaded_through`;
/// it never had anyone later, so a crowd leaving costs it only the count),
/// with the count after each frame. In frames of a few dozen people: a
/// socket's write buffer keeps the size of the largest frame it ever sent,
/// so none is huge.
fn presence_frames(
    events: &[PresenceEvent],
    seen: u64,
    knows_everyone: bool,
    loaded_through: u64,
    people: usize,
) -> Vec<Message> {
    let news: Vec<&PresenceEvent> = events.iter().filter(|e| e.seq >= seen).collect();
    if news.is_empty() {
        return Vec::new();
    }
    let listed: Vec<&PresenceEvent> = news
        .into_iter()
        .filter(|e| {
            if e.joined {
                knows_everyone
            } else {
                e.roster_seq <= loaded_through
            }
        })
        .collect();
    if listed.is_empty() {
        // Nobody this peer holds or will page to: just the new count.
        let frame = ServerMessage::Presence {
            joined: Vec::new(),
            left: Vec::new(),
            people,
        };
        return vec![frame.to_frame()];
    }
    // What is not listed counts at once; each frame then applies its own,
    // so the last frame's count is the room's.
    let listed_joins = listed.iter().filter(|e| e.joined).count();
    let listed_leaves = listed.len() - listed_joins;
    let mut count = (people + listed_leaves).saturating_sub(listed_joins);
    listed
        .chunks(PRESENCE_FRAME_PEOPLE)
        .map(|chunk| {
            let (joined, left): (Vec<&&PresenceEvent>, Vec<_>) =
                chunk.iter().partition(|e| e.joined);
            count = (count + joined.len()).saturating_sub(left.len());
            ServerMessage::Presence {
                joined: joined.iter().map(|e| &e.user).collect(),
                left: left.iter().map(|e| &e.user).collect(),
                people: count,
            }
            .to_frame()
        })
        .collect()
}

/// Up to [`PEOPLE_PAGE`] people in joining order after the cursor `after`
/// (from the start without one), and the cursor for the next page.
fn people_page(state: &State, after: Option<u64>) -> (Vec<User>, Option<u64>) {
    let start = match after {
        Some(after) => std::ops::Bound::Excluded(after),
        None => std::ops::Bound::Unbounded,
    };
    let mut page = state.roster.range((start, std::ops::Bound::Unbounded));
    let mut users = Vec::new();
    let mut last = None;
    for (seq, id) in page.by_ref().take(PEOPLE_PAGE) {
        if let Some(user) = state.members.get(id).and_then(|m| m.user.clone()) {
            users.push(user);
            last = Some(*seq);
        }
    }
    let next = page.next().and(last);
    (users, next)
}

fn name_taken(state: &State, name: &str, except: PeerId) -> bool {
    state
        .names
        .get(&name_key(name))
        .is_some_and(|holder| *holder != except)
}

fn default_name(state: &State, id: PeerId) -> String {
    let base = format!("guest-{id}");
    let mut candidate = base.clone();
    let mut n = 2;
    while name_taken(state, &candidate, id) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
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
