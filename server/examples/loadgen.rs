//! `loadgen`: a load generator and benchmark for the Hearth room server.
//!
//! It talks protocol v1 (see `docs/protocol.md`) to a server running as a
//! **separate process**, so that the server's own memory (VmRSS) and CPU time
//! can be read from `/proc/PID/…` without the load generator's costs mixed in.
//!
//! ```text
//! cargo run --release -p hearth-server --example loadgen -- \
//!     --server-bin target/release/hearth-server --clients 100 \
//!     --rounds 200 --senders 10 --messages 1000 --size 64
//! ```
//!
//! The target is either `--url ws://HOST:PORT/ws` (optionally with `--pid`
//! to sample that process), or `--server-bin PATH`: the binary is spawned with
//! `--addr 127.0.0.1:0 --rate-limit 0 --room-rate-limit 0 --max-clients 20000` (plus every
//! `--server-arg`), its address is read from its `listening on http://…` log
//! line, it is sampled through its pid and stopped with SIGTERM at the end.
//!
//! Phases, in order, each bounded by `--timeout-secs`:
//!
//! 1. **connect**: `--clients` readers join (`hello` → `welcome`) at most
//!    `--connect-rate` per second, `--connect-concurrency` handshakes at once.
//!    Each reader is its own task reading its socket.
//! 2. **idle**: the server's RSS before and after connecting gives KiB per idle
//!    connection. `--hold-only` stops here.
//! 3. **latency**: the websocket-shootout method: per round one client
//!    (rotating) says a unique marker; the round lasts from the send until
//!    *every* reader has received it. p50/p95/p99/max are reported.
//! 4. **burst**: `--non-readers` extra clients join and never read again; then
//!    `--senders` readers each send `--messages` messages of `--size` bytes as
//!    fast as they can. Reported: deliveries expected vs received (loss),
//!    elapsed time, deliveries/s, disconnects, server CPU µs per delivery,
//!    peak server RSS, and how many non-readers the server dropped.
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

#![allow(clippy::print_stdout)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Parser;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use support::{heading, healthz_clients, lock, opt, SpawnedServer, Ws, WsRead, WsSink};

/// How `message` frames start; the room-wide id follows.
const MESSAGE_PREFIX: &str = r#"{"type":"message","id":"#;
/// How `welcome` frames start.
const WELCOME_PREFIX: &str = r#"{"type":"welcome""#;
/// How `error` frames start.
const ERROR_PREFIX: &str = r#"{"type":"error""#;
/// The key in front of a message's text.
const TEXT_KEY: &str = r#""text":""#;
/// How often server memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// Longest a single latency round may take before it is given up.
const ROUND_LIMIT: Duration = Duration::from_secs(5);
/// Once all senders are done, a burst with no new delivery for this long has ended.
const BURST_STALL: Duration = Duration::from_secs(5);
/// Read buffer of each reading client (tungstenite's default is 128 KiB).
const READER_BUFFER: usize = 32 * 1024;
/// Socket receive buffer and read buffer of each non-reading client.
const NON_READER_BUFFER: usize = 4096;

/// Load generator for the Hearth room server (protocol v1).
#[derive(Debug, Parser)]
#[command(name = "loadgen", about, long_about = None)]
struct Cli {
    /// WebSocket URL of a running server (ignored with --server-bin).
    #[arg(long, default_value = "ws://127.0.0.1:7070/ws")]
    url: String,

    /// Process id of the server at --url, to sample its RSS and CPU time.
    #[arg(long)]
    pid: Option<u32>,

    /// Spawn this server binary on a free loopback port, sample it and stop it at the end.
    #[arg(long, value_name = "PATH")]
    server_bin: Option<std::path::PathBuf>,

    /// Extra argument for the spawned server (repeatable), e.g. `--server-arg=--history=0`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// Reading clients to connect.
    #[arg(long, default_value_t = 100)]
    clients: usize,

    /// Most connection attempts started per second.
    #[arg(long, default_value_t = 2000.0)]
    connect_rate: f64,

    /// Most handshakes in flight at once (the server refuses more than 256 pending).
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,

    /// Latency rounds (0 skips the phase).
    #[arg(long, default_value_t = 200)]
    rounds: usize,

    /// Clients that send during the burst (0 skips the phase).
    #[arg(long, default_value_t = 10)]
    senders: usize,

    /// Messages each sender sends during the burst.
    #[arg(long, default_value_t = 1000)]
    messages: usize,

    /// Bytes of text in each burst message.
    #[arg(long, default_value_t = 64)]
    size: usize,

    /// Extra clients that join before the burst and then never read.
    #[arg(long, default_value_t = 0)]
    non_readers: usize,

    /// Only connect the clients, report the idle memory per connection, and exit.
    #[arg(long)]
    hold_only: bool,

    /// With --hold-only: open the WebSockets without sending `hello`, so the
    /// clients stay unjoined and the server sends them nothing (no O(N²)
    /// storm of `joined` announcements and growing `welcome` user lists).
    #[arg(long, requires = "hold_only")]
    no_hello: bool,

    /// Seconds to wait for the spawned server to exit after SIGTERM before SIGKILL.
    #[arg(long, default_value_t = 10)]
    shutdown_wait_secs: u64,

    /// Hard limit for each phase, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,

    /// Exit non-zero on any loss, error, timeout or disconnect of a reading client.
    #[arg(long)]
    fail_on_loss: bool,
}

/// Counters shared by every reader task and the coordinator.
#[derive(Debug)]
struct Shared {
    /// Reference point for `last_delivery_ns`.
    epoch: Instant,
    /// Reading clients whose stream is still open.
    alive: AtomicUsize,
    /// Frames received by readers.
    frames: AtomicU64,
    /// Bytes of text received by readers.
    bytes: AtomicU64,
    /// `error` frames received by readers, by code.
    error_codes: Mutex<BTreeMap<String, u64>>,
    /// Message ids not greater than the previous one on the same client.
    order_violations: AtomicU64,
    /// Readers whose stream ended.
    disconnects: AtomicU64,
    /// How reader streams ended ("close 1008 …", "eof", …), with counts.
    close_reasons: Mutex<BTreeMap<String, u64>>,
    /// Receivers of each latency round so far.
    latency_counts: Vec<AtomicU32>,
    /// Receivers that complete the current latency round.
    latency_target: AtomicU32,
    /// The first and the last receiver of a round report it here, with the time.
    latency_done: mpsc::UnboundedSender<RoundEvent>,
    /// Burst messages received by all readers together.
    burst_received: AtomicU64,
    /// When the latest burst message arrived, in ns since `epoch`.
    last_delivery_ns: AtomicU64,
}

