//! The listener: binds the address, accepts connections with our socket
//! options and limits, serves each with hyper + the warp routes, and shuts
//! everything down gracefully.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::shutdown::ShutdownHandle;
use crate::config::{Config, RateLimit};
use crate::limits::{ClientSlots, MessageRate, PendingConnections};
use crate::net::acceptor::{accept_any, backoff_after_accept_error, Acceptor, ConnectionTimeouts};
use crate::net::listeners::{fallback_addrs, ListenError, Listeners};
use crate::net::AccessPolicy;
use crate::net::Via;
use crate::room::Room;
use crate::session::PeerContext;
use crate::share::{GuestLimits, Invites, Sharing, SharingParts};
use crate::web::{routes, Downloads, HostRoutes, HostToken, RouteState, Uploads};

/// Uploads the room takes, all senders together: enough for a class that
/// shares pictures, not enough to fill a disk in a hurry. Off with the
/// per-connection rate limit.
const UPLOAD_RATE: RateLimit = RateLimit {
    per_second: 2,
    burst: 20,
};

/// Shutdown must finish within this; sessions that have not closed by then
/// are abandoned.
const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(1800);

/// How long closing the database may take at the end of shutdown.
const STORAGE_CLOSE_DEADLINE: Duration = Duration::from_secs(1);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another program is listening on the address.
    #[error("cannot listen on {addr}: the address is already in use (is Hearth already running?)")]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address is not a loopback address: every connection on it would
    /// count as this computer, so the network would need no invite.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address, so anyone on the network \
         could join without an invite. Keep --addr on 127.0.0.1 (or [::1]) and use --share \
         (and --share-addr IP) to let people on the network in with an invite"
    )]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The room's messages could not be opened.
    #[error(transparent)]
    Storage(#[from] crate::store::StorageError),
    /// The headless host's token could not be made.
    #[error(transparent)]
    HostToken(#[from] crate::web::HostTokenError),
    /// The OS gave no randomness for the invite secret.
    #[error("no randomness from the operating system: {0}")]
    NoRandomness(getrandom::Error),
    /// Any other failure to bind (permissions, unknown address, …).
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
}

impl From<ListenError> for BindError {
    fn from(err: ListenError) -> Self {
        match err {
            ListenError::AddrInUse { addr } => BindError::AddrInUse { addr },
            ListenError::Io { addr, source } => BindError::Io { addr, source },
        }
    }
}

/// A bound server, and a note if it is not where it was asked to be.
#[derive(Debug)]
pub struct Bound {
    /// The bound server, not yet running.
    pub server: Server,
    /// Set when the asked-for port was taken and another was used.
    pub note: Option<String>,
}

/// Binds `config.addr`; if another program holds that port, tries the next
/// ports, then any free port, so a room is still hosted (and says where).
/// The conversation is opened first: a second Hearth on the same one learns
/// that (`StorageError::Locked`) whatever port it asked for.
pub async fn bind_with_fallback(config: Config) -> Result<Bound, BindError> {
    let wanted = config.addr;
    let room = Server::open_room(&config)?;
    let first_error = match Listeners::bind(wanted).await {
        Ok(listeners) => {
            let server = Server::assemble(config, room, listeners)?;
            return Ok(Bound { server, note: None });
        }
        Err(err @ ListenError::AddrInUse { .. }) => BindError::from(err),
        Err(err) => return Err(err.into()),
    };
    for candidate in fallback_addrs(wanted) {
        if let Ok(listeners) = Listeners::bind(candidate).await {
            let server = Server::assemble(config, room, listeners)?;
            let note = format!(
                "Port {} is in use by another program, so this room is at {}",
                wanted.port(),
                server.url()
            );
            return Ok(Bound {
                server,
                note: Some(note),
            });
        }
    }
    Err(first_error)
}

/// A bound, not yet running room server. Binding is separate from running so
/// the caller learns the real address (or a typed error) before anything runs.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<TcpListener>,
    local_addr: SocketAddr,
    room: Arc<Room>,
    stop_requested: CancellationToken,
    sharing: Sharing,
    /// Serves what the listeners accept (sharing holds it too, for the
    /// network's listeners).
    acceptor: Acceptor,
    /// Kept for as long as the server runs (an ephemeral room's token
    /// directory goes with it).
    host_token: Option<Arc<HostToken>>,
}

