//! Limits that keep one client from hurting the others: the connection caps
//! and the message rates.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use governor::{DefaultDirectRateLimiter, Quota};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::RateLimit;

/// Caps the number of WebSocket clients. A permit is taken before the upgrade
/// (so a full room answers 503) and held for the life of the connection.
#[derive(Debug, Clone)]
pub struct ClientSlots {
    slots: Arc<Semaphore>,
    /// The share of them the network may take.
    network: Arc<Semaphore>,
}

/// Slots only this computer may take (at most half of them): the host's
/// window and browsers always get in, however many guests try.
pub const LOOPBACK_RESERVED_SLOTS: usize = 32;

/// Proof that a client holds one of the room's slots; dropping it frees the slot.
#[derive(Debug)]
pub struct ClientSlot {
    _slot: OwnedSemaphorePermit,
    _network: Option<OwnedSemaphorePermit>,
}

impl ClientSlots {
    /// Room for `max` clients, of which the network may take all but
    /// [`LOOPBACK_RESERVED_SLOTS`] (or half, when fewer).
    pub fn new(max: usize) -> Self {
        let max = max.min(Semaphore::MAX_PERMITS);
        let reserved = LOOPBACK_RESERVED_SLOTS.min(max / 2);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            network: Arc::new(Semaphore::new(max - reserved)),
        }
    }

    /// Takes a slot if one is free for a connection from this computer,
    /// or (`from_network`) one of the network's share.
    pub fn try_take(&self, from_network: bool) -> Option<ClientSlot> {
        let network = match from_network {
            true => Some(self.network.clone().try_acquire_owned().ok()?),
            false => None,
        };
        Some(ClientSlot {
            _slot: self.slots.clone().try_acquire_owned().ok()?,
            _network: network,
        })
    }
}

/// At most so many places at once for each key (an address, a person):
/// what caps downloads per address, uploads per person and a guest's
/// connections per address.
#[derive(Debug, Clone)]
pub struct PerKey<K: Eq + Hash> {
    held: Arc<Mutex<HashMap<K, usize>>>,
    cap: usize,
}

/// One place under a [`PerKey`] cap; dropping it gives the place back.
#[derive(Debug)]
pub struct KeyPlace<K: Eq + Hash> {
    key: K,
    held: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Eq + Hash + Clone> PerKey<K> {
    /// At most `cap` places per key.
    pub fn new(cap: usize) -> Self {
        Self {
            held: Arc::default(),
            cap,
        }
    }

    /// A place for `key`, if it has fewer than the cap.
    pub fn try_take(&self, key: K) -> Option<KeyPlace<K>> {
        let mut held = lock(&self.held);
        if held.get(&key).copied().unwrap_or(0) >= self.cap {
            return None;
        }
        *held.entry(key.clone()).or_default() += 1;
        Some(KeyPlace {
            key,
            held: self.held.clone(),
        })
    }

    /// How many keys hold a place now.
    pub fn keys(&self) -> usize {
        lock(&self.held).len()
    }
}

impl<K: Eq + Hash> KeyPlace<K> {
    /// The key this place is held for.
    pub fn key(&self) -> &K {
        &self.key
    }
}

impl<K: Eq + Hash> Drop for KeyPlace<K> {
    fn drop(&mut self) {
        let mut held = lock(&self.held);
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Caps HTTP connections that have not (yet) become WebSockets. Past the cap,
/// the oldest is asked to close rather than the newest refused: otherwise a
/// few hundred idle sockets, re-opened as they time out, would keep every
/// real browser out. A browser sends its request at once, so it is never the
/// oldest for long.
#[derive(Debug, Clone)]
pub struct PendingConnections {
    open: Arc<Mutex<PendingState>>,
    cap: usize,
}

#[derive(Debug, Default)]
struct PendingState {
    next: u64,
    /// Open connections by arrival, oldest first.
    open: BTreeMap<u64, CancellationToken>,
}

/// One pending connection's place under the cap; dropping it frees the place.
#[derive(Debug)]
pub struct PendingPlace {
    id: u64,
    open: Arc<Mutex<PendingState>>,
    /// Cancelled when a newer connection needs the place.
    pub make_room: CancellationToken,
}

impl PendingConnections {
    /// Room for `cap` pending connections (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            open: Arc::default(),
            cap: cap.max(1),
        }
    }

