//! The invite: a secret link exchanged, once per browser, for a pass (an
//! `HttpOnly` cookie) that lets that browser into the shared room.
//!
//! Only hashes of passes are kept, the secret is compared in constant time,
//! and attempts to redeem a link are rate-limited per source address, so
//! guessing either is hopeless: both are 128 random bits.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard, PoisonError};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::random_id;

/// The cookie that carries a pass.
pub const PASS_COOKIE: &str = "hearth_pass";

/// How long a browser keeps its pass: a month, though a new link or a
/// restart of the room ends it sooner.
const PASS_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;

/// Most passes remembered at once; past that the oldest is forgotten (its
/// browser needs the link again).
const MAX_PASSES: usize = 4096;

/// Invite attempts each source address may make: a few at once, then one
/// every six seconds.
const ATTEMPTS_BURST: u32 = 10;
const ATTEMPTS_PER_MINUTE: u32 = 10;

/// Identifies one pass, so the host can revoke the pass of the person they
/// remove.
pub type PassId = u64;

/// Why an invite was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InviteRefused {
    /// Not the current secret (never was, or an old link).
    #[error("this invite link is not valid (any more)")]
    Wrong,
    /// Too many attempts from this address: try again later.
    #[error("too many invite attempts from this address")]
    TooManyAttempts,
    /// The OS gave no randomness for a pass: nobody can be let in.
    #[error("no randomness for an invite pass")]
    NoRandomness,
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

#[derive(Debug)]
struct State {
    /// `None` only if the OS gave no randomness for a new one: then no
    /// link works, which is the safe way to fail.
    secret: Option<String>,
    /// SHA-256 of each valid pass's token → its id.
    passes: HashMap<[u8; 32], PassId>,
    /// The same passes by id, oldest first, for revoking and forgetting.
    by_id: BTreeMap<PassId, [u8; 32]>,
    next_id: PassId,
}

/// The current invite secret and the passes issued from it.
#[derive(Debug)]
pub struct Invites {
    state: Mutex<State>,
    attempts: DefaultKeyedRateLimiter<IpAddr>,
}

