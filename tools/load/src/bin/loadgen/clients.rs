//! The load generator's clients: readers that classify every frame in their
//! own task, non-readers that never read, and paced, bounded connecting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use futures::StreamExt as _;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{lock, stream_end, wire, Ws, WsRead, WsSink};
use crate::Cli;

/// How `message` frames start; the room-wide id follows.
const MESSAGE_PREFIX: &str = r#"{"type":"message","id":"#;
/// How `error` frames start.
const ERROR_PREFIX: &str = r#"{"type":"error""#;
/// The key in front of a message's text.
const TEXT_KEY: &str = r#""text":""#;
/// How `presence` frames start; the room's count follows `PEOPLE_KEY`.
const PRESENCE_PREFIX: &str = r#"{"type":"presence""#;
/// The key in front of a `presence` frame's count (a key only: names are
/// JSON strings, whose quotes are escaped).
const PEOPLE_KEY: &str = r#""people":"#;
/// How `joined` and `left` frames (rooms under 200 people) start.
const JOINED_PREFIX: &str = r#"{"type":"joined""#;
const LEFT_PREFIX: &str = r#"{"type":"left""#;
/// Read buffer of each reading client (tungstenite's default is 128 KiB).
const READER_BUFFER: usize = 32 * 1024;
/// Socket receive buffer and read buffer of each non-reading client.
const NON_READER_BUFFER: usize = 4096;

/// Counters shared by every reader task and the coordinator.
#[derive(Debug)]
pub struct Shared {
    /// Reference point for `last_delivery_ns`.
    pub epoch: Instant,
    /// Reading clients whose stream is still open.
    pub alive: AtomicUsize,
    /// Frames received by readers.
    pub frames: AtomicU64,
    /// Bytes of text received by readers.
    pub bytes: AtomicU64,
    /// `error` frames received by readers, by code.
    pub error_codes: Mutex<BTreeMap<String, u64>>,
    /// Message ids not greater than the previous one on the same client.
    pub order_violations: AtomicU64,
    /// Readers whose stream ended.
    pub disconnects: AtomicU64,
    /// How reader streams ended ("close 1008 …", "eof", …), with counts.
    pub close_reasons: Mutex<BTreeMap<String, u64>>,
    /// Receivers of each latency round so far.
    pub latency_counts: Vec<AtomicU32>,
    /// Receivers that complete the current latency round.
    pub latency_target: AtomicU32,
    /// The first and the last receiver of a round report it here, with the time.
    pub latency_done: mpsc::UnboundedSender<RoundEvent>,
    /// Burst messages received by all readers together.
    pub burst_received: AtomicU64,
    /// When the latest burst message arrived, in ns since `epoch`.
    pub last_delivery_ns: AtomicU64,
}

impl Shared {
    /// Fresh counters for `rounds` latency rounds, reporting round events to `done`.
    pub fn new(rounds: usize, done: mpsc::UnboundedSender<RoundEvent>) -> Self {
        Self {
            epoch: Instant::now(),
            alive: AtomicUsize::new(0),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            error_codes: Mutex::new(BTreeMap::new()),
            order_violations: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            close_reasons: Mutex::new(BTreeMap::new()),
            latency_counts: (0..rounds).map(|_| AtomicU32::new(0)).collect(),
            latency_target: AtomicU32::new(u32::MAX),
            latency_done: done,
            burst_received: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
        }
    }

    /// Counts one more occurrence of `key` in a rarely-updated map.
    pub fn bump(map: &Mutex<BTreeMap<String, u64>>, key: String) {
        *lock(map).entry(key).or_default() += 1;
    }

    /// A copy of a counted map, for the report.
    pub fn snapshot(map: &Mutex<BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
        lock(map).clone()
    }
}

/// A latency round reached its first (`last == false`) or last receiver.
#[derive(Debug, Clone, Copy)]
pub struct RoundEvent {
    /// The round.
    pub round: usize,
    /// Whether every reader has now received it.
    pub last: bool,
    /// When.
    pub at: Instant,
}

/// What one reader task knows about its own client.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Burst messages this client received.
    pub burst: AtomicU64,
    /// One past the last message id seen (0: none yet).
    pub next_id: AtomicU64,
    /// Whether the stream has ended.
    pub ended: AtomicBool,
    /// How many people the client counts in the room, as a UI does: from
    /// `welcome`, `presence`, and ±1 for `joined`/`left`.
    pub people: AtomicU64,
}

/// A connected, joined client whose frames a task reads.
#[derive(Debug)]
pub struct Reader {
    /// Writing half; `None` while a burst sender borrows it.
    pub sink: Option<WsSink>,
    /// The reading task.
    pub task: JoinHandle<()>,
    /// Its counters.
    pub stats: Arc<ClientStats>,
    /// The room it joined besides General (`--rooms`).
    pub room: Option<u64>,
}

