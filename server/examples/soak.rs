//! `soak`: a bounded soak-and-churn test for the Hearth room server.
//!
//! It spawns the server binary as a **separate process** (so its memory can be
//! read from `/proc/PID/status`) with
//! `--addr 127.0.0.1:0 --rate-limit 0 --room-rate-limit 0 --ping-interval 1` plus every
//! `--server-arg`, reads its address from the `listening on http://…` log line,
//! and then, for `--duration-secs`, keeps the room busy:
//!
//! ```text
//! cargo run --release -p hearth-server --example soak -- \
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
//! * the server log says every half-open client was dropped as `Silent` (no
//!   heartbeat) and every churning client that joined was disconnected;
//! * every well-behaved client received every marker any well-behaved client
//!   sent, once; message ids are strictly increasing and without gaps on
//!   every client; all of them saw the same ids, with the same texts, and in
//!   the same order (compared over the markers they all saw);
//! * no well-behaved client was disconnected before the end;
//! * after everybody left, `/healthz` reports 0 clients, and the server's RSS
//!   is at most `--rss-growth` × its RSS right after the well-behaved clients
//!   joined, plus `--rss-slack-kib`;
//! * the server log has no `panicked` and no `ERROR` line, and the server
//!   stops on SIGTERM.
//!
//! Output is a human-readable table, then one line of JSON starting with
//! `{"soak":`.

#![allow(clippy::print_stdout)]

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Parser;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{interval_at, sleep, sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use support::{heading, lock, opt, rss_kib, SpawnedServer, Ws, WsRead, WsSink};

/// Name of the observer that checks the presence list at the end.
const OBSERVER_NAME: &str = "soak-observer";
/// Marker prefix of the well-behaved clients' messages.
const STEADY_MARK: char = 'S';
/// Marker prefix of the churning clients' messages.
const CHURN_MARK: char = 'C';
/// How often `/healthz` and RSS are polled while waiting for a condition.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// How often the background monitor samples `/healthz` and RSS.
const MONITOR_EVERY: Duration = Duration::from_millis(500);
/// Longest wait for one handshake plus `welcome`.
const JOIN_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for a closing handshake.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);
/// Longest wait for the last markers to reach every well-behaved client.
const DELIVERY_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for every churning client to finish leaving.
const CHURN_STOP_LIMIT: Duration = Duration::from_secs(15);
/// Longest wait for the well-behaved rosters to match after `/healthz` does.
const ROSTER_LIMIT: Duration = Duration::from_secs(3);
/// Longest time spent reading the half-open sockets' backlogs at the end.
const HALF_OPEN_PROBE_LIMIT: Duration = Duration::from_secs(5);
/// Longest wait for the server's RSS to settle at the end.
const RSS_SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// How long the spawned server gets to exit after SIGTERM before SIGKILL.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// Bounded soak-and-churn test for the Hearth room server (protocol v1).
#[derive(Debug, Parser)]
#[command(name = "soak", about, long_about = None)]
struct Cli {
    /// Server binary to spawn on a free loopback port.
    #[arg(long, value_name = "PATH")]
    server_bin: PathBuf,

    /// Extra argument for the spawned server (repeatable), e.g. `--server-arg=--history=0`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// Also write the server's whole log (its stderr) to this file.
    #[arg(long, value_name = "PATH")]
    server_log: Option<PathBuf>,

    /// Seconds of churn (bounded; the checks afterwards add at most ~40 s).
    #[arg(long, default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration_secs: u64,

    /// Churning clients to start over the run, at least.
    #[arg(long, default_value_t = 300)]
    clients: usize,

    /// Most churning clients connected at once.
    #[arg(long, default_value_t = 100,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    max_concurrent: usize,

    /// Well-behaved clients that stay for the whole run.
    #[arg(long, default_value_t = 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    steady: usize,

    /// Milliseconds between two messages of one well-behaved client.
    #[arg(long, default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..))]
    send_interval_ms: u64,

    /// Seed of the generator that picks leave orders, lifetimes and message counts.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Seconds to wait, after churn stops, for /healthz to count only the well-behaved clients.
    #[arg(long, default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    settle_secs: u64,

    /// Largest allowed ratio of end RSS to start RSS (before the slack is added).
    #[arg(long, default_value_t = 1.2)]
    rss_growth: f64,

    /// Absolute RSS slack in KiB on top of the ratio: allocator and page
    /// granularity, and the history buffer that fills during the run.
    #[arg(long, default_value_t = 2048)]
    rss_slack_kib: u64,
}

/// SplitMix64: a tiny deterministic generator, so a `--seed` reproduces a run.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How a churning client leaves the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Leave {
    /// Close frame and closing handshake.
    Graceful,
    /// The socket is dropped without a close frame.
    Drop,
    /// `SO_LINGER 0`, then dropped: the kernel sends RST.
    Reset,
    /// Stops reading and answering pings, socket kept open until the end.
    HalfOpen,
}

impl Leave {
    /// Every way, in the order they are numbered.
    const ALL: [Leave; 4] = [Leave::Graceful, Leave::Drop, Leave::Reset, Leave::HalfOpen];

    /// Short key for the JSON report.
    fn key(self) -> &'static str {
        match self {
            Leave::Graceful => "graceful",
            Leave::Drop => "drop",
            Leave::Reset => "reset",
            Leave::HalfOpen => "half_open",
        }
    }

    /// Description for the table.
    fn label(self) -> &'static str {
        match self {
            Leave::Graceful => "graceful close frame",
            Leave::Drop => "abrupt drop (no close frame)",
            Leave::Reset => "TCP reset (SO_LINGER 0)",
            Leave::HalfOpen => "half-open (stops reading)",
        }
    }
}

/// What the spawned server's log said that matters here.
#[derive(Debug, Default)]
struct ServerLog {
    /// Lines in total.
    lines: u64,
    /// Lines at WARN level.
    warnings: u64,
    /// Lines at ERROR level.
    errors: u64,
    /// Lines mentioning a panic.
    panics: u64,
    /// The first few ERROR, panic and WARN lines (in that priority).
    samples: Vec<String>,
    /// How the server says each client ended, by client name (the last line wins).
    ends: HashMap<String, String>,
}

/// Command-line arguments for the spawned server, before every `--server-arg`.
const SERVER_ARGS: [&str; 8] = [
    "--addr",
    "127.0.0.1:0",
    "--rate-limit",
    "0",
    "--room-rate-limit",
    "0",
    "--ping-interval",
    "1",
];

