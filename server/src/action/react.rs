//! `react`: one's reaction with an emoji added to a message, or taken back;
//! everyone is told `reaction`.

use serde::{Deserialize, Serialize};

use super::Invalid;
use crate::model::{emoji, RoomId, User};

/// Toggling one's reaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct React {
    /// Which message.
    pub id: u64,
    /// One emoji.
    pub emoji: String,
}

impl React {
    /// The emoji trimmed and fully qualified, if it is exactly one.
    pub(super) fn checked(self) -> Result<Self, Invalid> {
        Ok(Self {
            id: self.id,
            emoji: emoji::validate(&self.emoji).ok_or(Invalid::NotOneEmoji)?,
        })
    }
}

/// Someone added (or took back) a reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reacted {
    /// Which message.
    pub id: u64,
    /// The conversation it is in.
    pub room: RoomId,
    /// The emoji.
    pub emoji: String,
    /// Who.
    pub user: User,
    /// Whether it was added (or taken back).
    pub added: bool,
}
