//! `loadgen`: a load generator and benchmark for the Hearth room server.
//!
//! It talks protocol v1 (see `docs/protocol.md`) to a server running as a
//! **separate process**, so that the server's own memory (VmRSS) and CPU time
//! can be read from `/proc/PID/…` without the load generator's costs mixed in.
//!
//! ```text
//! cargo run --release -p hearth-load --bin loadgen -- \
//!     --server-bin target/release/hearth-server --clients 100 \
//!     --rounds 200 --senders 10 --messages 1000 --size 64
//! ```
//!
//! The target is either `--url ws://HOST:PORT/ws` (optionally with `--pid`
//! to sample that process), or `--server-bin PATH`: the binary is spawned with
//! `--addr 127.0.0.1:0 --rate-limit 0 --room-rate-limit 0 --max-clients 20000` (plus every
//! `--server-arg`) and `--print-address`; its address is the first line of
//! its stdout (its log, on stderr, is drained but never interpreted), it is
//! sampled through its pid and stopped with SIGTERM at the end.
//!
//! Phases, in order, each bounded by `--timeout-secs`:
//!
//! 1. **connect**: `--clients` readers join (`hello` → `welcome`) at most
//!    `--connect-rate` per second, `--connect-concurrency` handshakes at once.
//!    Each reader is its own task reading its socket.
//! 2. **idle**: the server's RSS before and after connecting gives KiB per idle
//!    connection. With `--check-people`, every reader's count of the room
//!    (from `welcome`, `presence`, `joined` and `left`, as a UI keeps it)
//!    must then match `/healthz`, and one more client pages through the
//!    whole people list, which must hold everyone once. `--hold-only` stops
//!    here.
//! 3. **latency**: the websocket-shootout method: per round one client
//!    (rotating) says a unique marker; the round lasts from the send until
//!    *every* reader has received it. p50/p95/p99/max are reported.
//! 4. **burst**: `--non-readers` extra clients join and never read again; then
//!    `--senders` readers each send `--messages` messages of `--size` bytes as
//!    fast as they can. Reported: deliveries expected vs received (loss),
//!    elapsed time, deliveries/s, disconnects, server CPU µs per delivery,
//!    peak server RSS, and how many non-readers the server dropped (their
//!    sockets' close frames, and `/healthz`).
//!
//! The server's evictions by reason come from its `/healthz` counters; which
//! clients were evicted, from the close frames they received.
//!
//! Output is a human-readable table, then one line of JSON starting with
//! `{"loadgen":`. With `--fail-on-loss` the exit code is non-zero on any loss,
//! error, timeout or disconnect of a reading client, on any non-reader the
//! server did *not* drop (the slow-consumer policy: every non-reader dropped,
//! every reader complete), and on a spawned server that does not exit cleanly
//! on SIGTERM.
//!
//! Frames are classified with cheap prefix checks instead of a full JSON parse:
//! the server serializes `message` frames as
//! `{"type":"message","id":N,"from":{…},"text":"…","ts":…}`, so the id and the
//! marker at the start of the text can be sliced out directly.

// Printing the report is what this binary is for.
#![allow(clippy::print_stdout)]

mod burst;
mod clients;
mod latency;
mod people;
mod phases;
mod report;
mod rooms;
mod sampling;
// The tools' shared library: spawning the server, reading it, reporting.
use hearth_load as support;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use clap::Parser;
use tokio::sync::mpsc;
use tokio::time::Instant;

use clients::Shared;
use report::{evictions_seen, Report, ServerReport, Setup, TotalsReport};
use sampling::{Proc, Sampler};
use support::clock_ticks;
use support::{health, SpawnedServer};

/// Load generator for the Hearth room server (protocol v1).
#[derive(Debug, Clone, Parser, serde::Serialize)]
#[command(name = "loadgen", about, long_about = None)]
pub struct Cli {
    /// WebSocket URL of a running server (ignored with --server-bin).
    #[arg(long, default_value = "ws://127.0.0.1:7070/ws")]
    pub url: String,

    /// Process id of the server at --url, to sample its RSS and CPU time.
    #[arg(long)]
    pub pid: Option<u32>,

    /// Spawn this server binary on a free loopback port, sample it and stop it at the end.
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<std::path::PathBuf>,

    /// Extra argument for the spawned server (repeatable), e.g. `--server-arg=--history=0`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,

