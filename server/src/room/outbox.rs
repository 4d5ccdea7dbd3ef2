//! A peer's bounded send queue.
//!
//! The room pushes shared frames into each peer's [`Outbox`] without ever
//! waiting; the peer's writer drains everything queued into its socket and
//! flushes once. The queue is bounded by bytes, not by message count, so a
//! burst of small messages is fine while a peer that stops reading cannot make
//! the server grow without bound.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Why a peer's session was ended by the server rather than by the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// The queue went over its hard byte budget.
    Overflow,
    /// The queue stayed over half its budget for longer than the stall grace.
    Stalled,
    /// The host removed the peer (or everyone on the network).
    RemovedByHost,
    /// The host stopped sharing the room with the network.
    SharingStopped,
}

impl Eviction {
    /// Close code and reason sent to the peer (1008: policy violation; 1001:
    /// going away).
    pub fn close_frame(self) -> (u16, &'static str) {
        match self {
            Eviction::Overflow => (1008, "send queue overflow: not reading fast enough"),
            Eviction::Stalled => (1008, "too slow: not reading"),
            Eviction::RemovedByHost => (1008, "removed by the host"),
            Eviction::SharingStopped => (1001, "the host stopped sharing the room"),
        }
    }
}

/// How the writer should end the session, once told to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    /// Close code and reason to send, if the peer can still hear one.
    pub frame: Option<(u16, &'static str)>,
    /// Whether frames still queued go out before the close frame.
    pub flush_queue: bool,
}

/// What the writer found when it drained the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Frames (possibly none) to write; the session goes on.
    Open,
    /// The session is ending: write as told, then close the socket.
    Closing(Closing),
}

/// Result of offering a frame to an outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Queued; the queue is comfortably below budget.
    Queued,
    /// Queued, but the queue is over half its budget: the sender should give
    /// this peer a moment to catch up.
    Lagging,
    /// Not queued: the peer is gone or has just been evicted.
    Dropped,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Message>,
    bytes: usize,
    evicted: Option<Eviction>,
    closing: Option<Closing>,
    /// When the oldest frame still queued was queued: how long the writer
    /// has not taken anything while there was something to take.
    oldest_since: Option<Instant>,
}

/// A byte-bounded queue of frames for one peer, with wake-ups for its writer.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    budget: usize,
    /// Wakes the writer: something was queued, or the session is closing.
    ready: Notify,
    /// Wakes senders waiting for this peer to drain below half its budget.
    drained: Notify,
    /// Cancelled on eviction, so the session ends even while its writer is
    /// stuck on a socket the peer does not read.
    evicted: CancellationToken,
}

impl Outbox {
    /// An empty outbox that holds at most `budget` bytes of frames.
    pub fn new(budget: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            budget: budget.max(1),
            ready: Notify::new(),
            drained: Notify::new(),
            evicted: CancellationToken::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue inconsistent
        // (every update is a single push or swap), so keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame without waiting. Over budget, the peer is evicted.
    pub fn push(&self, frame: Message) -> Push {
        let size = frame.len();
        let mut state = self.lock();
        if state.closing.is_some() {
            return Push::Dropped;
        }
        if state.bytes + size > self.budget {
            drop(state);
            self.evict(Eviction::Overflow);
            return Push::Dropped;
        }
        state.bytes += size;
        state.queue.push_back(frame);
        if state.oldest_since.is_none() {
            state.oldest_since = Some(Instant::now());
        }
        let lagging = state.bytes > self.budget / 2;
        drop(state);
        self.ready.notify_one();
        if lagging {
            Push::Lagging
        } else {
            Push::Queued
        }
    }

    /// Moves everything queued into `into`, oldest first, and says whether
    /// the session goes on.
    pub fn drain_into(&self, into: &mut Vec<Message>) -> Drained {
        let mut state = self.lock();
        into.extend(state.queue.drain(..));
        // Only a sender that found the queue over half full waits for it
        // (`caught_up`), and the queue has been over half full since then:
        // below that, nobody is waiting and the wake-up is skipped.
        let anyone_waiting = state.bytes > self.budget / 2;
        state.bytes = 0;
        state.oldest_since = None;
        let closing = state.closing;
        drop(state);
        if anyone_waiting {
            self.drained.notify_waiters();
        }
        closing.map_or(Drained::Open, Drained::Closing)
    }

    /// Waits until something is queued or the peer is evicted.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Evicts the peer unless its session is already closing; its writer
    /// drops the queue and sends the eviction's close frame.
    pub fn evict(&self, reason: Eviction) {
        let closing = Closing {
            frame: Some(reason.close_frame()),
            flush_queue: false,
        };
        self.end(closing, Some(reason));
    }

    /// Tells the writer to end the session as `closing` says (unless it is
    /// already ending).
    pub fn close(&self, closing: Closing) {
        self.end(closing, None);
    }

    /// Starts the end of the session, once; later calls change nothing.
    fn end(&self, closing: Closing, eviction: Option<Eviction>) {
        let mut state = self.lock();
        if state.closing.is_some() {
            return;
        }
        state.closing = Some(closing);
        state.evicted = eviction;
        if !closing.flush_queue {
            state.queue.clear();
            state.bytes = 0;
            state.oldest_since = None;
        }
        drop(state);
        if eviction.is_some() {
            self.evicted.cancel();
        }
        self.ready.notify_one();
        self.drained.notify_waiters();
    }

    /// Waits until the peer is evicted, and says why.
    pub async fn evicted(&self) -> Eviction {
        self.evicted.cancelled().await;
        // The token is only cancelled after the reason is recorded.
        self.eviction().unwrap_or(Eviction::Overflow)
    }

    /// Why the peer was evicted, if it was.
    pub fn eviction(&self) -> Option<Eviction> {
        self.lock().evicted
    }

    /// Waits until the queue is at most half full or the peer is evicted.
    pub async fn caught_up(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Register before checking, so a drain between the check and the
            // await is not missed.
            drained.as_mut().enable();
            {
                let state = self.lock();
                if state.closing.is_some() || state.bytes <= self.budget / 2 {
                    return;
                }
            }
            drained.await;
        }
    }