/// Adds one line of the server's stderr to `log` (and copies it to `copy`,
/// if given; a failed write stops the copying).
fn summarize_log_line(
    line: String,
    log: &mut ServerLog,
    copy: &mut Option<std::io::BufWriter<std::fs::File>>,
) {
    if let Some(file) = copy {
        if writeln!(file, "{line}").is_err() {
            *copy = None;
        }
    }
    log.lines += 1;
    if line.contains(support::LISTENING_ON) {
        return;
    }
    if let Some((name, end)) = disconnect_of(&line) {
        log.ends.insert(name, end);
    }
    let panic = line.contains("panicked");
    let error = line.contains(" ERROR ");
    let warn = line.contains(" WARN ");
    log.panics += u64::from(panic);
    log.errors += u64::from(error);
    log.warnings += u64::from(warn);
    if panic || error {
        // Problems first: they replace WARN samples when the list is full.
        if log.samples.len() >= 8 {
            if let Some(i) = log.samples.iter().position(|s| s.contains(" WARN ")) {
                log.samples.remove(i);
            }
        }
        if log.samples.len() < 8 {
            log.samples.push(line);
        }
    } else if warn && log.samples.len() < 8 {
        log.samples.push(line);
    }
}

/// The client name and end reason of a `peer N name=NAME from ADDR
/// disconnected: REASON` log line.
fn disconnect_of(line: &str) -> Option<(String, String)> {
    let (head, reason) = line.split_once(" disconnected: ")?;
    let name = head.split(" name=").nth(1)?.split(" from ").next()?;
    Some((name.to_owned(), reason.trim().to_owned()))
}

/// `GET /healthz` on the server at `addr`; returns the `clients` count.
async fn healthz_clients(addr: SocketAddr) -> Result<u64> {
    support::healthz_clients(addr, &addr.to_string()).await
}

/// Polls `/healthz` every [`POLL_EVERY`] until it reports `want` clients or
/// `limit` passes. Returns the last count seen and how long it took.
async fn wait_for_clients(addr: SocketAddr, want: u64, limit: Duration) -> (Option<u64>, Duration) {
    let started = Instant::now();
    let mut last = None;
    loop {
        last = healthz_clients(addr).await.ok().or(last);
        if last == Some(want) || started.elapsed() >= limit {
            return (last, started.elapsed());
        }
        sleep(POLL_EVERY).await;
    }
}

/// Where the server is.
#[derive(Debug, Clone)]
struct Target {
    /// Its TCP address.
    addr: SocketAddr,
    /// Its WebSocket URL.
    url: String,
}

/// Opens a WebSocket; with `zero_linger`, `SO_LINGER 0` is set on the TCP
/// stream first, so that dropping it later resets the connection.
async fn open(target: &Target, zero_linger: bool) -> Result<Ws> {
    let stream = TcpStream::connect(target.addr)
        .await
        .context("TCP connect")?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    if zero_linger {
        // Same as `set_linger(Some(Duration::ZERO))`, which tokio deprecates
        // because a non-zero linger would block the thread on drop.
        stream.set_zero_linger().context("SO_LINGER 0")?;
    }
    let (ws, _response) = tokio_tungstenite::client_async(target.url.as_str(), stream)
        .await
        .context("WebSocket handshake")?;
    Ok(ws)
}

/// A `hello` frame.
fn hello_frame(name: &str) -> Message {
    Message::text(json!({ "type": "hello", "name": name }).to_string())
}

/// A `say` frame.
fn say_frame(text: &str) -> Message {
    Message::text(json!({ "type": "say", "text": text }).to_string())
}

/// Describes how a stream ended, for counting.
fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(f) => format!("close {} {}", u16::from(f.code), f.reason.as_str()),
        None => "close (no code)".to_owned(),
    }
}

/// Sends `hello` under `name` and waits for `welcome`, which is returned.
async fn join(ws: &mut Ws, name: &str) -> Result<Value> {
    ws.send(hello_frame(name)).await.context("sending hello")?;
    let welcome = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str())
                        .with_context(|| format!("frame before welcome: {}", text.as_str()))?;
                    match value["type"].as_str() {
                        Some("welcome") => return Ok(value),
                        Some("error") => bail!("hello refused: {}", text.as_str()),
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    bail!("{} before welcome", describe_close(frame.as_ref()))
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err).context("reading welcome"),
                None => bail!("connection ended before welcome"),
            }
        }
    };
    timeout(JOIN_LIMIT, welcome)
        .await
        .map_err(|_| anyhow!("no welcome within {} s", JOIN_LIMIT.as_secs()))?
}

/// The `(id, name)` of every user in `welcome.users`.
fn welcome_users(welcome: &Value) -> Vec<(u64, String)> {
    welcome["users"]
        .as_array()
        .map(|users| users.iter().filter_map(user_of).collect())
        .unwrap_or_default()
}

/// The `(id, name)` of a protocol user object.
fn user_of(user: &Value) -> Option<(u64, String)> {
    Some((user["id"].as_u64()?, user["name"].as_str()?.to_owned()))
}

/// What a well-behaved client has seen so far.
#[derive(Debug, Default)]
struct Seen {
    /// Every `message` in arrival order: id and text.
    messages: Vec<(u64, String)>,
    /// Who is in the room as far as this client knows: id → name.
    roster: BTreeMap<u64, String>,
    /// Markers of well-behaved clients received (duplicates included).
    steady_received: u64,
    /// Codes of `error` frames received.
    errors: Vec<String>,
    /// Text frames received.
    frames: u64,
    /// Text frames that were not JSON objects with a `type`.
    unparsed: u64,
    /// How the stream ended, once it has.
    ended: Option<String>,
}

/// A well-behaved client: it stays, reads everything and chats.
#[derive(Debug)]
struct Steady {
    /// Its name.
    name: String,
    /// Writing half; lent to the sender task during the run.
    sink: Option<WsSink>,
    /// The reading task.
    reader: JoinHandle<()>,
    /// What it saw.
    seen: Arc<Mutex<Seen>>,
}

/// Connects and joins well-behaved client `i`, then starts its reading task.
async fn connect_steady(target: &Target, i: usize) -> Result<Steady> {
    let name = format!("steady-{i}");
    let mut ws = open(target, false).await?;
    let welcome = join(&mut ws, &name).await?;
    let seen = Arc::new(Mutex::new(Seen {
        roster: welcome_users(&welcome).into_iter().collect(),
        ..Seen::default()
    }));
    let (sink, stream) = ws.split();
    let reader = tokio::spawn(steady_reader(stream, seen.clone()));
    Ok(Steady {
        name,
        sink: Some(sink),
        reader,
        seen,
    })
}

/// A well-behaved client's reading task: records every frame until the end.
async fn steady_reader(mut stream: WsRead, seen: Arc<Mutex<Seen>>) {
    let end = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => record(&seen, text.as_str()),
            Some(Ok(Message::Close(frame))) => break describe_close(frame.as_ref()),
            Some(Ok(_)) => {}
            Some(Err(err)) => break format!("error: {err}"),
            None => break "eof".to_owned(),
        }
    };
    lock(&seen).ended = Some(end);
}