/// The decimal number at the start of `s`.
pub fn leading_number(s: &str) -> Option<u64> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s[..end].parse().ok()
}

/// How this process's clients connect: from which address, under which
/// names, with which buffers.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The source address to bind, if any (spreads clients over 127.0.0.0/8).
    pub source: Option<std::net::IpAddr>,
    /// Clients are named `{prefix}{n}`.
    pub prefix: String,
    /// Small WebSocket buffers, for holding many idle clients.
    pub small: bool,
}

/// Opens a WebSocket to `url` at `addr`; a small receive buffer for non-readers.
pub async fn open(
    addr: SocketAddr,
    url: &str,
    non_reader: bool,
    options: &ClientOptions,
) -> Result<Ws> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = options.source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .context("bind the source address")?;
    }
    let read_buffer = if non_reader {
        socket.set_recv_buffer_size(NON_READER_BUFFER as u32)?;
        NON_READER_BUFFER
    } else if options.small {
        NON_READER_BUFFER
    } else {
        READER_BUFFER
    };
    let stream = socket.connect(addr).await.context("TCP connect")?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(if options.small { 1024 } else { 64 * 1024 });
    let (ws, _response) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("WebSocket handshake")?;
    Ok(ws)
}

/// Connects reader `n`, joins it unless `hello` is false, and starts its
/// reading task.
pub async fn connect_reader(
    addr: SocketAddr,
    url: String,
    n: usize,
    hello: bool,
    room: Option<u64>,
    shared: Arc<Shared>,
    options: ClientOptions,
) -> Result<Reader> {
    let mut ws = open(addr, &url, false, &options).await?;
    let stats = Arc::new(ClientStats::default());
    if hello {
        let welcome = wire::join(&mut ws, &format!("{}{n}", options.prefix)).await?;
        let people = welcome["people"]
            .as_u64()
            .context("welcome without people")?;
        stats.people.store(people, Relaxed);
    }
    if let Some(room) = room {
        crate::rooms::join(&mut ws, room).await?;
    }
    let (sink, stream) = ws.split();
    shared.alive.fetch_add(1, Relaxed);
    let task = tokio::spawn(read_loop(stream, shared, stats.clone()));
    Ok(Reader {
        sink: Some(sink),
        task,
        stats,
        room,
    })
}

/// Connects and joins non-reader `n`, which is then left unread.
pub async fn connect_non_reader(
    addr: SocketAddr,
    url: String,
    n: usize,
    options: ClientOptions,
) -> Result<Ws> {
    let mut ws = open(addr, &url, true, &options).await?;
    wire::join(&mut ws, &format!("{}{n}", options.prefix)).await?;
    Ok(ws)
}

/// A reader's task: classifies every frame until the stream ends.
async fn read_loop(mut stream: WsRead, shared: Arc<Shared>, me: Arc<ClientStats>) {
    let end = loop {
        let item = stream.next().await;
        if let Some(Ok(Message::Text(text))) = &item {
            on_text(text.as_str(), &shared, &me);
        } else if let Some(end) = stream_end(item.as_ref()) {
            break end;
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
        if text.starts_with(PRESENCE_PREFIX) {
            let count = text
                .rfind(PEOPLE_KEY)
                .and_then(|at| leading_number(&text[at + PEOPLE_KEY.len()..]));
            if let Some(count) = count {
                me.people.store(count, Relaxed);
            }
        } else if text.starts_with(JOINED_PREFIX) {
            me.people.fetch_add(1, Relaxed);
        } else if text.starts_with(LEFT_PREFIX) {
            // Only this task writes the count: a plain load and store.
            me.people
                .store(me.people.load(Relaxed).saturating_sub(1), Relaxed);
        } else if text.starts_with(ERROR_PREFIX) {
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
pub struct Connected<T> {
    /// The clients that joined, in no particular order.
    pub clients: Vec<T>,
    /// Failures, by message.
    pub errors: BTreeMap<String, u64>,
    /// Whether the phase deadline cut it short.
    pub timed_out: bool,
    /// Time taken.
    pub elapsed: Duration,
}

/// Connects `count` clients numbered from `first`, paced and bounded, before `deadline`.
pub async fn connect_many<T, F, Fut>(
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
pub async fn settle(shared: &Shared) {
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

/// Reads each non-reader's backlog (for up to 5 s overall) to learn whether
/// the server closed it; returns (dropped, close reasons).
pub async fn probe_non_readers(clients: Vec<Ws>) -> (usize, BTreeMap<String, u64>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut set = JoinSet::new();
    for mut ws in clients {
        set.spawn(async move {
            loop {
                let item = timeout_at(deadline, ws.next()).await.ok()?;
                if let Some(end) = stream_end(item.as_ref()) {
                    return Some(end);
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
