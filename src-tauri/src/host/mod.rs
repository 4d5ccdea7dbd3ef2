//! The room the app hosts: running it on Tauri's async runtime and stopping
//! it gracefully, once; and the host panel's commands about it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hearth_server::{Bound, Room, Sharing, ShutdownHandle};
use tauri::async_runtime::JoinHandle;

use serde::Serialize;

pub mod commands;

/// Where the room is, for the host panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    /// The address browsers open.
    pub url: String,
    /// Why it is not the usual address, if it is not.
    pub note: Option<String>,
    /// Where the conversation is kept; `None` for an ephemeral room.
    pub data_dir: Option<String>,
}

/// The server closes within 2 s; a little more for its task to report back.
const STOP_DEADLINE: Duration = Duration::from_millis(2500);

/// Why stopping did not end with a cleanly closed room.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    /// The server did not finish closing in time.
    #[error("the room did not close within {STOP_DEADLINE:?}")]
    TimedOut,
    /// The server task ended abnormally.
    #[error("the room's task failed: {0}")]
    Crashed(String),
    /// Another caller is stopping it, or has.
    #[error("the room is already being stopped")]
    AlreadyStopping,
}

/// Where the room is in its life.
#[derive(Debug)]
enum Stage {
    Running(JoinHandle<()>),
    Stopping,
    Stopped,
}

/// The room the app hosts, shared with commands and the exit handler.
#[derive(Debug)]
pub struct HostedRoom {
    /// Where it is, for the host panel.
    pub info: RoomInfo,
    /// Live stats.
    pub room: Arc<Room>,
    /// The host's controls for sharing with the network.
    pub sharing: Sharing,
    shutdown: ShutdownHandle,
    stage: Mutex<Stage>,
}

impl HostedRoom {
    /// Starts serving `bound` on Tauri's async runtime.
    pub fn start(bound: Bound) -> Self {
        let Bound { server, note } = bound;
        let room = server.room();
        let info = RoomInfo {
            url: server.url(),
            note,
            data_dir: room.storage().dir().map(|dir| dir.display().to_string()),
        };
        let shutdown = server.shutdown_handle();
        let sharing = server.sharing();
        let task = tauri::async_runtime::spawn(server.run(std::future::pending()));
        Self {
            info,
            room,
            sharing,
            shutdown,
            stage: Mutex::new(Stage::Running(task)),
        }
    }

    fn stage(&self) -> MutexGuard<'_, Stage> {
        // Each update is one assignment: never left half done.
        self.stage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the room has finished stopping (in time or not).
    pub fn is_stopped(&self) -> bool {
        matches!(*self.stage(), Stage::Stopped)
    }

    /// Closes every connection with 1001 and waits (at most about 2 s) for
    /// the server to finish; only the first caller does, later ones get
    /// [`StopError::AlreadyStopping`]. Says whether the room closed in time;
    /// either way it counts as stopped afterwards, so the app can exit.
    pub async fn stop(&self) -> Result<(), StopError> {
        let previous = std::mem::replace(&mut *self.stage(), Stage::Stopping);
        let task = match previous {
            Stage::Running(task) => task,
            other => {
                *self.stage() = other;
                return Err(StopError::AlreadyStopping);
            }
        };
        log::info!("closing the room");
        self.shutdown.shutdown();
        let outcome = match tokio::time::timeout(STOP_DEADLINE, task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(StopError::Crashed(err.to_string())),
            Err(_) => Err(StopError::TimedOut),
        };
        *self.stage() = Stage::Stopped;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{SinkExt, StreamExt};
    use hearth_server::{bind_with_fallback, Config};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::Message;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_closes_every_client_with_1001_and_says_it_did() {
        let config = Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        let hosted = HostedRoom::start(bind_with_fallback(config).await.expect("bind"));
        let url = hosted.info.url.replace("http://", "ws://") + "/ws";
        let (mut client, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connects");
        client
            .send(Message::text(r#"{"type":"hello","name":"guest"}"#))
            .await
            .expect("hello");
        let read_to_close = async {
            loop {
                match client.next().await {
                    Some(Ok(Message::Close(close))) => break close.map(|c| c.code),
                    Some(Ok(_)) => continue,
                    _ => break None,
                }
            }
        };
        let patience = Duration::from_secs(10);
        let (stopped, close) =
            tokio::join!(hosted.stop(), tokio::time::timeout(patience, read_to_close));
        let close = close.expect("the client hears the close in time");
        assert!(stopped.is_ok(), "{stopped:?}");
        assert_eq!(close, Some(CloseCode::Away));
        assert!(hosted.is_stopped());
        assert!(matches!(
            hosted.stop().await,
            Err(StopError::AlreadyStopping)
        ));
    }
}