/// Applies one text frame to what a well-behaved client has seen.
fn record(seen: &Mutex<Seen>, text: &str) {
    let value: Option<Value> = serde_json::from_str(text).ok();
    let mut seen = lock(seen);
    seen.frames += 1;
    let Some(value) = value else {
        seen.unparsed += 1;
        return;
    };
    match value["type"].as_str() {
        Some("message") => {
            let (Some(id), Some(text)) = (value["id"].as_u64(), value["text"].as_str()) else {
                seen.unparsed += 1;
                return;
            };
            if text.starts_with(STEADY_MARK) {
                seen.steady_received += 1;
            }
            seen.messages.push((id, text.to_owned()));
        }
        Some("joined" | "renamed") => match user_of(&value["user"]) {
            Some((id, name)) => {
                seen.roster.insert(id, name);
            }
            None => seen.unparsed += 1,
        },
        Some("left") => match user_of(&value["user"]) {
            Some((id, _)) => {
                seen.roster.remove(&id);
            }
            None => seen.unparsed += 1,
        },
        Some("error") => {
            let code = value["code"].as_str().unwrap_or("?").to_owned();
            seen.errors.push(code);
        }
        Some(_) => {}
        None => seen.unparsed += 1,
    }
}

/// What a well-behaved client's sender task hands back.
#[derive(Debug)]
struct Sent {
    /// The client.
    index: usize,
    /// The writing half, returned for the graceful close.
    sink: WsSink,
    /// Markers written successfully, in order.
    markers: Vec<String>,
    /// The write error that stopped it early, if any.
    error: Option<String>,
}

/// Says `S<index>:<seq>` every `every` (first after `offset`) until `stop`.
async fn steady_sender(
    index: usize,
    mut sink: WsSink,
    every: Duration,
    offset: Duration,
    stop: CancellationToken,
) -> Sent {
    let mut markers = Vec::new();
    let mut tick = interval_at(Instant::now() + offset, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let marker = format!("{STEADY_MARK}{index}:{}", markers.len());
        if let Err(err) = sink.send(say_frame(&marker)).await {
            return Sent {
                index,
                sink,
                markers,
                error: Some(err.to_string()),
            };
        }
        markers.push(marker);
    }
    Sent {
        index,
        sink,
        markers,
        error: None,
    }
}

/// What one churning client does: when it speaks and when it leaves.
#[derive(Debug, Clone)]
struct ChurnPlan {
    /// When to say each message, from joining; ascending.
    send_at: Vec<Duration>,
    /// When to leave, from joining (after the last message).
    leave_at: Duration,
}

impl ChurnPlan {
    /// 1 to 5 messages over a lifetime of 0.25 to 1.75 × `mean_life`.
    fn random(rng: &mut Rng, mean_life: Duration) -> Self {
        let life = mean_life.mul_f64(0.25 + 1.5 * rng.unit());
        let count = 1 + rng.below(5) as usize;
        let mut send_at: Vec<Duration> =
            (0..count).map(|_| life.mul_f64(0.9 * rng.unit())).collect();
        send_at.sort_unstable();
        Self {
            send_at,
            leave_at: life,
        }
    }
}

/// What became of one churning client.
#[derive(Debug)]
struct ChurnOutcome {
    /// How it was to leave.
    leave: Leave,
    /// Whether it got its `welcome`.
    joined: bool,
    /// What went wrong, if anything (connect, join, or the server closing it early).
    error: Option<String>,
    /// Whether the end of the run cut its chat short.
    stopped_early: bool,
    /// Messages it said.
    sent: u64,
    /// Its own messages it saw echoed.
    echoed: u64,
    /// Text frames it read.
    frames: u64,
    /// Its still-open socket, for half-open clients.
    half_open: Option<Ws>,
}

/// Runs churning client `n`: join, chat while reading, leave as `leave` says.
async fn churn_client(
    n: usize,
    leave: Leave,
    plan: ChurnPlan,
    target: Target,
    stop: CancellationToken,
) -> ChurnOutcome {
    let mut out = ChurnOutcome {
        leave,
        joined: false,
        error: None,
        stopped_early: false,
        sent: 0,
        echoed: 0,
        frames: 0,
        half_open: None,
    };
    let mut ws = match open(&target, leave == Leave::Reset).await {
        Ok(ws) => ws,
        Err(err) => {
            out.error = Some(format!("connect: {err:#}"));
            return out;
        }
    };
    if let Err(err) = join(&mut ws, &format!("churn-{n}")).await {
        out.error = Some(format!("join: {err:#}"));
        return out;
    }
    out.joined = true;

    /// What woke the chat loop.
    enum Step {
        /// The run is over.
        Stop,
        /// A frame (or the end of the stream) arrived.
        Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
        /// Time to speak, or to leave.
        Timer,
    }
    let echo_key = format!("\"text\":\"{CHURN_MARK}{n}:");
    let joined_at = Instant::now();
    let mut next = 0;
    loop {
        let wake = joined_at + plan.send_at.get(next).copied().unwrap_or(plan.leave_at);
        let step = tokio::select! {
            biased;
            () = stop.cancelled() => Step::Stop,
            frame = ws.next() => Step::Frame(frame),
            () = sleep_until(wake) => Step::Timer,
        };
        match step {
            Step::Stop => {
                out.stopped_early = true;
                break;
            }
            Step::Frame(Some(Ok(Message::Text(text)))) => {
                out.frames += 1;
                out.echoed += u64::from(text.as_str().contains(&echo_key));
            }
            Step::Frame(Some(Ok(Message::Close(frame)))) => {
                out.error = Some(format!(
                    "closed by the server while chatting: {}",
                    describe_close(frame.as_ref())
                ));
                return out;
            }
            Step::Frame(Some(Ok(_))) => {}
            Step::Frame(Some(Err(err))) => {
                out.error = Some(format!("read error while chatting: {err}"));
                return out;
            }
            Step::Frame(None) => {
                out.error = Some("connection ended while chatting".to_owned());
                return out;
            }
            Step::Timer if next < plan.send_at.len() => {
                let text = format!("{CHURN_MARK}{n}:{next}");
                if let Err(err) = ws.send(say_frame(&text)).await {
                    out.error = Some(format!("send error while chatting: {err}"));
                    return out;
                }
                out.sent += 1;
                next += 1;
            }
            Step::Timer => break,
        }
    }

    match leave {
        Leave::Graceful => {
            let handshake = async {
                ws.close(None).await.context("sending close")?;
                // Read until the server's close reply ends the stream.
                while let Some(frame) = ws.next().await {
                    frame.context("closing handshake")?;
                }
                anyhow::Ok(())
            };
            match timeout(CLOSE_LIMIT, handshake).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => out.error = Some(format!("graceful close: {err:#}")),
                Err(_) => out.error = Some("graceful close: no reply within 2 s".to_owned()),
            }
        }
        // With SO_LINGER 0 set at connect time, this drop is a reset.
        Leave::Drop | Leave::Reset => drop(ws),
        Leave::HalfOpen => out.half_open = Some(ws),
    }
    out
}

