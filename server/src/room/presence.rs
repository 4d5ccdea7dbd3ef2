//! Announcing who came and went: at once in a small room, in batches
//! (one `presence` frame per peer per tick) in a large one.

use std::collections::HashMap;
use std::sync::Weak;

use tokio_tungstenite::tungstenite::Message;

use super::{Laggards, Push, Room, State};
use crate::model::User;
use crate::protocol::ServerMessage;

/// A join or departure waiting for the next presence batch.
#[derive(Debug)]
pub(super) struct PresenceEvent {
    seq: u64,
    user: User,
    joined: bool,
    /// The person's place in the roster (their join sequence).
    roster_seq: u64,
}

/// From this many people on, joins and departures are announced in
/// batches: one frame per peer per tick instead of one per person.
pub(super) const BATCH_PRESENCE_FROM: usize = 200;

/// How long presence stays quiet after a batch before the heap is trimmed.
pub(super) const QUIET_BEFORE_TRIM: std::time::Duration = std::time::Duration::from_millis(250);

/// Most people one `presence` frame lists.
pub(super) const PRESENCE_FRAME_PEOPLE: usize = 25;

/// How long a join or departure in a large room may wait for its batch.
pub const PRESENCE_TICK: std::time::Duration = std::time::Duration::from_millis(200);

impl Room {
    /// Queues a join or departure for the next batch, and wakes the ticker
    /// that sends it.
    pub(super) fn queue_presence(
        &self,
        state: &mut State,
        user: User,
        joined: bool,
        roster_seq: u64,
    ) {
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
    pub(super) fn flush_presence(&self, state: &mut State) -> Laggards {
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
                    crate::os::trim_heap();
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
}

/// The `presence` frames for a peer that has seen every event before
/// `seen`: who joined (only for a peer that has loaded the whole people
/// list; others meet newcomers when they page on, as they join at its end),
/// then who left (only those the peer may hold: joined by `loaded_through`;
/// it never had anyone later, so a crowd leaving costs it only the count),
/// with the count after each frame. In frames of a few dozen people: a
/// socket's write buffer keeps the size of the largest frame it ever sent,
/// so none is huge.
pub(super) fn presence_frames(
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
