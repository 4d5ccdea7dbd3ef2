//! A chat message and what it carries: a quote of the message it answers,
//! files, reactions.

use serde::{Deserialize, Serialize};

use super::conversation::{RoomId, GENERAL};
use super::User;

fn general() -> RoomId {
    GENERAL
}

/// One chat message, as broadcast and as kept in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Room-wide sequence number; gives every client one total order.
    pub id: u64,
    /// The conversation it was said in.
    #[serde(default = "general")]
    pub room: RoomId,
    /// Who sent it, with the name they had at the time.
    pub from: User,
    /// The text, as sent (control characters removed); empty once deleted.
    pub text: String,
    /// Server time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The message this one answers, quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Quote>,
    /// Files sent with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    /// Who reacted with what, in the order the emoji were first used
    /// (history only: live changes come as `reaction`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// When it was last edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<u64>,
    /// Whether it was deleted (its text and files are gone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl ChatMessage {
    /// Sheds who reacted (the latest reactors first, then whole reactions
    /// from the last) until the message's JSON takes at most `max_bytes`,
    /// so a page or `welcome` always carries the message itself however
    /// many people reacted to it. Its text and files stay.
    pub fn trim_reactions_to(&mut self, max_bytes: usize) {
        let size = |m: &ChatMessage| serde_json::to_string(m).map_or(usize::MAX, |j| j.len());
        if size(self) <= max_bytes {
            return;
        }
        let mut keep = self
            .reactions
            .iter()
            .map(|r| r.users.len())
            .max()
            .unwrap_or(0);
        while keep > 1 && size(self) > max_bytes {
            keep /= 2;
            for reaction in &mut self.reactions {
                reaction.users.truncate(keep.max(1));
            }
        }
        while size(self) > max_bytes && self.reactions.pop().is_some() {}
    }

    /// A new message in General with nothing but its text.
    pub fn plain(id: u64, from: User, text: String, ts: u64) -> Self {
        Self {
            id,
            room: GENERAL,
            from,
            text,
            ts,
            reply_to: None,
            files: Vec::new(),
            reactions: Vec::new(),
            edited_ts: None,
            deleted: false,
        }
    }
}

/// Most characters of a quoted message a reply carries.
pub const EXCERPT_CHARS: usize = 100;

/// The start of a message, as a reply quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The quoted message's id.
    pub id: u64,
    /// Its author.
    pub from: User,
    /// The start of its text ([`EXCERPT_CHARS`] at most, `…` when cut);
    /// empty once it is deleted.
    pub excerpt: String,
    /// Whether the quoted message was deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// The start of `text`, for a [`Quote`].
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Its upload id.
    pub id: String,
    /// The name it was uploaded under (cleaned).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp` for a
    /// picture (told by its bytes), `application/octet-stream` for anything
    /// else.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where to fetch it, relative to the room's address.
    pub url: String,
}

/// Everyone who reacted to a message with one emoji.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// Who, in the order they reacted.
    pub users: Vec<User>,
}
