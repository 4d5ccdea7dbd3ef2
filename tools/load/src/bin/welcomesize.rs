//! `welcomesize`: how large `welcome` is for a person in many rooms with
//! many direct conversations, the frame every reconnect costs them.
//!
//! ```text
//! cargo run --release -p hearth-load --bin welcomesize -- \
//!     --server-bin target/release/hearth-server --rooms 20 --directs 50
//! ```
//!
//! It starts the server (a temporary data directory, `--anyone-creates-rooms`),
//! makes `--rooms` rooms with one person in all of them, `--directs` other
//! people who each have a direct conversation with them, then reconnects
//! that person with the same key and measures the `welcome` they get: its
//! bytes in all and those of its `rooms`, `users` and `history`. One line of
//! JSON starting with `{"welcomesize":` follows the table.

// Printing the report is what this binary is for.
#![allow(clippy::print_stdout)]

use hearth_load as support;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::SpawnedServer;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Parser)]
#[command(about = "The size of welcome for a person in many rooms with many direct conversations")]
struct Cli {
    /// The server binary to start.
    #[arg(long, value_name = "PATH")]
    server_bin: PathBuf,
    /// Rooms the person is in, besides General.
    #[arg(long, default_value_t = 20)]
    rooms: usize,
    /// Direct conversations the person has.
    #[arg(long, default_value_t = 50)]
    directs: usize,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    rooms: usize,
    directs: usize,
    welcome_bytes: usize,
    rooms_bytes: usize,
    users_bytes: usize,
    history_bytes: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let server =
        SpawnedServer::start(&cli.server_bin, &["--anyone-creates-rooms"], &[], None).await?;
    let url = format!("ws://{}/ws", server.addr);
    let key = "welcomesize-key-0123456789";
    let (mut me, welcome) = join(&url, "Me", Some(key)).await?;
    let my_uid = welcome["you"]["uid"].as_str().context("a uid")?.to_owned();
    for n in 0..cli.rooms {
        ask(
            &mut me,
            json!({"type": "create_room", "name": format!("Room {n}")}),
            "room_changed",
        )
        .await?;
    }
    for n in 0..cli.directs {
        let (mut other, _) = join(&url, &format!("Person {n}"), None).await?;
        ask(
            &mut other,
            json!({"type": "direct", "uid": my_uid}),
            "room_added",
        )
        .await?;
    }
    // The same person on a second connection (the first still holds the name).
    let (_, welcome) = join(&url, "Me too", Some(key)).await?;
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
    let report = Report {
        rooms: cli.rooms,
        directs: cli.directs,
        welcome_bytes: size(&welcome),
        rooms_bytes: size(&welcome["rooms"]),
        users_bytes: size(&welcome["users"]),
        history_bytes: size(&welcome["history"]),
    };
    support::heading("welcome");
    support::print_row(36, "rooms besides General", report.rooms);
    support::print_row(36, "direct conversations", report.directs);
    support::print_row(36, "welcome bytes", report.welcome_bytes);
    support::print_row(36, "  of which rooms", report.rooms_bytes);
    support::print_row(36, "  of which users (first 50)", report.users_bytes);
    support::print_row(36, "  of which history", report.history_bytes);
    support::print_json_line("welcomesize", &report)?;
    let exit = server.stop(Duration::from_secs(10)).await;
    if !exit.clean {
        bail!("the server did not stop cleanly");
    }
    Ok(())
}

/// Joins as `name` (with `key`); the socket and its `welcome`.
async fn join(url: &str, name: &str, key: Option<&str>) -> Result<(Ws, Value)> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let mut hello = json!({"type": "hello", "name": name});
    if let Some(key) = key {
        hello["key"] = json!(key);
    }
    ws.send(Message::text(hello.to_string())).await?;
    let welcome = until(&mut ws, "welcome").await?;
    Ok((ws, welcome))
}

async fn ask(ws: &mut Ws, request: Value, kind: &str) -> Result<Value> {
    ws.send(Message::text(request.to_string())).await?;
    until(ws, kind).await
}

/// Reads until a frame of type `kind`; an `error` first is an error.
async fn until(ws: &mut Ws, kind: &str) -> Result<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .context("no answer in time")?
            .context("the connection ended")??;
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str())?;
            match value["type"].as_str() {
                Some(k) if k == kind => return Ok(value),
                Some("error") => bail!("refused: {}", text.as_str()),
                _ => {}
            }
        }
    }
}
