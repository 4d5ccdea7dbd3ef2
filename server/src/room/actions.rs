//! Changes people ask for (an [`Action`]): checked, weighed against the
//! room's in-flight budget, numbered under the lock and queued through the
//! store; [`Pending`] completes once everyone has the change.

use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::members::default_name;
use super::{identity, now_millis, Laggards, Refused, Room};
use crate::action::{Action, Actor, Change, Say};
use crate::model::{PeerId, GENERAL};

/// A message on its way through the store. It completes once the message
/// is stored and fanned out (with the peers its sender should give a moment
/// to catch up), or refused (`storage_unavailable`). It holds the message's
/// share of the room's in-flight budget until dropped: the sender drops it
/// once it has waited for the laggards, so no more than the budget can
/// reach a lagging peer before every sender holds back.
#[derive(Debug)]
pub struct Pending {
    pub(super) answer: oneshot::Receiver<Result<Laggards, Refused>>,
    pub(super) _share: Option<Reservation>,
}

/// A message's share of the room's in-flight budget (see [`Room::reserve`]).
#[derive(Debug)]
pub struct Reservation {
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

impl Room {
    /// Broadcasts a chat message to everyone including the sender, once its
    /// text is cleaned (see [`clean_text`]) and it is stored. A peer that has
    /// not said `hello` joins first under a default name.
    pub async fn say(&self, id: PeerId, text: &str) -> Result<Laggards, Refused> {
        self.act(id, Action::Say(Say::text(text))).await
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
    pub async fn reserve(&self, weight: usize) -> Result<Reservation, Refused> {
        self.in_flight
            .clone()
            .acquire_many_owned(self.share_of(weight))
            .await
            .map(|permit| Reservation { _permit: permit })
            // The budget is never closed.
            .map_err(|_| Refused::StorageUnavailable)
    }

    /// [`Room::reserve`] if the budget has room now.
    pub fn try_reserve(&self, weight: usize) -> Option<Reservation> {
        self.in_flight
            .clone()
            .try_acquire_many_owned(self.share_of(weight))
            .ok()
            .map(|permit| Reservation { _permit: permit })
    }

    pub(super) fn share_of(&self, weight: usize) -> u32 {
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
        share: Reservation,
    ) -> Result<(Laggards, Option<Pending>), Refused> {
        let mut action = action.checked()?;
        let mut state = self.lock();
        let mut laggards = Vec::new();
        let Some(member) = state.members.get(&id) else {
            return Ok((laggards, None));
        };
        let user = match &member.user {
            Some(user) => user.clone(),
            None if action.says() => {
                let name = default_name(&state, id);
                laggards = self.admit(&mut state, id, name, identity::fresh_uid());
                match state.members.get(&id).and_then(|m| m.user.clone()) {
                    Some(user) => user,
                    None => return Ok((laggards, None)),
                }
            }
            None => return Err(Refused::NotJoined),
        };
        if let Action::Say(say) = &mut action {
            self.may_say_in(&state, &user.uid, say.room.unwrap_or(GENERAL))?;
            say.id = state.next_message_id;
            state.next_message_id += 1;
        }
        let change = Change {
            by: Actor::Person(user),
            ts: now_millis(),
            action,
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
}