/// Totals over every churning client.
#[derive(Debug, Default)]
struct Churn {
    /// Clients started.
    started: usize,
    /// Clients that got their `welcome`.
    joined: usize,
    /// Clients that joined, by how they left (or were to leave).
    by_leave: BTreeMap<Leave, usize>,
    /// Names of the clients that joined, with how they left.
    joined_names: Vec<(String, Leave)>,
    /// Clients whose chat the end of the run cut short.
    stopped_early: usize,
    /// Messages said.
    sent: u64,
    /// Own messages seen echoed.
    echoed: u64,
    /// Text frames read.
    frames: u64,
    /// Failures, by message.
    errors: BTreeMap<String, u64>,
    /// Still-open half-open sockets, with the client's name.
    half_open: Vec<(String, Ws)>,
    /// Clients that had not finished leaving when the wait for them ended.
    stuck: usize,
    /// Most churning clients in flight at once.
    peak_active: usize,
    /// Mean planned lifetime.
    mean_life: Duration,
    /// Pause between two starts.
    start_every: Duration,
}

impl Churn {
    /// Adds one finished client.
    fn absorb(&mut self, joined: Result<(usize, ChurnOutcome), tokio::task::JoinError>) {
        let (n, out) = match joined {
            Ok(pair) => pair,
            Err(err) => {
                *self.errors.entry(format!("task: {err}")).or_default() += 1;
                return;
            }
        };
        if out.joined {
            self.joined += 1;
            *self.by_leave.entry(out.leave).or_default() += 1;
            self.joined_names.push((format!("churn-{n}"), out.leave));
        }
        self.stopped_early += usize::from(out.stopped_early);
        self.sent += out.sent;
        self.echoed += out.echoed;
        self.frames += out.frames;
        if let Some(err) = out.error {
            *self
                .errors
                .entry(format!("{}: {err}", out.leave.key()))
                .or_default() += 1;
        }
        if let Some(ws) = out.half_open {
            self.half_open.push((format!("churn-{n}"), ws));
        }
    }
}

/// Starts churning clients until `stop`, then lets every one of them leave.
async fn run_churn(cli: &Cli, target: &Target, stop: &CancellationToken) -> Churn {
    let duration = Duration::from_secs(cli.duration_secs);
    // Start the requested number within the first 70 % of the run, then keep
    // going at that pace; pick lifetimes so that about 60 % of the
    // concurrency cap is in flight on average.
    let rate = (cli.clients.max(1) as f64 / (duration.as_secs_f64() * 0.7)).max(0.5);
    let start_every = Duration::from_secs_f64(1.0 / rate);
    let mean_life = Duration::from_secs_f64(
        (cli.max_concurrent as f64 * 0.6 / rate)
            .clamp(0.5, (duration.as_secs_f64() / 3.0).max(0.5)),
    );
    let mut churn = Churn {
        mean_life,
        start_every,
        ..Churn::default()
    };
    let slots = Arc::new(Semaphore::new(cli.max_concurrent));
    let active = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng(cli.seed);
    let mut order = Leave::ALL;
    let mut tasks = JoinSet::new();
    let mut pacing = tokio::time::interval(start_every);
    pacing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0.. {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            _ = pacing.tick() => {}
        }
        let permit = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        if n % order.len() == 0 {
            // Fisher–Yates: every block of four uses each way once.
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        let leave = order[n % order.len()];
        let plan = ChurnPlan::random(&mut rng, mean_life);
        let (target, stop, active) = (target.clone(), stop.clone(), active.clone());
        let now = active.fetch_add(1, Relaxed) + 1;
        churn.peak_active = churn.peak_active.max(now);
        tasks.spawn(async move {
            let out = churn_client(n, leave, plan, target, stop).await;
            active.fetch_sub(1, Relaxed);
            drop(permit);
            (n, out)
        });
        churn.started += 1;
        while let Some(done) = tasks.try_join_next() {
            churn.absorb(done);
        }
    }
    let deadline = Instant::now() + CHURN_STOP_LIMIT;
    while let Ok(Some(done)) = timeout_at(deadline, tasks.join_next()).await {
        churn.absorb(done);
    }
    churn.stuck = tasks.len();
    tasks.abort_all();
    churn
}

/// Peaks seen by the background monitor.
#[derive(Debug, Default)]
struct Peaks {
    /// Highest `/healthz` clients count.
    clients: AtomicU64,
    /// Highest server RSS in KiB.
    rss_kib: AtomicU64,
    /// `/healthz` requests that failed.
    healthz_errors: AtomicU64,
}

/// Samples `/healthz` and the server's RSS every [`MONITOR_EVERY`], keeping peaks.
fn start_monitor(addr: SocketAddr, pid: u32, peaks: Arc<Peaks>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            sleep(MONITOR_EVERY).await;
            match healthz_clients(addr).await {
                Ok(n) => peaks.clients.fetch_max(n, Relaxed),
                Err(_) => peaks.healthz_errors.fetch_add(1, Relaxed),
            };
            if let Some(rss) = rss_kib(pid) {
                peaks.rss_kib.fetch_max(rss, Relaxed);
            }
        }
    })
}

/// Reads each half-open socket's backlog (for up to [`HALF_OPEN_PROBE_LIMIT`]
/// overall) to learn how the server ended it; then the sockets are closed.
async fn probe_half_open(sockets: Vec<(String, Ws)>) -> BTreeMap<String, u64> {
    let deadline = Instant::now() + HALF_OPEN_PROBE_LIMIT;
    let mut set = JoinSet::new();
    for (_name, mut ws) in sockets {
        set.spawn(async move {
            loop {
                match timeout_at(deadline, ws.next()).await {
                    Err(_) => return "still open".to_owned(),
                    Ok(Some(Ok(Message::Close(frame)))) => return describe_close(frame.as_ref()),
                    Ok(Some(Ok(_))) => {}
                    Ok(Some(Err(err))) => return format!("error: {err}"),
                    Ok(None) => return "eof".to_owned(),
                }
            }
        });
    }
    let mut reasons = BTreeMap::new();
    while let Some(result) = set.join_next().await {
        let reason = result.unwrap_or_else(|err| format!("task: {err}"));
        *reasons.entry(reason).or_default() += 1;
    }
    reasons
}

