//! The fan-out: every stored change told to everyone, under the lock, in
//! one order; and the store's callbacks that start it.

use std::sync::atomic::Ordering;

use tokio_tungstenite::tungstenite::Message;

use super::{Laggards, Push, Refused, Room, State, Ticket};
use crate::action::Event;
use crate::model::{PeerId, RoomId, GENERAL};
use crate::protocol::ServerMessage;
use crate::store::{Observer, Rejected, StorageError};

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

    /// Fans `frame` out to the connections that receive `room` live: all
    /// of them for General, the members' for any other.
    pub(super) fn broadcast_in(
        &self,
        state: &mut State,
        room: RoomId,
        frame: &Message,
        except: Option<PeerId>,
    ) -> Laggards {
        if room == GENERAL {
            return self.broadcast(state, frame, except);
        }
        let mut laggards = self.flush_presence(state);
        if let Some(entry) = state.conversations.all.get(&room) {
            for (id, outbox) in &entry.peers {
                if Some(*id) != except && outbox.push(frame.clone()) == Push::Lagging {
                    laggards.push(outbox.clone());
                }
            }
        }
        laggards
    }

    /// Tells everyone in its conversation about a stored change, and keeps
    /// `welcome`'s history and the unread counts in step; returns the peers
    /// now lagging.
    pub(super) fn deliver(&self, state: &mut State, event: Event) -> Laggards {
        let room = event.room();
        let frame = ServerMessage::event(&event).to_frame();
        let laggards = self.broadcast_in(state, room, &frame, None);
        match event {
            Event::Said(message) => {
                if let Some(entry) = state.conversations.all.get_mut(&room) {
                    entry.ids.push(message.id);
                }
                // What one says, one has read.
                state
                    .conversations
                    .set_read(&message.from.uid, room, message.id);
                if room != GENERAL {
                    return laggards;
                }
                log::debug!(
                    "message {} from peer {} ({} bytes)",
                    message.id,
                    message.from.id,
                    message.text.len()
                );
                // The frame wraps the message in a few bytes more than
                // `welcome` needs for it: a safe bound for the history.
                state.history.push(message, frame.len());
            }
            Event::Edited(edited) => {
                log::debug!("message {} edited", edited.id);
                state
                    .history
                    .edit(edited.id, &edited.text, edited.edited_ts);
            }
            Event::Deleted(deleted) => {
                log::debug!("message {} deleted", deleted.id);
                if let Some(entry) = state.conversations.all.get_mut(&room) {
                    if let Ok(at) = entry.ids.binary_search(&deleted.id) {
                        entry.ids.remove(at);
                    }
                }
                state.history.delete(deleted.id);
            }
            Event::Reacted(r) => state.history.react(r.id, &r.emoji, &r.user, r.added),
        }
        laggards
    }
}

impl Observer<Ticket> for Room {
    fn committed(&self, batch: Vec<(Result<Event, Rejected>, Ticket)>) {
        // Counted before anyone can see them, so a client that has a
        // message never reads a count without it.
        let said = batch
            .iter()
            .filter(|(outcome, _)| matches!(outcome, Ok(Event::Said(_))))
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
        state.conversations.forget_before(first_kept);
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
