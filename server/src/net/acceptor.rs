//! Accepting connections: each accepted socket tuned and served by hyper
//! with the routes, under the caps on connections still sending their
//! request, tracked so that shutdown can wait for it.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service as _;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::Via;
use crate::limits::{PendingConnections, PendingPlace};

/// The kernel send buffer of each connection (Linux doubles it): plenty for
/// chat and for bursts to readers, little for a client that stops reading.
const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// How long an HTTP connection asked to close may take to finish the request
/// it is serving.
const CONNECTION_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How accepted connections are served: the routes, the tasks shutdown
/// waits for, and the caps on connections still sending their request
/// (one for loopback, one for the network, so the network cannot crowd
/// this computer out). Shared by the loopback loop and the network listeners.
#[derive(Clone)]
pub(crate) struct Acceptor {
    pub(crate) routes: BoxedFilter<(Response,)>,
    pub(crate) tracker: TaskTracker,
    /// Sessions and connections watch this one: cancelled only once the
    /// room is marked closing.
    pub(crate) shutdown: CancellationToken,
    pub(crate) pending: PendingConnections,
    pub(crate) network_pending: PendingConnections,
    pub(crate) timeouts: ConnectionTimeouts,
}

/// How long an HTTP connection may make the server wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionTimeouts {
    /// For the request's headers.
    pub(crate) header_read: Duration,
    /// For the client to take bytes of one write: a download nobody reads
    /// does not hold its place (and its file) for ever. WebSocket peers
    /// are dropped sooner by their own write timeout.
    pub(crate) write: Duration,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor")
            .field("tracker", &self.tracker)
            .finish_non_exhaustive()
    }
}

impl Acceptor {
    /// Serves one accepted connection in its own tracked task.
    pub(crate) fn serve(&self, stream: TcpStream, addr: SocketAddr, via: Via) {
        tune_socket(&stream, addr);
        let (place, close) = match &via {
            Via::Loopback(_) => (self.pending.admit(), self.shutdown.clone()),
            Via::Network(_, stop) => (self.network_pending.admit(), stop.clone()),
        };
        let connection = serve_connection(
            stream,
            addr,
            via,
            self.routes.clone(),
            close,
            place,
            self.timeouts,
        );
        self.tracker.spawn(connection);
    }

    /// A token that ends with the server, for one spell of sharing; `None`
    /// once the server is shutting down.
    pub(crate) fn child_token(&self) -> Option<CancellationToken> {
        (!self.shutdown.is_cancelled()).then(|| self.shutdown.child_token())
    }

    /// Accepts connections on a network listener until `stop` is cancelled;
    /// each is served as coming from the network.
    pub(crate) fn spawn_network_listener(&self, listener: TcpListener, stop: CancellationToken) {
        let acceptor = self.clone();
        self.tracker.spawn(async move {
            loop {
                let (stream, addr) = tokio::select! {
                    () = stop.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(err) => {
                            backoff_after_accept_error(&err).await;
                            continue;
                        }
                    },
                };
                acceptor.serve(stream, addr, Via::Network(addr, stop.clone()));
            }
            // Dropping the listener here: the address stops answering.
        });
    }
}

/// Sets what every accepted socket needs: no Nagle delay for lone chat
/// messages, and a bounded kernel send buffer. Left to autotuning, the kernel
/// would absorb megabytes for a client that never reads, so a `welcome` it
/// never takes would look delivered and the write timeout would never see it.
fn tune_socket(stream: &TcpStream, addr: SocketAddr) {
    if let Err(err) = stream.set_nodelay(true) {
        log::debug!("TCP_NODELAY on {addr}: {err}");
    }
    if let Err(err) = socket2::SockRef::from(stream).set_send_buffer_size(SEND_BUFFER_BYTES) {
        log::debug!("SO_SNDBUF on {addr}: {err}");
    }
}

/// Accepts the next connection on whichever listener has one.
pub(crate) async fn accept_any(listeners: &[TcpListener]) -> io::Result<(TcpStream, SocketAddr)> {
    poll_fn(|cx| {
        for listener in listeners {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted);
            }
        }
        Poll::Pending
    })
    .await
}

/// Serves one HTTP connection; WebSocket upgrades continue in their own task.
/// Asked to close (server shutdown, or a newer connection needs its place
/// under the pending cap), it finishes the request in progress, if any.
async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    via: Via,
    routes: BoxedFilter<(Response,)>,
    shutdown: CancellationToken,
    place: PendingPlace,
    timeouts: ConnectionTimeouts,
) {
    let service = hyper::service::service_fn(move |mut request| {
        request.extensions_mut().insert(via.clone());
        warp::service(routes.clone()).call(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
    stream.set_write_timeout(Some(timeouts.write));
    let connection = builder
        .serve_connection(TokioIo::new(Box::pin(stream)), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => Some(result),
        () = shutdown.cancelled() => None,
        () = place.make_room.cancelled() => {
            log::debug!("too many pending connections: closing the oldest, from {addr}");
            None
        }
    };
    let result = match result {
        Some(result) => result,
        None => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(CONNECTION_CLOSE_GRACE, connection).await {
                Ok(result) => result,
                Err(_) => return,
            }
        }
    };
    drop(place);
    if let Err(err) = result {
        log::debug!("connection from {addr}: {err}");
    }
}

/// Accept errors are usually transient (a peer reset before we accepted it);
/// running out of file descriptors is not, so pause instead of spinning.
pub(crate) async fn backoff_after_accept_error(err: &io::Error) {
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
