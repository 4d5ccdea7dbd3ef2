//! Sharing the room with the network, on purpose and under the host's
//! control: extra listeners on network addresses, an invite link (and its
//! QR code) that lets a browser there in, and the host's powers over it
//! (a new link, removing someone, stopping).
//!
//! Loopback is untouched: sharing only adds listeners, and everything that
//! arrives through them must show an invite pass (see `web::gate`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::ShareAddr;
use crate::model::ConnectedFrom;
use crate::net::acceptor::Acceptor;
use crate::net::AccessPolicy;
use crate::room::{Eviction, Person, Room};

mod addrs;
mod invite;
mod qr;

pub use invite::{
    forget_pass_cookie, BadInvite, Crowded, GuestConnection, GuestLimits, Invites, PASS_COOKIE,
};

/// Why sharing could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// No network address to share on (no interface is up, or none given).
    #[error("this computer has no network address to share the room on")]
    NoNetwork,
    /// Binding failed on every address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address tried first.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The room is closing or closed.
    #[error("the room is closed")]
    Closed,
}

/// What the host panel shows about sharing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShareStatus {
    /// Whether people on the network can join.
    pub on: bool,
    /// The room's network addresses, as `http://IP:PORT`.
    pub addresses: Vec<String>,
    /// The invite link (holds the secret: for the host's eyes only).
    pub link: Option<String>,
    /// The invite link's QR code, an SVG document.
    pub qr_svg: Option<String>,
    /// Why the last attempt to share failed, if it did.
    pub error: Option<String>,
}

#[derive(Debug)]
struct Active {
    addrs: Vec<SocketAddr>,
    /// Cancelled to stop: ends the listeners, their connections and the
    /// WebSockets that came through them.
    stop: CancellationToken,
}

#[derive(Debug)]
struct Inner {
    room: Arc<Room>,
    invites: Arc<Invites>,
    access: Arc<AccessPolicy>,
    acceptor: Acceptor,
    room_port: u16,
    wanted: Vec<ShareAddr>,
    active: Mutex<Option<Active>>,
    /// Serializes start and stop, which await while binding.
    switching: tokio::sync::Mutex<()>,
    last_error: Mutex<Option<String>>,
}

/// The host's handle on sharing; cheap to clone.
#[derive(Debug, Clone)]
pub struct Sharing {
    inner: Arc<Inner>,
}

/// A handle the routes hold without keeping the server's parts alive.
#[derive(Debug, Clone)]
pub struct WeakSharing(Weak<Inner>);

impl WeakSharing {
    /// The handle, unless the server is gone.
    pub fn upgrade(&self) -> Option<Sharing> {
        self.0.upgrade().map(|inner| Sharing { inner })
    }
}

/// What sharing is built from.
#[derive(Debug)]
pub struct SharingParts {
    /// The room shared.
    pub room: Arc<Room>,
    /// The invite secret and passes.
    pub invites: Arc<Invites>,
    /// The Host and Origin allowlists, which gain the network addresses.
    pub access: Arc<AccessPolicy>,
    /// The loopback room's port: the network listeners use it when free.
    pub room_port: u16,
    /// Where to share; empty means this machine's network addresses.
    pub wanted: Vec<ShareAddr>,
}

impl Sharing {
    /// Builds sharing (off) around the acceptor `build` makes, which may
    /// keep a [`WeakSharing`] for the host routes. Sharing keeps the
    /// acceptor to serve its network listeners with; the caller gets it back
    /// for the loopback listener, which is not sharing's.
    pub(crate) fn new(
        parts: SharingParts,
        build: impl FnOnce(WeakSharing) -> Acceptor,
    ) -> (Self, Acceptor) {
        let inner = Arc::new_cyclic(|weak| Inner {
            room: parts.room,
            invites: parts.invites,
            access: parts.access,
            acceptor: build(WeakSharing(weak.clone())),
            room_port: parts.room_port,
            wanted: parts.wanted,
            active: Mutex::new(None),
            switching: tokio::sync::Mutex::new(()),
            last_error: Mutex::new(None),
        });
        let acceptor = inner.acceptor.clone();
        (Self { inner }, acceptor)
    }

    fn active(&self) -> MutexGuard<'_, Option<Active>> {
        // Replaced whole or not at all: never half updated.
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_error(&self, error: Option<String>) {
        *self
            .inner
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = error;
    }

    /// The loopback room's port.
    pub fn room_port(&self) -> u16 {
        self.inner.room_port
    }

    /// Whether the room is shared now.
    pub fn is_on(&self) -> bool {
        self.active().is_some()
    }

    /// Opens the room to the network: listens on the chosen addresses (or
    /// this machine's), and lets in browsers with the invite. Already
    /// shared, it changes nothing.
    pub async fn start(&self) -> Result<ShareStatus, ShareError> {
        let _switching = self.inner.switching.lock().await;
        if self.is_on() {
            return Ok(self.status());
        }
        let outcome = self.bind_all().await;
        let (listeners, addrs) = match outcome {
            Ok(bound) => bound,
            Err(err) => {
                log::warn!("could not share the room: {err}");
                self.set_error(Some(err.to_string()));
                return Err(err);
            }
        };
        let Some(stop) = self.inner.acceptor.child_token() else {
            return Err(ShareError::Closed);
        };
        self.inner.access.set_network(&addrs);
        for listener in listeners {
            self.inner
                .acceptor
                .spawn_network_listener(listener, stop.clone());
        }
        for addr in &addrs {
            // The address only: the invite link holds a secret, and log
            // files are no place for one.
            log::info!("sharing the room with the network at http://{addr}");
        }
        *self.active() = Some(Active { addrs, stop });
        self.set_error(None);
        Ok(self.status())
    }

