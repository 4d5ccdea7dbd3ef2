//! Rooms and direct conversations: joining and leaving, opening a direct
//! conversation, read positions, and what the host does to rooms.
//!
//! Whatever a person may not see answers as if it did not exist
//! ([`Refused::NoSuchRoom`], `not_found`), so nobody learns of someone
//! else's direct conversation by naming it.

use std::collections::HashSet;
use std::time::Instant;

use super::{now_millis, Refused, Room, State};
use crate::model::{Conversation, Kind, PeerId, RoomId, User, GENERAL};
use crate::protocol::ServerMessage;
use crate::store::{NewConversation, Rejected, StorageError};

impl Room {
    /// Whether `uid` may say something in `room` now.
    pub(super) fn may_say_in(&self, state: &State, uid: &str, room: RoomId) -> Result<(), Refused> {
        let entry = state
            .conversations
            .visible(room, uid)
            .ok_or(Refused::NoSuchRoom)?;
        if entry.conversation.archived {
            Err(Refused::Archived)
        } else if !entry.conversation.has_member(uid) {
            Err(Refused::NotMember)
        } else {
            Ok(())
        }
    }

    /// Whether `uid` may read `room`'s history (every room, before joining
    /// too; a direct conversation only by its two).
    pub(super) fn may_read(&self, id: PeerId, room: RoomId) -> Result<(), Refused> {
        let state = self.lock();
        let uid = joined_uid(&state, id)?;
        state
            .conversations
            .visible(room, &uid)
            .map(drop)
            .ok_or(Refused::NoSuchRoom)
    }

    /// What a search without `in:` covers for the peer: the rooms it is in
    /// and its direct conversations.
    pub(super) fn rooms_of(&self, id: PeerId) -> Result<(String, Vec<RoomId>), Refused> {
        let state = self.lock();
        let uid = joined_uid(&state, id)?;
        let rooms = state.conversations.joined_by(&uid);
        Ok((uid, rooms))
    }

    /// The rooms the peer sees whose names look like `name`.
    pub(super) fn room_named(&self, id: PeerId, name: &str) -> Option<RoomId> {
        let state = self.lock();
        let uid = joined_uid(&state, id).ok()?;
        let key = crate::model::names::name_key(name.trim_start_matches('#'));
        let room = *state.conversations.names.get(&key)?;
        state.conversations.visible(room, &uid).map(|_| room)
    }