    /// When the oldest frame still queued was queued, if any is.
    pub fn oldest_since(&self) -> Option<Instant> {
        self.lock().oldest_since
    }

    /// Bytes currently queued.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_evicts_and_frees_the_queue() {
        let outbox = Outbox::new(10);
        assert_eq!(outbox.push(Message::text("abcd")), Push::Queued);
        assert_eq!(outbox.push(Message::text("efgh")), Push::Lagging);
        assert_eq!(outbox.push(Message::text("ijkl")), Push::Dropped);
        assert_eq!(outbox.eviction(), Some(Eviction::Overflow));
        assert_eq!(outbox.queued_bytes(), 0);
        assert_eq!(outbox.push(Message::text("x")), Push::Dropped);
        assert_eq!(
            outbox.drain_into(&mut Vec::new()),
            Drained::Closing(Closing {
                frame: Some(Eviction::Overflow.close_frame()),
                flush_queue: false
            })
        );
    }

    #[test]
    fn closing_can_keep_the_queue_for_a_last_flush() {
        let outbox = Outbox::new(100);
        outbox.push(Message::text("last"));
        let closing = Closing {
            frame: Some((1001, "going away")),
            flush_queue: true,
        };
        outbox.close(closing);
        outbox.evict(Eviction::Stalled);
        let mut out = Vec::new();
        assert_eq!(outbox.drain_into(&mut out), Drained::Closing(closing));
        assert_eq!(out.len(), 1);
        assert_eq!(outbox.eviction(), None);
    }

    #[test]
    fn the_oldest_frame_age_resets_on_drain() {
        let outbox = Outbox::new(100);
        assert_eq!(outbox.oldest_since(), None);
        outbox.push(Message::text("a"));
        let first = outbox.oldest_since();
        assert!(first.is_some());
        outbox.push(Message::text("b"));
        assert_eq!(outbox.oldest_since(), first);
        outbox.drain_into(&mut Vec::new());
        assert_eq!(outbox.oldest_since(), None);
    }

    #[test]
    fn drain_takes_everything_in_order() {
        let outbox = Outbox::new(100);
        for text in ["a", "b", "c"] {
            outbox.push(Message::text(text));
        }
        let mut out = Vec::new();
        assert_eq!(outbox.drain_into(&mut out), Drained::Open);
        let texts: Vec<_> = out.iter().filter_map(|m| m.to_text().ok()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
        assert_eq!(outbox.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn caught_up_wakes_when_drained() {
        let outbox = std::sync::Arc::new(Outbox::new(10));
        outbox.push(Message::text("abcdefg"));
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.caught_up().await }
        });
        tokio::task::yield_now().await;
        outbox.drain_into(&mut Vec::new());
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("caught_up should return once drained")
            .expect("waiter task");
    }
}
