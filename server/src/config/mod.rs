//! Server settings: every limit and timing, with its default. The flags
//! that set them are in [`args`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use crate::store::{Retention, Storage};

mod args;

pub use args::{platform_data_dir, ServerArgs};

/// The default address: loopback only, so nothing off this machine can join.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7070));

// Each default once: `Config::default()` and the flags both read these.
pub(super) const DEFAULT_HISTORY: usize = 200;
pub(super) const DEFAULT_MAX_CLIENTS: usize = 1000;
pub(super) const DEFAULT_MAX_MESSAGE_BYTES: u32 = 16 * 1024;
pub(super) const DEFAULT_RATE: RateLimit = RateLimit {
    per_second: 10,
    burst: 30,
};
pub(super) const DEFAULT_ROOM_RATE: RateLimit = RateLimit {
    per_second: 100,
    burst: 200,
};
pub(super) const DEFAULT_PING_SECS: u64 = 20;
pub(super) const DEFAULT_JOIN_SECS: u64 = 10;
pub(super) const DEFAULT_SEND_QUEUE_BYTES: u64 = 4 * 1024 * 1024;
pub(super) const DEFAULT_MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
const GIB: u64 = 1024 * 1024 * 1024;
/// All files together, at most: what fits a desktop's disk.
pub(super) const DEFAULT_MAX_FILES_BYTES: u64 = 2 * GIB;
/// All files together in an `--ephemeral` room, which keeps them in memory.
pub(super) const DEFAULT_MAX_FILES_BYTES_IN_MEMORY: u64 = 256 * 1024 * 1024;
pub(super) const DEFAULT_MAX_PERSON_FILES_BYTES: u64 = 200 * 1024 * 1024;
pub(super) const DEFAULT_MAX_DOWNLOADS: usize = 64;
pub(super) const DEFAULT_MAX_DOWNLOADS_PER_ADDRESS: usize = 8;
pub(super) const DEFAULT_CONCURRENT_UPLOADS: usize = 4;
/// A browser with a few tabs open; a phone and a laptop are two passes.
pub(super) const DEFAULT_CONNECTIONS_PER_GUEST: usize = 8;
/// A few people behind one address (a shared computer, a hotspot).
pub(super) const DEFAULT_CONNECTIONS_PER_ADDRESS: usize = 16;
/// Rooms a house may have, General included.
pub(super) const DEFAULT_MAX_ROOMS: usize = 200;
/// New people one person may open direct conversations with in an hour.
pub(super) const DEFAULT_DIRECTS_PER_HOUR: usize = 50;
/// A phone on weak Wi-Fi sends far faster; a connection that trickles to
/// hold an upload's place does not.
pub(super) const DEFAULT_UPLOAD_MIN_RATE: u64 = 16 * 1024;

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
    /// Rooms the house may have, General included.
    pub max_rooms: usize,
    /// New people one person may open direct conversations with in an hour.
    pub max_directs_per_hour: usize,
    /// Whether everyone may make rooms (the host always may).
    pub anyone_creates_rooms: bool,
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
            max_rooms: DEFAULT_MAX_ROOMS,
            max_directs_per_hour: DEFAULT_DIRECTS_PER_HOUR,
            anyone_creates_rooms: false,
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
