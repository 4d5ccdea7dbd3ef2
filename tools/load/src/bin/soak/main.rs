//! `soak`: a bounded soak-and-churn test for the Hearth room server.
//!
//! It spawns the server binary as a **separate process** (so its memory can be
//! read from `/proc/PID/status`) with
//! `--addr 127.0.0.1:0 --rate-limit 0 --room-rate-limit 0 --ping-interval 1` plus every
//! `--server-arg` and `--print-address`, reads its address from the first
//! line of its stdout (its log, on stderr, is drained, copied to
//! `--server-log` if given, and never interpreted), and then, for
//! `--duration-secs`, keeps the room busy:
//!
//! ```text
//! cargo run --release -p hearth-load --bin soak -- \
//!     --server-bin target/release/hearth-server --duration-secs 60 --clients 300
//! ```
//!
//! * `--steady` **well-behaved** clients (`steady-N`) join first and stay the
//!   whole run. Each reads every frame, records every `message` (id and text)
//!   and the roster it learns from `welcome`/`joined`/`left`, and says a
//!   unique marker `S<client>:<seq>` every `--send-interval-ms`.
//! * **Churning** clients (`churn-N`), at least `--clients` of them over the
//!   run and at most `--max-concurrent` at once, each connect, say `hello`,
//!   chat a few markers `C<n>:<k>` while reading, then leave in one of four
//!   ways, taken round-robin in an order shuffled (per block of four) by a
//!   generator seeded with `--seed`:
//!   1. *graceful*: a close frame, then the closing handshake;
//!   2. *drop*: the socket is dropped without a close frame;
//!   3. *reset*: `SO_LINGER 0` was set on the TCP stream before the WebSocket
//!      handshake, so dropping it sends a TCP RST;
//!   4. *half-open*: the client stops reading (so it answers no ping) but keeps
//!      the socket open until the end; the server must drop it by heartbeat,
//!      which with a 1 s ping interval happens within about 3 s.
//!
//! When the time is up, churn stops (every churning client still chatting
//! leaves at once, in its chosen way) and these checks run; any failure makes
//! the exit code non-zero and is listed:
//!
//! * every churning client connected and joined, none was closed by the
//!   server while it was chatting, and at least `--clients` were started;
//! * `/healthz` reports exactly the well-behaved clients within
//!   `--settle-secs` (the half-open sockets are still held open then);
//! * every well-behaved client's roster, and the `welcome.users` of a fresh
//!   observer, hold exactly the well-behaved names (plus the observer): no
//!   ghost users;
//! * every half-open client, reading its backlog at the end, finds the
//!   server's `1001 no heartbeat` close frame (it answered no ping);
//! * every well-behaved client received every marker any well-behaved client
//!   sent, once; message ids are strictly increasing and without gaps on
//!   every client; all of them saw the same ids, with the same texts, and in
//!   the same order (compared over the markers they all saw);
//! * no well-behaved client was disconnected before the end;
//! * after everybody left, `/healthz` reports 0 clients, and the server's RSS
//!   is at most `--rss-growth` × its RSS right after the well-behaved clients
//!   joined, plus `--rss-slack-kib`;
//! * the server stops cleanly on SIGTERM.
//!
//! The server's evictions and join timeouts are reported from `/healthz`.
//!
//! Output is a human-readable table, then one line of JSON starting with
//! `{"soak":`.

// Printing the report is what this binary is for.
#![allow(clippy::print_stdout)]

mod churn;
mod delivery;
mod net;
mod presence;
mod report;
mod steady;
// The tools' shared library: spawning the server, reading it, reporting.
use hearth_load as support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use net::Target;
use presence::{health_of, wait_for_clients, Peaks};
use report::{
    millis_1dp, ChurnReport, PresenceReport, Report, RssReport, ServerReport, Setup, SteadyReport,
};
use steady::Steady;
use support::{rss_kib, SpawnedServer};

/// How often `/healthz` and RSS are polled while waiting for a condition.
pub const POLL_EVERY: Duration = Duration::from_millis(100);
/// Longest wait for the last markers to reach every well-behaved client.
const DELIVERY_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for the server's RSS to settle at the end.
const RSS_SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// How long the spawned server gets to exit after SIGTERM before SIGKILL.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// Bounded soak-and-churn test for the Hearth room server (protocol v1).
#[derive(Debug, Clone, Parser, serde::Serialize)]
#[command(name = "soak", about, long_about = None)]
pub struct Cli {
    /// Server binary to spawn on a free loopback port.
    #[arg(long, value_name = "PATH")]
    pub server_bin: PathBuf,

