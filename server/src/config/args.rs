//! The command-line flags (each also an environment variable) of the
//! room server, shared by `hearth-server` and `hearth --headless`, and the
//! [`Config`] they make.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;

use crate::store::{Retention, Storage};

use super::{
    Config, RateLimit, ShareAddr, UploadPace, DEFAULT_ADDR, DEFAULT_CONCURRENT_UPLOADS,
    DEFAULT_CONNECTIONS_PER_ADDRESS, DEFAULT_CONNECTIONS_PER_GUEST, DEFAULT_DIRECTS_PER_HOUR,
    DEFAULT_HISTORY, DEFAULT_JOIN_SECS, DEFAULT_MAX_CLIENTS, DEFAULT_MAX_DOWNLOADS,
    DEFAULT_MAX_DOWNLOADS_PER_ADDRESS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PERSON_FILES_BYTES,
    DEFAULT_MAX_ROOMS, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_PING_SECS, DEFAULT_RATE,
    DEFAULT_ROOM_RATE, DEFAULT_SEND_QUEUE_BYTES, DEFAULT_UPLOAD_MIN_RATE,
};

/// Command-line flags of the room server, shared by `hearth-server` and `hearth --headless`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port (the log shows the real one).
    #[arg(long, env = "HEARTH_ADDR", default_value_t = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Number of recent messages a newcomer receives on joining.
    #[arg(long, env = "HEARTH_HISTORY", default_value_t = DEFAULT_HISTORY)]
    pub history: usize,

    /// Most people connected at once; further connections get HTTP 503.
    /// Some are kept for this computer, so the network cannot take them all.
    #[arg(long, env = "HEARTH_MAX_CLIENTS", default_value_t = DEFAULT_MAX_CLIENTS)]
    pub max_clients: usize,

    /// Connections one guest on the network (one browser's invite pass) may
    /// hold open; more get 429.
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS_PER_GUEST", default_value_t = DEFAULT_CONNECTIONS_PER_GUEST,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_connections_per_guest: usize,

    /// Connections one address on the network may hold open; more get 429.
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = DEFAULT_CONNECTIONS_PER_ADDRESS,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_connections_per_address: usize,

    /// Largest WebSocket message in bytes; a larger one closes that connection (code 1009).
    #[arg(long, env = "HEARTH_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES as usize,
          value_parser = clap::value_parser!(u32).range(256..).map(|v| v as usize))]
    pub max_message_bytes: usize,

    /// Sustained messages per second per connection; 0 turns rate limiting off.
    #[arg(
        long,
        env = "HEARTH_RATE_LIMIT",
        value_name = "MSGS_PER_S",
        default_value_t = DEFAULT_RATE.per_second
    )]
    pub rate_limit: u32,

    /// Messages a connection may send at once before the rate limit applies.
    #[arg(long, env = "HEARTH_RATE_BURST", default_value_t = DEFAULT_RATE.burst)]
    pub rate_burst: u32,

    /// Sustained messages per second for the whole room, all connections
    /// together; 0 turns this ceiling off.
    #[arg(
        long,
        env = "HEARTH_ROOM_RATE_LIMIT",
        value_name = "MSGS_PER_S",
        default_value_t = DEFAULT_ROOM_RATE.per_second
    )]
    pub room_rate_limit: u32,

    /// Messages the whole room may receive at once before its ceiling applies.
    #[arg(long, env = "HEARTH_ROOM_RATE_BURST", default_value_t = DEFAULT_ROOM_RATE.burst)]
    pub room_rate_burst: u32,

    /// Also accept this browser origin (repeatable), e.g. `http://mybox.local:7070`:
    /// pages from it may open the WebSocket, and its host is accepted in the Host header.
    /// Same-origin pages on 127.0.0.1 are always allowed.
    #[arg(
        long = "allow-origin",
        env = "HEARTH_ALLOW_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub allow_origin: Vec<String>,

    /// Seconds a new connection has to join (say `hello`) before it is closed.
    #[arg(long, env = "HEARTH_JOIN_TIMEOUT", value_name = "SECS", default_value_t = DEFAULT_JOIN_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub join_timeout: u64,

    /// Seconds between server pings; a client silent for three intervals is dropped.
    #[arg(long, env = "HEARTH_PING_INTERVAL", value_name = "SECS", default_value_t = DEFAULT_PING_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub ping_interval: u64,

    /// Send-queue budget per client in bytes; a client that falls this far behind is dropped.
    #[arg(long, env = "HEARTH_SEND_QUEUE_BYTES", default_value_t = DEFAULT_SEND_QUEUE_BYTES as usize,
          value_parser = clap::value_parser!(u64).range(1024..).map(|v| v as usize))]
    pub send_queue_bytes: usize,

    /// Largest file people may send (pictures included), in bytes.
    #[arg(long, env = "HEARTH_MAX_UPLOAD_BYTES", value_name = "BYTES",
          default_value_t = DEFAULT_MAX_UPLOAD_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_upload_bytes: u64,

    /// All files people send together, in bytes (unsent ones included).
    /// Default: 2 GiB or a tenth of the free disk space at start, whichever
    /// is smaller; 256 MiB with --ephemeral (kept in memory).
    #[arg(long, env = "HEARTH_MAX_FILES_BYTES", value_name = "BYTES")]
    pub max_files_bytes: Option<u64>,

    /// One person's files together, in bytes.
    #[arg(long, env = "HEARTH_MAX_PERSON_FILES_BYTES", value_name = "BYTES",
          default_value_t = DEFAULT_MAX_PERSON_FILES_BYTES)]
    pub max_person_files_bytes: u64,

    /// Rooms the house may have, General included.
    #[arg(long, env = "HEARTH_MAX_ROOMS", default_value_t = DEFAULT_MAX_ROOMS,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_rooms: usize,

    /// New people one person may open direct conversations with in an hour.
    #[arg(long, env = "HEARTH_MAX_DIRECTS_PER_HOUR", default_value_t = DEFAULT_DIRECTS_PER_HOUR,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_directs_per_hour: usize,

    /// Let everyone make rooms, not only the host.
    #[arg(long, env = "HEARTH_ANYONE_CREATES_ROOMS")]
    pub anyone_creates_rooms: bool,

    /// Files being downloaded at once, by everyone; more get 503.
    #[arg(long, env = "HEARTH_MAX_DOWNLOADS", default_value_t = DEFAULT_MAX_DOWNLOADS,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_downloads: usize,

    /// Files being downloaded at once from one address; more get 503.
    #[arg(long, env = "HEARTH_MAX_DOWNLOADS_PER_ADDRESS",
          default_value_t = DEFAULT_MAX_DOWNLOADS_PER_ADDRESS,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_downloads_per_address: usize,

    /// Files received at once, from everyone; more get 503 (busy).
    #[arg(long, env = "HEARTH_MAX_CONCURRENT_UPLOADS", default_value_t = DEFAULT_CONCURRENT_UPLOADS,
          value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub max_concurrent_uploads: usize,

    /// Slowest an upload may arrive, in bytes per second (after 10 s of
    /// grace); slower ones are cut off (408, too_slow).
    #[arg(long, env = "HEARTH_UPLOAD_MIN_RATE", value_name = "BYTES_PER_SEC",
          default_value_t = DEFAULT_UPLOAD_MIN_RATE,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_min_rate: u64,

    /// Keep the conversation in this directory (created if missing).
    /// Default: the platform's data directory, e.g. `~/.local/share/hearth`.
    #[arg(
        long,
        env = "HEARTH_DATA_DIR",
        value_name = "DIR",
        conflicts_with = "ephemeral"
    )]
    pub data_dir: Option<PathBuf>,

    /// Keep nothing on disk: the conversation lives in memory and ends with
    /// the process.
    #[arg(long, env = "HEARTH_EPHEMERAL")]
    pub ephemeral: bool,

    /// Delete messages older than this many days (checked every minute).
    /// Default: keep everything.
    #[arg(long, env = "HEARTH_RETAIN_DAYS", value_name = "DAYS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retain_days: Option<u64>,

    /// Keep only the newest this many messages. Default: keep everything.
    #[arg(long, env = "HEARTH_RETAIN_MESSAGES", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retain_messages: Option<u64>,

    /// Share the room with the network: people on it can join with the
    /// invite link printed at start (also at `http://127.0.0.1:PORT/invite`).
    /// Messages travel unencrypted: share only on networks you trust.
    #[arg(long, env = "HEARTH_SHARE")]
    pub share: bool,

    /// Where to share: `IP` or `IP:PORT`, repeatable or comma-separated.
    /// Default: this machine's network (non-loopback IPv4) addresses, on the
    /// room's port when free.
    #[arg(
        long,
        env = "HEARTH_SHARE_ADDR",
        value_name = "IP[:PORT]",
        value_delimiter = ','
    )]
    pub share_addr: Vec<ShareAddr>,

    /// Once listening, print the room's address (`http://IP:PORT`) alone on one
    /// line of standard output: the stable way for scripts to learn the port.
    #[arg(long, env = "HEARTH_PRINT_ADDRESS")]
    pub print_address: bool,
}

