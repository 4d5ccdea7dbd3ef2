//! Frames the server sends: each serialized once per event and shared.

use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use super::{AnnouncedLimits, ErrorCode};
use crate::action::{Deleted, Edited, Event, Reacted};
use crate::model::{ChatMessage, Kind, RoomId, User};

/// A conversation as one person sees it: in `welcome`, `room_added` and
/// `room_changed`. The fields about the person (`member`, `unread`,
/// `read`) are always in `welcome` and `room_added`; `room_changed` has
/// them only when they changed for that person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomView {
    /// Its id.
    pub id: RoomId,
    /// A room's name; for a direct conversation, the other person's.
    pub name: String,
    /// `room` or `direct`.
    pub kind: Kind,
    /// What the room is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Read-only.
    pub archived: bool,
    /// General: exactly one conversation has it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// For a direct conversation: the other person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with: Option<Counterpart>,
    /// Whether the person is in it (receives it live, may say things).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<bool>,
    /// Messages after the person's read position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
    /// The person's read position: the last message id they have read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<u64>,
}

/// The other person of a direct conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counterpart {
    /// Their uid.
    pub uid: String,
    /// Their name, as last seen.
    pub name: String,
    /// Whether they are connected now.
    pub here: bool,
}

/// What the server tells clients. Each is serialized once per event and the
/// resulting frame shared by every recipient.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// Sent to a client once it has joined.
    Welcome {
        /// Identifies the room: the same across restarts on the same data
        /// directory (message ids keep increasing), new for a fresh one.
        room: &'a str,
        /// The client's own identity.
        you: &'a User,
        /// The people in the room, in joining order: all of them in a small
        /// room, the first [`PEOPLE_PAGE`] in a large one (ask for more
        /// with `people`). The client is always among them.
        users: Vec<User>,
        /// How many people are in the room, the client included.
        people: usize,
        /// The cursor for the next page of people, if there are more.
        people_next: Option<u64>,
        /// The most recent messages, oldest first.
        history: Vec<&'a ChatMessage>,
        /// The oldest message id the room still keeps (the next id when it
        /// keeps none): shown messages with smaller ids were cleared or
        /// pruned.
        first_id: u64,
        /// Limits the client should respect.
        limits: AnnouncedLimits,
        /// Every conversation the client may see: every room, and its own
        /// direct conversations. General has `default: true`.
        rooms: Vec<RoomView>,
    },
    /// A chat message, sent to everyone including its sender.
    Message(&'a ChatMessage),
    /// Someone joined.
    Joined {
        /// Who.
        user: &'a User,
    },
    /// Someone left.
    Left {
        /// Who.
        user: &'a User,
    },
    /// Many came and went at once (a large room): everyone in `joined`
    /// joined, then everyone in `left` left, in that order.
    Presence {
        /// Who joined.
        joined: Vec<&'a User>,
        /// Who left.
        left: Vec<&'a User>,
        /// How many people are in the room now.
        people: usize,
    },
    /// A page of the people in the room, answering `people`.
    People {
        /// The people, in joining order.
        users: Vec<User>,
        /// The cursor for the next page, if there are more.
        next: Option<u64>,
    },
    /// Someone changed their name.
    Renamed {
        /// Who, with the new name.
        user: &'a User,
        /// The name they had before.
        previous: &'a str,
    },
    /// A message's text changed.
    Edited(&'a Edited),
    /// A message was deleted.
    Deleted(&'a Deleted),
    /// Someone added (or took back) a reaction.
    Reaction(&'a Reacted),
    /// Someone is typing.
    Typing {
        /// Who.
        user: &'a User,
        /// Where.
        room: RoomId,
    },
    /// Stored messages, oldest first: the answer to a `history` request.
    History {
        /// Whose messages.
        room: RoomId,
        /// The messages.
        messages: &'a [ChatMessage],
        /// Whether more lie beyond them, in the direction asked for.
        more: bool,
        /// The `before` of the request, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// The `after` of the request, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
    },
    /// The answer to a `search` request, newest first.
    Results {
        /// The query, as sent.
        query: &'a str,
        /// The matching messages, newest first.
        messages: &'a [ChatMessage],
    },
    /// The host cleared the history: empty the view.
    Cleared {},
    /// A conversation the client may now see: a room the host made, or a
    /// direct conversation with it.
    RoomAdded {
        /// The conversation.
        room: &'a RoomView,
    },
    /// A conversation changed: renamed, a new topic, archived, or joined or
    /// left by the client.
    RoomChanged {
        /// What it is now.
        room: &'a RoomView,
    },
    /// A conversation is gone (deleted by the host).
    RoomRemoved {
        /// Its id.
        room: RoomId,
    },
    /// The client's unread count in a conversation changed from elsewhere
    /// (it read it on another connection).
    Unread {
        /// Which conversation.
        room: RoomId,
        /// Messages after its read position.
        unread: u64,
    },
    /// A request of this client failed; the connection stays open.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

impl<'a> ServerMessage<'a> {
    /// What everyone is told of a stored change.
    pub fn event(event: &'a Event) -> Self {
        match event {
            Event::Said(message) => ServerMessage::Message(message),
            Event::Edited(edited) => ServerMessage::Edited(edited),
            Event::Deleted(deleted) => ServerMessage::Deleted(deleted),
            Event::Reacted(reacted) => ServerMessage::Reaction(reacted),
        }
    }

    /// Serializes into a WebSocket text frame, ready to be shared.
    pub fn to_frame(&self) -> Message {
        // Serializing these types cannot fail: no maps with non-string keys, no
        // custom Serialize impls. Fall back to an error frame rather than panic.
        match serde_json::to_string(self) {
            Ok(json) => Message::text(json),
            Err(err) => {
                log::error!("failed to serialize a server message: {err}");
                Message::text(r#"{"type":"error","code":"malformed","message":"internal"}"#)
            }
        }
    }

    /// Builds an `error` frame.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Message {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
        .to_frame()
    }
}