/// The verdict on the well-behaved clients' messages.
#[derive(Debug, Default)]
struct Delivery {
    /// Markers the well-behaved clients sent after all of them had joined.
    steady_sent: usize,
    /// Sender tasks that stopped on a write error.
    send_errors: usize,
    /// (client, marker) pairs never received.
    missing: usize,
    /// A few of them, for the report.
    missing_samples: Vec<String>,
    /// Markers a client received more than once.
    duplicates: usize,
    /// Places where a client's message id did not increase.
    id_not_increasing: usize,
    /// Gaps in a client's id sequence.
    id_gaps: usize,
    /// Message ids seen by some well-behaved clients but not all.
    ids_not_seen_by_all: usize,
    /// Ids whose text differs between clients.
    id_text_conflicts: usize,
    /// Markers all clients saw (the set order is compared over).
    common: usize,
    /// Clients whose order of the common markers differs from the first client's.
    order_mismatches: usize,
    /// Distinct message ids seen in total.
    distinct_ids: usize,
    /// Fewest and most messages one client received.
    per_client_min_max: (usize, usize),
}

/// Checks completeness, uniqueness and order of what the well-behaved clients saw.
fn check_delivery(steady: &[Steady], sent: &[Vec<String>]) -> Delivery {
    let mut out = Delivery {
        steady_sent: sent.iter().map(Vec::len).sum(),
        ..Delivery::default()
    };
    let logs: Vec<Vec<(u64, String)>> = steady
        .iter()
        .map(|s| lock(&s.seen).messages.clone())
        .collect();
    let all_sent: Vec<&String> = sent.iter().flatten().collect();
    let mut id_text: HashMap<u64, &str> = HashMap::new();
    let mut id_count: HashMap<u64, usize> = HashMap::new();
    let mut text_count: HashMap<&str, usize> = HashMap::new();
    for (client, log) in steady.iter().zip(&logs) {
        let texts: HashSet<&str> = log.iter().map(|(_, t)| t.as_str()).collect();
        for marker in &all_sent {
            if !texts.contains(marker.as_str()) {
                out.missing += 1;
                if out.missing_samples.len() < 5 {
                    out.missing_samples
                        .push(format!("{} never got {marker}", client.name));
                }
            }
        }
        out.duplicates += log.len() - texts.len();
        for pair in log.windows(2) {
            if pair[1].0 <= pair[0].0 {
                out.id_not_increasing += 1;
            } else if pair[1].0 != pair[0].0 + 1 {
                out.id_gaps += 1;
            }
        }
        for (id, text) in log {
            *id_count.entry(*id).or_default() += 1;
            match id_text.get(id) {
                Some(known) if *known != text.as_str() => out.id_text_conflicts += 1,
                Some(_) => {}
                None => {
                    id_text.insert(*id, text.as_str());
                }
            }
        }
        for text in texts {
            *text_count.entry(text).or_default() += 1;
        }
    }
    out.distinct_ids = id_count.len();
    out.ids_not_seen_by_all = id_count.values().filter(|&&n| n < steady.len()).count();
    let common: HashSet<&str> = text_count
        .into_iter()
        .filter(|&(_, n)| n == steady.len())
        .map(|(t, _)| t)
        .collect();
    out.common = common.len();
    let filtered = |log: &Vec<(u64, String)>| -> Vec<String> {
        log.iter()
            .filter(|(_, t)| common.contains(t.as_str()))
            .map(|(_, t)| t.clone())
            .collect()
    };
    if let Some((first, rest)) = logs.split_first() {
        let reference = filtered(first);
        out.order_mismatches = rest.iter().filter(|log| filtered(log) != reference).count();
    }
    out.per_client_min_max = (
        logs.iter().map(Vec::len).min().unwrap_or(0),
        logs.iter().map(Vec::len).max().unwrap_or(0),
    );
    out
}

/// Prints one row of the table.
fn row(label: &str, value: impl std::fmt::Display) {
    support::print_row(44, label, value);
}

/// Milliseconds of `d`, rounded to 0.1.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    run(cli).await
}

