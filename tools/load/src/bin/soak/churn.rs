//! The churning clients: each joins, chats a little while reading, and
//! leaves in one of four ways.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::{SinkExt as _, StreamExt as _};
use tokio::io::AsyncReadExt as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::net::{join, open, say_frame, Target};
use crate::support::{wire, Ws};
use crate::Cli;

/// Marker prefix of the churning clients' messages.
const CHURN_MARK: char = 'C';
/// Longest wait for a closing handshake.
pub const CLOSE_LIMIT: Duration = Duration::from_secs(2);
/// Longest wait for every churning client to finish leaving.
const CHURN_STOP_LIMIT: Duration = Duration::from_secs(15);
/// Longest time spent reading the half-open sockets' backlogs at the end.
const HALF_OPEN_PROBE_LIMIT: Duration = Duration::from_secs(5);

/// SplitMix64: a tiny deterministic generator, so a `--seed` reproduces a run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How a churning client leaves the room (serialised as its [`Leave::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Leave {
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
    pub const ALL: [Leave; 4] = [Leave::Graceful, Leave::Drop, Leave::Reset, Leave::HalfOpen];

    /// Short key for the JSON report.
    pub fn key(self) -> &'static str {
        match self {
            Leave::Graceful => "graceful",
            Leave::Drop => "drop",
            Leave::Reset => "reset",
            Leave::HalfOpen => "half_open",
        }
    }

    /// Description for the table.
    pub fn label(self) -> &'static str {
        match self {
            Leave::Graceful => "graceful close frame",
            Leave::Drop => "abrupt drop (no close frame)",
            Leave::Reset => "TCP reset (SO_LINGER 0)",
            Leave::HalfOpen => "half-open (stops reading)",
        }
    }
}

/// What one churning client does: when it speaks and when it leaves.
#[derive(Debug, Clone)]
pub struct ChurnPlan {
    /// When to say each message, from joining; ascending.
    pub send_at: Vec<Duration>,
    /// When to leave, from joining (after the last message).
    pub leave_at: Duration,
}

impl ChurnPlan {
    /// 1 to 5 messages over a lifetime of 0.25 to 1.75 × `mean_life`.
    pub fn random(rng: &mut Rng, mean_life: Duration) -> Self {
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
pub struct ChurnOutcome {
    /// How it was to leave.
    pub leave: Leave,
    /// Whether it got its `welcome`.
    pub joined: bool,
    /// What went wrong, if anything (connect, join, or the server closing it early).
    pub error: Option<String>,
    /// Whether the end of the run cut its chat short.
    pub stopped_early: bool,
    /// Messages it said.
    pub sent: u64,
    /// Its own messages it saw echoed.
    pub echoed: u64,
    /// Text frames it read.
    pub frames: u64,
    /// Its still-open socket, for half-open clients.
    pub half_open: Option<Ws>,
}

/// Runs churning client `n`: join, chat while reading, leave as `leave` says.
pub async fn churn_client(
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
                    wire::describe_close(frame.as_ref())
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
pub struct Churn {
    /// Clients started.
    pub started: usize,
    /// Clients that got their `welcome`.
    pub joined: usize,
    /// Clients that joined, by how they left (or were to leave).
    pub by_leave: BTreeMap<Leave, usize>,
    /// Clients whose chat the end of the run cut short.
    pub stopped_early: usize,
    /// Messages said.
    pub sent: u64,
    /// Own messages seen echoed.
    pub echoed: u64,
    /// Text frames read.
    pub frames: u64,
    /// Failures, by message.
    pub errors: BTreeMap<String, u64>,
    /// Still-open half-open sockets.
    pub half_open: Vec<Ws>,
    /// Clients that had not finished leaving when the wait for them ended.
    pub stuck: usize,
    /// Most churning clients in flight at once.
    pub peak_active: usize,
    /// Mean planned lifetime.
    pub mean_life: Duration,
    /// Pause between two starts.
    pub start_every: Duration,
}

impl Churn {
    /// Adds one finished client.
    pub fn absorb(&mut self, joined: Result<(usize, ChurnOutcome), tokio::task::JoinError>) {
        let out = match joined {
            Ok((_, out)) => out,
            Err(err) => {
                *self.errors.entry(format!("task: {err}")).or_default() += 1;
                return;
            }
        };
        if out.joined {
            self.joined += 1;
            *self.by_leave.entry(out.leave).or_default() += 1;
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
            self.half_open.push(ws);
        }
    }
}

/// Starts churning clients until `stop`, then lets every one of them leave.
pub async fn run_churn(cli: &Cli, target: &Target, stop: &CancellationToken) -> Churn {
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

/// Reads, raw, what the server sent each half-open socket after its client
/// stopped reading (for up to [`HALF_OPEN_PROBE_LIMIT`] overall), to learn
/// how the server ended it; then the sockets are closed. Not through the
/// WebSocket: reading there answers the queued pings, and the server, gone
/// by then, resets the connection before its close frame is read.
pub async fn probe_half_open(sockets: Vec<Ws>) -> BTreeMap<String, u64> {
    let deadline = Instant::now() + HALF_OPEN_PROBE_LIMIT;
    let mut set = JoinSet::new();
    for mut ws in sockets {
        set.spawn(async move {
            let mut raw = Vec::new();
            match timeout_at(deadline, ws.get_mut().read_to_end(&mut raw)).await {
                Err(_) => "still open".to_owned(),
                Ok(Err(err)) => format!("error: {err}"),
                Ok(Ok(_)) => final_close(&raw).unwrap_or_else(|| "eof, no close frame".to_owned()),
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

/// The close frame that ends `raw` (server-to-client bytes, so unmasked),
/// described as [`wire::describe_close`] does, if the stream ends with one:
/// `0x88`, a payload length under 126, then the code and reason.
fn final_close(raw: &[u8]) -> Option<String> {
    (0..126usize).find_map(|len| {
        let start = raw.len().checked_sub(len + 2)?;
        if raw[start] != 0x88 || usize::from(raw[start + 1]) != len || len == 1 {
            return None;
        }
        let payload = &raw[start + 2..];
        let frame = match payload {
            [hi, lo, reason @ ..] => Some(CloseFrame {
                code: CloseCode::from(u16::from_be_bytes([*hi, *lo])),
                reason: std::str::from_utf8(reason).ok()?.into(),
            }),
            _ => None,
        };
        Some(wire::describe_close(frame.as_ref()))
    })
}
