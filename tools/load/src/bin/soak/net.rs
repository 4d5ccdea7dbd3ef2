//! Where the server is and the client-side protocol pieces every soak
//! client uses.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{wire, Ws};

/// Longest wait for one handshake plus `welcome`.
const JOIN_LIMIT: Duration = Duration::from_secs(10);

/// Where the server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its TCP address.
    pub addr: SocketAddr,
    /// Its WebSocket URL.
    pub url: String,
}

/// Opens a WebSocket; with `zero_linger`, `SO_LINGER 0` is set on the TCP
/// stream first, so that dropping it later resets the connection.
pub async fn open(target: &Target, zero_linger: bool) -> Result<Ws> {
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

/// A `say` frame.
pub fn say_frame(text: &str) -> Message {
    Message::text(json!({ "type": "say", "text": text }).to_string())
}

/// Sends `hello` under `name` and waits (at most [`JOIN_LIMIT`]) for
/// `welcome`, which is returned.
pub async fn join(ws: &mut Ws, name: &str) -> Result<Value> {
    timeout(JOIN_LIMIT, wire::join(ws, name))
        .await
        .map_err(|_| anyhow!("no welcome within {} s", JOIN_LIMIT.as_secs()))?
}

/// The `(id, name)` of every user in `welcome.users`.
pub fn welcome_users(welcome: &Value) -> Vec<(u64, String)> {
    welcome["users"]
        .as_array()
        .map(|users| users.iter().filter_map(user_of).collect())
        .unwrap_or_default()
}

/// The `(id, name)` of a protocol user object.
pub fn user_of(user: &Value) -> Option<(u64, String)> {
    Some((user["id"].as_u64()?, user["name"].as_str()?.to_owned()))
}
