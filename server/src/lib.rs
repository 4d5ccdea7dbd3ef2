//! Hearth's room server: a WebSocket chat room on warp, with the web UI
//! embedded. Used headless by the `hearth-server` binary and in-process by
//! the desktop app.
//!
//! ```no_run
//! # async fn example() -> Result<(), hearth_server::BindError> {
//! let server = hearth_server::Server::bind(hearth_server::Config::default()).await?;
//! println!("join at {}", server.url());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(())
//! # }
//! ```

pub mod access;
pub mod assets;
pub mod config;
pub mod history;
pub mod limits;
pub mod names;
pub mod outbox;
pub mod peer;
pub mod protocol;
pub mod room;
pub mod routes;
pub mod server;

pub use config::{Config, RateLimit, ServerArgs};
pub use room::{Room, RoomStats};
pub use server::{stop_signal, BindError, Server, ShutdownHandle};

/// This crate's version, reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
