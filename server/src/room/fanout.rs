//! The fan-out: every stored change told to everyone, under the lock, in
//! one order; and the store's callbacks that start it.

use std::sync::atomic::Ordering;

use tokio_tungstenite::tungstenite::Message;

use super::{Laggards, Push, Refused, Room, State, Ticket};
use crate::model::PeerId;
use crate::protocol::ServerMessage;
use crate::store::{Applied, Observer, Rejected, StorageError};

impl Room {
    /// Fans `frame` out to every joined peer but `except`, after whatever
    /// presence is still batched, so everyone sees one order of events.
    pub(super) fn broadcast(
        &self,
        state: &mut State,
        frame: &Message,
        except: Option<PeerId>,
    ) -> Laggards {
        let mut laggards = self.flush_presence(state);
        laggards.extend(fan_out(state, frame, except));
        laggards
    }

    /// Tells everyone about a stored change and keeps `welcome`'s history
    /// in step; returns the peers now lagging.
    pub(super) fn deliver(&self, state: &mut State, applied: Applied) -> Laggards {
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

/// Pushes one shared frame to every joined member (except `except`); never waits.
pub(super) fn fan_out(state: &State, frame: &Message, except: Option<PeerId>) -> Laggards {
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
