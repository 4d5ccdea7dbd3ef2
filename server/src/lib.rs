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
//! The modules follow the concepts, lower layers first: `model` (people,
//! messages, the rules for names and text; uses nothing), `action` (each
//! change people make, from frame to store to event), `protocol` (the
//! frames), `store` (SQLite), `room` (who is here, what was said, the
//! fan-out, each peer's queue), `session` (one connection), `net`
//! (listeners, accepting, access checks), `share` (the network and its
//! invite), `web` (the routes), `app` (the server put together, shutdown,
//! the headless entry point), with `config`, `limits`, `os` and `panics`
//! beside them.

mod action;
mod app;
mod config;
mod limits;
mod model;
mod net;
mod os;
mod panics;
mod protocol;
mod room;
mod session;
mod share;
mod store;
mod web;

pub use app::headless::{host_until_signal, print_address, HostOptions};
pub use app::server::{bind_with_fallback, BindError, Bound, Server};
pub use app::shutdown::{stop_signal, ShutdownHandle};
pub use config::{
    platform_data_dir, Config, RateLimit, ServerArgs, ShareAddr, UploadPace, DEFAULT_ADDR,
};
pub use net::DESKTOP_WEBVIEW_ORIGIN;
pub use os::{raise_open_files_limit, release_memory_eagerly};
pub use panics::count_panics;
pub use protocol::{ErrorCode, RoomView};
pub use room::{Person, Refused, Room, RoomCounters, RoomEdit, RoomStats};
pub use share::{ShareError, ShareStatus, Sharing};
pub use store::{
    export, ExportError, ExportFormat, Exported, ExportedRoom, Retention, Storage, StorageError,
    DATABASE_FILE,
};
pub use web::{content_security_policy, VERSION};