    /// The uids of everyone who has been here under a name that looks like
    /// `name`.
    pub(super) fn uids_named(&self, name: &str) -> Vec<String> {
        let key = crate::model::names::name_key(name.trim_start_matches('@'));
        let state = self.lock();
        state
            .conversations
            .known
            .iter()
            .filter(|(_, known)| crate::model::names::name_key(known) == key)
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    /// Joins the peer's person to a room: every connection of theirs
    /// receives it from now on and is told `room_changed`.
    pub async fn join_room(&self, id: PeerId, room: RoomId) -> Result<(), Refused> {
        let uid = self.check_membership_change(id, room, true)?;
        self.store
            .set_member(room, uid.clone(), true)
            .await
            .map_err(|err| self.storage_refusal(&err))?;
        let mut state = self.lock();
        let outboxes: Vec<_> = connections_of(&state, &uid);
        let last = {
            let Some(entry) = state.conversations.all.get_mut(&room) else {
                return Err(Refused::NoSuchRoom);
            };
            entry.conversation.members.insert(uid.clone());
            entry.peers.extend(outboxes);
            entry.last_id()
        };
        // Joining is catching up: the preview was read.
        state.conversations.set_read(&uid, room, last);
        log::info!("a person joined room {room}");
        self.tell_person(&state, &uid, room);
        Ok(())
    }

    /// Takes the peer's person out of a room (never General).
    pub async fn leave_room(&self, id: PeerId, room: RoomId) -> Result<(), Refused> {
        let uid = self.check_membership_change(id, room, false)?;
        self.store
            .set_member(room, uid.clone(), false)
            .await
            .map_err(|err| self.storage_refusal(&err))?;
        let mut state = self.lock();
        let peers: Vec<PeerId> = state
            .conversations
            .connections
            .get(&uid)
            .cloned()
            .unwrap_or_default();
        if let Some(entry) = state.conversations.all.get_mut(&room) {
            entry.conversation.members.remove(&uid);
            for peer in peers {
                entry.peers.remove(&peer);
            }
        }
        self.tell_person(&state, &uid, room);
        Ok(())
    }

    /// The peer's uid, if it may join (or leave) `room`.
    fn check_membership_change(
        &self,
        id: PeerId,
        room: RoomId,
        join: bool,
    ) -> Result<String, Refused> {
        let state = self.lock();
        let uid = joined_uid(&state, id)?;
        let entry = state
            .conversations
            .visible(room, &uid)
            .ok_or(Refused::NoSuchRoom)?;
        if room == GENERAL && !join {
            return Err(Refused::GeneralStays);
        }
        if entry.conversation.kind == Kind::Direct {
            // Its two are always in it; there is nothing to join or leave.
            return Err(Refused::HostOnly);
        }
        if join && entry.conversation.archived {
            return Err(Refused::Archived);
        }
        Ok(uid)
    }

    /// Opens (or finds) the direct conversation between the peer's person
    /// and `other`: both are told `room_added` when it is new, the asker
    /// alone when it was there.
    pub async fn direct(&self, id: PeerId, other: &str) -> Result<(), Refused> {
        let (me, pair) = {
            let mut state = self.lock();
            let me = joined_uid(&state, id)?;
            if other == me || !state.conversations.known.contains_key(other) {
                return Err(Refused::NoSuchRoom);
            }
            let pair = sorted_pair(&me, other);
            let exists = state
                .conversations
                .directs
                .get(&me)
                .into_iter()
                .flatten()
                .any(|room| {
                    state
                        .conversations
                        .all
                        .get(room)
                        .and_then(|e| e.conversation.pair.as_ref())
                        == Some(&pair)
                });
            if !exists
                && !state.conversations.may_open_direct(
                    &me,
                    self.max_directs_per_hour,
                    Instant::now(),
                )
            {
                return Err(Refused::RateLimited);
            }
            (me, pair)
        };
        let new = NewConversation {
            kind: Kind::Direct,
            name: String::new(),
            key: String::new(),
            topic: None,
            pair: Some(pair.clone()),
        };
        let (room, fresh) = self.create(new).await?;
        let mut state = self.lock();
        if fresh || !state.conversations.all.contains_key(&room) {
            state.conversations.insert(Conversation {
                id: room,
                kind: Kind::Direct,
                name: String::new(),
                topic: None,
                archived: false,
                pair: Some(pair.clone()),
                members: HashSet::new(),
            });
            for uid in [&pair.0, &pair.1] {
                let outboxes = connections_of(&state, uid);
                if let Some(entry) = state.conversations.all.get_mut(&room) {
                    entry.peers.extend(outboxes);
                }
            }
        }
        let told: Vec<&String> = if fresh {
            vec![&pair.0, &pair.1]
        } else {
            vec![&me]
        };
        for uid in told {
            if let Some(view) = state.conversations.view(room, uid, true) {
                let frame = ServerMessage::RoomAdded { room: &view }.to_frame();
                push_to_person(&state, uid, &frame, None);
            }
        }
        Ok(())
    }

    /// Moves the peer's read position in `room` up to `read`; the person's
    /// other connections are told their new unread count.
    pub fn mark_read(&self, id: PeerId, room: RoomId, read: u64) -> Result<(), Refused> {
        let mut state = self.lock();
        let uid = joined_uid(&state, id)?;
        let entry = state
            .conversations
            .visible(room, &uid)
            .ok_or(Refused::NoSuchRoom)?;
        // Never past what exists: a position ahead would hide what comes.
        let read = read.min(entry.last_id());
        if !state.conversations.set_read(&uid, room, read) {
            return Ok(());
        }
        self.store.set_read(uid.clone(), room, read);
        let unread = state.conversations.unread(&uid, room);
        let frame = ServerMessage::Unread { room, unread }.to_frame();
        push_to_person(&state, &uid, &frame, Some(id));
        Ok(())
    }

    /// Makes a room at a guest's request, when the host lets everyone;
    /// they are in it at once.
    pub async fn create_room_as(
        &self,
        id: PeerId,
        name: &str,
        topic: Option<&str>,
    ) -> Result<(), Refused> {
        if !self.anyone_creates_rooms() {
            return Err(Refused::HostOnly);
        }
        let uid = {
            let state = self.lock();
            joined_uid(&state, id)?
        };
        let view = self.create_room(name, topic).await?;
        self.join_room(id, view.id).await.or_else(|err| match err {
            // Deleted at once by the host: nothing to join.
            Refused::NoSuchRoom => Ok(()),
            err => Err(err),
        })?;
        log::info!("room {} made by a guest ({})", view.id, short(&uid));
        Ok(())
    }

    pub(super) async fn create(&self, new: NewConversation) -> Result<(RoomId, bool), Refused> {
        self.store
            .create_conversation(new, now_millis())
            .await
            .map_err(|err: StorageError| self.storage_refusal(&err))?
            .map_err(|rejected| match rejected {
                Rejected::NameTaken => Refused::NameTaken(String::new()),
                rejected => Refused::from(rejected),
            })
    }

    /// Tells every connection of `uid`'s how they now stand in `room`.
    fn tell_person(&self, state: &State, uid: &str, room: RoomId) {
        if let Some(view) = state.conversations.view(room, uid, true) {
            let frame = ServerMessage::RoomChanged { room: &view }.to_frame();
            push_to_person(state, uid, &frame, None);
        }
    }
}

fn joined_uid(state: &State, id: PeerId) -> Result<String, Refused> {
    state
        .members
        .get(&id)
        .and_then(|m| m.user.as_ref())
        .map(|user: &User| user.uid.clone())
        .ok_or(Refused::NotJoined)
}

fn connections_of(state: &State, uid: &str) -> Vec<(PeerId, std::sync::Arc<super::Outbox>)> {
    state
        .conversations
        .connections
        .get(uid)
        .into_iter()
        .flatten()
        .filter_map(|peer| Some((*peer, state.members.get(peer)?.outbox.clone())))
        .collect()
}

fn push_to_person(
    state: &State,
    uid: &str,
    frame: &tokio_tungstenite::tungstenite::Message,
    except: Option<PeerId>,
) {
    for (peer, outbox) in connections_of(state, uid) {
        if Some(peer) != except {
            outbox.push(frame.clone());
        }
    }
}

fn sorted_pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// The start of a uid, for log lines that must not name people.
fn short(uid: &str) -> &str {
    uid.get(..6).unwrap_or(uid)
}