    /// Extra argument for the spawned server (repeatable), e.g. `--server-arg=--history=0`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,

    /// Also write the server's whole log (its stderr) to this file.
    #[arg(long, value_name = "PATH")]
    pub server_log: Option<PathBuf>,

    /// Seconds of churn (bounded; the checks afterwards add at most ~40 s).
    #[arg(long, default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration_secs: u64,

    /// Churning clients to start over the run, at least.
    #[arg(long, default_value_t = 300)]
    pub clients: usize,

    /// Most churning clients connected at once.
    #[arg(long, default_value_t = 100,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub max_concurrent: usize,

    /// Well-behaved clients that stay for the whole run.
    #[arg(long, default_value_t = 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    pub steady: usize,

    /// Milliseconds between two messages of one well-behaved client.
    #[arg(long, default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub send_interval_ms: u64,

    /// Seed of the generator that picks leave orders, lifetimes and message counts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Seconds to wait, after churn stops, for /healthz to count only the well-behaved clients.
    #[arg(long, default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    pub settle_secs: u64,

    /// Largest allowed ratio of end RSS to start RSS (before the slack is added).
    #[arg(long, default_value_t = 1.2)]
    pub rss_growth: f64,

    /// Absolute RSS slack in KiB on top of the ratio: allocator and page
    /// granularity, and the history buffer that fills during the run.
    #[arg(long, default_value_t = 2048)]
    pub rss_slack_kib: u64,
}

/// This tool's arguments for the spawned server, after the shared ones and
/// before every `--server-arg`.
const SERVER_ARGS: [&str; 2] = ["--ping-interval", "1"];

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    run(cli).await
}