/// The platform's data directory for Hearth (`$XDG_DATA_HOME/hearth` on
/// Linux), if the system has one.
pub fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "hearth").map(|dirs| dirs.data_dir().to_owned())
}

impl ServerArgs {
    /// Where these flags say to keep messages: `--ephemeral`, `--data-dir`,
    /// or else `default_dir`. With no directory at all, nothing can be
    /// kept: the room is ephemeral, and the log says so.
    pub fn storage(&self, default_dir: Option<PathBuf>) -> Storage {
        if self.ephemeral {
            return Storage::Ephemeral;
        }
        match self.data_dir.clone().or(default_dir) {
            Some(dir) => Storage::Dir(dir),
            None => {
                log::warn!(
                    "no data directory on this system: pass --data-dir to keep the conversation"
                );
                Storage::Ephemeral
            }
        }
    }

    /// The settings these flags describe, keeping messages in `storage`.
    pub fn into_config(self, storage: Storage) -> Config {
        let retention = Retention {
            max_age: self
                .retain_days
                .map(|days| Duration::from_secs(days.saturating_mul(86_400))),
            max_messages: self.retain_messages,
        };
        let args = self;
        Config {
            storage,
            retention,
            addr: args.addr,
            history: args.history,
            max_clients: args.max_clients,
            max_message_bytes: args.max_message_bytes,
            rate_limit: (args.rate_limit > 0).then(|| RateLimit {
                per_second: args.rate_limit,
                burst: args.rate_burst.max(1),
            }),
            room_rate_limit: (args.room_rate_limit > 0).then(|| RateLimit {
                per_second: args.room_rate_limit,
                burst: args.room_rate_burst.max(1),
            }),
            allowed_origins: args.allow_origin,
            ping_interval: Duration::from_secs(args.ping_interval),
            join_timeout: Duration::from_secs(args.join_timeout),
            send_queue_bytes: args.send_queue_bytes,
            max_upload_bytes: args.max_upload_bytes,
            max_files_bytes: args.max_files_bytes,
            max_person_files_bytes: args.max_person_files_bytes,
            max_rooms: args.max_rooms,
            max_directs_per_hour: args.max_directs_per_hour,
            anyone_creates_rooms: args.anyone_creates_rooms,
            max_downloads: args.max_downloads,
            max_downloads_per_address: args.max_downloads_per_address,
            max_connections_per_guest: args.max_connections_per_guest,
            max_connections_per_address: args.max_connections_per_address,
            max_concurrent_uploads: args.max_concurrent_uploads,
            upload_pace: UploadPace {
                min_bytes_per_sec: args.upload_min_rate,
                ..UploadPace::default()
            },
            share_on_start: args.share,
            share_addrs: args.share_addr,
            ..Config::default()
        }
    }
}

/// The headless server's settings: messages in `--data-dir`, or the
/// platform's data directory.
impl From<ServerArgs> for Config {
    fn from(args: ServerArgs) -> Self {
        let storage = args.storage(platform_data_dir());
        args.into_config(storage)
    }
}
