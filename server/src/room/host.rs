//! What only the host may do to the room: delete any message, clear the
//! history, export it, remove people.

use tokio::sync::oneshot;

use super::now_millis;
use super::{Eviction, Pending, Refused, Room};
use crate::action::{Action, Actor, Change, Delete};
use crate::model::ConnectedFrom;
use crate::model::PeerId;
use crate::protocol::ServerMessage;
use crate::store::StorageError;

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
}
