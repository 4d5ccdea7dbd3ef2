//! Changes people ask for ([`Action`]): checked, weighed against the
//! room's in-flight budget, numbered under the lock and queued through the
//! store; [`Pending`] completes once everyone has the change.

use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::members::default_name;
use super::validate_emoji;
use super::{identity, now_millis, Laggards, Refused, Room};
use crate::model::ChatMessage;
use crate::model::{clean_text, PeerId};
use crate::store::Change;

/// What a message takes of the in-flight budget beyond its text: its frame's
/// JSON around it, generously.
pub(super) const FRAME_OVERHEAD: usize = 160;

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
    pub(super) answer: oneshot::Receiver<Result<Laggards, Refused>>,
    pub(super) _share: Option<Share>,
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

impl Room {
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
}

/// `action` with its text cleaned and its emoji checked, before it takes
/// the lock.
pub(super) fn checked(action: Action) -> Result<Action, Refused> {
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
