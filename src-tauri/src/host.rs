//! Hosting the room for the app: binding with a fallback port, running it on
//! Tauri's async runtime, and stopping it gracefully.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hearth_server::{BindError, Config, Room, Server, ShutdownHandle};
use tauri::async_runtime::JoinHandle;

/// How many ports after the asked-for one are tried before letting the OS pick.
const FALLBACK_PORTS: u16 = 20;

/// The server closes within 2 s; a little more for the task to report back.
const STOP_DEADLINE: Duration = Duration::from_millis(2500);

/// Why the room did not close cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    /// The server did not finish closing in time.
    #[error("the room did not close within {STOP_DEADLINE:?}")]
    TimedOut,
    /// The server task ended abnormally.
    #[error("the room's task failed: {0}")]
    Crashed(String),
    /// Another caller is already stopping it.
    #[error("the room is already being stopped")]
    AlreadyStopping,
}

/// A bound room, and a note if it is not where it was asked to be.
#[derive(Debug)]
pub struct Bound {
    /// The bound server, not yet running.
    pub server: Server,
    /// Set when the asked-for port was taken and another was used.
    pub note: Option<String>,
}

/// Binds `config.addr`; if another program holds that port, tries the next
/// ports, then any free port, so the app still hosts a room (and says where).
pub async fn bind_with_fallback(config: Config) -> Result<Bound, BindError> {
    let wanted = config.addr;
    let first_error = match Server::bind(config.clone()).await {
        Ok(server) => return Ok(Bound { server, note: None }),
        Err(err @ BindError::AddrInUse { .. }) => err,
        Err(err) => return Err(err),
    };
    for candidate in fallback_addrs(wanted) {
        let attempt = Config {
            addr: candidate,
            ..config.clone()
        };
        if let Ok(server) = Server::bind(attempt).await {
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

/// The addresses tried after `wanted`: the next ports, then port 0.
fn fallback_addrs(wanted: SocketAddr) -> Vec<SocketAddr> {
    let mut addrs: Vec<SocketAddr> = (1..=FALLBACK_PORTS)
        .filter_map(|offset| wanted.port().checked_add(offset))
        .map(|port| SocketAddr::new(wanted.ip(), port))
        .collect();
    addrs.push(SocketAddr::new(wanted.ip(), 0));
    addrs
}

/// The room the app hosts, shared with commands and the exit handler.
#[derive(Debug)]
pub struct HostedRoom {
    /// Where browsers join, e.g. `http://127.0.0.1:7070`.
    pub url: String,
    /// Why the address differs from the usual one, if it does.
    pub note: Option<String>,
    /// Live stats.
    pub room: Arc<Room>,
    shutdown: ShutdownHandle,
    task: Mutex<Option<JoinHandle<()>>>,
    stopping: AtomicBool,
    stopped: AtomicBool,
}

impl HostedRoom {
    /// Starts serving `bound` on Tauri's async runtime.
    pub fn start(bound: Bound) -> Self {
        let Bound { server, note } = bound;
        let url = server.url();
        let room = server.room();
        let shutdown = server.shutdown_handle();
        let task = tauri::async_runtime::spawn(server.run(std::future::pending()));
        Self {
            url,
            note,
            room,
            shutdown,
            task: Mutex::new(Some(task)),
            stopping: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }

    /// Whether the room has finished shutting down.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Claims the right to stop the room; true for the first caller only.
    pub fn begin_stop(&self) -> bool {
        !self.stopping.swap(true, Ordering::SeqCst)
    }

    /// Closes every connection with 1001 and waits (at most about 2 s) for
    /// the server to finish. Says whether it did; either way the room counts
    /// as stopped afterwards, so the app can exit.
    pub async fn stop(&self) -> Result<(), StopError> {
        log::info!("closing the room");
        self.shutdown.shutdown();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let outcome = match task {
            None => Err(StopError::AlreadyStopping),
            Some(task) => match tokio::time::timeout(STOP_DEADLINE, task).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(StopError::Crashed(err.to_string())),
                Err(_) => Err(StopError::TimedOut),
            },
        };
        self.stopped.store(true, Ordering::SeqCst);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_closes_every_client_with_1001_and_says_it_did() {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
        use tokio_tungstenite::tungstenite::Message;

        let hosted = HostedRoom::start(bind_with_fallback(loopback(0)).await.expect("bind"));
        let url = hosted.url.replace("http://", "ws://") + "/ws";
        let (mut client, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connects");
        client
            .send(Message::text(r#"{"type":"hello","name":"guest"}"#))
            .await
            .expect("hello");
        assert!(hosted.begin_stop());
        assert!(!hosted.begin_stop());
        let (stopped, close) = tokio::join!(hosted.stop(), async {
            loop {
                match client.next().await {
                    Some(Ok(Message::Close(close))) => break close.map(|c| c.code),
                    Some(Ok(_)) => continue,
                    _ => break None,
                }
            }
        });
        assert!(stopped.is_ok(), "{stopped:?}");
        assert_eq!(close, Some(CloseCode::Away));
        assert!(hosted.is_stopped());
        assert!(matches!(
            hosted.stop().await,
            Err(StopError::AlreadyStopping)
        ));
    }
}
