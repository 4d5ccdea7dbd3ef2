//! The invite's secret, its passes and the caps on guests' connections.

use super::*;

const LIMITS: GuestLimits = GuestLimits {
    per_pass: 3,
    per_address: 5,
};

fn invites() -> Invites {
    Invites::new(LIMITS).expect("randomness")
}

/// Spread over addresses so the per-address caps are no limit.
fn many(n: usize) -> IpAddr {
    IpAddr::from([198, 18, (n / 250) as u8, (n % 250) as u8 + 2])
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
        Err(BadInvite::Wrong)
    );
    assert_eq!(invites.redeem(guest(2), ""), Err(BadInvite::Wrong));
    assert_eq!(
        invites.redeem(guest(2), &secret[..31]),
        Err(BadInvite::Wrong)
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
    assert_eq!(invites.redeem(guest(2), &old), Err(BadInvite::Wrong));
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
        assert_eq!(invites.redeem(guest(9), "wrong"), Err(BadInvite::Wrong));
    }
    assert_eq!(
        invites.redeem(guest(9), &secret),
        Err(BadInvite::TooManyAttempts)
    );
    assert!(
        invites.redeem(guest(10), &secret).is_ok(),
        "other addresses are not held back"
    );
}

#[test]
fn at_the_cap_only_a_long_idle_pass_makes_way_and_none_in_use() {
    let invites = invites();
    let secret = invites.secret().expect("a secret");
    let start = Instant::now();
    let first = invites.issue(many(0), &secret, start).expect("a pass");
    let _in_use = invites.connect(first.id, many(0)).expect("connects");
    let mut issued = vec![first];
    for n in 1..MAX_PASSES {
        issued.push(invites.issue(many(n), &secret, start).expect("a pass"));
    }
    // Full, and nobody idle long enough: refused, nobody pushed out.
    let soon = start + Duration::from_secs(60);
    assert_eq!(
        invites.issue(many(9999), &secret, soon),
        Err(BadInvite::Full)
    );
    assert!(issued.iter().all(|p| invites.check(&p.token) == Some(p.id)));
    // An hour on, one pass was last used long before the others: it
    // makes way. The one in use never would.
    let later = Instant::now() + IDLE_BEFORE_REPLACED;
    let idle = {
        let mut state = invites.lock();
        let pass = state.by_id.get_mut(&issued[7].id).expect("issued");
        pass.last_used = start;
        issued[7].id
    };
    let newcomer = invites
        .issue(many(9999), &secret, later)
        .expect("room made");
    assert_eq!(invites.check(&issued[7].token), None, "{idle} made way");
    assert_eq!(invites.check(&issued[0].token), Some(issued[0].id));
    assert_eq!(invites.check(&newcomer.token), Some(newcomer.id));
}

#[test]
fn one_address_replaces_only_its_own_idle_passes() {
    let invites = Invites::new(GuestLimits {
        per_pass: 100,
        per_address: 100,
    })
    .expect("randomness");
    let secret = invites.secret().expect("a secret");
    let other = invites.redeem(guest(3), &secret).expect("a pass");
    let now = Instant::now();
    let mut own = Vec::new();
    for _ in 0..MAX_PASSES_PER_ADDRESS {
        own.push(invites.issue(guest(2), &secret, now).expect("a pass"));
    }
    let _in_use: Vec<_> = own[1..]
        .iter()
        .map(|p| invites.connect(p.id, guest(2)).ok())
        .collect();
    // The idle one of this address makes way; the other address's
    // pass is untouched.
    let again = invites.issue(guest(2), &secret, now).expect("a pass");
    assert_eq!(invites.check(&own[0].token), None);
    assert_eq!(invites.check(&other.token), Some(other.id));
    assert_eq!(invites.check(&again.token), Some(again.id));
    // Now every pass of the address is in use, or is the new one; once
    // it is in use too, the address gets no more.
    let _also = invites.connect(again.id, guest(2));
    assert_eq!(
        invites.issue(guest(2), &secret, now),
        Err(BadInvite::TooManyFromAddress)
    );
    assert!(invites.issue(guest(4), &secret, now).is_ok());
}

#[test]
fn connections_are_capped_per_pass_and_per_address() {
    let invites = invites();
    let secret = invites.secret().expect("a secret");
    let ann = invites.redeem(guest(2), &secret).expect("a pass");
    let bob = invites.redeem(guest(2), &secret).expect("a pass");
    let mut open: Vec<_> = (0..LIMITS.per_pass)
        .map(|_| invites.connect(ann.id, guest(2)).expect("within the cap"))
        .collect();
    assert_eq!(
        invites.connect(ann.id, guest(2)).err(),
        Some(Crowded::Guest)
    );
    open.push(invites.connect(bob.id, guest(2)).expect("another guest"));
    open.push(invites.connect(bob.id, guest(2)).expect("another guest"));
    assert_eq!(
        invites.connect(bob.id, guest(2)).err(),
        Some(Crowded::Address)
    );
    assert!(invites.connect(bob.id, guest(3)).is_ok(), "another address");
    open.truncate(1);
    assert!(
        invites.connect(ann.id, guest(2)).is_ok(),
        "closed ones count no more"
    );
}