impl Shared {
    /// Counts one more occurrence of `key` in a rarely-updated map.
    fn bump(map: &Mutex<BTreeMap<String, u64>>, key: String) {
        *lock(map).entry(key).or_default() += 1;
    }

    /// A copy of a counted map, for the report.
    fn snapshot(map: &Mutex<BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
        lock(map).clone()
    }
}

/// A latency round reached its first (`last == false`) or last receiver.
#[derive(Debug, Clone, Copy)]
struct RoundEvent {
    /// The round.
    round: usize,
    /// Whether every reader has now received it.
    last: bool,
    /// When.
    at: Instant,
}

/// What one reader task knows about its own client.
#[derive(Debug, Default)]
struct ClientStats {
    /// Burst messages this client received.
    burst: AtomicU64,
    /// One past the last message id seen (0: none yet).
    next_id: AtomicU64,
    /// Whether the stream has ended.
    ended: AtomicBool,
}

/// A connected, joined client whose frames a task reads.
#[derive(Debug)]
struct Reader {
    /// Writing half; `None` while a burst sender borrows it.
    sink: Option<WsSink>,
    /// The reading task.
    task: JoinHandle<()>,
    /// Its counters.
    stats: Arc<ClientStats>,
}

/// The server's resource use, read from `/proc`.
#[derive(Debug, Clone, Copy)]
struct Proc {
    /// Process id.
    pid: u32,
    /// Clock ticks per second of `/proc/PID/stat` times.
    clk_tck: u64,
}

impl Proc {
    /// Resident memory in KiB (`VmRSS`), if the process is readable.
    fn rss_kib(self) -> Option<u64> {
        support::rss_kib(self.pid)
    }

    /// User plus system CPU time in microseconds.
    fn cpu_us(self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the command name, which may contain spaces: state is
        // field 3, utime 14 and stime 15.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) * 1_000_000 / self.clk_tck.max(1))
    }
}

/// Samples a process's RSS in the background and keeps the peak.
#[derive(Debug)]
struct Sampler {
    /// Highest RSS seen since the last reset, in KiB.
    peak_kib: Arc<AtomicU64>,
    /// The sampling task.
    task: JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling every [`SAMPLE_EVERY`].
    fn start(proc_: Proc) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let peak = peak_kib.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            loop {
                tick.tick().await;
                if let Some(rss) = proc_.rss_kib() {
                    peak.fetch_max(rss, Relaxed);
                }
            }
        });
        Self { peak_kib, task }
    }

    /// Starts a new peak from the current RSS.
    fn reset(&self, proc_: Proc) {
        self.peak_kib.store(proc_.rss_kib().unwrap_or(0), Relaxed);
    }

    /// The peak since the last reset, including the RSS right now.
    fn peak(&self, proc_: Proc) -> u64 {
        let now = proc_.rss_kib().unwrap_or(0);
        self.peak_kib.fetch_max(now, Relaxed).max(now)
    }
}

/// What the spawned server's log said that matters here.
#[derive(Debug, Default)]
struct ServerLog {
    /// Lines at WARN level.
    warnings: u64,
    /// Lines at ERROR level.
    errors: u64,
    /// Evictions ("too slow" or "send queue overflow") of readers (by name).
    evicted_readers: u64,
    /// Evictions of non-readers (by name).
    evicted_non_readers: u64,
    /// The first few WARN/ERROR lines.
    samples: Vec<String>,
}

/// Command-line arguments for a spawned server, before every `--server-arg`.
const SERVER_ARGS: [&str; 8] = [
    "--addr",
    "127.0.0.1:0",
    "--rate-limit",
    "0",
    "--room-rate-limit",
    "0",
    "--max-clients",
    "20000",
];

/// Adds one line of the spawned server's stderr to `log`. Clients numbered
/// `clients..` are non-readers.
fn summarize_log_line(line: String, log: &mut ServerLog, clients: usize) {
    if line.contains(support::LISTENING_ON) {
        return;
    }
    let warn = line.contains(" WARN ");
    let error = line.contains(" ERROR ");
    if !warn && !error {
        return;
    }
    if warn {
        log.warnings += 1;
    } else {
        log.errors += 1;
    }
    if line.contains("too slow") || line.contains("send queue overflow") {
        match client_number(&line) {
            Some(n) if n >= clients => log.evicted_non_readers += 1,
            _ => log.evicted_readers += 1,
        }
    }
    if log.samples.len() < 5 {
        log.samples.push(line);
    }
}

/// The N of a `name=lgN` name in a server log line.
fn client_number(line: &str) -> Option<usize> {
    let rest = line.split(" name=lg").nth(1)?;
    leading_number(rest).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The decimal number at the start of `s`.
fn leading_number(s: &str) -> Option<u64> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s[..end].parse().ok()
}

/// Clock ticks per second for `/proc/PID/stat`, from `getconf CLK_TCK`
/// (no unsafe `sysconf` call: the workspace forbids unsafe code); 100 if
/// that fails, which is the value on every mainstream Linux.
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// Opens a WebSocket to `url` at `addr`; a small receive buffer for non-readers.
async fn open(addr: SocketAddr, url: &str, non_reader: bool) -> Result<Ws> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    let read_buffer = if non_reader {
        socket.set_recv_buffer_size(NON_READER_BUFFER as u32)?;
        NON_READER_BUFFER
    } else {
        READER_BUFFER
    };
    let stream = socket.connect(addr).await.context("TCP connect")?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(64 * 1024);
    let (ws, _response) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("WebSocket handshake")?;
    Ok(ws)
}

