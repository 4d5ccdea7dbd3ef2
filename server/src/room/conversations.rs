//! The house's conversations in memory: each with who is in it, the
//! connections that receive it live, and its message ids (for unread
//! counts); where each person has read to; everyone who has been here.
//!
//! General's live audience is every joined connection (the room's own
//! member list), so it keeps no list of its own: a house with one room
//! fans out exactly as before.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Outbox;
use crate::model::names::name_key;
use crate::model::{Conversation, Kind, PeerId, RoomId, GENERAL};
use crate::protocol::{Counterpart, RoomView};
use crate::store::SavedConversations;

/// How long a person's new direct conversations count against their limit.
pub(super) const DIRECT_WINDOW: Duration = Duration::from_secs(3600);

/// One conversation and what fan-out and counts need of it.
#[derive(Debug)]
pub(super) struct Entry {
    pub conversation: Conversation,
    /// Connections that receive it live (not kept for General).
    pub peers: HashMap<PeerId, Arc<Outbox>>,
    /// Its messages not deleted, by id.
    pub ids: Vec<u64>,
}

impl Entry {
    fn new(conversation: Conversation) -> Self {
        Self {
            conversation,
            peers: HashMap::new(),
            ids: Vec::new(),
        }
    }

    /// Messages after `read`.
    pub fn unread_after(&self, read: u64) -> u64 {
        (self.ids.len() - self.ids.partition_point(|&id| id <= read)) as u64
    }

    /// The newest message id, 0 when none.
    pub fn last_id(&self) -> u64 {
        self.ids.last().copied().unwrap_or(0)
    }
}

/// Every conversation in the house.
#[derive(Debug, Default)]
pub(super) struct Conversations {
    pub all: BTreeMap<RoomId, Entry>,
    /// Rooms by their name's key, so look-alike names clash.
    pub names: HashMap<String, RoomId>,
    /// Each person's direct conversations.
    pub directs: HashMap<String, Vec<RoomId>>,
    /// Read positions: uid, then conversation.
    pub reads: HashMap<String, HashMap<RoomId, u64>>,
    /// Everyone who has been here, by uid, with their latest name.
    pub known: HashMap<String, String>,
    /// The connections each person has now.
    pub connections: HashMap<String, Vec<PeerId>>,
    /// When each person opened their recent new direct conversations.
    pub opened: HashMap<String, VecDeque<Instant>>,
}

impl Conversations {
    /// What the store kept.
    pub fn from_saved(saved: SavedConversations) -> Self {
        let mut this = Self::default();
        for conversation in saved.all {
            this.insert(conversation);
        }
        for (id, room) in saved.messages {
            if let Some(entry) = this.all.get_mut(&room) {
                entry.ids.push(id);
            }
        }
        for (uid, room, read) in saved.reads {
            this.reads.entry(uid).or_default().insert(room, read);
        }
        this.known = saved.people.into_iter().collect();
        this
    }

    /// Adds a conversation (once).
    pub fn insert(&mut self, conversation: Conversation) {
        if self.all.contains_key(&conversation.id) {
            return;
        }
        match &conversation.pair {
            Some((a, b)) => {
                for uid in [a, b] {
                    self.directs
                        .entry(uid.clone())
                        .or_default()
                        .push(conversation.id);
                }
            }
            None => {
                self.names
                    .insert(name_key(&conversation.name), conversation.id);
            }
        }
        self.all.insert(conversation.id, Entry::new(conversation));
    }

    /// Takes a conversation away.
    pub fn remove(&mut self, id: RoomId) -> Option<Entry> {
        let entry = self.all.remove(&id)?;
        let conversation = &entry.conversation;
        match &conversation.pair {
            Some((a, b)) => {
                for uid in [a, b] {
                    if let Some(list) = self.directs.get_mut(uid) {
                        list.retain(|room| *room != id);
                    }
                }
            }
            None => {
                self.names.remove(&name_key(&conversation.name));
            }
        }
        for reads in self.reads.values_mut() {
            reads.remove(&id);
        }
        Some(entry)
    }

    /// How many rooms (not direct conversations) the house has.
    pub fn rooms(&self) -> usize {
        self.names.len()
    }

    /// Conversation `id` if `uid` may see it.
    pub fn visible(&self, id: RoomId, uid: &str) -> Option<&Entry> {
        self.all
            .get(&id)
            .filter(|entry| entry.conversation.visible_to(uid))
    }

    /// The ids of every conversation `uid` sees: rooms first, then their
    /// direct conversations.
    pub fn seen_by(&self, uid: &str) -> Vec<RoomId> {
        let mut ids: Vec<RoomId> = self.names.values().copied().collect();
        ids.sort_unstable();
        ids.extend(self.directs.get(uid).into_iter().flatten().copied());
        ids
    }