impl Invites {
    /// A fresh secret and no passes.
    pub fn new() -> Result<Self, getrandom::Error> {
        let per_minute = NonZeroU32::new(ATTEMPTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(ATTEMPTS_BURST).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            state: Mutex::new(State {
                secret: Some(random_id()?),
                passes: HashMap::new(),
                by_id: BTreeMap::new(),
                next_id: 1,
            }),
            attempts: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the maps consistent before the next step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The secret the invite link carries; `None` when there is none.
    pub fn secret(&self) -> Option<String> {
        self.lock().secret.clone()
    }

    /// Exchanges `candidate` for a new pass if it is the current secret.
    /// Every attempt counts against the address's budget, checked before
    /// the secret is looked at, so a guesser learns nothing past it.
    pub fn redeem(&self, from: IpAddr, candidate: &str) -> Result<IssuedPass, InviteRefused> {
        if self.attempts.check_key(&from).is_err() {
            return Err(InviteRefused::TooManyAttempts);
        }
        // Bound the limiter's memory: forget addresses back to a full budget.
        if self.attempts.len() > MAX_PASSES {
            self.attempts.retain_recent();
        }
        let mut state = self.lock();
        let matches: bool = match &state.secret {
            Some(secret) => candidate.as_bytes().ct_eq(secret.as_bytes()).into(),
            None => false,
        };
        if !matches {
            return Err(InviteRefused::Wrong);
        }
        let token = random_id().map_err(|err| {
            log::error!("no randomness for an invite pass: {err}");
            InviteRefused::NoRandomness
        })?;
        let id = state.next_id;
        state.next_id += 1;
        let hash = digest(&token);
        state.passes.insert(hash, id);
        state.by_id.insert(id, hash);
        while state.by_id.len() > MAX_PASSES {
            if let Some((_, oldest)) = state.by_id.pop_first() {
                state.passes.remove(&oldest);
            }
        }
        Ok(IssuedPass { id, token })
    }

    /// The pass a cookie value carries, if it is still valid.
    pub fn check(&self, token: &str) -> Option<PassId> {
        // Looked up by hash: timing can tell nothing about a valid token.
        self.lock().passes.get(&digest(token)).copied()
    }

    /// Ends one pass: its browser needs the link again.
    pub fn revoke(&self, id: PassId) {
        let mut state = self.lock();
        if let Some(hash) = state.by_id.remove(&id) {
            state.passes.remove(&hash);
        }
    }

    /// A new secret: the old link and every pass issued from it stop working.
    pub fn renew(&self) {
        let mut state = self.lock();
        state.secret = random_id()
            .inspect_err(|err| log::error!("no randomness for a new invite link: {err}"))
            .ok();
        state.passes.clear();
        state.by_id.clear();
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invites() -> Invites {
        Invites::new().expect("randomness")
    }

    fn guest(n: u8) -> IpAddr {
        IpAddr::from([198, 18, 0, n])
    }

    #[test]
    fn the_secret_is_128_random_bits() {
        let invites = invites();
        let secret = invites.secret().expect("a secret");
        assert_eq!(secret.len(), 32);
        assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(Some(secret), self::invites().secret());
    }

    #[test]
    fn the_secret_buys_a_pass_and_nothing_else_does() {
        let invites = invites();
        let secret = invites.secret().expect("a secret");
        assert_eq!(
            invites.redeem(guest(2), "0123456789abcdef0123456789abcdef"),
            Err(InviteRefused::Wrong)
        );
        assert_eq!(invites.redeem(guest(2), ""), Err(InviteRefused::Wrong));
        assert_eq!(
            invites.redeem(guest(2), &secret[..31]),
            Err(InviteRefused::Wrong)
        );
        let pass = invites.redeem(guest(2), &secret).expect("the right secret");
        assert_eq!(invites.check(&pass.token), Some(pass.id));
        assert_eq!(invites.check(&secret), None, "the secret is not a pass");
        assert_eq!(invites.check("not a pass"), None);
        let other = invites.redeem(guest(3), &secret).expect("again");
        assert_ne!(other.token, pass.token, "each browser its own pass");
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let invites = invites();
        let pass = invites
            .redeem(guest(2), &invites.secret().expect("a secret"))
            .expect("a pass");
        let cookie = pass.set_cookie();
        assert!(cookie.starts_with(&format!("{PASS_COOKIE}={}", pass.token)));
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(forget_pass_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn a_new_secret_ends_the_old_link_and_its_passes() {
        let invites = invites();
        let old = invites.secret().expect("a secret");
        let pass = invites.redeem(guest(2), &old).expect("a pass");
        invites.renew();
        assert_ne!(invites.secret(), Some(old.clone()));
        assert_eq!(invites.redeem(guest(2), &old), Err(InviteRefused::Wrong));
        assert_eq!(invites.check(&pass.token), None);
        let fresh = invites
            .redeem(guest(2), &invites.secret().expect("a secret"))
            .expect("the new link works");
        assert_eq!(invites.check(&fresh.token), Some(fresh.id));
    }

    #[test]
    fn a_revoked_pass_stops_working_and_others_do_not() {
        let invites = invites();
        let secret = invites.secret().expect("a secret");
        let removed = invites.redeem(guest(2), &secret).expect("a pass");
        let kept = invites.redeem(guest(3), &secret).expect("a pass");
        invites.revoke(removed.id);
        assert_eq!(invites.check(&removed.token), None);
        assert_eq!(invites.check(&kept.token), Some(kept.id));
    }

    #[test]
    fn guessing_is_cut_off_per_address_even_for_the_right_secret() {
        let invites = invites();
        let secret = invites.secret().expect("a secret");
        for _ in 0..ATTEMPTS_BURST {
            assert_eq!(invites.redeem(guest(9), "wrong"), Err(InviteRefused::Wrong));
        }
        assert_eq!(
            invites.redeem(guest(9), &secret),
            Err(InviteRefused::TooManyAttempts)
        );
        assert!(
            invites.redeem(guest(10), &secret).is_ok(),
            "other addresses are not held back"
        );
    }

    #[test]
    fn the_oldest_passes_are_forgotten_past_the_cap() {
        let invites = invites();
        let secret = invites.secret().expect("a secret");
        let first = invites.redeem(guest(1), &secret).expect("a pass");
        let mut last = None;
        for n in 0..MAX_PASSES {
            // Spread over addresses so the attempt budget is no limit here.
            let ip = IpAddr::from([198, 18, (n / 250) as u8, (n % 250) as u8 + 2]);
            last = Some(invites.redeem(ip, &secret).expect("a pass"));
        }
        assert_eq!(invites.check(&first.token), None);
        let last = last.expect("passes issued");
        assert_eq!(invites.check(&last.token), Some(last.id));
    }
}
