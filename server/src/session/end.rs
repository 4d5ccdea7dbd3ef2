//! Why a session ended, and the close frame that tells the peer.

use tokio_tungstenite::tungstenite;

use crate::room::Eviction;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionEnd {
    /// The peer sent a close frame.
    ClientClosed,
    /// The socket broke or the peer vanished.
    Gone,
    /// Nothing heard for three ping intervals.
    Silent,
    /// A frame over the size limit.
    TooBig,
    /// A text frame that was not UTF-8.
    InvalidUtf8,
    /// Connected but never joined within the join timeout.
    NeverJoined,
    /// The server dropped a slow peer.
    Evicted(Eviction),
    /// The server is shutting down.
    ServerShutdown,
}

impl SessionEnd {
    /// The close frame to send, if the peer can still hear one.
    pub(super) fn close_frame(self) -> Option<(u16, &'static str)> {
        match self {
            SessionEnd::ClientClosed | SessionEnd::Gone => None,
            SessionEnd::Silent => Some((1001, "no heartbeat")),
            SessionEnd::TooBig => Some((1009, "message too big")),
            SessionEnd::InvalidUtf8 => Some((1007, "invalid UTF-8")),
            SessionEnd::NeverJoined => Some((1008, "did not join in time")),
            SessionEnd::Evicted(reason) => Some(reason.close_frame()),
            SessionEnd::ServerShutdown => Some((1001, "going away")),
        }
    }
}

pub(super) fn classify_read_error(err: &tungstenite::Error) -> SessionEnd {
    match err {
        tungstenite::Error::Capacity(_) => SessionEnd::TooBig,
        tungstenite::Error::Utf8(_) => SessionEnd::InvalidUtf8,
        _ => SessionEnd::Gone,
    }
}
