//! The well-behaved clients: they stay the whole run, read every frame and
//! say a unique marker at a steady pace.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{interval_at, sleep, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::net::{join, open, say_frame, user_of, welcome_users, Target};
use crate::support::{lock, stream_end, WsRead, WsSink};
use crate::POLL_EVERY;

/// Marker prefix of the well-behaved clients' messages.
const STEADY_MARK: char = 'S';

/// What a well-behaved client has seen so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// Every `message` in arrival order: id and text.
    pub messages: Vec<(u64, String)>,
    /// Who is in the room as far as this client knows: id → name.
    pub roster: BTreeMap<u64, String>,
    /// Markers of well-behaved clients received (duplicates included).
    pub steady_received: u64,
    /// Codes of `error` frames received.
    pub errors: Vec<String>,
    /// Text frames received.
    pub frames: u64,
    /// Text frames that were not JSON objects with a `type`.
    pub unparsed: u64,
    /// How the stream ended, once it has.
    pub ended: Option<String>,
}

/// A well-behaved client: it stays, reads everything and chats.
#[derive(Debug)]
pub struct Steady {
    /// Its name.
    pub name: String,
    /// Writing half; lent to the sender task during the run.
    pub sink: Option<WsSink>,
    /// The reading task.
    pub reader: JoinHandle<()>,
    /// What it saw.
    pub seen: Arc<Mutex<Seen>>,
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
        let item = stream.next().await;
        if let Some(Ok(Message::Text(text))) = &item {
            record(&seen, text.as_str());
        } else if let Some(end) = stream_end(item.as_ref()) {
            break end;
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
pub struct Sent {
    /// The client.
    pub index: usize,
    /// The writing half, returned for the graceful close.
    pub sink: WsSink,
    /// Markers written successfully, in order.
    pub markers: Vec<String>,
    /// The write error that stopped it early, if any.
    pub error: Option<String>,
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

/// Connects and joins `count` well-behaved clients, one after the other.
pub async fn connect_all(target: &Target, count: usize) -> Result<Vec<Steady>> {
    let mut steady = Vec::with_capacity(count);
    for i in 0..count {
        let client = connect_steady(target, i)
            .await
            .with_context(|| format!("well-behaved client {i}"))?;
        steady.push(client);
    }
    Ok(steady)
}

/// Lends every client's sink to a sender task saying a marker every
/// `every`, the clients spread evenly over that interval, until `stop`.
pub fn start_senders(
    steady: &mut [Steady],
    every: Duration,
    stop: &CancellationToken,
) -> JoinSet<Sent> {
    let count = steady.len();
    let mut senders = JoinSet::new();
    for (i, client) in steady.iter_mut().enumerate() {
        if let Some(sink) = client.sink.take() {
            let offset = every.mul_f64(i as f64 / count as f64);
            senders.spawn(steady_sender(i, sink, every, offset, stop.clone()));
        }
    }
    senders
}

/// Waits for the stopped senders, gives each client its sink back, and
/// returns the markers each client sent and how many senders failed.
pub async fn collect_senders(
    mut senders: JoinSet<Sent>,
    steady: &mut [Steady],
) -> (Vec<Vec<String>>, usize) {
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
    (sent, send_errors)
}

/// Waits (at most `limit`) until every open client has received `total`
/// well-behaved markers; returns how long that took.
pub async fn await_deliveries(steady: &[Steady], total: u64, limit: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit
        && steady.iter().any(|s| {
            let seen = lock(&s.seen);
            seen.steady_received < total && seen.ended.is_none()
        })
    {
        sleep(POLL_EVERY).await;
    }
    started.elapsed()
}

/// What the well-behaved clients observed besides the messages.
#[derive(Debug, Default)]
pub struct Observed {
    /// Clients whose stream had ended, with how.
    pub ended_early: Vec<(String, String)>,
    /// `error` frames received, by code.
    pub errors: BTreeMap<String, u64>,
    /// Text frames received.
    pub frames: u64,
    /// Text frames that were not JSON objects with a `type`.
    pub unparsed: u64,
}

/// Sums up what the clients observed so far.
pub fn observed(steady: &[Steady]) -> Observed {
    let mut out = Observed::default();
    for client in steady {
        let seen = lock(&client.seen);
        if let Some(end) = &seen.ended {
            out.ended_early.push((client.name.clone(), end.clone()));
        }
        for code in &seen.errors {
            *out.errors.entry(code.clone()).or_default() += 1;
        }
        out.frames += seen.frames;
        out.unparsed += seen.unparsed;
    }
    out
}

/// Every client leaves gracefully (within 5 s overall); returns how their
/// streams ended, counted.
pub async fn close_all(steady: &mut [Steady]) -> BTreeMap<String, u64> {
    let close_deadline = Instant::now() + Duration::from_secs(5);
    for client in steady.iter_mut() {
        if let Some(mut sink) = client.sink.take() {
            let _ = timeout_at(close_deadline, sink.close()).await;
        }
    }
    let mut ends: BTreeMap<String, u64> = BTreeMap::new();
    for client in steady.iter_mut() {
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
        *ends.entry(end).or_default() += 1;
    }
    ends
}
