//! Why the room refused a request: one type for every refusal, each with the
//! protocol code its `error` frame carries.

use crate::action::Invalid;
use crate::protocol::ErrorCode;
use crate::store::Rejected;

use crate::model::names::NameError;

/// Why the room refused a request. The peer is told with an `error` frame;
/// nobody else notices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The display name is not acceptable.
    #[error("{0}")]
    InvalidName(#[from] NameError),
    /// Someone present has that name, or one that looks the same.
    #[error("the name {0:?} is taken; pick another")]
    NameTaken(String),
    /// Renaming or typing before `hello`.
    #[error("say hello first")]
    NotJoined,
    /// The message was empty once cleaned.
    #[error("message is empty")]
    EmptyMessage,
    /// Over this connection's rate limit.
    #[error("slow down: too many messages, this one was not sent")]
    RateLimited,
    /// Over the room-wide ceiling that all connections share.
    #[error("the room is busy: too many messages from everyone, this one was not sent")]
    RoomBusy,
    /// The message could not be stored (disk full, I/O error), so it was
    /// not sent to anyone.
    #[error("the host cannot store messages right now, so this one was not sent; try again soon")]
    StorageUnavailable,
    /// A history page or search could not be read.
    #[error("the host cannot read the conversation right now; try again soon")]
    ReadFailed,
    /// The message (or a file) does not exist, or was deleted.
    #[error("that message does not exist or was deleted")]
    NotFound,
    /// Someone else's message.
    #[error("only its author can change that message")]
    Forbidden,
    /// A reaction that is not one emoji.
    #[error("a reaction is one emoji")]
    InvalidEmoji,
    /// The message has all the reactions it may have, or the person all
    /// they may put on it.
    #[error(
        "that message has as many reactions as it can take: 20 different ones, 10 of them yours"
    )]
    TooManyReactions,
    /// A `hello` key that cannot be a client secret.
    #[error("the key must be 16 to 256 printable ASCII characters")]
    InvalidKey,
    /// The files people sent fill the room's space for them.
    #[error("the room has no more space for files; old ones go as messages are deleted")]
    FilesFull,
    /// The person's own files fill their space.
    #[error("you have sent as many files as one person may; delete some of your messages with files to send more")]
    PersonFilesFull,
    /// The host's disk is nearly full.
    #[error("the host's disk is nearly full, so it keeps no more files")]
    DiskFull,
    /// More files than one message may carry.
    #[error("too many files for one message (at most {0})")]
    TooManyFiles(usize),
    /// Saying something in a room one has not joined.
    #[error("join the room to say something in it")]
    NotMember,
    /// The room is archived: read-only.
    #[error("the room is archived: it can be read, not written in")]
    Archived,
    /// The house has as many rooms as it may.
    #[error("the house has as many rooms as it may have ({0})")]
    TooManyRooms(usize),
    /// No such room, or one the person may not see.
    #[error("no such room")]
    NoSuchRoom,
    /// Only the host may do that (or General cannot be left).
    #[error("only the host can do that")]
    HostOnly,
    /// General cannot be left.
    #[error("everyone is in General: it cannot be left")]
    GeneralStays,
}

impl Refused {
    /// The protocol error code for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            Refused::InvalidName(_) => ErrorCode::InvalidName,
            Refused::NameTaken(_) => ErrorCode::NameTaken,
            Refused::NotJoined => ErrorCode::NotJoined,
            Refused::EmptyMessage => ErrorCode::EmptyMessage,
            Refused::RateLimited | Refused::RoomBusy => ErrorCode::RateLimited,
            Refused::StorageUnavailable | Refused::ReadFailed => ErrorCode::StorageUnavailable,
            Refused::NotFound => ErrorCode::NotFound,
            Refused::Forbidden => ErrorCode::Forbidden,
            Refused::InvalidEmoji => ErrorCode::InvalidEmoji,
            Refused::TooManyReactions => ErrorCode::TooManyReactions,
            Refused::InvalidKey | Refused::TooManyFiles(_) => ErrorCode::Malformed,
            Refused::NotMember => ErrorCode::NotMember,
            Refused::Archived => ErrorCode::Archived,
            Refused::TooManyRooms(_) => ErrorCode::TooManyRooms,
            Refused::NoSuchRoom => ErrorCode::NotFound,
            Refused::HostOnly | Refused::GeneralStays => ErrorCode::Forbidden,
            // Told over HTTP (`POST /files`), never in a frame.
            Refused::FilesFull | Refused::PersonFilesFull | Refused::DiskFull => {
                ErrorCode::StorageUnavailable
            }
        }
    }
}

impl From<Rejected> for Refused {
    fn from(rejected: Rejected) -> Self {
        match rejected {
            Rejected::NotFound => Refused::NotFound,
            Rejected::Forbidden => Refused::Forbidden,
            Rejected::TooManyReactions => Refused::TooManyReactions,
            Rejected::FilesFull => Refused::FilesFull,
            Rejected::PersonFilesFull => Refused::PersonFilesFull,
            Rejected::DiskFull => Refused::DiskFull,
            Rejected::NameTaken => Refused::NameTaken(String::new()),
            Rejected::NotMember => Refused::NotMember,
            Rejected::Archived => Refused::Archived,
        }
    }
}

impl From<Invalid> for Refused {
    fn from(invalid: Invalid) -> Self {
        match invalid {
            Invalid::EmptyMessage => Refused::EmptyMessage,
            Invalid::TooManyFiles(max) => Refused::TooManyFiles(max),
            Invalid::NotOneEmoji => Refused::InvalidEmoji,
        }
    }
}
