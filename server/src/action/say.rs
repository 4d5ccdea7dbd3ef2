//! `say`: a new message, with its text, the message it answers and its files.

use serde::Deserialize;

use super::{Invalid, FRAME_OVERHEAD};
use crate::model::{clean_text, RoomId};

/// Most files one message may carry.
pub const MAX_FILES: usize = 10;

/// A new message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Say {
    /// The conversation it is for; General when absent.
    #[serde(default)]
    pub room: Option<RoomId>,
    /// Its text (may be empty when it carries files).
    pub text: String,
    /// The id of the message it answers.
    #[serde(default)]
    pub reply_to: Option<u64>,
    /// Ids of files uploaded with `POST /files`.
    #[serde(default)]
    pub files: Vec<String>,
    /// Its id, given by the room under its lock (in the order the store
    /// receives messages); never read from a frame.
    #[serde(skip)]
    pub id: u64,
}

impl Say {
    /// Just text, as a plain-text frame says it.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Its text, and each file's share of the frame.
    pub(super) fn weight(&self) -> usize {
        self.text.len() + self.files.len() * 2 * FRAME_OVERHEAD
    }

    /// Cleaned text (see [`clean_text`]), files within the limit.
    pub(super) fn checked(mut self) -> Result<Self, Invalid> {
        if self.files.len() > MAX_FILES {
            return Err(Invalid::TooManyFiles(MAX_FILES));
        }
        self.files.dedup();
        self.text = match clean_text(&self.text) {
            Some(text) => text,
            // A picture needs no words.
            None if !self.files.is_empty() => String::new(),
            None => return Err(Invalid::EmptyMessage),
        };
        Ok(self)
    }
}