/// Sends `hello` and waits for `welcome`.
async fn join(ws: &mut Ws, name: &str) -> Result<()> {
    ws.send(Message::text(format!(
        r#"{{"type":"hello","name":"{name}"}}"#
    )))
    .await
    .context("sending hello")?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if text.starts_with(WELCOME_PREFIX) {
                    return Ok(());
                }
                if text.starts_with(ERROR_PREFIX) {
                    bail!("hello refused: {}", text.as_str());
                }
            }
            Some(Ok(Message::Close(frame))) => bail!("closed before welcome: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err).context("reading welcome"),
            None => bail!("connection ended before welcome"),
        }
    }
}

/// Connects reader `n`, joins it unless `hello` is false, and starts its
/// reading task.
async fn connect_reader(
    addr: SocketAddr,
    url: String,
    n: usize,
    hello: bool,
    shared: Arc<Shared>,
) -> Result<Reader> {
    let mut ws = open(addr, &url, false).await?;
    if hello {
        join(&mut ws, &format!("lg{n}")).await?;
    }
    let (sink, stream) = ws.split();
    let stats = Arc::new(ClientStats::default());
    shared.alive.fetch_add(1, Relaxed);
    let task = tokio::spawn(read_loop(stream, shared, stats.clone()));
    Ok(Reader {
        sink: Some(sink),
        task,
        stats,
    })
}

/// Connects and joins non-reader `n`, which is then left unread.
async fn connect_non_reader(addr: SocketAddr, url: String, n: usize) -> Result<Ws> {
    let mut ws = open(addr, &url, true).await?;
    join(&mut ws, &format!("lg{n}")).await?;
    Ok(ws)
}

/// A reader's task: classifies every frame until the stream ends.
async fn read_loop(mut stream: WsRead, shared: Arc<Shared>, me: Arc<ClientStats>) {
    let end = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => on_text(text.as_str(), &shared, &me),
            Some(Ok(Message::Close(Some(frame)))) => {
                break format!("close {} {}", u16::from(frame.code), frame.reason.as_str())
            }
            Some(Ok(Message::Close(None))) => break "close (no code)".to_owned(),
            Some(Ok(_)) => {}
            Some(Err(err)) => break format!("error: {err}"),
            None => break "eof".to_owned(),
        }
    };
    me.ended.store(true, Relaxed);
    shared.alive.fetch_sub(1, Relaxed);
    shared.disconnects.fetch_add(1, Relaxed);
    Shared::bump(&shared.close_reasons, end);
}

/// Handles one text frame of a reader, without parsing it as JSON.
fn on_text(text: &str, shared: &Shared, me: &ClientStats) {
    shared.frames.fetch_add(1, Relaxed);
    shared.bytes.fetch_add(text.len() as u64, Relaxed);
    let Some(rest) = text.strip_prefix(MESSAGE_PREFIX) else {
        if text.starts_with(ERROR_PREFIX) {
            let code = text
                .split(r#""code":""#)
                .nth(1)
                .and_then(|c| c.split('"').next())
                .unwrap_or("?");
            Shared::bump(&shared.error_codes, code.to_owned());
        }
        return;
    };
    if let Some(id) = leading_number(rest) {
        if id < me.next_id.swap(id + 1, Relaxed) {
            shared.order_violations.fetch_add(1, Relaxed);
        }
    }
    let Some(at) = rest.find(TEXT_KEY) else {
        return;
    };
    let marker = &rest[at + TEXT_KEY.len()..];
    match marker.as_bytes().first() {
        Some(b'B') => {
            me.burst.fetch_add(1, Relaxed);
            shared.burst_received.fetch_add(1, Relaxed);
            let ns = u64::try_from(shared.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            shared.last_delivery_ns.fetch_max(ns, Relaxed);
        }
        Some(b'L') => {
            let Some(round) = leading_number(&marker[1..]).and_then(|r| usize::try_from(r).ok())
            else {
                return;
            };
            if let Some(count) = shared.latency_counts.get(round) {
                let now = count.fetch_add(1, Relaxed) + 1;
                let last = now == shared.latency_target.load(Relaxed);
                if now == 1 || last {
                    let at = Instant::now();
                    let _ = shared.latency_done.send(RoundEvent { round, last, at });
                }
            }
        }
        _ => {}
    }
}

/// Outcome of connecting a batch of clients.
#[derive(Debug)]
struct Connected<T> {
    /// The clients that joined, in no particular order.
    clients: Vec<T>,
    /// Failures, by message.
    errors: BTreeMap<String, u64>,
    /// Whether the phase deadline cut it short.
    timed_out: bool,
    /// Time taken.
    elapsed: Duration,
}

/// Connects `count` clients numbered from `first`, paced and bounded, before `deadline`.
async fn connect_many<T, F, Fut>(
    cli: &Cli,
    count: usize,
    first: usize,
    deadline: Instant,
    connect: F,
) -> Connected<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(cli.connect_concurrency.max(1)));
    let mut pacing =
        tokio::time::interval(Duration::from_secs_f64(1.0 / cli.connect_rate.max(0.001)));
    pacing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut set = JoinSet::new();
    let launch = async {
        for n in first..first + count {
            pacing.tick().await;
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            let attempt = connect(n);
            set.spawn(async move {
                let result = attempt.await;
                drop(permit);
                result
            });
        }
    };
    let mut timed_out = timeout_at(deadline, launch).await.is_err();
    let mut clients = Vec::with_capacity(count);
    let mut errors = BTreeMap::new();
    loop {
        match timeout_at(deadline, set.join_next()).await {
            Ok(Some(Ok(Ok(client)))) => clients.push(client),
            Ok(Some(Ok(Err(err)))) => *errors.entry(format!("{err:#}")).or_default() += 1,
            Ok(Some(Err(err))) => *errors.entry(format!("task: {err}")).or_default() += 1,
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                set.abort_all();
                break;
            }
        }
    }
    Connected {
        clients,
        errors,
        timed_out,
        elapsed: started.elapsed(),
    }
}

