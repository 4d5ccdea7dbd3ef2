//! Server settings, and the command-line flags (each also an environment
//! variable) that set them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;

use crate::store::{Retention, Storage};

/// The default address: loopback only, so nothing off this machine can join.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7070));

// Each default once: `Config::default()` and the flags both read these.
const DEFAULT_HISTORY: usize = 200;
const DEFAULT_MAX_CLIENTS: usize = 1000;
const DEFAULT_MAX_MESSAGE_BYTES: u32 = 16 * 1024;
const DEFAULT_RATE: RateLimit = RateLimit {
    per_second: 10,
    burst: 30,
};
const DEFAULT_ROOM_RATE: RateLimit = RateLimit {
    per_second: 100,
    burst: 200,
};
const DEFAULT_PING_SECS: u64 = 20;
const DEFAULT_JOIN_SECS: u64 = 10;
const DEFAULT_SEND_QUEUE_BYTES: u64 = 4 * 1024 * 1024;
const DEFAULT_MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
const GIB: u64 = 1024 * 1024 * 1024;
/// All files together, at most: what fits a desktop's disk.
const DEFAULT_MAX_FILES_BYTES: u64 = 2 * GIB;
/// All files together in an `--ephemeral` room, which keeps them in memory.
const DEFAULT_MAX_FILES_BYTES_IN_MEMORY: u64 = 256 * 1024 * 1024;
const DEFAULT_MAX_PERSON_FILES_BYTES: u64 = 200 * 1024 * 1024;
const DEFAULT_MAX_DOWNLOADS: usize = 64;
const DEFAULT_MAX_DOWNLOADS_PER_ADDRESS: usize = 8;
const DEFAULT_CONCURRENT_UPLOADS: usize = 4;
/// A browser with a few tabs open; a phone and a laptop are two passes.
const DEFAULT_CONNECTIONS_PER_GUEST: usize = 8;
/// A few people behind one address (a shared computer, a hotspot).
const DEFAULT_CONNECTIONS_PER_ADDRESS: usize = 16;
/// A phone on weak Wi-Fi sends far faster; a connection that trickles to
/// hold an upload's place does not.
const DEFAULT_UPLOAD_MIN_RATE: u64 = 16 * 1024;

/// Everything the server needs to know to run a room.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// How many recent messages a newcomer receives.
    pub history: usize,
    /// Most WebSocket clients at once; more get 503 before the upgrade.
    pub max_clients: usize,
    /// Largest accepted frame in bytes; larger ones close the socket with 1009.
    pub max_message_bytes: usize,
    /// Per-connection token bucket; `None` turns rate limiting off.
    pub rate_limit: Option<RateLimit>,
    /// Extra origins allowed to open the WebSocket, exactly as browsers send them.
    pub allowed_origins: Vec<String>,
    /// How often the server pings; a peer silent for three intervals is dropped.
    pub ping_interval: Duration,
    /// Byte budget of each peer's send queue; a peer over it is disconnected.
    pub send_queue_bytes: usize,
    /// How long a peer may stay over half its send budget, holding senders
    /// back, before it is disconnected as too slow.
    pub stall_grace: Duration,
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// Most HTTP connections that have not (yet) become WebSockets; when a
    /// new one arrives past this, the oldest is closed to make room.
    pub max_pending_connections: usize,
    /// How long a WebSocket may stay open without joining (`hello` or `say`).
    pub join_timeout: Duration,
    /// How long one write to a peer may take (its `welcome` included) before
    /// the peer counts as not reading and is disconnected.
    pub write_timeout: Duration,
    /// A token bucket for the whole room, on top of each connection's own:
    /// a ceiling on what many connections together can make everyone
    /// receive. `None` turns it off.
    pub room_rate_limit: Option<RateLimit>,
    /// Where messages are kept. The default, for tests and embedders, is
    /// [`Storage::Ephemeral`]; the binaries default to a data directory.
    pub storage: Storage,
    /// How long messages are kept.
    pub retention: Retention,
    /// Largest file `POST /files` accepts, in bytes.
    pub max_upload_bytes: u64,
    /// All uploaded files together, in bytes; `None`: 2 GiB or a tenth of
    /// the free disk space at start, whichever is smaller (256 MiB when
    /// ephemeral, in memory).
    pub max_files_bytes: Option<u64>,
    /// One person's uploaded files together, in bytes.
    pub max_person_files_bytes: u64,
    /// Files being downloaded at once, by everyone.
    pub max_downloads: usize,
    /// Files being downloaded at once from one address.
    pub max_downloads_per_address: usize,
    /// Connections one guest on the network (one invite pass) may hold open.
    pub max_connections_per_guest: usize,
    /// Connections one network address may hold open.
    pub max_connections_per_address: usize,
    /// Files being received at once; one more is refused (503), not kept
    /// waiting.
    pub max_concurrent_uploads: usize,
    /// How long an upload may take before its first bytes count, and the
    /// slowest it may then go on average, in bytes per second.
    pub upload_pace: UploadPace,
    /// How long one write of an HTTP response (a download) may wait for
    /// the client to take bytes before the connection is closed.
    pub connection_write_timeout: Duration,
    /// Share the room with the network as soon as it starts.
    pub share_on_start: bool,
    /// Where to share it; empty means this machine's network addresses.
    pub share_addrs: Vec<ShareAddr>,
    /// Whether loopback requests may use the host routes (`/invite`,
    /// `/host/…`): the headless server's host controls. The desktop app has
    /// its window instead.
    pub host_routes: bool,
}

