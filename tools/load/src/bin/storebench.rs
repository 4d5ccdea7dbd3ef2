//! `storebench`: how the room's storage holds up with a long history.
//!
//! Fills a temporary data directory with `--messages` stored messages (one
//! million by default) of generated, word-like text, then measures what a
//! person notices:
//!
//! * **start-up**: from starting the server binary on that directory to its
//!   address being printed (it has opened the database and loaded `welcome`);
//! * **search**: the round trip of `search` requests over a real WebSocket,
//!   for common, rare, prefix, several-word and absent words (p50/p95/max);
//! * **older pages**: the round trip of `history before=…` at random places;
//! * **bytes on disk per message**, the database checkpointed;
//! * **what taking text off the disk costs**: the round trip of `say`
//!   alone, then of `edit` and `delete` and of a `say` between them while
//!   the writer scrubs (secure-delete, and a checkpoint that truncates the
//!   write-ahead log within a second of each removal), and that the log is
//!   empty a moment after the last one.
//!
//! ```text
//! cargo run --release -p hearth-load --bin storebench -- \
//!     --server-bin target/release/hearth-server --messages 1000000
//! ```
//!
//! The directory is filled with SQL in the schema of `docs/storage.md`
//! (after the server has created it), since a million messages through
//! the room's rate limits would take a long time to say nothing new. It is
//! removed at the end.

// A report on standard output is this tool's whole point.
#![allow(clippy::print_stdout)]

// This tool uses a few of the shared helpers only.
#[allow(dead_code)]
// The tools' shared library: spawning the server, reading it, reporting.
use hearth_load as support;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use support::{heading, millis_f64, print_json_line, print_row, SpawnedServer};

/// Fill a temporary database, then time start-up, search and paging.
#[derive(Debug, Parser)]
struct Args {
    /// The `hearth-server` binary to measure.
    #[arg(long)]
    server_bin: std::path::PathBuf,
    /// How many messages to store.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// How many times each search is run.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// How many messages are said, then edited and deleted, for the cost
    /// of removals.
    #[arg(long, default_value_t = 200)]
    removals: usize,
}

/// Deterministic text: a xorshift generator over a vocabulary whose words
/// are used with a skew (a few very common, most rare), like speech.
struct Words {
    state: u64,
    vocabulary: Vec<String>,
}

