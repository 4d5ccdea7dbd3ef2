//! What only the host may do to the room: delete any message, clear the
//! history, export it, remove people; make, change and delete rooms.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use super::now_millis;
use super::{Eviction, Pending, Refused, Room};
use crate::action::{Action, Actor, Change, Delete};
use crate::model::conversation::{clean_topic, validate_room_name};
use crate::model::{ConnectedFrom, Conversation, Kind, PeerId, RoomId, GENERAL};
use crate::protocol::{RoomView, ServerMessage};
use crate::store::{NewConversation, Rejected, RoomChange, StorageError};

/// What the host changes of a room; `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomEdit {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new topic (empty removes it).
    #[serde(default)]
    pub topic: Option<String>,
    /// Archive it, or open it again.
    #[serde(default)]
    pub archived: Option<bool>,
}

impl Room {
    /// Deletes any message, as the host: only the desktop window (a Tauri
    /// command) or the machine's own owner can ask, never a peer.
    pub async fn delete_as_host(&self, id: u64) -> Result<(), Refused> {
        let (ticket, answer) = oneshot::channel();
        let change = Change {
            by: Actor::Host,
            ts: now_millis(),
            action: Action::Delete(Delete { id }),
        };
        self.store.append(change, ticket);
        let pending = Pending {
            answer,
            _share: None,
        };
        pending.await.map(drop)
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

    pub(super) fn cleared(&self, first_id: u64) {
        let mut state = self.lock();
        state.history.clear();
        state.conversations.forget_before(first_id);
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
        include_direct: bool,
        mut out: impl std::io::Write + Send + 'static,
    ) -> Result<u64, crate::store::ExportError> {
        let written = self
            .store
            .read(move |conn| {
                Ok(crate::store::write_conversation(
                    conn,
                    format,
                    include_direct,
                    &mut out,
                ))
            })
            .await??;
        Ok(written)
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
                    ConnectedFrom::Network { pass: a, .. },
                    ConnectedFrom::Network { pass: b, .. },
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
    /// Makes a room, as the host: everyone is told `room_added`.
    pub async fn create_room(&self, name: &str, topic: Option<&str>) -> Result<RoomView, Refused> {
        let (name, key) = validate_room_name(name)?;
        let topic = topic.and_then(clean_topic);
        {
            let state = self.lock();
            if state.conversations.names.contains_key(&key) {
                return Err(Refused::NameTaken(name));
            }
            if state.conversations.rooms() >= self.max_rooms {
                return Err(Refused::TooManyRooms(self.max_rooms));
            }
        }
        let new = NewConversation {
            kind: Kind::Room,
            name: name.clone(),
            key,
            topic: topic.clone(),
            pair: None,
        };
        let (room, _) = self.create(new).await.map_err(|err| match err {
            Refused::NameTaken(_) => Refused::NameTaken(name.clone()),
            err => err,
        })?;
        let mut state = self.lock();
        state.conversations.insert(Conversation {
            id: room,
            kind: Kind::Room,
            name,
            topic,
            archived: false,
            pair: None,
            members: HashSet::new(),
        });
        log::info!("room {room} made");
        let view = state
            .conversations
            .view(room, "", true)
            .ok_or(Refused::NoSuchRoom)?;
        let frame = ServerMessage::RoomAdded { room: &view }.to_frame();
        drop(self.broadcast(&mut state, &frame, None));
        Ok(view)
    }

    /// Renames, retopics or (un)archives a room, as the host: everyone is
    /// told `room_changed`.
    pub async fn change_room(&self, room: RoomId, edit: RoomEdit) -> Result<RoomView, Refused> {
        let name = edit.name.as_deref().map(validate_room_name).transpose()?;
        let change = RoomChange {
            name: name.clone(),
            topic: edit.topic.as_deref().map(clean_topic),
            archived: edit.archived,
        };
        {
            let state = self.lock();
            match state.conversations.all.get(&room) {
                Some(entry) if entry.conversation.kind == Kind::Room => {}
                _ => return Err(Refused::NoSuchRoom),
            }
            if let Some((name, key)) = &name {
                if state
                    .conversations
                    .names
                    .get(key)
                    .is_some_and(|r| *r != room)
                {
                    return Err(Refused::NameTaken(name.clone()));
                }
            }
        }
        self.store
            .change_room(room, change.clone())
            .await
            .map_err(|err| self.storage_refusal(&err))?
            .map_err(|rejected| match (rejected, &name) {
                (Rejected::NameTaken, Some((name, _))) => Refused::NameTaken(name.clone()),
                (rejected, _) => Refused::from(rejected),
            })?;
        let mut state = self.lock();
        let conversations = &mut state.conversations;
        if let Some((name, key)) = change.name {
            if let Some(entry) = conversations.all.get_mut(&room) {
                let old = crate::model::names::name_key(&entry.conversation.name);
                entry.conversation.name = name;
                conversations.names.remove(&old);
                conversations.names.insert(key, room);
            }
        }
        if let Some(entry) = conversations.all.get_mut(&room) {
            if let Some(topic) = change.topic {
                entry.conversation.topic = topic;
            }
            if let Some(archived) = change.archived {
                entry.conversation.archived = archived;
            }
        }
        let view = conversations
            .view(room, "", false)
            .ok_or(Refused::NoSuchRoom)?;
        let frame = ServerMessage::RoomChanged { room: &view }.to_frame();
        drop(self.broadcast(&mut state, &frame, None));
        Ok(view)
    }

    /// Deletes a room with its messages and files, as the host: everyone
    /// is told `room_removed`. General stays.
    pub async fn delete_room(&self, room: RoomId) -> Result<(), Refused> {
        if room == GENERAL {
            return Err(Refused::GeneralStays);
        }
        match self.lock().conversations.all.get(&room) {
            Some(entry) if entry.conversation.kind == Kind::Room => {}
            _ => return Err(Refused::NoSuchRoom),
        }
        self.store
            .delete_room(room)
            .await
            .map_err(|err| self.storage_refusal(&err))?
            .map_err(Refused::from)?;
        let mut state = self.lock();
        state.conversations.remove(room);
        log::info!("room {room} deleted");
        let frame = ServerMessage::RoomRemoved { room }.to_frame();
        drop(self.broadcast(&mut state, &frame, None));
        Ok(())
    }

    /// Every room, as the host sees it (no direct conversations).
    pub fn rooms(&self) -> Vec<RoomView> {
        let state = self.lock();
        let conversations = &state.conversations;
        let mut ids: Vec<RoomId> = conversations.names.values().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| conversations.view(id, "", false))
            .collect()
    }

    /// Whether everyone may make rooms.
    pub fn anyone_creates_rooms(&self) -> bool {
        self.anyone_creates_rooms.load(Ordering::Relaxed)
    }

    /// Lets everyone make rooms, or only the host.
    pub fn set_anyone_creates_rooms(&self, anyone: bool) {
        self.anyone_creates_rooms.store(anyone, Ordering::Relaxed);
    }
}
