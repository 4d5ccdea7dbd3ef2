//! Who the server and the clients think is in the room: `/healthz`, the
//! well-behaved clients' rosters and a fresh observer's `welcome.users`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

use crate::churn::CLOSE_LIMIT;
use crate::net::{join, open, welcome_users, Target};
use crate::steady::Steady;
use crate::support::{health, lock, rss_kib, Health};
use crate::POLL_EVERY;

/// Name of the observer that checks the presence list at the end.
const OBSERVER_NAME: &str = "soak-observer";
/// How often the background monitor samples `/healthz` and RSS.
const MONITOR_EVERY: Duration = Duration::from_millis(500);
/// Longest wait for the well-behaved rosters to match after `/healthz` does.
const ROSTER_LIMIT: Duration = Duration::from_secs(3);

/// `GET /healthz` on the server at `addr` (its own address as `Host`).
pub async fn health_of(addr: SocketAddr) -> anyhow::Result<Health> {
    health(addr, &addr.to_string()).await
}

/// Polls `/healthz` every [`POLL_EVERY`] until it reports `want` clients or
/// `limit` passes. Returns the last answer and how long it took.
pub async fn wait_for_clients(
    addr: SocketAddr,
    want: u64,
    limit: Duration,
) -> (Option<Health>, Duration) {
    let started = Instant::now();
    let mut last = None;
    loop {
        last = health_of(addr).await.ok().or(last);
        if last.is_some_and(|h| h.clients == want) || started.elapsed() >= limit {
            return (last, started.elapsed());
        }
        sleep(POLL_EVERY).await;
    }
}

/// Peaks seen by the background monitor.
#[derive(Debug, Default)]
pub struct Peaks {
    /// Highest `/healthz` clients count.
    pub clients: AtomicU64,
    /// Highest server RSS in KiB.
    pub rss_kib: AtomicU64,
    /// `/healthz` requests that failed.
    pub healthz_errors: AtomicU64,
}

/// Samples `/healthz` and the server's RSS every [`MONITOR_EVERY`], keeping peaks.
pub fn start_monitor(addr: SocketAddr, pid: u32, peaks: Arc<Peaks>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            sleep(MONITOR_EVERY).await;
            match health_of(addr).await {
                Ok(h) => peaks.clients.fetch_max(h.clients, Relaxed),
                Err(_) => peaks.healthz_errors.fetch_add(1, Relaxed),
            };
            if let Some(rss) = rss_kib(pid) {
                peaks.rss_kib.fetch_max(rss, Relaxed);
            }
        }
    })
}

/// Waits (at most [`ROSTER_LIMIT`]) until every well-behaved client's roster
/// holds exactly `names`; returns the clients whose roster still does not,
/// with the names it holds.
pub async fn wrong_rosters(
    steady: &[Steady],
    names: &BTreeSet<String>,
) -> Vec<(String, Vec<String>)> {
    let started = Instant::now();
    loop {
        let bad: Vec<(String, Vec<String>)> = steady
            .iter()
            .filter_map(|s| {
                let held: Vec<String> = lock(&s.seen).roster.values().cloned().collect();
                let set: BTreeSet<String> = held.iter().cloned().collect();
                (set != *names || held.len() != names.len()).then(|| (s.name.clone(), held))
            })
            .collect();
        if bad.is_empty() || started.elapsed() >= ROSTER_LIMIT {
            return bad;
        }
        sleep(POLL_EVERY).await;
    }
}

/// The failure lines for wrong rosters: the first three, then a count.
pub fn roster_failures(bad: &[(String, Vec<String>)], names: &BTreeSet<String>) -> Vec<String> {
    let mut failures: Vec<String> = bad
        .iter()
        .take(3)
        .map(|(name, held)| {
            let extra: Vec<&String> = held.iter().filter(|n| !names.contains(*n)).collect();
            format!(
                "{name}'s roster has {} users ({} not well-behaved, e.g. {:?})",
                held.len(),
                extra.len(),
                extra.iter().take(5).collect::<Vec<_>>()
            )
        })
        .collect();
    if bad.len() > 3 {
        failures.push(format!(
            "… and {} more well-behaved clients with a wrong roster",
            bad.len() - 3
        ));
    }
    failures
}

/// A fresh observer joins and leaves; returns the names in its
/// `welcome.users` and, if they are not exactly `names` plus itself (or it
/// could not join), what is wrong.
pub async fn observe(
    target: &Target,
    names: &BTreeSet<String>,
) -> (Option<Vec<String>>, Option<String>) {
    let mut ws = match open(target, false).await {
        Ok(ws) => ws,
        Err(err) => return (None, Some(format!("observer could not connect: {err:#}"))),
    };
    let welcome = match join(&mut ws, OBSERVER_NAME).await {
        Ok(welcome) => welcome,
        Err(err) => return (None, Some(format!("observer could not join: {err:#}"))),
    };
    let users: Vec<String> = welcome_users(&welcome).into_iter().map(|u| u.1).collect();
    let mut expected = names.clone();
    expected.insert(OBSERVER_NAME.to_owned());
    let got: BTreeSet<String> = users.iter().cloned().collect();
    let failure = (got != expected || users.len() != expected.len()).then(|| {
        let ghosts: Vec<&String> = got.difference(&expected).take(10).collect();
        let absent: Vec<&String> = expected.difference(&got).take(10).collect();
        format!(
            "observer's welcome.users has {} users, expected {}; ghosts {ghosts:?}, absent {absent:?}",
            users.len(),
            expected.len()
        )
    });
    let _ = timeout(CLOSE_LIMIT, async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    (Some(users), failure)
}
