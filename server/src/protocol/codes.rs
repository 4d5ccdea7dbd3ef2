//! The machine-readable codes of `error` frames.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes in `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not valid JSON or lacked required fields.
    Malformed,
    /// The `type` is not part of the protocol.
    UnknownType,
    /// Binary frames are refused.
    BinaryUnsupported,
    /// Someone else already has that name (case-insensitively).
    NameTaken,
    /// The name is empty, too long or unprintable.
    InvalidName,
    /// The message was empty once trimmed.
    EmptyMessage,
    /// Too many messages too fast; this one was dropped.
    RateLimited,
    /// `rename`/`typing`/`history`/`search` before `hello`.
    NotJoined,
    /// The message could not be stored, so it reached nobody.
    StorageUnavailable,
    /// No such message (or file), or it was deleted.
    NotFound,
    /// Only its author may change that message.
    Forbidden,
    /// A reaction must be one emoji.
    InvalidEmoji,
    /// The message has as many different reactions as it may, or the
    /// person has put as many on it as one may.
    TooManyReactions,
    /// Saying something in a room one has not joined.
    NotMember,
    /// The room is archived: read-only.
    Archived,
    /// The house has as many rooms as it may.
    TooManyRooms,
}
