//! Client-side wire pieces shared by the server's integration tests and the
//! load tools: the `hello` → `welcome` join over any WebSocket, raw HTTP/1.1
//! requests, and the `/healthz` fetch.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The first arguments of every server binary a test or tool starts: a
/// free loopback port, its address printed on stdout, and no rate limits
/// (they measure and test the server, not its limits).
pub const BASE_SERVER_ARGS: [&str; 7] = [
    "--addr",
    "127.0.0.1:0",
    "--print-address",
    "--rate-limit",
    "0",
    "--room-rate-limit",
    "0",
];

/// Sends `hello` as `name` and reads until `welcome`, which is returned; an
/// `error` frame, a close or the end of the stream before it is an error.
/// Callers bound it with their own timeout.
pub async fn join<S>(ws: &mut WebSocketStream<S>, name: &str) -> Result<Value>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let hello = json!({ "type": "hello", "name": name }).to_string();
    ws.send(Message::text(hello))
        .await
        .context("sending hello")?;
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
}

/// Describes a received close frame: `close CODE REASON` or `close (no code)`.
pub fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(f) => format!("close {} {}", u16::from(f.code), f.reason.as_str()),
        None => "close (no code)".to_owned(),
    }
}

/// An HTTP response as read off the socket.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Status line and headers, as text.
    pub head: String,
    /// Everything after the blank line.
    pub body: Vec<u8>,
}

/// Sends `request` as is over a fresh connection to `addr` and reads the
/// response until the server closes, all within `limit`.
pub async fn raw_request(addr: SocketAddr, request: &str, limit: Duration) -> Result<HttpResponse> {
    raw_request_bytes(addr, request.as_bytes(), limit).await
}

/// [`raw_request`] for a request that is not all text (a file upload).
pub async fn raw_request_bytes(
    addr: SocketAddr,
    request: &[u8],
    limit: Duration,
) -> Result<HttpResponse> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.context("connect")?;
        stream.write_all(request).await.context("write")?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.context("read")?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| anyhow!("no complete HTTP response within {limit:?}"))??;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("no end of headers in the HTTP response"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no status in the HTTP response: {head}"))?;
    Ok(HttpResponse {
        status,
        head,
        body: response[split + 4..].to_vec(),
    })
}

/// `GET target` with `Host: host` and `Connection: close`, within `limit`.
pub async fn http_get(
    addr: SocketAddr,
    target: &str,
    host: &str,
    limit: Duration,
) -> Result<HttpResponse> {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    raw_request(addr, &request, limit).await
}

/// `GET /healthz` (`host` must be the server's own `HOST:PORT`) as parsed
/// JSON; anything but a 200 is an error.
pub async fn healthz(addr: SocketAddr, host: &str, limit: Duration) -> Result<Value> {
    let response = http_get(addr, "/healthz", host, limit).await?;
    if response.status != 200 {
        bail!("/healthz answered {}", response.status);
    }
    serde_json::from_slice(&response.body).context("/healthz body")
}