/// Waits until readers have received nothing new for 300 ms (at most 10 s),
/// so the join announcements have drained before memory is measured.
async fn settle(shared: &Shared) {
    let until = Instant::now() + Duration::from_secs(10);
    let mut last = shared.frames.load(Relaxed);
    while Instant::now() < until {
        sleep(Duration::from_millis(300)).await;
        let now = shared.frames.load(Relaxed);
        if now == last {
            return;
        }
        last = now;
    }
}

/// Latency phase results.
#[derive(Debug, Default)]
struct Latency {
    /// Round times of the rounds every reader completed, in µs.
    micros: Vec<u64>,
    /// Time from the send until the first reader had it, per round, in µs.
    first_micros: Vec<u64>,
    /// Server CPU time used during the phase, in µs.
    server_cpu_us: Option<u64>,
    /// This process's CPU time used during the phase, in µs.
    loadgen_cpu_us: Option<u64>,
    /// Time the phase took.
    elapsed: Duration,
    /// Rounds some reader never completed (it disconnected, or [`ROUND_LIMIT`]).
    incomplete: usize,
    /// Rounds never started because of the phase deadline or no sender left.
    skipped: usize,
    /// Send failures.
    send_errors: usize,
    /// Whether the phase deadline cut it short.
    timed_out: bool,
}

