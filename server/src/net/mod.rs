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
pub use via::Via;
