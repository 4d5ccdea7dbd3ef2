//! The changes people make to the conversation, one file each: what the
//! client sends (decoded straight into the type), how it is checked and
//! weighed, and the event everyone is told once the store has applied it.
//! The same value goes from the frame to the store; the store's answer is
//! the same value fan-out serializes.
//!
//! A new kind of change is a file here, a variant of [`Action`] and of
//! [`Event`], and its arms in this file's dispatch, in the store's
//! `changes::apply`, in the history and in the protocol's frames.

mod delete;
mod edit;
mod react;
mod say;

pub use delete::{Delete, Deleted};
pub use edit::{Edit, Edited};
pub use react::{React, Reacted};
pub use say::{Say, MAX_FILES};

use crate::model::{ChatMessage, RoomId, User};

/// What a message takes of the in-flight budget beyond its text: its frame's
/// JSON around it, generously.
const FRAME_OVERHEAD: usize = 160;

/// A change someone asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new message.
    Say(Say),
    /// New text for one's own message.
    Edit(Edit),
    /// Deleting a message.
    Delete(Delete),
    /// Toggling one's reaction.
    React(React),
}

/// Why an action was refused before it reached the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Empty once cleaned, and no files.
    #[error("message is empty")]
    EmptyMessage,
    /// More files than one message may carry.
    #[error("too many files for one message (at most {0})")]
    TooManyFiles(usize),
    /// Not exactly one emoji.
    #[error("a reaction is one emoji")]
    NotOneEmoji,
}

impl Action {
    /// What it weighs in the room's in-flight budget: about the bytes its
    /// event puts in every peer's queue.
    pub fn weight(&self) -> usize {
        let payload = match self {
            Action::Say(say) => say.weight(),
            Action::Edit(edit) => edit.text.len(),
            Action::Delete(_) => 0,
            Action::React(react) => react.emoji.len(),
        };
        payload + FRAME_OVERHEAD
    }

    /// The action with its text cleaned and its emoji checked, before the
    /// room takes its lock for it.
    pub fn checked(self) -> Result<Self, Invalid> {
        Ok(match self {
            Action::Say(say) => Action::Say(say.checked()?),
            Action::Edit(edit) => Action::Edit(edit.checked()?),
            Action::React(react) => Action::React(react.checked()?),
            delete @ Action::Delete(_) => delete,
        })
    }

    /// Whether it makes a new message (which joins a peer that has not yet
    /// said `hello`, under a default name).
    pub fn says(&self) -> bool {
        matches!(self, Action::Say(_))
    }
}

/// Who a change is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone in the room.
    Person(User),
    /// The host, through the window or a host route: may delete anything.
    Host,
}

impl Actor {
    /// The person's uid, `None` for the host.
    pub fn uid(&self) -> Option<&str> {
        match self {
            Actor::Person(user) => Some(&user.uid),
            Actor::Host => None,
        }
    }
}

/// An action on its way to the store: who, when, what.
#[derive(Debug, Clone)]
pub struct Change {
    /// Who asks.
    pub by: Actor,
    /// Server time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// What.
    pub action: Action,
}

/// A change the store applied: what everyone is told.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new message, with its quote and files.
    Said(ChatMessage),
    /// A message's new text.
    Edited(Edited),
    /// A deleted message.
    Deleted(Deleted),
    /// A reaction added or taken back.
    Reacted(Reacted),
}

impl Event {
    /// The conversation it happened in: only that one's members are told.
    pub fn room(&self) -> RoomId {
        match self {
            Event::Said(message) => message.room,
            Event::Edited(edited) => edited.room,
            Event::Deleted(deleted) => deleted.room,
            Event::Reacted(reacted) => reacted.room,
        }
    }
}