impl Server {
    /// Opens the conversation, then binds `config.addr` (see
    /// [`bind_with_fallback`] for a room that moves to a free port).
    pub async fn bind(config: Config) -> Result<Self, BindError> {
        let room = Self::open_room(&config)?;
        let listeners = Listeners::bind(config.addr).await?;
        Self::assemble(config, room, listeners)
    }

    /// The room `config` describes, its conversation open (and locked).
    fn open_room(config: &Config) -> Result<Arc<Room>, BindError> {
        // The network comes in only through sharing's listeners, behind the
        // gate; the main listener is this computer's alone.
        if !config.addr.ip().is_loopback() {
            return Err(BindError::NotLoopback { addr: config.addr });
        }
        Ok(Room::open(config)?)
    }

    /// The server of `room`, listening on `listeners`.
    fn assemble(
        mut config: Config,
        room: Arc<Room>,
        listeners: Listeners,
    ) -> Result<Self, BindError> {
        let Listeners {
            listeners,
            local_addr,
            loopback,
        } = listeners;
        config.addr = local_addr;
        // Made once the data directory is ours (its lock is held), so a
        // second server on it cannot replace the first one's token.
        let host_token = if config.host_routes {
            Some(Arc::new(HostToken::create(&config.storage)?))
        } else {
            None
        };
        let config = Arc::new(config);
        let access = Arc::new(AccessPolicy::new(
            local_addr,
            loopback,
            &config.allowed_origins,
        ));
        let invites = Arc::new(
            Invites::new(GuestLimits {
                per_pass: config.max_connections_per_guest,
                per_address: config.max_connections_per_address,
            })
            .map_err(BindError::NoRandomness)?,
        );
        let parts = SharingParts {
            room: room.clone(),
            invites: invites.clone(),
            access: access.clone(),
            room_port: local_addr.port(),
            wanted: config.share_addrs.clone(),
        };
        let (sharing, acceptor) = Sharing::new(parts, |sharing| {
            let shutdown = CancellationToken::new();
            let tracker = TaskTracker::new();
            let routes = routes(RouteState {
                peer: PeerContext {
                    room: room.clone(),
                    config: config.clone(),
                    room_rate: Arc::new(MessageRate::new(config.room_rate_limit)),
                    room_typing_rate: Arc::new(MessageRate::new(config.room_rate_limit)),
                    shutdown: shutdown.clone(),
                },
                access,
                slots: ClientSlots::new(config.max_clients),
                uploads: Uploads::new(&config, config.rate_limit.map(|_| UPLOAD_RATE)),
                downloads: Downloads::new(&config),
                tracker: tracker.clone(),
                invites,
                host: host_token
                    .clone()
                    .map(|token| HostRoutes { sharing, token }),
            });
            Acceptor {
                routes,
                tracker,
                shutdown,
                pending: PendingConnections::new(config.max_pending_connections),
                network_pending: PendingConnections::new(config.max_pending_connections),
                timeouts: ConnectionTimeouts {
                    header_read: config.header_read_timeout,
                    write: config.connection_write_timeout,
                },
            }
        });
        Ok(Self {
            listeners,
            local_addr,
            room,
            stop_requested: CancellationToken::new(),
            sharing,
            acceptor,
            host_token,
        })
    }

    /// The host's controls for sharing the room with the network.
    pub fn sharing(&self) -> Sharing {
        self.sharing.clone()
    }

    /// Where the host routes' token is, when the server has host routes.
    pub fn host_token_path(&self) -> Option<&std::path::Path> {
        self.host_token.as_deref().map(HostToken::path)
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL a browser on this machine opens to join.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The room, for live stats.
    pub fn room(&self) -> Arc<Room> {
        self.room.clone()
    }

    /// A handle that stops the server when asked.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.stop_requested.clone())
    }