    async fn bind_all(&self) -> Result<(Vec<TcpListener>, Vec<SocketAddr>), ShareError> {
        let wanted = if self.inner.wanted.is_empty() {
            addrs::network_addrs()
        } else {
            self.inner.wanted.clone()
        };
        if wanted.is_empty() {
            return Err(ShareError::NoNetwork);
        }
        let mut listeners = Vec::new();
        let mut bound = Vec::new();
        let mut first_error = None;
        for want in wanted {
            match bind_one(want, self.inner.room_port).await {
                Ok((listener, addr)) => {
                    listeners.push(listener);
                    bound.push(addr);
                }
                Err(err) => {
                    log::warn!("{err}");
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) if listeners.is_empty() => Err(err),
            _ => Ok((listeners, bound)),
        }
    }

    /// Closes the room to the network: the listeners stop (the addresses no
    /// longer answer) and everyone who came through them is closed with 1001.
    /// The invite stays the same for the next time.
    pub async fn stop(&self) -> ShareStatus {
        let _switching = self.inner.switching.lock().await;
        let active = self.active().take();
        if let Some(active) = active {
            active.stop.cancel();
            self.inner.access.set_network(&[]);
            log::info!("stopped sharing the room with the network");
        }
        self.set_error(None);
        self.status()
    }

    /// A new invite link: the old one, and every pass issued from it, stop
    /// working. With `remove_everyone`, people on the network are closed
    /// with 1008 too; otherwise they stay until they leave.
    pub fn renew(&self, remove_everyone: bool) -> ShareStatus {
        self.inner.invites.renew();
        log::info!("the host made a new invite link");
        if remove_everyone {
            let removed = self.inner.room.evict_network(Eviction::RemovedByHost);
            log::info!("the host removed the {removed} people on the network");
        }
        self.status()
    }

    /// Removes someone: closes them with 1008 "removed by the host" and, on
    /// the network, ends their pass so the page cannot just come back.
    /// False when nobody has that id.
    pub fn remove(&self, id: usize) -> bool {
        match self.inner.room.remove(id) {
            Some(ConnectedFrom::Network { pass, .. }) => {
                self.inner.invites.revoke(pass);
                log::info!("the host removed peer {id} and ended their invite");
                true
            }
            Some(_) => {
                log::info!("the host removed peer {id}");
                true
            }
            None => false,
        }
    }

    /// The room shared: what the host's room routes act on.
    pub fn room(&self) -> &Arc<Room> {
        &self.inner.room
    }

    /// Who is in the room and where from.
    pub fn people(&self) -> Vec<Person> {
        self.inner.room.people()
    }

    /// What the host panel shows.
    pub fn status(&self) -> ShareStatus {
        let error = self
            .inner
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let addrs = match self.active().as_ref() {
            Some(active) => active.addrs.clone(),
            None => {
                return ShareStatus {
                    error,
                    ..ShareStatus::default()
                }
            }
        };
        let secret = self.inner.invites.secret();
        let link = addrs
            .first()
            .zip(secret)
            .map(|(addr, secret)| invite_link(*addr, &secret));
        ShareStatus {
            on: true,
            addresses: addrs.iter().map(|addr| format!("http://{addr}")).collect(),
            qr_svg: link.as_deref().and_then(qr::svg),
            link,
            error,
        }
    }
}

/// The link that lets a browser in: the network address and the secret.
fn invite_link(addr: SocketAddr, secret: &str) -> String {
    format!("http://{addr}/join/{secret}")
}

/// Binds one share address, on the room's port unless another is given;
/// if that port is taken there, on any free one.
async fn bind_one(
    want: ShareAddr,
    room_port: u16,
) -> Result<(TcpListener, SocketAddr), ShareError> {
    let port = want.port.unwrap_or(room_port);
    let addr = SocketAddr::new(want.ip, port);
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse && want.port.is_none() => {
            TcpListener::bind(SocketAddr::new(want.ip, 0))
                .await
                .map_err(|source| ShareError::Bind { addr, source })?
        }
        Err(source) => return Err(ShareError::Bind { addr, source }),
    };
    let bound = listener
        .local_addr()
        .map_err(|source| ShareError::Bind { addr, source })?;
    Ok((listener, bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_names_the_address_and_the_secret() {
        let v4 = invite_link(SocketAddr::from(([198, 18, 0, 1], 7070)), "ab12");
        assert_eq!(v4, "http://198.18.0.1:7070/join/ab12");
        let v6 = invite_link("[fd00::1]:7070".parse().expect("addr"), "ab12");
        assert_eq!(v6, "http://[fd00::1]:7070/join/ab12");
    }
}