/// Runs the soak, prints the report and returns the verdict as the exit code.
async fn run(cli: Cli) -> Result<ExitCode> {
    let nofile = support::raise_nofile_limit((cli.max_concurrent * 2 + cli.steady) as u64 + 64)?;
    let log_copy = cli
        .server_log
        .as_deref()
        .map(|path| {
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))
        })
        .transpose()?;
    let server =
        SpawnedServer::start(&cli.server_bin, &SERVER_ARGS, &cli.server_args, log_copy).await?;
    if !server.addr.ip().is_loopback() {
        bail!("the server listens on {}, not on loopback", server.addr);
    }
    let pid = server.pid;
    let target = Target {
        addr: server.addr,
        url: format!("ws://{}/ws", server.addr),
    };
    let setup = Setup {
        url: target.url.clone(),
        server_pid: pid,
        rlimit_nofile: nofile,
    };
    setup.print(&cli);

    let mut steady = steady::connect_all(&target, cli.steady).await?;
    let steady_names: BTreeSet<String> = steady.iter().map(|s| s.name.clone()).collect();
    // Let the `joined` announcements drain before measuring.
    sleep(Duration::from_millis(300)).await;
    let rss_start = rss_kib(pid);
    let healthz_start = health_of(target.addr).await.ok().map(|h| h.clients);
    let peaks = Arc::new(Peaks::default());
    let monitor = presence::start_monitor(target.addr, pid, peaks.clone());

    // The run: steady chatter plus churn, until the time is up.
    let run_started = Instant::now();
    let (mut churn, sent, send_errors) = churn_period(&cli, &target, &mut steady).await;
    let churn_elapsed = run_started.elapsed();
    let total_sent = sent.iter().map(|m| m.len() as u64).sum();
    let delivery_wait = steady::await_deliveries(&steady, total_sent, DELIVERY_LIMIT).await;

    // Only the well-behaved clients remain (half-open sockets still held
    // open), in the server's count and in every roster; a fresh observer
    // sees exactly them.
    let settle = Duration::from_secs(cli.settle_secs);
    let (settled, settle_took) = wait_for_clients(target.addr, cli.steady as u64, settle).await;
    let roster_bad = presence::wrong_rosters(&steady, &steady_names).await;
    let mut details = presence::roster_failures(&roster_bad, &steady_names);
    let (observer_users, observer_failure) = presence::observe(&target, &steady_names).await;
    details.extend(observer_failure);

    // Only now let go of the half-open sockets, learning how the server ended them.
    let half_open_held = churn.half_open.len();
    let half_open_ends = churn::probe_half_open(std::mem::take(&mut churn.half_open)).await;
    let churn = ChurnReport::new(churn, half_open_held, half_open_ends);

    // Message checks, while the well-behaved clients are still connected.
    let delivery = delivery::check_delivery(&steady, &sent, send_errors);
    let observed = steady::observed(&steady);
    let close = steady::close_all(&mut steady).await;
    let steady = SteadyReport {
        clients: cli.steady,
        delivery,
        delivery_wait_ms: millis_1dp(delivery_wait),
        frames: observed.frames,
        unparsed: observed.unparsed,
        error_frames: observed.errors,
        disconnected_during_run: observed.ended_early.len(),
        ended_early: observed.ended_early,
        close,
    };
    let (emptied, empty_took) = wait_for_clients(target.addr, 0, settle).await;
    let presence = PresenceReport {
        healthz_after_churn: settled.map(|h| h.clients),
        joined_after_churn: settled.map(|h| h.joined),
        settle_ms: millis_1dp(settle_took),
        rosters_wrong: roster_bad.len(),
        observer_users: observer_users.as_ref().map(Vec::len),
        healthz_end: emptied.map(|h| h.clients),
        empty_ms: millis_1dp(empty_took),
        details,
    };
    let rss = settled_rss(&cli, pid, rss_start).await;

    monitor.abort();
    let run = report::RunReport {
        churn_elapsed_ms: millis_1dp(churn_elapsed),
        healthz_start,
        peak_healthz_clients: peaks.clients.load(Relaxed),
        peak_rss_kib: peaks.rss_kib.load(Relaxed),
        healthz_errors: peaks.healthz_errors.load(Relaxed),
    };
    let health_end = health_of(target.addr).await.ok();
    let server = ServerReport {
        evictions: health_end.map(|h| h.evictions),
        join_timeouts: health_end.map(|h| h.join_timeouts),
        panics: health_end.map(|h| h.panics),
        exit: server.stop(SHUTDOWN_LIMIT).await,
    };
    let mut report = Report {
        setup,
        config: cli.clone(),
        run,
        churn,
        steady,
        presence,
        rss,
        server,
        ok: false,
        failures: Vec::new(),
    };
    report.failures = report.find_failures(&cli);
    report.ok = report.failures.is_empty();
    report.print(&cli)?;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The run proper: the well-behaved clients chat while clients churn, for
/// `--duration-secs`. Returns the churn, the markers each well-behaved
/// client sent, and how many of their senders failed.
async fn churn_period(
    cli: &Cli,
    target: &Target,
    steady: &mut [Steady],
) -> (churn::Churn, Vec<Vec<String>>, usize) {
    let stop = CancellationToken::new();
    let every = Duration::from_millis(cli.send_interval_ms);
    let senders = steady::start_senders(steady, every, &stop);
    let timer = {
        let stop = stop.clone();
        let duration = Duration::from_secs(cli.duration_secs);
        tokio::spawn(async move {
            sleep(duration).await;
            stop.cancel();
        })
    };
    let churn = churn::run_churn(cli, target, &stop).await;
    let _ = timer.await;
    let (sent, send_errors) = steady::collect_senders(senders, steady).await;
    (churn, sent, send_errors)
}

/// Memory: waits (at most [`RSS_SETTLE_LIMIT`]) for the server's RSS to be
/// back near `rss_start`, taken with only the well-behaved clients in.
async fn settled_rss(cli: &Cli, pid: u32, rss_start: Option<u64>) -> RssReport {
    let limit_kib =
        rss_start.map(|s| (s as f64 * cli.rss_growth).round() as u64 + cli.rss_slack_kib);
    let started = Instant::now();
    let mut end_kib = rss_kib(pid);
    while started.elapsed() < RSS_SETTLE_LIMIT && end_kib.zip(limit_kib).is_some_and(|(e, l)| e > l)
    {
        sleep(Duration::from_millis(250)).await;
        end_kib = rss_kib(pid);
    }
    RssReport {
        start_kib: rss_start,
        end_kib,
        limit_kib,
        settle_ms: millis_1dp(started.elapsed()),
    }
}