/// Runs the latency rounds.
async fn run_latency(
    cli: &Cli,
    readers: &mut [Reader],
    shared: &Shared,
    done: &mut mpsc::UnboundedReceiver<RoundEvent>,
    server: Option<Proc>,
) -> Latency {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(cli.timeout_secs);
    let mut out = Latency::default();
    let self_proc = Proc {
        pid: std::process::id(),
        clk_tck: clock_ticks(),
    };
    let self_cpu_before = self_proc.cpu_us();
    let server_cpu_before = server.and_then(Proc::cpu_us);
    for round in 0..cli.rounds {
        if Instant::now() >= deadline {
            out.timed_out = true;
            out.skipped = cli.rounds - round;
            break;
        }
        let count = readers.len();
        let Some(sender) = (0..count)
            .map(|k| (round + k) % count)
            .find(|&i| !readers[i].stats.ended.load(Relaxed))
        else {
            out.skipped = cli.rounds - round;
            break;
        };
        let Some(sink) = readers[sender].sink.as_mut() else {
            out.skipped = cli.rounds - round;
            break;
        };
        let target = shared.alive.load(Relaxed);
        shared
            .latency_target
            .store(u32::try_from(target).unwrap_or(u32::MAX), Relaxed);
        let frame = format!(r#"{{"type":"say","text":"L{round}"}}"#);
        let sent_at = Instant::now();
        if sink.send(Message::text(frame)).await.is_err() {
            out.send_errors += 1;
            continue;
        }
        let round_deadline = deadline.min(sent_at + ROUND_LIMIT);
        let received = |r: usize| shared.latency_counts[r].load(Relaxed) as usize;
        loop {
            match timeout_at(
                round_deadline.min(Instant::now() + Duration::from_millis(100)),
                done.recv(),
            )
            .await
            {
                Ok(Some(event)) if event.round == round => {
                    let took = duration_us(event.at.saturating_duration_since(sent_at));
                    if event.last {
                        out.micros.push(took);
                        break;
                    }
                    out.first_micros.push(took);
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    out.incomplete += 1;
                    break;
                }
                Err(_) => {
                    // Readers that left cannot complete the round.
                    let alive = shared.alive.load(Relaxed);
                    if received(round) >= alive.min(target) && alive < target {
                        out.incomplete += 1;
                        break;
                    }
                    if Instant::now() >= round_deadline {
                        out.incomplete += 1;
                        out.timed_out |= Instant::now() >= deadline;
                        break;
                    }
                }
            }
        }
    }
    out.elapsed = started.elapsed();
    out.server_cpu_us = server
        .and_then(Proc::cpu_us)
        .zip(server_cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    out.loadgen_cpu_us = self_proc
        .cpu_us()
        .zip(self_cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    out
}

/// Burst phase results.
#[derive(Debug, Default)]
struct Burst {
    /// Readers at the start (every one should receive every message).
    readers: usize,
    /// Messages the senders wrote.
    sent: u64,
    /// Deliveries expected: messages × readers.
    expected: u64,
    /// Deliveries received.
    received: u64,
    /// First send to last delivery.
    elapsed: Duration,
    /// First send until every sender had written everything.
    send_elapsed: Duration,
    /// Reader streams that ended during the burst.
    disconnects: u64,
    /// Sender write failures.
    send_errors: u64,
    /// Server CPU time used during the burst, in µs.
    server_cpu_us: Option<u64>,
    /// This process's CPU time used during the burst, in µs.
    loadgen_cpu_us: Option<u64>,
    /// Highest server RSS during the burst, in KiB.
    peak_rss_kib: Option<u64>,
    /// Fewest and most burst messages one surviving reader received.
    per_client_min_max: (u64, u64),
    /// Surviving readers that missed at least one message.
    short_clients: usize,
    /// Whether the phase deadline cut it short.
    timed_out: bool,
    /// Whether it ended because deliveries stopped before all arrived.
    stalled: bool,
}

/// Runs the burst: `senders` readers each send `messages` messages at full speed.
async fn run_burst(
    cli: &Cli,
    readers: &mut [Reader],
    shared: &Shared,
    server: Option<(Proc, &Sampler)>,
) -> Burst {
    let deadline = Instant::now() + Duration::from_secs(cli.timeout_secs);
    let senders: Vec<usize> = (0..readers.len())
        .filter(|&i| !readers[i].stats.ended.load(Relaxed) && readers[i].sink.is_some())
        .take(cli.senders)
        .collect();
    let mut out = Burst {
        readers: shared.alive.load(Relaxed),
        ..Burst::default()
    };
    out.expected = (senders.len() * cli.messages * out.readers) as u64;
    let disconnects_before = shared.disconnects.load(Relaxed);
    let received_before = shared.burst_received.load(Relaxed);
    let self_proc = Proc {
        pid: std::process::id(),
        clk_tck: server.map_or_else(clock_ticks, |(p, _)| p.clk_tck),
    };
    let self_cpu_before = self_proc.cpu_us();
    let server_cpu_before = server.and_then(|(p, _)| p.cpu_us());
    if let Some((p, sampler)) = server {
        sampler.reset(p);
    }
    let padding = "x".repeat(cli.size);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (s, &i) in senders.iter().enumerate() {
        let Some(mut sink) = readers[i].sink.take() else {
            continue;
        };
        let messages = cli.messages;
        let padding = padding.clone();
        tasks.spawn(async move {
            let mut sent = 0u64;
            let mut failed = false;
            for j in 0..messages {
                let marker = format!("B{s}:{j}:");
                let pad = &padding[..padding.len().saturating_sub(marker.len())];
                let frame = format!(r#"{{"type":"say","text":"{marker}{pad}"}}"#);
                if sink.feed(Message::text(frame)).await.is_err() {
                    failed = true;
                    break;
                }
                sent += 1;
                if j % 32 == 31 && sink.flush().await.is_err() {
                    failed = true;
                    break;
                }
            }
            if !failed && sink.flush().await.is_err() {
                failed = true;
            }
            (i, sink, sent, failed)
        });
    }

    let mut senders_done = false;
    let mut last_seen = received_before;
    let mut last_progress = Instant::now();
    loop {
        while let Some(joined) = tasks.try_join_next() {
            if let Ok((i, sink, sent, failed)) = joined {
                readers[i].sink = Some(sink);
                out.sent += sent;
                out.send_errors += u64::from(failed);
            } else {
                out.send_errors += 1;
            }
        }
        if !senders_done && tasks.is_empty() {
            senders_done = true;
            out.send_elapsed = started.elapsed();
        }
        let received = shared.burst_received.load(Relaxed) - received_before;
        if received >= out.expected {
            break;
        }
        if received != last_seen {
            last_seen = received;
            last_progress = Instant::now();
        }
        if senders_done && last_progress.elapsed() >= BURST_STALL {
            out.stalled = true;
            break;
        }
        if Instant::now() >= deadline {
            out.timed_out = true;
            break;
        }
        sleep(Duration::from_millis(10)).await;
    }
    if !senders_done {
        // Timed out with senders still writing: stop them; their sinks are lost.
        tasks.abort_all();
        out.send_elapsed = started.elapsed();
    }
    out.received = shared.burst_received.load(Relaxed) - received_before;
    let started_ns = u64::try_from((started - shared.epoch).as_nanos()).unwrap_or(0);
    let last_ns = shared.last_delivery_ns.load(Relaxed);
    out.elapsed = if out.received > 0 && last_ns > started_ns {
        Duration::from_nanos(last_ns - started_ns)
    } else {
        started.elapsed()
    };
    out.disconnects = shared.disconnects.load(Relaxed) - disconnects_before;
    if let Some((p, sampler)) = server {
        out.server_cpu_us = p
            .cpu_us()
            .zip(server_cpu_before)
            .map(|(a, b)| a.saturating_sub(b));
        out.peak_rss_kib = Some(sampler.peak(p));
    }
    out.loadgen_cpu_us = self_proc
        .cpu_us()
        .zip(self_cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    let per_sender = (senders.len() * cli.messages) as u64;
    let survivors: Vec<u64> = readers
        .iter()
        .filter(|r| !r.stats.ended.load(Relaxed))
        .map(|r| r.stats.burst.load(Relaxed))
        .collect();
    out.per_client_min_max = (
        survivors.iter().copied().min().unwrap_or(0),
        survivors.iter().copied().max().unwrap_or(0),
    );
    out.short_clients = survivors.iter().filter(|&&n| n < per_sender).count();
    out
}

/// What became of the non-reading clients.
#[derive(Debug, Default)]
struct NonReaders {
    /// Asked for.
    requested: usize,
    /// Joined.
    connected: usize,
    /// Failures to connect, by message.
    errors: BTreeMap<String, u64>,
    /// `/healthz` clients before the burst.
    healthz_before: Option<u64>,
    /// `/healthz` clients after the burst.
    healthz_after: Option<u64>,
    /// Dropped by the server, from `/healthz` (minus reader disconnects).
    dropped_by_healthz: Option<u64>,
    /// Dropped by the server, from reading their sockets at the end.
    dropped_by_probe: usize,
    /// How the dropped ones' streams ended.
    close_reasons: BTreeMap<String, u64>,
}

/// Reads each non-reader's backlog (for up to 5 s overall) to learn whether
/// the server closed it; returns (dropped, close reasons).
async fn probe_non_readers(clients: Vec<Ws>) -> (usize, BTreeMap<String, u64>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut set = JoinSet::new();
    for mut ws in clients {
        set.spawn(async move {
            loop {
                match timeout_at(deadline, ws.next()).await {
                    Err(_) => return None,
                    Ok(Some(Ok(Message::Close(Some(f))))) => {
                        return Some(format!("close {} {}", u16::from(f.code), f.reason.as_str()))
                    }
                    Ok(Some(Ok(Message::Close(None)))) => {
                        return Some("close (no code)".to_owned())
                    }
                    Ok(Some(Ok(_))) => {}
                    Ok(Some(Err(err))) => return Some(format!("error: {err}")),
                    Ok(None) => return Some("eof".to_owned()),
                }
            }
        });
    }
    let mut dropped = 0;
    let mut reasons = BTreeMap::new();
    while let Some(result) = set.join_next().await {
        if let Ok(Some(reason)) = result {
            dropped += 1;
            *reasons.entry(reason).or_default() += 1;
        }
    }
    (dropped, reasons)
}

/// Percentile `q` (0–1) of sorted `values`, in ms.
fn percentile_ms(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0)
}

/// Whole microseconds of `d`.
fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Milliseconds of `d`, with fractions.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rounds to 3 decimals for the report.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Prints one row of the table.
fn row(label: &str, value: impl std::fmt::Display) {
    support::print_row(34, label, value);
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    run(cli).await
}

/// Runs every phase and prints the report.
async fn run(cli: Cli) -> Result<ExitCode> {
    let nofile = support::raise_nofile_limit((cli.clients + cli.non_readers) as u64 + 64)?;

    let spawned = match &cli.server_bin {
        Some(bin) => {
            let clients = cli.clients;
            let on_line = move |line, log: &mut ServerLog| summarize_log_line(line, log, clients);
            Some(SpawnedServer::start(bin, &SERVER_ARGS, &cli.server_args, on_line).await?)
        }
        None => None,
    };
    let url = match &spawned {
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
    let clk_tck = clock_ticks();
    let proc_ = spawned
        .as_ref()
        .map(|s| s.pid)
        .or(cli.pid)
        .map(|pid| Proc { pid, clk_tck });
    let sampler = proc_.map(Sampler::start);
    let server = proc_.zip(sampler.as_ref());

    heading("setup");
    row("url", &url);
    row("server pid", opt(proc_.map(|p| p.pid)));
    row("clock ticks/s (getconf CLK_TCK)", clk_tck);
    row("RLIMIT_NOFILE (soft)", nofile);

    // Phase 1: connect.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        alive: AtomicUsize::new(0),
        frames: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        error_codes: Mutex::new(BTreeMap::new()),
        order_violations: AtomicU64::new(0),
        disconnects: AtomicU64::new(0),
        close_reasons: Mutex::new(BTreeMap::new()),
        latency_counts: (0..cli.rounds).map(|_| AtomicU32::new(0)).collect(),
        latency_target: AtomicU32::new(u32::MAX),
        latency_done: done_tx,
        burst_received: AtomicU64::new(0),
        last_delivery_ns: AtomicU64::new(0),
    });
    let rss_before = proc_.and_then(|p| p.rss_kib());
    let self_proc = Proc {
        pid: std::process::id(),
        clk_tck,
    };
    let connect_cpu_before = (proc_.and_then(Proc::cpu_us), self_proc.cpu_us());
    let connect_deadline = Instant::now() + Duration::from_secs(cli.timeout_secs);
    let hello = !cli.no_hello;
    let connected = connect_many(&cli, cli.clients, 0, connect_deadline, |n| {
        connect_reader(addr, url.clone(), n, hello, shared.clone())
    })
    .await;
    let connect_server_cpu_us = proc_
        .and_then(Proc::cpu_us)
        .zip(connect_cpu_before.0)
        .map(|(a, b)| a.saturating_sub(b));
    let connect_loadgen_cpu_us = self_proc
        .cpu_us()
        .zip(connect_cpu_before.1)
        .map(|(a, b)| a.saturating_sub(b));
    let connect_failed: u64 = connected.errors.values().sum();
    let mut readers = connected.clients;
    let joined_count = readers.len();
    heading("connect");
    row("clients requested", cli.clients);
    row(
        if hello {
            "clients joined"
        } else {
            "clients connected (no hello)"
        },
        readers.len(),
    );
    row("failed", connect_failed);
    for (err, n) in &connected.errors {
        row("  error", format!("{n}× {err}"));
    }
    row("elapsed ms", format!("{:.1}", ms(connected.elapsed)));
    row(
        "joins/s",
        format!(
            "{:.0}",
            readers.len() as f64 / connected.elapsed.as_secs_f64().max(1e-9)
        ),
    );
    row(
        "server CPU ms",
        opt(connect_server_cpu_us.map(|us| us / 1000)),
    );
    row(
        "loadgen CPU ms",
        opt(connect_loadgen_cpu_us.map(|us| us / 1000)),
    );
    row("timed out", connected.timed_out);

    // Phase 2: idle memory.
    settle(&shared).await;
    let rss_after = proc_.and_then(|p| p.rss_kib());
    let healthz_idle = healthz_clients(addr, &host).await.ok();
    let kib_per_conn = rss_before
        .zip(rss_after)
        .filter(|_| !readers.is_empty())
        .map(|(b, a)| (a as f64 - b as f64) / readers.len() as f64);
    heading("idle");
    row("server RSS before connecting KiB", opt(rss_before));
    row("server RSS after connecting KiB", opt(rss_after));
    row(
        "KiB per idle connection",
        opt(kib_per_conn.map(|k| format!("{k:.1}"))),
    );
    row("/healthz clients", opt(healthz_idle));
    row(
        "join frames received by readers",
        shared.frames.load(Relaxed),
    );

    let mut latency = Latency::default();
    let mut burst = None;
    let mut non_readers = NonReaders {
        requested: cli.non_readers,
        ..NonReaders::default()
    };
    if !cli.hold_only {
        // Phase 3: latency.
        if cli.rounds > 0 && !readers.is_empty() {
            latency = run_latency(&cli, &mut readers, &shared, &mut done_rx, proc_).await;
            latency.micros.sort_unstable();
            latency.first_micros.sort_unstable();
            heading("latency (send → every client received)");
            row("rounds completed", latency.micros.len());
            row(
                "rounds incomplete / skipped",
                format!("{} / {}", latency.incomplete, latency.skipped),
            );
            for (label, q) in [
                ("p50 ms", 0.5),
                ("p95 ms", 0.95),
                ("p99 ms", 0.99),
                ("max ms", 1.0),
            ] {
                row(
                    label,
                    opt(percentile_ms(&latency.micros, q).map(|v| format!("{v:.3}"))),
                );
            }
            row(
                "first receiver p50 / p99 ms",
                format!(
                    "{} / {}",
                    opt(percentile_ms(&latency.first_micros, 0.5)),
                    opt(percentile_ms(&latency.first_micros, 0.99))
                ),
            );
            row("phase elapsed ms", format!("{:.1}", ms(latency.elapsed)));
            row(
                "server CPU ms",
                opt(latency.server_cpu_us.map(|us| us / 1000)),
            );
            row(
                "loadgen CPU ms",
                opt(latency.loadgen_cpu_us.map(|us| us / 1000)),
            );
            row("timed out", latency.timed_out);
        }

        // Phase 4: non-readers, then the burst.
        if cli.senders > 0 && cli.messages > 0 && !readers.is_empty() {
            if cli.non_readers > 0 {
                let deadline = Instant::now() + Duration::from_secs(cli.timeout_secs);
                let joined = connect_many(&cli, cli.non_readers, cli.clients, deadline, |n| {
                    connect_non_reader(addr, url.clone(), n)
                })
                .await;
                non_readers.connected = joined.clients.len();
                non_readers.errors = joined.errors;
                settle(&shared).await;
                non_readers.healthz_before = healthz_clients(addr, &host).await.ok();
                let disconnects_before = shared.disconnects.load(Relaxed);
                let result = run_burst(&cli, &mut readers, &shared, server).await;
                // Evictions land within the server's stall grace (2 s).
                sleep(Duration::from_millis(500)).await;
                non_readers.healthz_after = healthz_clients(addr, &host).await.ok();
                let reader_losses = shared.disconnects.load(Relaxed) - disconnects_before;
                non_readers.dropped_by_healthz = non_readers
                    .healthz_before
                    .zip(non_readers.healthz_after)
                    .map(|(b, a)| b.saturating_sub(a).saturating_sub(reader_losses));
                let (dropped, reasons) = probe_non_readers(joined.clients).await;
                non_readers.dropped_by_probe = dropped;
                non_readers.close_reasons = reasons;
                burst = Some(result);
            } else {
                burst = Some(run_burst(&cli, &mut readers, &shared, server).await);
            }
        }
    }

    if let Some(b) = &burst {
        let lost = b.expected.saturating_sub(b.received);
        heading(&format!(
            "burst ({} senders × {} messages × {} B → {} readers)",
            cli.senders, cli.messages, cli.size, b.readers
        ));
        row("messages sent", b.sent);
        row("deliveries expected", b.expected);
        row("deliveries received", b.received);
        row(
            "lost",
            format!(
                "{lost} ({:.3}%)",
                100.0 * lost as f64 / (b.expected.max(1)) as f64
            ),
        );
        row(
            "elapsed ms (first send → last rx)",
            format!("{:.1}", ms(b.elapsed)),
        );
        row(
            "senders finished writing ms",
            format!("{:.1}", ms(b.send_elapsed)),
        );
        row(
            "deliveries/s",
            format!(
                "{:.0}",
                b.received as f64 / b.elapsed.as_secs_f64().max(1e-9)
            ),
        );
        row(
            "messages/s (sent)",
            format!("{:.0}", b.sent as f64 / b.elapsed.as_secs_f64().max(1e-9)),
        );
        row("reader disconnects", b.disconnects);
        row("send errors", b.send_errors);
        row(
            "per-reader received min / max",
            format!("{} / {}", b.per_client_min_max.0, b.per_client_min_max.1),
        );
        row("readers missing messages", b.short_clients);
        row("server CPU ms", opt(b.server_cpu_us.map(|us| us / 1000)));
        row(
            "server CPU µs per delivery",
            opt(b
                .server_cpu_us
                .filter(|_| b.received > 0)
                .map(|us| format!("{:.3}", us as f64 / b.received as f64))),
        );
        row("loadgen CPU ms", opt(b.loadgen_cpu_us.map(|us| us / 1000)));
        row("server peak RSS KiB", opt(b.peak_rss_kib));
        row(
            "timed out / stalled",
            format!("{} / {}", b.timed_out, b.stalled),
        );
    }
    if cli.non_readers > 0 && burst.is_some() {
        heading("non-readers");
        row(
            "requested / joined",
            format!("{} / {}", non_readers.requested, non_readers.connected),
        );
        row(
            "/healthz clients before / after",
            format!(
                "{} / {}",
                opt(non_readers.healthz_before),
                opt(non_readers.healthz_after)
            ),
        );
        row("dropped (by /healthz)", opt(non_readers.dropped_by_healthz));
        row(
            "dropped (by reading at the end)",
            non_readers.dropped_by_probe,
        );
        for (reason, n) in &non_readers.close_reasons {
            row("  ended", format!("{n}× {reason}"));
        }
    }

    // Totals, then stop everything. Reader tasks are stopped first so the
    // server's shutdown does not count as disconnects.
    let disconnects = shared.disconnects.load(Relaxed);
    let close_reasons = Shared::snapshot(&shared.close_reasons);
    let error_codes = Shared::snapshot(&shared.error_codes);
    let order_violations = shared.order_violations.load(Relaxed);
    for reader in &readers {
        reader.task.abort();
    }
    drop(readers);
    if let Some(sampler) = &sampler {
        sampler.task.abort();
    }
    let (server_log, shutdown) = match spawned {
        Some(server) => {
            let log = server.log.clone();
            let (took, status, clean) = server
                .stop(Duration::from_secs(cli.shutdown_wait_secs))
                .await;
            let log = std::mem::take(&mut *lock(&log));
            (Some(log), Some((took, status, clean)))
        }
        None => (None, None),
    };

    heading("totals");
    row("frames received by readers", shared.frames.load(Relaxed));
    row(
        "MiB received by readers",
        format!("{:.1}", shared.bytes.load(Relaxed) as f64 / 1048576.0),
    );
    row("reader disconnects (all phases)", disconnects);
    for (reason, n) in &close_reasons {
        row("  ended", format!("{n}× {reason}"));
    }
    row("error frames", error_codes.values().sum::<u64>());
    for (code, n) in &error_codes {
        row("  code", format!("{n}× {code}"));
    }
    row("message id order violations", order_violations);
    if let Some(log) = &server_log {
        row(
            "server log WARN / ERROR lines",
            format!("{} / {}", log.warnings, log.errors),
        );
        row(
            "server evictions readers / non-readers",
            format!("{} / {}", log.evicted_readers, log.evicted_non_readers),
        );
        for line in &log.samples {
            row("  log", line);
        }
    }
    if let Some((took, status, _)) = &shutdown {
        row(
            "server shutdown ms (SIGTERM)",
            opt(took.map(|d| format!("{:.1}", ms(d)))),
        );
        row("server exit", status);
    }

    // Verdict.
    let mut problems = Vec::new();
    if connect_failed > 0 || connected.timed_out {
        problems.push("connect failures or timeout".to_owned());
    }
    if disconnects > 0 {
        problems.push(format!("{disconnects} reader disconnects"));
    }
    if latency.incomplete > 0 || latency.skipped > 0 || latency.send_errors > 0 || latency.timed_out
    {
        problems.push("latency rounds incomplete".to_owned());
    }
    if let Some(b) = &burst {
        if b.received < b.expected || b.send_errors > 0 || b.timed_out {
            problems.push("burst loss".to_owned());
        }
    }
    if !error_codes.is_empty() {
        problems.push("error frames".to_owned());
    }
    if order_violations > 0 {
        problems.push("message order violations".to_owned());
    }
    if non_readers.connected < non_readers.requested && burst.is_some() {
        problems.push("non-readers failed to connect".to_owned());
    }
    // The slow-consumer policy: every non-reader is dropped while every
    // reader gets everything (checked above as burst loss and disconnects).
    if burst.is_some() && non_readers.dropped_by_probe < non_readers.connected {
        problems.push(format!(
            "{} of {} non-readers were not dropped",
            non_readers.connected - non_readers.dropped_by_probe,
            non_readers.connected
        ));
    }
    if let Some((_, status, clean)) = &shutdown {
        if !clean {
            problems.push(format!("server did not stop cleanly on SIGTERM: {status}"));
        }
    }
    heading("verdict");
    row("ok", problems.is_empty());
    for p in &problems {
        row("  problem", p);
    }

    let report = json!({ "loadgen": {
        "url": url,
        "spawned": cli.server_bin.is_some(),
        "server_pid": proc_.map(|p| p.pid),
        "clk_tck": clk_tck,
        "config": {
            "clients": cli.clients, "non_readers": cli.non_readers, "rounds": cli.rounds,
            "senders": cli.senders, "messages": cli.messages, "size": cli.size,
            "connect_rate": cli.connect_rate, "connect_concurrency": cli.connect_concurrency,
            "timeout_secs": cli.timeout_secs, "hold_only": cli.hold_only,
        },
        "connect": {
            "requested": cli.clients, "joined": joined_count,
            "failed": connect_failed, "errors": connected.errors, "hello": hello,
            "server_cpu_ms": connect_server_cpu_us.map(|us| round3(us as f64 / 1000.0)),
            "loadgen_cpu_ms": connect_loadgen_cpu_us.map(|us| round3(us as f64 / 1000.0)),
            "elapsed_ms": round3(ms(connected.elapsed)), "timed_out": connected.timed_out,
        },
        "idle": {
            "rss_before_kib": rss_before, "rss_after_kib": rss_after,
            "kib_per_connection": kib_per_conn.map(round3), "healthz_clients": healthz_idle,
        },
        "latency": {
            "completed": latency.micros.len(), "incomplete": latency.incomplete,
            "skipped": latency.skipped, "send_errors": latency.send_errors,
            "timed_out": latency.timed_out,
            "p50_ms": percentile_ms(&latency.micros, 0.5),
            "p95_ms": percentile_ms(&latency.micros, 0.95),
            "p99_ms": percentile_ms(&latency.micros, 0.99),
            "max_ms": percentile_ms(&latency.micros, 1.0),
            "first_receiver_p50_ms": percentile_ms(&latency.first_micros, 0.5),
            "first_receiver_p99_ms": percentile_ms(&latency.first_micros, 0.99),
            "elapsed_ms": round3(ms(latency.elapsed)),
            "server_cpu_ms": latency.server_cpu_us.map(|us| round3(us as f64 / 1000.0)),
            "loadgen_cpu_ms": latency.loadgen_cpu_us.map(|us| round3(us as f64 / 1000.0)),
        },
        "burst": burst.as_ref().map(|b| json!({
            "readers": b.readers, "sent": b.sent, "expected": b.expected, "received": b.received,
            "lost": b.expected.saturating_sub(b.received),
            "elapsed_ms": round3(ms(b.elapsed)), "send_elapsed_ms": round3(ms(b.send_elapsed)),
            "deliveries_per_s": round3(b.received as f64 / b.elapsed.as_secs_f64().max(1e-9)),
            "disconnects": b.disconnects, "send_errors": b.send_errors,
            "per_reader_min": b.per_client_min_max.0, "per_reader_max": b.per_client_min_max.1,
            "readers_missing_messages": b.short_clients,
            "server_cpu_ms": b.server_cpu_us.map(|us| round3(us as f64 / 1000.0)),
            "server_cpu_us_per_delivery": b.server_cpu_us.filter(|_| b.received > 0)
                .map(|us| round3(us as f64 / b.received as f64)),
            "loadgen_cpu_ms": b.loadgen_cpu_us.map(|us| round3(us as f64 / 1000.0)),
            "peak_rss_kib": b.peak_rss_kib, "timed_out": b.timed_out, "stalled": b.stalled,
        })),
        "non_readers": {
            "requested": non_readers.requested, "joined": non_readers.connected,
            "errors": non_readers.errors,
            "healthz_before": non_readers.healthz_before, "healthz_after": non_readers.healthz_after,
            "dropped_by_healthz": non_readers.dropped_by_healthz,
            "dropped_by_probe": non_readers.dropped_by_probe,
            "close_reasons": non_readers.close_reasons,
        },
        "totals": {
            "frames": shared.frames.load(Relaxed), "bytes": shared.bytes.load(Relaxed),
            "reader_disconnects": disconnects, "close_reasons": close_reasons,
            "error_frames": error_codes, "order_violations": order_violations,
        },
        "server": {
            "log_warnings": server_log.as_ref().map(|l| l.warnings),
            "log_errors": server_log.as_ref().map(|l| l.errors),
            "evicted_readers": server_log.as_ref().map(|l| l.evicted_readers),
            "evicted_non_readers": server_log.as_ref().map(|l| l.evicted_non_readers),
            "shutdown_ms": shutdown.as_ref().and_then(|(t, _, _)| t.map(|d| round3(ms(d)))),
            "exit": shutdown.as_ref().map(|(_, s, _)| s.clone()),
        },
        "ok": problems.is_empty(),
        "problems": problems,
    }});
    println!("{}", serde_json::to_string(&report)?);

    Ok(if cli.fail_on_loss && !problems.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