    /// The rooms `uid` is in and their direct conversations: what a search
    /// without `in:` covers.
    pub fn joined_by(&self, uid: &str) -> Vec<RoomId> {
        self.seen_by(uid)
            .into_iter()
            .filter(|id| {
                self.all
                    .get(id)
                    .is_some_and(|e| e.conversation.has_member(uid))
            })
            .collect()
    }

    /// Where `uid` has read to in `id`.
    pub fn read_of(&self, uid: &str, id: RoomId) -> u64 {
        self.reads
            .get(uid)
            .and_then(|reads| reads.get(&id))
            .copied()
            .unwrap_or(0)
    }

    /// Whether `uid` has a read position in `id`.
    pub fn has_read(&self, uid: &str, id: RoomId) -> bool {
        self.reads
            .get(uid)
            .is_some_and(|reads| reads.contains_key(&id))
    }

    /// Moves `uid`'s read position in `id` up to `read`; whether it moved.
    pub fn set_read(&mut self, uid: &str, id: RoomId, read: u64) -> bool {
        let reads = self.reads.entry(uid.to_owned()).or_default();
        let at = reads.entry(id).or_insert(0);
        if read > *at {
            *at = read;
            true
        } else {
            false
        }
    }

    /// `uid`'s unread count in `id`.
    pub fn unread(&self, uid: &str, id: RoomId) -> u64 {
        self.all
            .get(&id)
            .map_or(0, |entry| entry.unread_after(self.read_of(uid, id)))
    }

    /// Conversation `id` as `uid` sees it, with their own fields when
    /// `personal`.
    pub fn view(&self, id: RoomId, uid: &str, personal: bool) -> Option<RoomView> {
        let entry = self.all.get(&id)?;
        let conversation = &entry.conversation;
        let with = conversation.other(uid).map(|other| Counterpart {
            uid: other.to_owned(),
            name: self.known.get(other).cloned().unwrap_or_default(),
            here: self.connections.get(other).is_some_and(|c| !c.is_empty()),
        });
        let read = self.read_of(uid, id);
        Some(RoomView {
            id,
            name: match (&with, conversation.kind) {
                (Some(with), Kind::Direct) => with.name.clone(),
                _ => conversation.name.clone(),
            },
            kind: conversation.kind,
            topic: conversation.topic.clone(),
            archived: conversation.archived,
            default: id == GENERAL,
            with,
            member: personal.then(|| conversation.has_member(uid)),
            unread: personal.then(|| entry.unread_after(read)),
            read: personal.then_some(read),
        })
    }

    /// Every conversation `uid` sees, as they see it.
    pub fn views_for(&self, uid: &str) -> Vec<RoomView> {
        self.seen_by(uid)
            .into_iter()
            .filter_map(|id| self.view(id, uid, true))
            .collect()
    }

    /// A new connection of `uid`'s: it receives every conversation they
    /// are in. A room they are in with no read position starts read to
    /// its newest message (a newcomer has not missed what came before).
    pub fn connect(&mut self, uid: &str, name: &str, id: PeerId, outbox: &Arc<Outbox>) {
        self.known.insert(uid.to_owned(), name.to_owned());
        self.connections.entry(uid.to_owned()).or_default().push(id);
        for room in self.joined_by(uid) {
            let fresh = !self.has_read(uid, room);
            let Some(entry) = self.all.get_mut(&room) else {
                continue;
            };
            let last = entry.last_id();
            if room != GENERAL {
                entry.peers.insert(id, outbox.clone());
            }
            if fresh && entry.conversation.kind == Kind::Room {
                self.reads
                    .entry(uid.to_owned())
                    .or_default()
                    .insert(room, last);
            }
        }
    }

    /// Connection `id` of `uid`'s has gone.
    pub fn disconnect(&mut self, uid: &str, id: PeerId) {
        if let Some(list) = self.connections.get_mut(uid) {
            list.retain(|peer| *peer != id);
            if list.is_empty() {
                self.connections.remove(uid);
            }
        }
        for room in self.joined_by(uid) {
            if let Some(entry) = self.all.get_mut(&room) {
                entry.peers.remove(&id);
            }
        }
    }

    /// Whether `uid` may open one more new direct conversation now; counts
    /// it if so.
    pub fn may_open_direct(&mut self, uid: &str, max_per_hour: usize, now: Instant) -> bool {
        let opened = self.opened.entry(uid.to_owned()).or_default();
        while opened
            .front()
            .is_some_and(|at| now.duration_since(*at) >= DIRECT_WINDOW)
        {
            opened.pop_front();
        }
        if opened.len() >= max_per_hour {
            return false;
        }
        opened.push_back(now);
        true
    }

    /// Forgets message ids before `first_kept` (pruned or cleared).
    pub fn forget_before(&mut self, first_kept: u64) {
        for entry in self.all.values_mut() {
            let gone = entry.ids.partition_point(|&id| id < first_kept);
            entry.ids.drain(..gone);
        }
    }
}