    /// Reading clients to connect.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,

    /// Most connection attempts started per second.
    #[arg(long, default_value_t = 2000.0)]
    pub connect_rate: f64,

    /// Most handshakes in flight at once (the server refuses more than 256 pending).
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,

    /// Latency rounds (0 skips the phase).
    #[arg(long, default_value_t = 200)]
    pub rounds: usize,

    /// Clients that send during the burst (0 skips the phase).
    #[arg(long, default_value_t = 10)]
    pub senders: usize,

    /// Messages each sender sends during the burst.
    #[arg(long, default_value_t = 1000)]
    pub messages: usize,

    /// Bytes of text in each burst message.
    #[arg(long, default_value_t = 64)]
    pub size: usize,

    /// Rooms besides General: reader n joins room n mod K, and each burst
    /// sender says its messages in its own room (0: everyone in General).
    #[arg(long, default_value_t = 0, conflicts_with = "no_hello")]
    pub rooms: usize,

    /// Extra clients that join before the burst and then never read.
    #[arg(long, default_value_t = 0)]
    pub non_readers: usize,

    /// Only connect the clients, report the idle memory per connection, and exit.
    #[arg(long)]
    pub hold_only: bool,

    /// With --hold-only: open the WebSockets without sending `hello`, so the
    /// clients stay unjoined and the server sends them nothing (no O(N²)
    /// storm of `joined` announcements and growing `welcome` user lists).
    #[arg(long, requires = "hold_only")]
    pub no_hello: bool,

    /// Bind this source address for every client (spread several load
    /// generators over 127.0.0.0/8).
    #[arg(long)]
    pub source_ip: Option<std::net::IpAddr>,

    /// Clients join as `{prefix}{n}`: give each load generator its own.
    #[arg(long, default_value = "lg")]
    pub name_prefix: String,

    /// With --hold-only: keep the clients connected this many seconds after
    /// the report (so several load generators can hold a crowd together).
    #[arg(long, default_value_t = 0, requires = "hold_only")]
    pub hold_secs: u64,

    /// After the idle phase: wait until every reader counts the room as
    /// `/healthz` does, then page through the whole people list with one
    /// more client; any difference is a problem. Use it with one load
    /// generator at a time (the room must hold still).
    #[arg(long, conflicts_with = "no_hello")]
    pub check_people: bool,

    /// Seconds to wait for the spawned server to exit after SIGTERM before SIGKILL.
    #[arg(long, default_value_t = 10)]
    pub shutdown_wait_secs: u64,

    /// Hard limit for each phase, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,

    /// Exit non-zero on any loss, error, timeout or disconnect of a reading client.
    #[arg(long)]
    pub fail_on_loss: bool,
}

/// This tool's arguments for the spawned server, after the shared ones and
/// before every `--server-arg`.
const SERVER_ARGS: [&str; 2] = ["--max-clients", "20000"];

/// What every phase needs: the options, where the server is, the readers'
/// shared counters and the server's `/proc` entries.
#[derive(Debug)]
pub struct Ctx {
    /// The command line.
    pub cli: Cli,
    /// The server's TCP address.
    pub addr: SocketAddr,
    /// Its WebSocket URL.
    pub url: String,
    /// Its `HOST:PORT`, for the `Host` header of `/healthz`.
    pub host: String,
    /// Counters shared by every reader task.
    pub shared: Arc<Shared>,
    /// The server process, if its pid is known.
    pub server: Option<Proc>,
    /// Its RSS sampler, if its pid is known.
    pub sampler: Option<Sampler>,
    /// Clock ticks per second of `/proc/PID/stat`.
    pub clk_tck: u64,
}

impl Ctx {
    /// How this process's clients connect.
    pub fn client_options(&self) -> clients::ClientOptions {
        clients::ClientOptions {
            source: self.cli.source_ip,
            prefix: self.cli.name_prefix.clone(),
            small: self.cli.hold_only,
        }
    }

    /// When a phase starting now must end (`--timeout-secs`).
    pub fn phase_deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(self.cli.timeout_secs)
    }
}

