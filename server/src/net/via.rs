//! Where a connection came from, in the two steps it is told: which
//! listener accepted it and from which address ([`Via`], which the accept
//! loops put into each request's extensions for the routes to read: warp's
//! own `addr::remote` is only filled by `warp::serve`), and who the gate let
//! in ([`Arrival`], what a WebSocket session is given).

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use crate::model::ConnectedFrom;

/// Where a request came in.
#[derive(Debug, Clone)]
pub enum Via {
    /// The loopback listener, from this address.
    Loopback(SocketAddr),
    /// A shared network address, from this address; the token is cancelled
    /// when sharing stops.
    Network(SocketAddr, CancellationToken),
}

impl Via {
    /// The remote address of the connection.
    pub fn addr(&self) -> SocketAddr {
        match self {
            Via::Loopback(addr) | Via::Network(addr, _) => *addr,
        }
    }
}

/// A connection the gate let in: this computer, or a guest on the network
/// with a valid pass.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The remote address.
    pub addr: SocketAddr,
    /// This computer, or a guest on the network (and their pass).
    pub from: ConnectedFrom,
    /// For a guest on the network: cancelled when the host stops sharing.
    pub sharing: Option<CancellationToken>,
}

/// An address in log lines, when a request may not say one: `127.0.0.1:50000`,
/// or `unknown address`.
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub Option<SocketAddr>);

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("unknown address"),
        }
    }
}
