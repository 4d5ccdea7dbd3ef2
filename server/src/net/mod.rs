//! The network edge: the listening sockets ([`listeners`]), accepting and
//! serving connections ([`acceptor`]), which addresses and origins are this
//! server's ([`access`]), where each request came in ([`via`]), and the byte stream under each WebSocket
//! ([`coalesce`]).

pub mod acceptor;
pub mod access;
pub mod coalesce;
pub mod listeners;
pub mod via;

pub use access::{AccessPolicy, Loopback, DESKTOP_WEBVIEW_ORIGIN};
pub use via::{Arrival, Remote, Via};

use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use warp::hyper::upgrade::Upgraded;

/// A peer's WebSocket: an upgraded connection, its writes coalesced.
pub type Socket = WebSocketStream<coalesce::Coalesced<TokioIo<Upgraded>>>;