    /// Serves until `signal` completes or a [`ShutdownHandle`] fires, then
    /// closes every peer with 1001 "going away" and returns within 2 s.
    pub async fn run(self, signal: impl Future<Output = ()> + Send) {
        let Server {
            listeners,
            local_addr,
            room,
            stop_requested,
            // Kept to the end: the host routes reach sharing through a weak
            // handle, which lives as long as this.
            sharing: _sharing,
            acceptor,
            host_token,
        } = self;
        let presence = tokio::spawn(Room::announce_presence(Arc::downgrade(&room)));
        log::info!("listening on http://{local_addr}");

        tokio::pin!(signal);
        loop {
            let (stream, addr) = tokio::select! {
                () = &mut signal => break,
                () = stop_requested.cancelled() => break,
                accepted = accept_any(&listeners) => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        backoff_after_accept_error(&err).await;
                        continue;
                    }
                },
            };
            acceptor.serve(stream, addr, Via::Loopback(addr));
        }

        let open = room.stats().connections;
        log::info!("shutting down: closing {open} connections");
        room.close();
        // Network listeners and their connections end with this too.
        acceptor.shutdown.cancel();
        drop(listeners);
        let tracker = acceptor.tracker.clone();
        drop(acceptor);
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_DEADLINE, tracker.wait())
            .await
            .is_err()
        {
            log::warn!(
                "{} connections did not close in time; abandoning them",
                tracker.len()
            );
        }
        presence.abort();
        // The last step: the data directory is free for the next server.
        if tokio::time::timeout(STORAGE_CLOSE_DEADLINE, room.close_storage())
            .await
            .is_err()
        {
            log::warn!("the database did not close in time");
        }
        drop(host_token);
        log::info!("room closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Storage, StorageError};

    fn loopback(port: u16) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn a_free_port_is_used_as_is() {
        let bound = bind_with_fallback(loopback(0)).await.expect("bind");
        assert!(bound.note.is_none());
    }

    #[tokio::test]
    async fn a_taken_port_falls_back_to_another_and_says_so() {
        let holder = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("hold a port");
        let taken = holder.local_addr().expect("addr").port();
        let bound = bind_with_fallback(loopback(taken)).await.expect("fallback");
        let got = bound.server.local_addr().port();
        assert_ne!(got, taken);
        let note = bound.note.expect("a note");
        assert!(note.contains(&taken.to_string()), "{note}");
        assert!(note.contains(&bound.server.url()), "{note}");
    }

    /// A second Hearth on the same conversation, at the same address or
    /// at the default one that falls back, learns the conversation is open
    /// (so the desktop app hands over to the running one), never that the
    /// port is taken.
    #[tokio::test]
    async fn a_second_room_on_the_same_conversation_is_told_it_is_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let on_disk = |port| Config {
            storage: Storage::Dir(dir.path().to_owned()),
            ..loopback(port)
        };
        let first = bind_with_fallback(on_disk(0)).await.expect("the first");
        let port = first.server.local_addr().port();
        let locked =
            |err: &BindError| matches!(err, BindError::Storage(StorageError::Locked { .. }));
        let again = bind_with_fallback(on_disk(port))
            .await
            .expect_err("refused");
        assert!(locked(&again), "{again}");
        let again = Server::bind(on_disk(port)).await.expect_err("refused");
        assert!(locked(&again), "{again}");
    }

    #[tokio::test]
    async fn a_network_address_is_refused_and_points_to_share() {
        for addr in ["0.0.0.0:0", "[::]:0"] {
            let config = Config {
                addr: addr.parse().expect("addr"),
                ..Config::default()
            };
            let err = Server::bind(config).await.expect_err("refused");
            assert!(matches!(err, BindError::NotLoopback { .. }), "{err}");
            assert!(err.to_string().contains("--share"), "{err}");
        }
    }
}
