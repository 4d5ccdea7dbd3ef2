//! What the room counts: its live snapshot ([`RoomStats`]) and the running
//! totals since it opened ([`RoomCounters`]).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use super::{Eviction, Room, State};

/// A live snapshot of the room, for the desktop shell and `/healthz`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoomStats {
    /// Open WebSocket connections, joined or not.
    pub connections: usize,
    /// People who have joined.
    pub people: usize,
}

/// Running totals since the room opened, for `/healthz` and the tools that
/// read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RoomCounters {
    /// Chat messages broadcast.
    pub messages: u64,
    /// Peers dropped because their send queue overflowed.
    pub evicted_overflow: u64,
    /// Peers dropped because they stopped taking what was sent to them.
    pub evicted_stalled: u64,
    /// Connections closed because they never joined.
    pub join_timeouts: u64,
    /// Messages refused by the room-wide rate ceiling.
    pub room_rate_limited: u64,
    /// Messages refused because they could not be stored.
    pub storage_failures: u64,
    /// Seconds since the room opened.
    pub uptime_secs: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) messages: AtomicU64,
    pub(super) evicted_overflow: AtomicU64,
    pub(super) evicted_stalled: AtomicU64,
    pub(super) join_timeouts: AtomicU64,
    pub(super) room_rate_limited: AtomicU64,
    pub(super) storage_failures: AtomicU64,
}

impl Room {
    /// The running totals.
    pub fn counters(&self) -> RoomCounters {
        let c = &self.counters;
        RoomCounters {
            messages: c.messages.load(Ordering::Relaxed),
            evicted_overflow: c.evicted_overflow.load(Ordering::Relaxed),
            evicted_stalled: c.evicted_stalled.load(Ordering::Relaxed),
            join_timeouts: c.join_timeouts.load(Ordering::Relaxed),
            room_rate_limited: c.room_rate_limited.load(Ordering::Relaxed),
            storage_failures: c.storage_failures.load(Ordering::Relaxed),
            uptime_secs: self.opened.elapsed().as_secs(),
        }
    }

    /// Counts a peer dropped by the server for not keeping up.
    pub fn record_eviction(&self, reason: Eviction) {
        let counter = match reason {
            Eviction::Overflow => &self.counters.evicted_overflow,
            Eviction::Stalled => &self.counters.evicted_stalled,
            // The host's choices, not the room defending itself.
            Eviction::RemovedByHost | Eviction::SharingStopped => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed for never joining.
    pub fn record_join_timeout(&self) {
        self.counters.join_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message refused by the room-wide ceiling.
    pub fn record_room_rate_limited(&self) {
        self.counters
            .room_rate_limited
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The current snapshot.
    pub fn stats(&self) -> RoomStats {
        self.stats.borrow().clone()
    }

    /// A receiver that sees every change of [`RoomStats`].
    pub fn subscribe(&self) -> watch::Receiver<RoomStats> {
        self.stats.subscribe()
    }

    pub(super) fn publish_stats(&self, state: &State) {
        let stats = RoomStats {
            connections: state.members.len(),
            people: state.roster.len(),
        };
        self.stats.send_if_modified(|current| {
            if *current == stats {
                false
            } else {
                *current = stats;
                true
            }
        });
    }
}