/// An address to share the room on: `IP` (the room's port when free) or
/// `IP:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareAddr {
    /// The interface's address.
    pub ip: IpAddr,
    /// The port; `None` means the room's own port, or any if that is taken.
    pub port: Option<u16>,
}

impl std::str::FromStr for ShareAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Self {
                ip: addr.ip(),
                port: Some(addr.port()),
            });
        }
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<IpAddr>()
            .map(|ip| Self { ip, port: None })
            .map_err(|_| format!("{text:?} is not an IP address or IP:PORT"))
    }
}

impl std::fmt::Display for ShareAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => SocketAddr::new(self.ip, port).fmt(f),
            None => self.ip.fmt(f),
        }
    }
}

/// A token bucket: `per_second` refill, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained messages per second.
    pub per_second: u32,
    /// Messages allowed at once after a quiet spell.
    pub burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            history: DEFAULT_HISTORY,
            max_clients: DEFAULT_MAX_CLIENTS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES as usize,
            rate_limit: Some(DEFAULT_RATE),
            allowed_origins: Vec::new(),
            ping_interval: Duration::from_secs(DEFAULT_PING_SECS),
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES as usize,
            stall_grace: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(10),
            max_pending_connections: 256,
            join_timeout: Duration::from_secs(DEFAULT_JOIN_SECS),
            write_timeout: Duration::from_secs(5),
            room_rate_limit: Some(DEFAULT_ROOM_RATE),
            storage: Storage::Ephemeral,
            retention: Retention::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_files_bytes: None,
            max_person_files_bytes: DEFAULT_MAX_PERSON_FILES_BYTES,
            max_downloads: DEFAULT_MAX_DOWNLOADS,
            max_downloads_per_address: DEFAULT_MAX_DOWNLOADS_PER_ADDRESS,
            max_connections_per_guest: DEFAULT_CONNECTIONS_PER_GUEST,
            max_connections_per_address: DEFAULT_CONNECTIONS_PER_ADDRESS,
            max_concurrent_uploads: DEFAULT_CONCURRENT_UPLOADS,
            upload_pace: UploadPace::default(),
            connection_write_timeout: Duration::from_secs(30),
            share_on_start: false,
            share_addrs: Vec::new(),
            host_routes: false,
        }
    }
}

impl Config {
    /// The most `welcome` may carry in history, as JSON: a quarter of a
    /// peer's send budget, so `welcome` always fits in what a peer may queue
    /// with room for the people list and the chat that follows.
    pub fn history_bytes(&self) -> usize {
        self.send_queue_bytes / 4
    }

    /// The quota on all uploaded files: as set, or the default for where
    /// they are kept, given the free disk space (if known) at start.
    pub fn files_quota(&self, free_space: Option<u64>) -> u64 {
        if let Some(max) = self.max_files_bytes {
            return max;
        }
        match (&self.storage, free_space) {
            (Storage::Ephemeral, _) => DEFAULT_MAX_FILES_BYTES_IN_MEMORY,
            (Storage::Dir(_), Some(free)) => DEFAULT_MAX_FILES_BYTES.min(free / 10),
            (Storage::Dir(_), None) => DEFAULT_MAX_FILES_BYTES,
        }
    }
}

/// How fast an upload must arrive: the body is due `grace` after the
/// request plus one second per `min_bytes_per_sec` bytes received.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UploadPace {
    /// Time before the rate counts.
    pub grace: Duration,
    /// Slowest average rate after it, in bytes per second.
    pub min_bytes_per_sec: u64,
}

impl Default for UploadPace {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(10),
            min_bytes_per_sec: DEFAULT_UPLOAD_MIN_RATE,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_quota_fits_where_files_are_kept() {
        const MIB: u64 = 1024 * 1024;
        let on_disk = Config {
            storage: Storage::Dir("/nowhere".into()),
            ..Config::default()
        };
        assert_eq!(on_disk.files_quota(Some(100 * GIB)), 2 * GIB);
        assert_eq!(on_disk.files_quota(Some(5 * GIB)), 512 * MIB, "a tenth");
        assert_eq!(on_disk.files_quota(None), 2 * GIB);
        let in_memory = Config::default();
        assert_eq!(in_memory.files_quota(Some(100 * GIB)), 256 * MIB);
        let set = Config {
            max_files_bytes: Some(7),
            ..on_disk
        };
        assert_eq!(set.files_quota(Some(5 * GIB)), 7);
    }
}
