//! The invite: a secret link exchanged, once per browser, for a pass (an
//! `HttpOnly` cookie) that lets that browser into the shared room.
//!
//! Only hashes of passes are kept, the secret is compared in constant time,
//! and attempts to redeem a link are rate-limited per source address, so
//! guessing either is hopeless: both are 128 random bits.
//!
//! Passes are bounded without letting one guest log another out: a pass in
//! use (a connection open with it) is never forgotten; past the caps, only
//! a pass idle for a while goes, the least recently used first, and
//! otherwise no new pass is issued. The connections a pass, and an
//! address, may hold open are capped too.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::limits::{KeyPlace, PerKey};
use crate::store::random_id;

/// The cookie that carries a pass.
pub const PASS_COOKIE: &str = "hearth_pass";

/// How long a browser keeps its pass: a month, though a new link or a
/// restart of the room ends it sooner.
const PASS_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;

/// Most passes one link issues that are remembered at once.
const MAX_PASSES: usize = 4096;

/// Most passes remembered for browsers at one address: someone who keeps
/// clearing their cookies replaces their own idle passes, not anyone
/// else's.
const MAX_PASSES_PER_ADDRESS: usize = 32;

/// How long a pass must have gone unused (no connection open, no request)
/// before a new guest may take its place when the room is at its cap.
const IDLE_BEFORE_REPLACED: Duration = Duration::from_secs(60 * 60);

/// Invite attempts each source address may make: a few at once, then one
/// every six seconds.
const ATTEMPTS_BURST: u32 = 10;
const ATTEMPTS_PER_MINUTE: u32 = 10;

/// Identifies one pass, so the host can revoke the pass of the person they
/// remove.
pub type PassId = u64;

/// Why an invite was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadInvite {
    /// Not the current secret (never was, or an old link).
    #[error("this invite link is not valid (any more)")]
    Wrong,
    /// Too many attempts from this address: try again later.
    #[error("too many invite attempts from this address")]
    TooManyAttempts,
    /// The OS gave no randomness for a pass: nobody can be let in.
    #[error("no randomness for an invite pass")]
    NoRandomness,
    /// Browsers at this address hold as many passes as one address may,
    /// all of them in use.
    #[error("too many guests from this address")]
    TooManyFromAddress,
    /// The link has issued as many passes as the room remembers, none of
    /// them idle long enough to be replaced.
    #[error("the room has as many guests as it can take")]
    Full,
}

/// How many connections one guest, and one address, may hold open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestLimits {
    /// Open connections per pass (one browser: its tabs).
    pub per_pass: usize,
    /// Open connections per address on the network.
    pub per_address: usize,
}

/// Why a guest's connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Crowded {
    /// This browser has as many connections open as a guest may.
    #[error("this browser has too many connections open")]
    Guest,
    /// This address has as many connections open as one may.
    #[error("too many connections from this address")]
    Address,
}

/// A pass just issued: the cookie to set, and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPass {
    /// The pass's id, for revoking it.
    pub id: PassId,
    /// The cookie's value (never logged).
    pub token: String,
}

impl IssuedPass {
    /// The `Set-Cookie` header value: readable by no script, sent by no
    /// other site's page.
    pub fn set_cookie(&self) -> String {
        format!(
            "{PASS_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={PASS_MAX_AGE_SECS}",
            self.token
        )
    }
}