impl Words {
    fn new(size: usize) -> Self {
        let mut words = Self {
            state: 0x9E37_79B9_7F4A_7C15,
            vocabulary: Vec::new(),
        };
        const SYLLABLES: [&str; 16] = [
            "ka", "lo", "mi", "ren", "tu", "sa", "vel", "or", "in", "dar", "pe", "chu", "ny", "bo",
            "fi", "gle",
        ];
        for _ in 0..size {
            let syllables = 1 + words.below(3);
            let word: String = (0..=syllables)
                .map(|_| SYLLABLES[words.below(SYLLABLES.len())])
                .collect();
            words.vocabulary.push(word);
        }
        words
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A word, picked with a skew towards the start of the vocabulary.
    fn word(&mut self) -> &str {
        let x = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let index = ((x * x * x) * self.vocabulary.len() as f64) as usize;
        &self.vocabulary[index.min(self.vocabulary.len() - 1)]
    }

    fn sentence(&mut self) -> String {
        let length = 4 + self.below(16);
        let mut text = String::new();
        for i in 0..length {
            if i > 0 {
                text.push(' ');
            }
            let word = self.word().to_owned();
            text.push_str(&word);
        }
        text
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("storebench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let dir = tempfile::tempdir().context("a temporary data directory")?;
    // The server creates the schema; then it is filled behind its back.
    SpawnedServer::start_in(&args.server_bin, dir.path(), &[], &[], None)
        .await?
        .stop(Duration::from_secs(5))
        .await;
    let db = dir.path().join("hearth.db");
    let mut words = Words::new(20_000);
    let filled = Instant::now();
    let last_id = fill(&db, args.messages, &mut words)?;
    let fill_secs = filled.elapsed().as_secs_f64();
    let disk_bytes = std::fs::metadata(&db)?.len();

    let started = Instant::now();
    let server = SpawnedServer::start_in(&args.server_bin, dir.path(), &[], &[], None).await?;
    let startup_ms = millis_f64(started.elapsed());
    let url = format!("ws://{}/ws", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    ask(
        &mut ws,
        json!({"type": "hello", "name": "bench"}),
        "welcome",
    )
    .await?;

    let common = words.vocabulary[0].clone();
    let mid = words.vocabulary[2_000].clone();
    let rare = words.vocabulary[19_000].clone();
    let queries = [
        ("common word", common.clone()),
        ("mid word", mid.clone()),
        ("rare word", rare.clone()),
        ("two-letter prefix", common.chars().take(2).collect()),
        ("four-letter prefix", common.chars().take(4).collect()),
        ("three words", format!("{common} {mid} {rare}")),
        ("absent word", "zzzqqq".to_owned()),
    ];
    heading(&format!("storage with {} stored messages", args.messages));
    print_row(34, "fill (SQL, not measured)", format!("{fill_secs:.1} s"));
    print_row(
        34,
        "bytes on disk per message",
        disk_bytes / args.messages.max(1),
    );
    print_row(34, "start-up to listening", format!("{startup_ms:.0} ms"));
    let mut all = Vec::new();
    let mut report = serde_json::Map::new();
    for (label, query) in &queries {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..args.rounds {
            let sent = Instant::now();
            let answer = ask(
                &mut ws,
                json!({"type": "search", "query": query, "limit": 50}),
                "results",
            )
            .await?;
            times.push(millis_f64(sent.elapsed()));
            found = answer["messages"].as_array().map_or(0, Vec::len);
        }
        let (p50, p95, max) = spread(&mut times);
        print_row(
            34,
            &format!("search: {label}"),
            format!("p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms ({found} found)"),
        );
        report.insert(
            format!("search_{}_p95_ms", label.replace([' ', '-'], "_")),
            json!(p95),
        );
        all.extend(times);
    }
    let (_, search_p95, _) = spread(&mut all);
    print_row(34, "search: all", format!("p95 {search_p95:.1} ms"));
    let mut pages = Vec::new();
    for _ in 0..args.rounds * 5 {
        let before = 1 + words.next() % last_id.max(1);
        let sent = Instant::now();
        ask(
            &mut ws,
            json!({"type": "history", "before": before, "limit": 100}),
            "history",
        )
        .await?;
        pages.push(millis_f64(sent.elapsed()));
    }
    let (page_p50, page_p95, _) = spread(&mut pages);
    print_row(
        34,
        "older page of 100",
        format!("p50 {page_p50:.1} ms, p95 {page_p95:.1} ms"),
    );
    let removals = removal_cost(&mut ws, args.removals, &dir.path().join("hearth.db-wal")).await?;
    server.stop(Duration::from_secs(5)).await;
    for (label, key, times) in [
        ("say, nothing removed", "say_p95_ms", &removals.said),
        ("edit", "edit_p95_ms", &removals.edited),
        ("delete", "delete_p95_ms", &removals.deleted),
        (
            "say while removals are scrubbed",
            "say_scrubbing_p95_ms",
            &removals.said_meanwhile,
        ),
    ] {
        let mut times = times.clone();
        let (p50, p95, max) = spread(&mut times);
        print_row(
            34,
            label,
            format!("p50 {p50:.2} ms, p95 {p95:.2} ms, max {max:.2} ms"),
        );
        report.insert(key.into(), json!(p95));
    }
    print_row(
        34,
        "write-ahead log after the last",
        format!("{} bytes", removals.wal_bytes_after),
    );
    report.insert(
        "wal_bytes_after_removals".into(),
        json!(removals.wal_bytes_after),
    );

    report.insert("messages".into(), json!(args.messages));
    report.insert(
        "bytes_per_message".into(),
        json!(disk_bytes / args.messages.max(1)),
    );
    report.insert("startup_ms".into(), json!(startup_ms));
    report.insert("search_p95_ms".into(), json!(search_p95));
    report.insert("page_p95_ms".into(), json!(page_p95));
    print_json_line("storebench", &report)?;
    Ok(())
}

/// Round trips, in ms, of removing text and of saying beside it.
struct Removals {
    said: Vec<f64>,
    edited: Vec<f64>,
    deleted: Vec<f64>,
    said_meanwhile: Vec<f64>,
    wal_bytes_after: u64,
}

/// Says `count` messages, then every 20 ms edits one, deletes another and
/// says a new one (so the writer scrubs about once a second while people
/// talk); then waits for the last scrub and reads the log's size.
async fn removal_cost<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    count: usize,
    wal: &Path,
) -> Result<Removals>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let timed = |sent: Instant| millis_f64(sent.elapsed());
    let mut removals = Removals {
        said: Vec::new(),
        edited: Vec::new(),
        deleted: Vec::new(),
        said_meanwhile: Vec::new(),
        wal_bytes_after: 0,
    };
    let mut ids = Vec::new();
    for n in 0..count * 2 {
        let sent = Instant::now();
        let message = ask(
            ws,
            json!({"type": "say", "text": format!("to be removed {n}")}),
            "message",
        )
        .await?;
        removals.said.push(timed(sent));
        ids.push(message["id"].clone());
    }
    let mut pace = tokio::time::interval(Duration::from_millis(20));
    for pair in ids.chunks(2) {
        pace.tick().await;
        let sent = Instant::now();
        ask(
            ws,
            json!({"type": "edit", "id": pair[0], "text": "edited away"}),
            "edited",
        )
        .await?;
        removals.edited.push(timed(sent));
        let sent = Instant::now();
        ask(ws, json!({"type": "delete", "id": pair[1]}), "deleted").await?;
        removals.deleted.push(timed(sent));
        let sent = Instant::now();
        ask(
            ws,
            json!({"type": "say", "text": "talking meanwhile"}),
            "message",
        )
        .await?;
        removals.said_meanwhile.push(timed(sent));
    }
    // The scrub comes within a second of the last removal.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    removals.wal_bytes_after = std::fs::metadata(wal).map_or(0, |m| m.len());
    Ok(removals)
}

/// Stores `count` generated messages in transactions of 20,000; returns
/// the last id.
fn fill(db: &Path, count: u64, words: &mut Words) -> Result<u64> {
    let mut conn = rusqlite::Connection::open(db)?;
    let start_ts: u64 = 1_700_000_000_000;
    let mut id = 0;
    while id < count {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (id, ts, user_id, user_name, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for _ in 0..20_000.min(count - id) {
                id += 1;
                let user = 1 + words.below(40);
                insert.execute(rusqlite::params![
                    id,
                    start_ts + id * 1000,
                    user,
                    format!("person{user}"),
                    words.sentence()
                ])?;
            }
        }
        tx.commit()?;
    }
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
    Ok(id)
}

async fn ask<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    request: Value,
    answer: &str,
) -> Result<Value>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::text(request.to_string())).await?;
    loop {
        let Some(frame) = timeout(Duration::from_secs(30), ws.next())
            .await
            .context("no answer in 30 s")?
        else {
            bail!("the server closed the connection");
        };
        if let Message::Text(text) = frame? {
            let value: Value = serde_json::from_str(&text)?;
            if value["type"] == answer {
                return Ok(value);
            }
            if value["type"] == "error" {
                bail!("error: {text}");
            }
        }
    }
}

/// p50, p95 and max of `times`.
fn spread(times: &mut [f64]) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95), at(1.0))
}
