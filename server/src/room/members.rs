//! Who is here: connecting, joining under a unique name, renaming,
//! typing, leaving, and the host's people list.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::fanout::fan_out;
use super::people::people_page;
use super::presence::BATCH_PRESENCE_FROM;
use super::{identity, now_millis, Laggards, Member, Outbox, Person, Refused, Room, State};
use crate::model::names::{name_key, validate_name};
use crate::model::{ConnectedFrom, PeerId, RoomId, User};
use crate::protocol::ServerMessage;

impl Room {
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

    pub(super) fn admit(
        &self,
        state: &mut State,
        id: PeerId,
        name: String,
        uid: String,
    ) -> Laggards {
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
        let Some(member) = state.members.get_mut(&id) else {
            return laggards;
        };
        member.user = Some(user.clone());
        member.joined_seq = seq;
        let outbox = member.outbox.clone();
        state
            .conversations
            .connect(&user.uid, &user.name, id, &outbox);
        self.store
            .remember(user.uid.clone(), user.name.clone(), now_millis());
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
            rooms: state.conversations.views_for(&user.uid),
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
        state
            .conversations
            .known
            .insert(user.uid.clone(), user.name.clone());
        self.store
            .remember(user.uid.clone(), user.name.clone(), now_millis());
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

    /// Tells the others in `room` that this peer is typing there.
    pub fn typing(&self, id: PeerId, room: RoomId) -> Result<(), Refused> {
        let mut state = self.lock();
        let Some(user) = state.members.get(&id).and_then(|m| m.user.clone()) else {
            return Err(Refused::NotJoined);
        };
        self.may_say_in(&state, &user.uid, room)?;
        let frame = ServerMessage::Typing { user: &user, room }.to_frame();
        // A hint nobody needs to wait for: laggards catch up on real messages.
        drop(self.broadcast_in(&mut state, room, &frame, Some(id)));
        Ok(())
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
            state.conversations.disconnect(&user.uid, id);
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

    /// Marks the room as closing: departures are no longer announced, which
    /// would cost every remaining peer one frame per leaver.
    pub fn close(&self) {
        self.lock().closing = true;
    }
}

pub(super) fn name_taken(state: &State, name: &str, except: PeerId) -> bool {
    state
        .names
        .get(&name_key(name))
        .is_some_and(|holder| *holder != except)
}

pub(super) fn default_name(state: &State, id: PeerId) -> String {
    let base = format!("guest-{id}");
    let mut candidate = base.clone();
    let mut n = 2;
    while name_taken(state, &candidate, id) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}
