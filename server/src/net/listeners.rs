//! The room's listening sockets on this computer: the loopback address
//! (both 127.0.0.1 and [::1]), and the ports tried when it is taken.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

use super::Loopback;

/// Why the room's address could not be listened on.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Another program is listening on the address.
    #[error("{addr} is in use")]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Any other failure (permissions, unknown address, …).
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
}

/// How many ports after the asked-for one are tried before letting the OS pick.
const FALLBACK_PORTS: u16 = 20;

/// The room's listening sockets on this computer.
#[derive(Debug)]
pub(crate) struct Listeners {
    pub(crate) listeners: Vec<TcpListener>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) loopback: Loopback,
}

impl Listeners {
    /// Binds `addr`. On 127.0.0.1 it also binds [::1] on the same port, so
    /// no other program can answer there to a browser that asked for
    /// `localhost`.
    pub(crate) async fn bind(addr: SocketAddr) -> Result<Self, ListenError> {
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                ListenError::AddrInUse { addr }
            } else {
                ListenError::Io { addr, source }
            }
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ListenError::Io { addr, source })?;
        let mut listeners = vec![listener];
        let loopback = if local_addr.ip() == Ipv4Addr::LOCALHOST {
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, local_addr.port()));
            match TcpListener::bind(v6).await {
                Ok(listener) => {
                    listeners.push(listener);
                    Loopback::Both
                }
                Err(err) if err.kind() == io::ErrorKind::AddrInUse => {
                    log::warn!(
                        "another program listens on {v6}: only http://{local_addr} is trusted, \
                         not localhost"
                    );
                    Loopback::V6Taken
                }
                Err(err) => {
                    log::debug!("no IPv6 loopback ({err}): listening on {local_addr} only");
                    Loopback::V4Only
                }
            }
        } else {
            Loopback::Elsewhere
        };
        Ok(Self {
            listeners,
            local_addr,
            loopback,
        })
    }
}

/// The addresses tried after `wanted`: the next ports, then port 0.
pub(crate) fn fallback_addrs(wanted: SocketAddr) -> Vec<SocketAddr> {
    let mut addrs: Vec<SocketAddr> = (1..=FALLBACK_PORTS)
        .filter_map(|offset| wanted.port().checked_add(offset))
        .map(|port| SocketAddr::new(wanted.ip(), port))
        .collect();
    addrs.push(SocketAddr::new(wanted.ip(), 0));
    addrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_tries_the_next_ports_then_any() {
        let addrs = fallback_addrs(SocketAddr::from(([127, 0, 0, 1], 7070)));
        assert_eq!(addrs.first().map(SocketAddr::port), Some(7071));
        assert_eq!(addrs.len(), usize::from(FALLBACK_PORTS) + 1);
        assert_eq!(addrs.last().map(SocketAddr::port), Some(0));
        let near_top = fallback_addrs(SocketAddr::from(([127, 0, 0, 1], 65534)));
        assert_eq!(
            near_top.iter().map(SocketAddr::port).collect::<Vec<_>>(),
            [65535, 0]
        );
    }
}
