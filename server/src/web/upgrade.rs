//! The WebSocket upgrade, done here rather than by `warp::ws()`: warp's has
//! no setting for tungstenite's buffers, whose defaults (128 KiB to read,
//! allocated up front, and 128 KiB to write) were most of what a connection
//! cost; writes are gathered per batch by [`Coalesced`] instead. The
//! routes, the Host and Origin checks and the header validation stay warp
//! filters; only the `101` and the socket are ours.

use futures::Future;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::task::TaskTracker;
use warp::hyper::upgrade::OnUpgrade;
use warp::reject::Rejection;
use warp::reply::Response;
use warp::Filter;

use super::Denied;
use crate::net::coalesce::Coalesced;
use crate::net::Socket;

/// Bytes read from the socket at a time. Chat frames are small; a larger
/// one is read in several goes (the buffer grows for it, then is reused).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// A request that asks for a WebSocket properly (RFC 6455 §4.2.1), ready to
/// be answered.
#[derive(Debug)]
pub struct Handshake {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Passes `GET` requests that carry a valid WebSocket handshake, and takes
/// the connection's upgrade from hyper; others get 400 (405 for another
/// method), as `warp::ws()` answered.
pub fn handshake() -> impl Filter<Extract = (Handshake,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and_then(
            |headers: HeaderMap, on_upgrade: Option<OnUpgrade>| async move {
                let accept = accept_key(&headers).ok_or_else(|| {
                    warp::reject::custom(Denied::BadRequest("not a WebSocket handshake"))
                })?;
                let on_upgrade = on_upgrade.ok_or_else(|| {
                    warp::reject::custom(Denied::BadRequest("this connection cannot be upgraded"))
                })?;
                Ok::<_, Rejection>(Handshake { accept, on_upgrade })
            },
        )
}

/// The `Sec-WebSocket-Accept` for a valid handshake's headers, or `None`.
fn accept_key(headers: &HeaderMap) -> Option<HeaderValue> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return None;
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION)?.as_bytes() != b"13" {
        return None;
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    // The key is 16 random bytes in base64: 24 characters.
    if key.len() != 24 {
        return None;
    }
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()
}

/// The settings of every peer's socket: small buffers, and the size limits.
pub fn socket_config(max_message_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each frame goes straight to `Coalesced`, which gathers them until
        // the writer flushes its batch.
        .write_buffer_size(0)
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
}

impl Handshake {
    /// Answers `101 Switching Protocols`; once hyper hands over the
    /// connection, runs `session` on the socket, as a task `tracker` knows.
    pub fn accept<F, S>(
        self,
        config: WebSocketConfig,
        tracker: &TaskTracker,
        session: S,
    ) -> Response
    where
        S: FnOnce(Socket) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let Handshake { accept, on_upgrade } = self;
        tracker.spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(
                        Coalesced::new(TokioIo::new(upgraded)),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    session(socket).await;
                }
                Err(err) => log::debug!("the WebSocket upgrade failed: {err}"),
            }
        });
        let mut response = Response::default();
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    const VALID: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn the_accept_key_is_the_rfc_example() {
        // RFC 6455 §1.3's own example.
        let accept = accept_key(&request(&VALID)).expect("a valid handshake");
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn a_handshake_missing_any_part_is_refused() {
        for (missing, left_out) in VALID.iter().enumerate() {
            let pairs: Vec<_> = VALID
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != missing)
                .map(|(_, pair)| *pair)
                .collect();
            assert!(
                accept_key(&request(&pairs)).is_none(),
                "without {left_out:?}"
            );
        }
        let mut old = VALID;
        old[2] = ("sec-websocket-version", "8");
        assert!(accept_key(&request(&old)).is_none());
        let mut short = VALID;
        short[3] = ("sec-websocket-key", "c2hvcnQ=");
        assert!(accept_key(&request(&short)).is_none());
    }

    #[test]
    fn the_write_buffer_limit_stays_above_the_write_buffer() {
        // tungstenite panics otherwise.
        let config = socket_config(16 * 1024);
        assert!(config.max_write_buffer_size > config.write_buffer_size);
        assert_eq!(config.read_buffer_size, READ_BUFFER_BYTES);
    }
}
