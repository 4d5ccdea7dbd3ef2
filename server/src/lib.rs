//! Hearth's room server: a WebSocket chat room on warp, with the web UI
//! embedded. Used headless by the `hearth-server` binary and in-process by
//! the desktop app.
//!
//! ```no_run
//! # async fn example() -> Result<(), hearth_server::BindError> {
//! let server = hearth_server::Server::bind(hearth_server::Config::default()).await?;
//! log::info!("join at {}", server.url());
//! server.run(hearth_server::stop_signal()).await;
//! # Ok(())
//! # }
//! ```
//!
//! The modules follow the concepts: `room` (who is here, what was said, the
//! fan-out, each peer's queue), `peer` (one connection), `protocol` (the
//! frames), `web` (routes, access checks, the embedded page and its policy),
//! `server` (listening and accepting), `limits`, `shutdown`, and `headless`
//! (the entry point the binaries share).

mod config;
mod headless;
mod limits;
mod panics;
mod peer;
mod protocol;
mod room;
mod server;
mod share;
mod shutdown;
mod store;
mod web;

pub use config::{
    platform_data_dir, Config, RateLimit, ServerArgs, ShareAddr, UploadPace, DEFAULT_ADDR,
};
pub use headless::{host_until_signal, print_address, HostOptions};
pub use limits::{raise_open_files_limit, release_memory_eagerly};
pub use panics::count_panics;
pub use room::{Person, Room, RoomCounters, RoomStats};
pub use server::{bind_with_fallback, BindError, Bound, Server};
pub use share::{ShareError, ShareStatus, Sharing};
pub use shutdown::{stop_signal, ShutdownHandle};
pub use store::{
    export, ExportError, ExportFormat, Exported, Retention, Storage, StorageError, DATABASE_FILE,
};
pub use web::{content_security_policy, DESKTOP_WEBVIEW_ORIGIN, VERSION};
