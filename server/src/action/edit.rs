//! `edit`: new text for one's own message; everyone is told `edited`.

use serde::{Deserialize, Serialize};

use super::Invalid;
use crate::model::{clean_text, RoomId};

/// New text for one's own message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Edit {
    /// Which message.
    pub id: u64,
    /// Its new text.
    pub text: String,
}

impl Edit {
    /// Cleaned text (see [`clean_text`]).
    pub(super) fn checked(self) -> Result<Self, Invalid> {
        Ok(Self {
            id: self.id,
            text: clean_text(&self.text).ok_or(Invalid::EmptyMessage)?,
        })
    }
}

/// A message's text changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edited {
    /// Which message.
    pub id: u64,
    /// The conversation it is in.
    pub room: RoomId,
    /// Its text now.
    pub text: String,
    /// When it changed.
    pub edited_ts: u64,
}
