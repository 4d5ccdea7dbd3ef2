//! Which listener accepted a connection, and from which address: what the
//! accept loops put into each request's extensions for the routes to read
//! (warp's own `addr::remote` is only filled by `warp::serve`).

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

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