/// Runs the soak, prints the report and returns the verdict as the exit code.
async fn run(cli: Cli) -> Result<ExitCode> {
    let nofile = support::raise_nofile_limit((cli.max_concurrent * 2 + cli.steady) as u64 + 64)?;
    let mut failures: Vec<String> = Vec::new();

    let mut copy = cli
        .server_log
        .as_deref()
        .map(|path| {
            std::fs::File::create(path)
                .map(std::io::BufWriter::new)
                .with_context(|| format!("cannot create {}", path.display()))
        })
        .transpose()?;
    let on_line = move |line, log: &mut ServerLog| summarize_log_line(line, log, &mut copy);
    let server =
        SpawnedServer::start(&cli.server_bin, &SERVER_ARGS, &cli.server_args, on_line).await?;
    if !server.addr.ip().is_loopback() {
        bail!("the server listens on {}, not on loopback", server.addr);
    }
    let pid = server.pid;
    let target = Target {
        addr: server.addr,
        url: format!("ws://{}/ws", server.addr),
    };
    heading("setup");
    row("server", cli.server_bin.display());
    row("url", &target.url);
    row("server pid", pid);
    row(
        "duration / steady / churn target",
        format!(
            "{} s / {} / {} (max {} at once)",
            cli.duration_secs, cli.steady, cli.clients, cli.max_concurrent
        ),
    );
    row("seed", cli.seed);
    row("RLIMIT_NOFILE (soft)", nofile);

    // The well-behaved clients join, one after the other.
    let mut steady = Vec::with_capacity(cli.steady);
    for i in 0..cli.steady {
        steady.push(
            connect_steady(&target, i)
                .await
                .with_context(|| format!("well-behaved client {i}"))?,
        );
    }
    let steady_names: BTreeSet<String> = steady.iter().map(|s| s.name.clone()).collect();
    // Let the `joined` announcements drain before measuring.
    sleep(Duration::from_millis(300)).await;
    let rss_start = rss_kib(pid);
    let healthz_start = healthz_clients(target.addr).await.ok();
    let peaks = Arc::new(Peaks::default());
    let monitor = start_monitor(target.addr, pid, peaks.clone());

    // The run: steady chatter plus churn, until the time is up.
    let stop = CancellationToken::new();
    let every = Duration::from_millis(cli.send_interval_ms);
    let mut senders = JoinSet::new();
    for (i, client) in steady.iter_mut().enumerate() {
        if let Some(sink) = client.sink.take() {
            let offset = every.mul_f64(i as f64 / cli.steady as f64);
            senders.spawn(steady_sender(i, sink, every, offset, stop.clone()));
        }
    }
    let run_started = Instant::now();
    let timer = {
        let stop = stop.clone();
        let duration = Duration::from_secs(cli.duration_secs);
        tokio::spawn(async move {
            sleep(duration).await;
            stop.cancel();
        })
    };
    let churn = run_churn(&cli, &target, &stop).await;
    let _ = timer.await;
    let churn_elapsed = run_started.elapsed();

    let mut sent = vec![Vec::new(); steady.len()];
    let mut send_errors = 0;
    while let Some(done) = senders.join_next().await {
        match done {
            Ok(s) => {
                send_errors += usize::from(s.error.is_some());
                if let Some(client) = steady.get_mut(s.index) {
                    client.sink = Some(s.sink);
                }
                if let Some(slot) = sent.get_mut(s.index) {
                    *slot = s.markers;
                }
            }
            Err(_) => send_errors += 1,
        }
    }

    // The last markers reach everyone.
    let steady_sent: u64 = sent.iter().map(|m| m.len() as u64).sum();
    let delivery_started = Instant::now();
    while delivery_started.elapsed() < DELIVERY_LIMIT
        && steady.iter().any(|s| {
            let seen = lock(&s.seen);
            seen.steady_received < steady_sent && seen.ended.is_none()
        })
    {
        sleep(POLL_EVERY).await;
    }
    let delivery_wait = delivery_started.elapsed();

    // Only the well-behaved clients remain (half-open sockets still held open).
    let want = cli.steady as u64;
    let (healthz_settled, settle_took) =
        wait_for_clients(target.addr, want, Duration::from_secs(cli.settle_secs)).await;
    if healthz_settled != Some(want) {
        failures.push(format!(
            "/healthz reports {} clients {} s after churn stopped, expected {want} (ghost connections)",
            opt(healthz_settled),
            cli.settle_secs
        ));
    }

    // Every well-behaved client's roster holds exactly the well-behaved names.
    let roster_started = Instant::now();
    let roster_bad = loop {
        let bad: Vec<(String, Vec<String>)> = steady
            .iter()
            .filter_map(|s| {
                let names: Vec<String> = lock(&s.seen).roster.values().cloned().collect();
                let set: BTreeSet<String> = names.iter().cloned().collect();
                (set != steady_names || names.len() != steady_names.len())
                    .then(|| (s.name.clone(), names))
            })
            .collect();
        if bad.is_empty() || roster_started.elapsed() >= ROSTER_LIMIT {
            break bad;
        }
        sleep(POLL_EVERY).await;
    };
    for (name, names) in roster_bad.iter().take(3) {
        let extra: Vec<&String> = names
            .iter()
            .filter(|n| !steady_names.contains(*n))
            .collect();
        failures.push(format!(
            "{name}'s roster has {} users ({} not well-behaved, e.g. {:?})",
            names.len(),
            extra.len(),
            extra.iter().take(5).collect::<Vec<_>>()
        ));
    }
    if roster_bad.len() > 3 {
        failures.push(format!(
            "… and {} more well-behaved clients with a wrong roster",
            roster_bad.len() - 3
        ));
    }

    // A fresh observer's welcome lists exactly the well-behaved names and itself.
    let mut observer_users: Option<Vec<String>> = None;
    match open(&target, false).await {
        Ok(mut ws) => match join(&mut ws, OBSERVER_NAME).await {
            Ok(welcome) => {
                let names: Vec<String> = welcome_users(&welcome).into_iter().map(|u| u.1).collect();
                let mut expected = steady_names.clone();
                expected.insert(OBSERVER_NAME.to_owned());
                let got: BTreeSet<String> = names.iter().cloned().collect();
                if got != expected || names.len() != expected.len() {
                    let ghosts: Vec<&String> = got.difference(&expected).take(10).collect();
                    let absent: Vec<&String> = expected.difference(&got).take(10).collect();
                    failures.push(format!(
                        "observer's welcome.users has {} users, expected {}; ghosts {ghosts:?}, absent {absent:?}",
                        names.len(),
                        expected.len()
                    ));
                }
                observer_users = Some(names);
                let _ = timeout(CLOSE_LIMIT, async {
                    let _ = ws.close(None).await;
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
            }
            Err(err) => failures.push(format!("observer could not join: {err:#}")),
        },
        Err(err) => failures.push(format!("observer could not connect: {err:#}")),
    }

    // Only now let go of the half-open sockets, learning how the server ended them.
    let half_open_held = churn.half_open.len();
    let mut churn = churn;
    let half_open_ends = probe_half_open(std::mem::take(&mut churn.half_open)).await;

    // Message checks, while the well-behaved clients are still connected.
    let mut delivery = check_delivery(&steady, &sent);
    delivery.send_errors = send_errors;
    let ended_early: Vec<(String, String)> = steady
        .iter()
        .filter_map(|s| lock(&s.seen).ended.clone().map(|end| (s.name.clone(), end)))
        .collect();
    let steady_errors: BTreeMap<String, u64> = steady
        .iter()
        .flat_map(|s| lock(&s.seen).errors.clone())
        .fold(BTreeMap::new(), |mut map, code| {
            *map.entry(code).or_default() += 1;
            map
        });
    let steady_frames: u64 = steady.iter().map(|s| lock(&s.seen).frames).sum();
    let steady_unparsed: u64 = steady.iter().map(|s| lock(&s.seen).unparsed).sum();

    // The well-behaved clients leave gracefully; the room empties.
    let close_deadline = Instant::now() + Duration::from_secs(5);
    for client in &mut steady {
        if let Some(mut sink) = client.sink.take() {
            let _ = timeout_at(close_deadline, sink.close()).await;
        }
    }
    let mut steady_close: BTreeMap<String, u64> = BTreeMap::new();
    for client in &mut steady {
        let end = match timeout_at(close_deadline, &mut client.reader).await {
            Ok(_) => lock(&client.seen)
                .ended
                .clone()
                .unwrap_or_else(|| "?".to_owned()),
            Err(_) => {
                client.reader.abort();
                "no close reply within 5 s".to_owned()
            }
        };
        *steady_close.entry(end).or_default() += 1;
    }
    // The server's close reply ends the reader with "close (no code)".
    let steady_bad_close: u64 = steady_close
        .iter()
        .filter(|(end, _)| end.as_str() != "close (no code)")
        .map(|(_, n)| n)
        .sum();
    if steady_bad_close > 0 {
        failures.push(format!(
            "{steady_bad_close} well-behaved clients' graceful close got no close reply: {steady_close:?}"
        ));
    }
    let (healthz_end, empty_took) =
        wait_for_clients(target.addr, 0, Duration::from_secs(cli.settle_secs)).await;
    if healthz_end != Some(0) {
        failures.push(format!(
            "/healthz reports {} clients after everybody left, expected 0",
            opt(healthz_end)
        ));
    }

    // Memory: back near where it was with only the well-behaved clients in.
    let rss_limit =
        rss_start.map(|s| (s as f64 * cli.rss_growth).round() as u64 + cli.rss_slack_kib);
    let rss_started = Instant::now();
    let mut rss_end = rss_kib(pid);
    while rss_started.elapsed() < RSS_SETTLE_LIMIT
        && rss_end.zip(rss_limit).is_some_and(|(e, l)| e > l)
    {
        sleep(Duration::from_millis(250)).await;
        rss_end = rss_kib(pid);
    }
    let rss_settle = rss_started.elapsed();
    match (rss_start, rss_end, rss_limit) {
        (Some(start), Some(end), Some(limit)) if end > limit => failures.push(format!(
            "server RSS {end} KiB at the end > {limit} KiB allowed ({start} KiB at start × {} + {} KiB)",
            cli.rss_growth, cli.rss_slack_kib
        )),
        (Some(_), Some(_), Some(_)) => {}
        _ => failures.push("could not read the server's VmRSS".to_owned()),
    }

    monitor.abort();
    let log_handle = server.log.clone();
    let (shutdown_took, exit_status, exit_ok) = server.stop(SHUTDOWN_LIMIT).await;
    let log = std::mem::take(&mut *lock(&log_handle));
    if !exit_ok {
        failures.push(format!(
            "server did not stop cleanly on SIGTERM: {exit_status}"
        ));
    }
    if log.panics > 0 {
        failures.push(format!(
            "server log has {} lines with \"panicked\"",
            log.panics
        ));
    }
    if log.errors > 0 {
        failures.push(format!("server log has {} ERROR lines", log.errors));
    }

    // How the server says each churning client ended, by how it left.
    let mut server_ends: BTreeMap<Leave, BTreeMap<String, u64>> = BTreeMap::new();
    let mut no_disconnect_line = Vec::new();
    for (name, leave) in &churn.joined_names {
        let end = log.ends.get(name).cloned().unwrap_or_else(|| {
            no_disconnect_line.push(name.clone());
            "(no disconnect line)".to_owned()
        });
        *server_ends
            .entry(*leave)
            .or_default()
            .entry(end)
            .or_default() += 1;
    }
    if !no_disconnect_line.is_empty() {
        failures.push(format!(
            "{} churning clients have no disconnect line in the server log, e.g. {:?}",
            no_disconnect_line.len(),
            no_disconnect_line.iter().take(5).collect::<Vec<_>>()
        ));
    }
    let half_open_joined = churn.by_leave.get(&Leave::HalfOpen).copied().unwrap_or(0) as u64;
    let half_open_silent = server_ends
        .get(&Leave::HalfOpen)
        .and_then(|ends| ends.get("Silent"))
        .copied()
        .unwrap_or(0);
    if half_open_silent != half_open_joined {
        failures.push(format!(
            "only {half_open_silent} of {half_open_joined} half-open clients were dropped by heartbeat (server log \"Silent\")"
        ));
    }
    let mut steady_ends: BTreeMap<String, u64> = BTreeMap::new();
    for name in &steady_names {
        let end = log
            .ends
            .get(name)
            .cloned()
            .unwrap_or_else(|| "(no disconnect line)".to_owned());
        *steady_ends.entry(end).or_default() += 1;
    }

    // Churn verdicts.
    if churn.started < cli.clients {
        failures.push(format!(
            "only {} churning clients started, fewer than --clients {}",
            churn.started, cli.clients
        ));
    }
    let churn_failed: u64 = churn.errors.values().sum();
    if churn_failed > 0 {
        failures.push(format!(
            "{churn_failed} churning clients failed (see churn errors)"
        ));
    }
    if churn.stuck > 0 {
        failures.push(format!(
            "{} churning clients never finished leaving",
            churn.stuck
        ));
    }

    // Message verdicts.
    if delivery.steady_sent == 0 {
        failures.push("the well-behaved clients sent nothing".to_owned());
    }
    if delivery.send_errors > 0 {
        failures.push(format!(
            "{} well-behaved senders failed to write",
            delivery.send_errors
        ));
    }
    if delivery.missing > 0 {
        failures.push(format!(
            "{} (client, marker) deliveries missing, e.g. {:?}",
            delivery.missing, delivery.missing_samples
        ));
    }
    for (count, what) in [
        (delivery.duplicates, "duplicate deliveries"),
        (
            delivery.id_not_increasing,
            "message ids not strictly increasing",
        ),
        (delivery.id_gaps, "gaps in message id sequences"),
        (
            delivery.ids_not_seen_by_all,
            "message ids not seen by every well-behaved client",
        ),
        (
            delivery.id_text_conflicts,
            "message ids with different texts on different clients",
        ),
        (
            delivery.order_mismatches,
            "well-behaved clients disagreeing on message order",
        ),
    ] {
        if count > 0 {
            failures.push(format!("{count} {what}"));
        }
    }
    if !ended_early.is_empty() {
        failures.push(format!(
            "{} well-behaved clients were disconnected during the run, e.g. {:?}",
            ended_early.len(),
            ended_early.iter().take(3).collect::<Vec<_>>()
        ));
    }
    if !steady_errors.is_empty() {
        failures.push(format!(
            "well-behaved clients got error frames: {steady_errors:?}"
        ));
    }

    // The report.
    heading("run");
    row(
        "churn elapsed s",
        format!("{:.1}", churn_elapsed.as_secs_f64()),
    );
    row("/healthz clients after steady joined", opt(healthz_start));
    row(
        "peak /healthz clients (sampled 2/s)",
        peaks.clients.load(Relaxed),
    );
    row(
        "peak server RSS KiB (sampled 2/s)",
        peaks.rss_kib.load(Relaxed),
    );
    row(
        "/healthz sampling errors",
        peaks.healthz_errors.load(Relaxed),
    );

    heading("churn");
    row(
        "started / joined",
        format!("{} / {}", churn.started, churn.joined),
    );
    row(
        "start every ms / mean planned life ms",
        format!("{} / {}", ms(churn.start_every), ms(churn.mean_life)),
    );
    row("peak churning clients in flight", churn.peak_active);
    for leave in Leave::ALL {
        let ends = server_ends.get(&leave).map_or_else(String::new, |ends| {
            ends.iter()
                .map(|(e, n)| format!("{n}× {e}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        row(
            &format!("left by {}", leave.label()),
            format!(
                "{} (server: {})",
                churn.by_leave.get(&leave).copied().unwrap_or(0),
                if ends.is_empty() {
                    "-".to_owned()
                } else {
                    ends
                }
            ),
        );
    }
    row("cut short by the end of the run", churn.stopped_early);
    row(
        "messages said / own echoes seen",
        format!("{} / {}", churn.sent, churn.echoed),
    );
    row("frames read by churning clients", churn.frames);
    row("half-open sockets held until the checks", half_open_held);
    for (reason, n) in &half_open_ends {
        row("  half-open ended", format!("{n}× {reason}"));
    }
    row("failures", churn_failed);
    for (err, n) in &churn.errors {
        row("  error", format!("{n}× {err}"));
    }
    row("never finished leaving", churn.stuck);

    heading("well-behaved clients");
    row("clients", cli.steady);
    row("markers sent (after all joined)", delivery.steady_sent);
    row("wait for the last deliveries ms", ms(delivery_wait));
    row("missing deliveries", delivery.missing);
    row("duplicate deliveries", delivery.duplicates);
    row("distinct message ids seen", delivery.distinct_ids);
    row(
        "messages per client min / max",
        format!(
            "{} / {}",
            delivery.per_client_min_max.0, delivery.per_client_min_max.1
        ),
    );
    row("ids not strictly increasing", delivery.id_not_increasing);
    row("id gaps", delivery.id_gaps);
    row("ids not seen by every client", delivery.ids_not_seen_by_all);
    row("id/text conflicts", delivery.id_text_conflicts);
    row("markers seen by all (order compared)", delivery.common);
    row("clients with a different order", delivery.order_mismatches);
    row(
        "frames read / unparsed",
        format!("{steady_frames} / {steady_unparsed}"),
    );
    row("error frames", steady_errors.values().sum::<u64>());
    row("disconnected during the run", ended_early.len());
    for (end, n) in &steady_close {
        row("  closing ended", format!("{n}× {end}"));
    }

    heading("presence (no ghosts)");
    row(
        "/healthz after churn (want steady)",
        format!(
            "{} (want {want}) after {} ms",
            opt(healthz_settled),
            ms(settle_took)
        ),
    );
    row("well-behaved rosters wrong", roster_bad.len());
    row(
        "observer welcome.users",
        observer_users.as_ref().map_or_else(
            || "-".to_owned(),
            |u| format!("{} (want {})", u.len(), cli.steady + 1),
        ),
    );
    row(
        "/healthz after everybody left (want 0)",
        format!("{} after {} ms", opt(healthz_end), ms(empty_took)),
    );

    heading("memory (server VmRSS)");
    row("start KiB (steady joined)", opt(rss_start));
    row("end KiB (everybody left)", opt(rss_end));
    row(
        "allowed KiB",
        format!(
            "{} = start × {} + {} KiB slack (allocator/page granularity, history buffer)",
            opt(rss_limit),
            cli.rss_growth,
            cli.rss_slack_kib
        ),
    );
    row("settle wait ms", ms(rss_settle));

    heading("server");
    row("log lines", log.lines);
    row(
        "WARN / ERROR / panicked lines",
        format!("{} / {} / {}", log.warnings, log.errors, log.panics),
    );
    for line in &log.samples {
        row("  log", line);
    }
    for (end, n) in &steady_ends {
        row("  well-behaved ended (server)", format!("{n}× {end}"));
    }
    row(
        "shutdown on SIGTERM ms",
        opt(shutdown_took.map(|d| ms(d).to_string())),
    );
    row("exit", &exit_status);

    heading("verdict");
    row("ok", failures.is_empty());
    for failure in &failures {
        row("  FAILED", failure);
    }

    let by_leave: BTreeMap<&str, Value> = Leave::ALL
        .iter()
        .map(|&leave| {
            (
                leave.key(),
                json!({
                    "joined": churn.by_leave.get(&leave).copied().unwrap_or(0),
                    "server_ends": server_ends.get(&leave).cloned().unwrap_or_default(),
                }),
            )
        })
        .collect();
    let report = json!({ "soak": {
        "url": target.url,
        "server_pid": pid,
        "config": {
            "duration_secs": cli.duration_secs, "clients": cli.clients,
            "max_concurrent": cli.max_concurrent, "steady": cli.steady,
            "send_interval_ms": cli.send_interval_ms, "seed": cli.seed,
            "settle_secs": cli.settle_secs, "rss_growth": cli.rss_growth,
            "rss_slack_kib": cli.rss_slack_kib, "server_args": cli.server_args,
        },
        "run": {
            "churn_elapsed_ms": ms(churn_elapsed),
            "peak_healthz_clients": peaks.clients.load(Relaxed),
            "peak_rss_kib": peaks.rss_kib.load(Relaxed),
            "healthz_errors": peaks.healthz_errors.load(Relaxed),
        },
        "churn": {
            "started": churn.started, "joined": churn.joined,
            "start_every_ms": ms(churn.start_every), "mean_life_ms": ms(churn.mean_life),
            "peak_in_flight": churn.peak_active, "by_leave": by_leave,
            "stopped_early": churn.stopped_early, "sent": churn.sent, "echoed": churn.echoed,
            "frames": churn.frames, "errors": churn.errors, "stuck": churn.stuck,
            "half_open_held": half_open_held, "half_open_ends": half_open_ends,
        },
        "steady": {
            "clients": cli.steady, "sent": delivery.steady_sent,
            "send_errors": delivery.send_errors, "missing": delivery.missing,
            "duplicates": delivery.duplicates, "distinct_ids": delivery.distinct_ids,
            "per_client_min": delivery.per_client_min_max.0,
            "per_client_max": delivery.per_client_min_max.1,
            "id_not_increasing": delivery.id_not_increasing, "id_gaps": delivery.id_gaps,
            "ids_not_seen_by_all": delivery.ids_not_seen_by_all,
            "id_text_conflicts": delivery.id_text_conflicts,
            "common_markers": delivery.common, "order_mismatches": delivery.order_mismatches,
            "delivery_wait_ms": ms(delivery_wait), "frames": steady_frames,
            "unparsed": steady_unparsed, "error_frames": steady_errors,
            "disconnected_during_run": ended_early.len(), "close": steady_close,
        },
        "presence": {
            "healthz_after_churn": healthz_settled, "settle_ms": ms(settle_took),
            "rosters_wrong": roster_bad.len(),
            "observer_users": observer_users.as_ref().map(Vec::len),
            "healthz_end": healthz_end, "empty_ms": ms(empty_took),
        },
        "rss": {
            "start_kib": rss_start, "end_kib": rss_end, "limit_kib": rss_limit,
            "settle_ms": ms(rss_settle),
        },
        "server": {
            "log_lines": log.lines, "warnings": log.warnings, "errors": log.errors,
            "panics": log.panics,
            "shutdown_ms": shutdown_took.map(ms), "exit": exit_status,
        },
        "ok": failures.is_empty(),
        "failures": failures,
    }});
    println!("{}", serde_json::to_string(&report)?);

    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