    /// Admits a new connection, asking the oldest to close if the cap is reached.
    pub fn admit(&self) -> PendingPlace {
        let mut state = lock(&self.open);
        while state.open.len() >= self.cap {
            let Some((_, oldest)) = state.open.pop_first() else {
                break;
            };
            oldest.cancel();
        }
        let id = state.next;
        state.next += 1;
        let make_room = CancellationToken::new();
        state.open.insert(id, make_room.clone());
        PendingPlace {
            id,
            open: self.open.clone(),
            make_room,
        }
    }

    /// How many connections hold a place.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.open).open.len()
    }
}

impl Drop for PendingPlace {
    fn drop(&mut self) {
        lock(&self.open).open.remove(&self.id);
    }
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each update is one insert, removal or count: never left half done.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A token bucket for incoming messages: one per connection, and one for the
/// whole room.
#[derive(Debug)]
pub struct MessageRate {
    bucket: Option<DefaultDirectRateLimiter>,
}

impl MessageRate {
    /// A bucket for `limit`, or no limit at all.
    pub fn new(limit: Option<RateLimit>) -> Self {
        let bucket = limit.and_then(|limit| {
            let per_second = NonZeroU32::new(limit.per_second)?;
            let burst = NonZeroU32::new(limit.burst).unwrap_or(per_second);
            Some(governor::RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(burst),
            ))
        });
        Self { bucket }
    }

    /// Takes one token; false means the message must be refused.
    pub fn allow(&self) -> bool {
        self.bucket.as_ref().is_none_or(|b| b.check().is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_refuses() {
        let rate = MessageRate::new(Some(RateLimit {
            per_second: 1,
            burst: 3,
        }));
        let allowed = (0..10).filter(|_| rate.allow()).count();
        assert_eq!(allowed, 3);
    }

    #[test]
    fn no_limit_allows_everything() {
        let rate = MessageRate::new(None);
        assert!((0..10_000).all(|_| rate.allow()));
    }

    #[test]
    fn past_the_pending_cap_the_oldest_makes_room() {
        let pending = PendingConnections::new(2);
        let first = pending.admit();
        let second = pending.admit();
        assert_eq!(pending.len(), 2);
        let third = pending.admit();
        assert!(first.make_room.is_cancelled());
        assert!(!second.make_room.is_cancelled());
        assert!(!third.make_room.is_cancelled());
        assert_eq!(pending.len(), 2);
        drop(first);
        assert_eq!(pending.len(), 2, "an evicted place is already free");
        drop(second);
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let slots = ClientSlots::new(1);
        let first = slots.try_take(false);
        assert!(first.is_some());
        assert!(slots.try_take(false).is_none());
        drop(first);
        assert!(slots.try_take(false).is_some());
    }

    #[test]
    fn the_network_never_takes_the_slots_kept_for_this_computer() {
        let slots = ClientSlots::new(100);
        let guests: Vec<_> = std::iter::from_fn(|| slots.try_take(true)).collect();
        assert_eq!(guests.len(), 100 - LOOPBACK_RESERVED_SLOTS);
        let local: Vec<_> = std::iter::from_fn(|| slots.try_take(false)).collect();
        assert_eq!(local.len(), LOOPBACK_RESERVED_SLOTS);
        drop(local);
        // This computer may take the network's share too, when it is free.
        drop(guests);
        let all: Vec<_> = std::iter::from_fn(|| slots.try_take(false)).collect();
        assert_eq!(all.len(), 100);
        let small = ClientSlots::new(4);
        let guests: Vec<_> = std::iter::from_fn(|| small.try_take(true)).collect();
        assert_eq!(guests.len(), 2);
    }
}