/// The WebSocket URL, `HOST:PORT` and address of the target: the spawned
/// server, or `--url`.
async fn resolve(
    cli: &Cli,
    spawned: Option<&SpawnedServer>,
) -> Result<(String, String, SocketAddr)> {
    let url = match spawned {
        Some(server) => format!("ws://{}/ws", server.addr),
        None => cli.url.clone(),
    };
    let uri: tokio_tungstenite::tungstenite::http::Uri = url.parse().context("--url")?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| anyhow!("--url has no host:port"))?;
    let addr = tokio::net::lookup_host(&host)
        .await
        .with_context(|| format!("resolving {host}"))?
        .next()
        .ok_or_else(|| anyhow!("{host} resolves to nothing"))?;
    Ok((url, host, addr))
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    run(cli).await
}

/// Runs every phase, printing each section of the report once it is known,
/// then the verdict and the JSON line.
async fn run(cli: Cli) -> Result<ExitCode> {
    let nofile = support::raise_nofile_limit((cli.clients + cli.non_readers) as u64 + 64)?;
    let mut server_args = cli.server_args.clone();
    if cli.rooms > 0 {
        server_args.push(rooms::SERVER_ARG.into());
    }
    let spawned = match &cli.server_bin {
        Some(bin) => Some(SpawnedServer::start(bin, &SERVER_ARGS, &server_args, None).await?),
        None => None,
    };
    let (url, host, addr) = resolve(&cli, spawned.as_ref()).await?;
    let clk_tck = clock_ticks();
    let server = spawned
        .as_ref()
        .map(|s| s.pid)
        .or(cli.pid)
        .map(|pid| Proc { pid, clk_tck });
    let setup = Setup {
        url: url.clone(),
        spawned: spawned.is_some(),
        server_pid: server.map(|p| p.pid),
        clk_tck,
        rlimit_nofile: nofile,
    };
    setup.print();

    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        shared: Arc::new(Shared::new(cli.rounds, done_tx)),
        sampler: server.map(Sampler::start),
        cli,
        addr,
        url,
        host,
        server,
        clk_tck,
    };
    let room_ids = if ctx.cli.rooms > 0 {
        rooms::make(&ctx, ctx.cli.rooms).await?
    } else {
        Vec::new()
    };
    let rss_before = server.and_then(Proc::rss_kib);
    let (mut readers, connect) = phases::connect(&ctx, &room_ids).await;
    connect.print();
    let idle = phases::idle(&ctx, rss_before, readers.len()).await;
    idle.print();
    let people = if ctx.cli.check_people {
        let people = people::check(&ctx, &readers).await;
        people.print();
        Some(people)
    } else {
        None
    };
    if ctx.cli.hold_secs > 0 {
        tokio::time::sleep(Duration::from_secs(ctx.cli.hold_secs)).await;
    }
    let mut latency = report::LatencyReport::default();
    if !ctx.cli.hold_only && ctx.cli.rounds > 0 && !readers.is_empty() {
        latency = latency::run(&ctx, &mut readers, &mut done_rx).await;
        latency.print();
    }
    let (burst, non_readers) = burst::run(&ctx, &mut readers).await;
    if let Some(b) = &burst {
        b.print(&ctx.cli);
        if ctx.cli.non_readers > 0 {
            non_readers.print();
        }
    }

    // Totals, then stop everything. Reader tasks are stopped first so the
    // server's shutdown does not count as disconnects.
    let totals = TotalsReport::from_shared(&ctx.shared);
    let evictions = health(ctx.addr, &ctx.host).await.ok().map(|h| h.evictions);
    for reader in &readers {
        reader.task.abort();
    }
    drop(readers);
    if let Some(sampler) = &ctx.sampler {
        sampler.task.abort();
    }
    let exit = match spawned {
        Some(server) => {
            let wait = Duration::from_secs(ctx.cli.shutdown_wait_secs);
            Some(server.stop(wait).await)
        }
        None => None,
    };
    let server = ServerReport {
        evictions,
        evicted_readers: evictions_seen(&totals.close_reasons),
        evicted_non_readers: evictions_seen(&non_readers.close_reasons),
        exit,
    };
    totals.print();
    server.print();

    let mut report = Report {
        setup,
        config: ctx.cli.clone(),
        connect,
        idle,
        people,
        latency,
        burst,
        non_readers,
        totals,
        server,
        ok: false,
        problems: Vec::new(),
    };
    report.problems = report.find_problems();
    report.ok = report.problems.is_empty();
    report.print_verdict_and_json()?;
    Ok(if ctx.cli.fail_on_loss && !report.ok {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
