//! The listener: binds the address, accepts connections with our socket
//! options and limits, serves each with hyper + the warp routes, and shuts
//! everything down gracefully.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service as _;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::access::AccessPolicy;
use crate::config::Config;
use crate::limits::ClientSlots;
use crate::peer::PeerContext;
use crate::room::Room;
use crate::routes::{routes, PeerAddr, RouteState};

/// Shutdown must finish within this; sessions that have not closed by then
/// are abandoned.
const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(1800);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another program is listening on the address.
    #[error("cannot listen on {addr}: the address is already in use (is Hearth already running?)")]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Any other failure to bind (permissions, unknown address, …).
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
}

/// Stops a running server from anywhere; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Starts a graceful shutdown; [`Server::run`] returns once it is done.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

/// A bound, not yet running room server. Binding is separate from running so
/// the caller learns the real address (or a typed error) before anything runs.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<Config>,
    room: Arc<Room>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Server {
    /// Binds `config.addr`.
    pub async fn bind(config: Config) -> Result<Self, BindError> {
        let addr = config.addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                BindError::AddrInUse { addr }
            } else {
                BindError::Io { addr, source }
            }
        })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| BindError::Io { addr, source })?;
        let room = Arc::new(Room::new(config.history, config.max_message_bytes));
        Ok(Self {
            listener,
            local_addr,
            config: Arc::new(config),
            room,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        })
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
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until `signal` completes or a [`ShutdownHandle`] fires, then
    /// closes every peer with 1001 "going away" and returns within 2 s.
    pub async fn run(self, signal: impl Future<Output = ()> + Send) {
        let Server {
            listener,
            local_addr,
            config,
            room,
            shutdown,
            tracker,
        } = self;
        let access = Arc::new(AccessPolicy::new(local_addr, &config.allowed_origins));
        let routes = routes(RouteState {
            peer: PeerContext {
                room: room.clone(),
                config: config.clone(),
                shutdown: shutdown.clone(),
            },
            access,
            slots: ClientSlots::new(config.max_clients),
            tracker: tracker.clone(),
        });
        let pending = Arc::new(Semaphore::new(config.max_pending_connections));
        log::info!("listening on http://{local_addr}");

        tokio::pin!(signal);
        loop {
            let (stream, addr) = tokio::select! {
                () = &mut signal => break,
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        backoff_after_accept_error(&err).await;
                        continue;
                    }
                },
            };
            let Ok(permit) = pending.clone().try_acquire_owned() else {
                log::debug!("too many pending connections: dropped {addr}");
                continue;
            };
            if let Err(err) = stream.set_nodelay(true) {
                log::debug!("TCP_NODELAY on {addr}: {err}");
            }
            let connection = serve_connection(
                stream,
                addr,
                routes.clone(),
                shutdown.clone(),
                permit,
                config.header_read_timeout,
            );
            tracker.spawn(connection);
        }

        let open = room.stats().connections;
        log::info!("shutting down: closing {open} connections");
        room.close();
        shutdown.cancel();
        drop(listener);
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
        log::info!("room closed");
    }
}

/// Serves one HTTP connection; WebSocket upgrades continue in their own task.
async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    routes: BoxedFilter<(Response,)>,
    shutdown: CancellationToken,
    _pending: OwnedSemaphorePermit,
    header_read_timeout: Duration,
) {
    let service = hyper::service::service_fn(move |mut request| {
        request.extensions_mut().insert(PeerAddr(addr));
        warp::service(routes.clone()).call(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        log::debug!("connection from {addr}: {err}");
    }
}

/// Accept errors are usually transient (a peer reset before we accepted it);
/// running out of file descriptors is not, so pause instead of spinning.
async fn backoff_after_accept_error(err: &io::Error) {
    match err.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionRefused => {}
        _ => {
            log::error!("accept failed: {err}; pausing for 100 ms");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM, and logs which: the signals
/// that ask a host process (headless server or desktop app) to close the room.
pub async fn stop_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            log::error!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                log::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => log::info!("Ctrl-C received"),
        () = terminate => log::info!("SIGTERM received"),
    }
}
