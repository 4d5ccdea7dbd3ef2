//! `--rooms K`: the house gets K rooms besides General before anyone
//! connects, each reader joins one of them (reader n the room n mod K),
//! and each burst sender says its messages in its own room. A message then
//! reaches its room's members only: what the burst measures is the cost of
//! delivering to a room inside a larger house.

use anyhow::{bail, Context as _, Result};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::clients::{open, ClientOptions};
use crate::support::wire;
use crate::Ctx;

/// What the spawned server needs so a client can make the rooms.
pub const SERVER_ARG: &str = "--anyone-creates-rooms";

/// Makes `count` rooms with one client, which then leaves; their ids.
pub async fn make(ctx: &Ctx, count: usize) -> Result<Vec<u64>> {
    let options = ClientOptions {
        prefix: "room-maker".into(),
        ..ctx.client_options()
    };
    let mut ws = open(ctx.addr, &ctx.url, false, &options).await?;
    wire::join(&mut ws, "room-maker").await?;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let name = format!("load-{n}");
        ws.send(Message::text(
            json!({"type": "create_room", "name": name}).to_string(),
        ))
        .await?;
        let added = until(&mut ws, "room_added").await?;
        ids.push(
            added["room"]["id"]
                .as_u64()
                .context("a room without an id")?,
        );
    }
    // The maker joined each room it made; gone, it receives none of them.
    let _ = ws.close(None).await;
    Ok(ids)
}

/// Joins the connected client to `room`, waiting for the answer.
pub async fn join<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, room: u64) -> Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::text(
        json!({"type": "join_room", "room": room}).to_string(),
    ))
    .await?;
    until(ws, "room_changed").await.map(drop)
}

/// Reads until a frame of type `kind`; an `error` first is an error.
async fn until<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>, kind: &str) -> Result<Value>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let Some(frame) = ws.next().await else {
            bail!("the connection ended before {kind}");
        };
        if let Message::Text(text) = frame? {
            let value: Value = serde_json::from_str(text.as_str())?;
            match value["type"].as_str() {
                Some(k) if k == kind => return Ok(value),
                Some("error") => bail!("refused: {}", text.as_str()),
                _ => {}
            }
        }
    }
}
