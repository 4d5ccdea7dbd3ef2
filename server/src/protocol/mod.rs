//! Protocol v1: the JSON frames exchanged over `/ws` (see `docs/protocol.md`).
//!
//! Decoding is total: every frame a peer can send maps to either a
//! [`ClientMessage`] or a [`ProtocolError`] that the peer is told about.

use serde::{Deserialize, Serialize};

mod client;
mod codes;
mod server;

pub use client::{decode_text, ClientMessage, ProtocolError};
pub use codes::ErrorCode;
pub use server::{Counterpart, RoomView, ServerMessage};

/// Most people `welcome` and each `people` answer list.
pub const PEOPLE_PAGE: usize = 50;

/// Limits a client should respect, announced in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncedLimits {
    /// Largest frame the server accepts, in bytes.
    pub max_message_bytes: usize,
    /// Longest display name, in characters.
    pub max_name_chars: usize,
    /// Largest file `POST /files` accepts, in bytes.
    pub max_upload_bytes: u64,
    /// Most files one message may carry.
    pub max_files: usize,
}