/// The `Set-Cookie` value that makes a browser forget a pass that no longer works.
pub fn forget_pass_cookie() -> String {
    format!("{PASS_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// One pass issued.
#[derive(Debug)]
struct Pass {
    hash: [u8; 32],
    /// The address that redeemed the link for it.
    issued_to: IpAddr,
    /// Connections open with it now.
    open: usize,
    /// When it was last shown or last closed a connection.
    last_used: Instant,
}

#[derive(Debug)]
struct State {
    /// `None` only if the OS gave no randomness for a new one: then no
    /// link works, which is the safe way to fail.
    secret: Option<String>,
    /// SHA-256 of each valid pass's token → its id.
    passes: HashMap<[u8; 32], PassId>,
    /// The same passes by id, oldest first.
    by_id: BTreeMap<PassId, Pass>,
    /// Passes remembered per address they were issued to.
    issued: HashMap<IpAddr, usize>,
    next_id: PassId,
}

impl State {
    /// Forgets pass `id`.
    fn forget(&mut self, id: PassId) {
        if let Some(pass) = self.by_id.remove(&id) {
            self.passes.remove(&pass.hash);
            decrement(&mut self.issued, pass.issued_to);
        }
    }

    /// The least recently used pass with no connection open, among those
    /// `eligible` ones, if any.
    fn least_recently_used(&self, eligible: impl Fn(&Pass) -> bool) -> Option<PassId> {
        self.by_id
            .iter()
            .filter(|(_, pass)| pass.open == 0 && eligible(pass))
            .min_by_key(|(_, pass)| pass.last_used)
            .map(|(id, _)| *id)
    }
}

/// Takes one from a count, dropping it at zero.
fn decrement(counts: &mut HashMap<IpAddr, usize>, key: IpAddr) {
    if let Some(count) = counts.get_mut(&key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(&key);
        }
    }
}

/// The current invite secret and the passes issued from it.
#[derive(Debug)]
pub struct Invites {
    state: Arc<Mutex<State>>,
    attempts: DefaultKeyedRateLimiter<IpAddr>,
    /// Open connections per pass at most.
    per_pass: usize,
    /// Open connections per address.
    by_address: PerKey<IpAddr>,
}

/// One open connection of a guest: counted against their pass and their
/// address until it is dropped.
#[derive(Debug)]
pub struct GuestConnection {
    state: Arc<Mutex<State>>,
    pass: PassId,
    _address: KeyPlace<IpAddr>,
}

impl Drop for GuestConnection {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(pass) = state.by_id.get_mut(&self.pass) {
            pass.open = pass.open.saturating_sub(1);
            pass.last_used = Instant::now();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every update leaves the maps consistent before the next step.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Invites {
    /// A fresh secret and no passes; guests' connections within `limits`.
    pub fn new(limits: GuestLimits) -> Result<Self, getrandom::Error> {
        let per_minute = NonZeroU32::new(ATTEMPTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(ATTEMPTS_BURST).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                secret: Some(random_id()?),
                passes: HashMap::new(),
                by_id: BTreeMap::new(),
                issued: HashMap::new(),
                next_id: 1,
            })),
            attempts: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            per_pass: limits.per_pass,
            by_address: PerKey::new(limits.per_address),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The secret the invite link carries; `None` when there is none.
    pub fn secret(&self) -> Option<String> {
        self.lock().secret.clone()
    }

    /// Exchanges `candidate` for a new pass if it is the current secret.
    /// Every attempt counts against the address's budget, checked before
    /// the secret is looked at, so a guesser learns nothing past it.
    pub fn redeem(&self, from: IpAddr, candidate: &str) -> Result<IssuedPass, BadInvite> {
        if self.attempts.check_key(&from).is_err() {
            return Err(BadInvite::TooManyAttempts);
        }
        // Bound the limiter's memory: forget addresses back to a full budget.
        if self.attempts.len() > MAX_PASSES {
            self.attempts.retain_recent();
        }
        self.issue(from, candidate, Instant::now())
    }

    /// [`Self::redeem`] past the attempt budget, at `now`.
    fn issue(&self, from: IpAddr, candidate: &str, now: Instant) -> Result<IssuedPass, BadInvite> {
        let mut state = self.lock();
        let matches: bool = match &state.secret {
            Some(secret) => candidate.as_bytes().ct_eq(secret.as_bytes()).into(),
            None => false,
        };
        if !matches {
            return Err(BadInvite::Wrong);
        }
        // Room for one more from this address: its own least recently used
        // idle pass makes way, or nothing does.
        if state.issued.get(&from).copied().unwrap_or(0) >= MAX_PASSES_PER_ADDRESS {
            let own = state
                .least_recently_used(|pass| pass.issued_to == from)
                .ok_or(BadInvite::TooManyFromAddress)?;
            state.forget(own);
        }
        // Room for one more in all: a pass idle for long makes way.
        if state.by_id.len() >= MAX_PASSES {
            let idle = state
                .least_recently_used(|pass| {
                    now.saturating_duration_since(pass.last_used) >= IDLE_BEFORE_REPLACED
                })
                .ok_or(BadInvite::Full)?;
            state.forget(idle);
        }
        let token = random_id().map_err(|err| {
            log::error!("no randomness for an invite pass: {err}");
            BadInvite::NoRandomness
        })?;
        let id = state.next_id;
        state.next_id += 1;
        let hash = digest(&token);
        state.passes.insert(hash, id);
        state.by_id.insert(
            id,
            Pass {
                hash,
                issued_to: from,
                open: 0,
                last_used: now,
            },
        );
        *state.issued.entry(from).or_default() += 1;
        Ok(IssuedPass { id, token })
    }

    /// The pass a cookie value carries, if it is still valid (it counts as
    /// used now).
    pub fn check(&self, token: &str) -> Option<PassId> {
        // Looked up by hash: timing can tell nothing about a valid token.
        let mut state = self.lock();
        let id = state.passes.get(&digest(token)).copied()?;
        if let Some(pass) = state.by_id.get_mut(&id) {
            pass.last_used = Instant::now();
        }
        Some(id)
    }

    /// Counts a new connection of the guest holding `pass`, from `ip`,
    /// if neither is at its cap.
    pub fn connect(&self, pass: PassId, ip: IpAddr) -> Result<GuestConnection, Crowded> {
        let mut state = self.lock();
        let open = state.by_id.get(&pass).map_or(0, |p| p.open);
        if open >= self.per_pass {
            return Err(Crowded::Guest);
        }
        let address = self.by_address.try_take(ip).ok_or(Crowded::Address)?;
        if let Some(pass) = state.by_id.get_mut(&pass) {
            pass.open += 1;
        }
        Ok(GuestConnection {
            state: self.state.clone(),
            pass,
            _address: address,
        })
    }

    /// Ends one pass: its browser needs the link again.
    pub fn revoke(&self, id: PassId) {
        self.lock().forget(id);
    }

    /// A new secret: the old link and every pass issued from it stop working.
    pub fn renew(&self) {
        let mut state = self.lock();
        state.secret = random_id()
            .inspect_err(|err| log::error!("no randomness for a new invite link: {err}"))
            .ok();
        state.passes.clear();
        state.by_id.clear();
        state.issued.clear();
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests;
