//! Protocol v1: the JSON frames exchanged over `/ws` (see `docs/protocol.md`).
//!
//! Decoding is total: every frame a peer can send maps to either a
//! [`ClientMessage`] or a [`ProtocolError`] that the peer is told about.

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

/// A peer's identity in the room: ids come from a counter and are never reused.
pub type PeerId = usize;

/// What a client may ask of the room.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Join the room under a name.
    Hello {
        /// The requested display name.
        name: String,
        /// The client's secret: the same secret is the same person (`uid`)
        /// across reconnects and restarts. Without one the connection gets
        /// a fresh identity of its own.
        #[serde(default)]
        key: Option<String>,
    },
    /// Send a chat message to everyone.
    Say {
        /// The message text (may be empty when files are attached).
        text: String,
        /// The id of the message this one answers.
        #[serde(default)]
        reply_to: Option<u64>,
        /// Ids of files uploaded with `POST /files`, shown with the message.
        #[serde(default)]
        files: Vec<String>,
    },
    /// Change the text of one's own message.
    Edit {
        /// Which message.
        id: u64,
        /// Its new text.
        text: String,
    },
    /// Delete one's own message: its text and files are removed for good.
    Delete {
        /// Which message.
        id: u64,
    },
    /// Add one's reaction with `emoji` to a message, or take it back.
    React {
        /// Which message.
        id: u64,
        /// One emoji.
        emoji: String,
    },
    /// Change one's display name.
    Rename {
        /// The new display name.
        name: String,
    },
    /// Tell the others one is typing.
    Typing {},
    /// Ask for stored messages before `before` (or after `after`).
    History {
        /// Messages with smaller ids than this; the newest when both are absent.
        #[serde(default)]
        before: Option<u64>,
        /// Messages with larger ids than this (takes precedence over `before`).
        #[serde(default)]
        after: Option<u64>,
        /// How many, at most (capped by the server).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Search the stored messages.
    Search {
        /// What the person typed; always searched as plain words.
        query: String,
        /// How many results, at most (capped by the server).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Ask for the next page of the people in the room, after the cursor
    /// `welcome` or the last `people` answer gave.
    People {
        /// The cursor (`people_next` of `welcome`, `next` of `people`).
        after: u64,
    },
}

/// Why a frame from a client could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The frame was binary; the protocol is text only.
    #[error("binary frames are not supported; send JSON text")]
    Binary,
    /// The frame looked like JSON but was not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The frame was a JSON object with a `type` this server does not know.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

impl ProtocolError {
    /// The machine-readable code sent to the client.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::Binary => ErrorCode::BinaryUnsupported,
            ProtocolError::Malformed(_) => ErrorCode::Malformed,
            ProtocolError::UnknownType(_) => ErrorCode::UnknownType,
        }
    }
}

/// Decodes one text frame. A frame that does not start with `{` is plain text
/// and counts as `say`, so generic WebSocket clients can chat.
pub fn decode_text(frame: &str) -> Result<ClientMessage, ProtocolError> {
    // JSON's own white space, not Unicode's: "\u{b}{" is text, not broken JSON.
    if !frame
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Ok(ClientMessage::Say {
            text: frame.to_owned(),
            reply_to: None,
            files: Vec::new(),
        });
    }
    serde_json::from_str::<ClientMessage>(frame).map_err(|err| {
        // Tell "unknown type" apart from "broken JSON" so clients get a useful error.
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "type")]
            kind: String,
        }
        match serde_json::from_str::<Envelope>(frame) {
            Ok(Envelope { kind })
                if !matches!(
                    kind.as_str(),
                    "hello"
                        | "say"
                        | "rename"
                        | "typing"
                        | "history"
                        | "search"
                        | "edit"
                        | "delete"
                        | "react"
                        | "people"
                ) =>
            {
                ProtocolError::UnknownType(truncate_chars(&kind, 64))
            }
            _ => ProtocolError::Malformed(err.to_string()),
        }
    })
}

/// Cleans message text: drops control characters other than newline and tab
/// (they would garble other people's screens) and the bidi embedding,
/// override and isolate controls (they would reorder the text around a
/// message), and refuses text that is empty once trimmed. Joiners stay: emoji
/// sequences and several scripts need them.
pub fn clean_text(raw: &str) -> Option<String> {
    let text: String = raw
        .chars()
        .filter(|c| matches!(c, '\n' | '\t') || !is_unprintable(*c))
        .collect();
    if text.trim().is_empty() {
        None
    } else {
        Some(text)
    }
}

/// Control characters, plus the bidi controls that reorder what surrounds
/// them.
fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A person in the room, as the others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable for the life of the connection.
    pub id: PeerId,
    /// Stable for the person: derived from their client key (see
    /// `hello`), so their messages stay theirs across reconnects.
    #[serde(default)]
    pub uid: String,
    /// Current display name.
    pub name: String,
}

/// One chat message, as broadcast and as kept in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Room-wide sequence number; gives every client one total order.
    pub id: u64,
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

    /// A new message with nothing but its text.
    pub fn plain(id: u64, from: User, text: String, ts: u64) -> Self {
        Self {
            id,
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

/// Most people `welcome` and each `people` answer list.
pub const PEOPLE_PAGE: usize = 50;

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
    Edited {
        /// Which message.
        id: u64,
        /// Its new text.
        text: &'a str,
        /// When it changed.
        edited_ts: u64,
    },
    /// A message was deleted.
    Deleted {
        /// Which message.
        id: u64,
    },
    /// Someone added (or took back) a reaction.
    Reaction {
        /// Which message.
        id: u64,
        /// The emoji.
        emoji: &'a str,
        /// Who.
        user: &'a User,
        /// Whether it was added (or taken back).
        added: bool,
    },
    /// Someone is typing.
    Typing {
        /// Who.
        user: &'a User,
    },
    /// Stored messages, oldest first: the answer to a `history` request.
    History {
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
    /// A request of this client failed; the connection stays open.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

impl ServerMessage<'_> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_say() {
        assert_eq!(
            decode_text("hi there"),
            Ok(ClientMessage::Say {
                text: "hi there".into(),
                reply_to: None,
                files: Vec::new()
            })
        );
    }

    #[test]
    fn only_json_white_space_may_precede_an_object() {
        assert!(matches!(
            decode_text(" \n{\"type\":\"typing\"}"),
            Ok(ClientMessage::Typing {})
        ));
        assert_eq!(
            decode_text("\u{b}{"),
            Ok(ClientMessage::Say {
                text: "\u{b}{".into(),
                reply_to: None,
                files: Vec::new()
            })
        );
    }

    #[test]
    fn typed_messages_decode_and_ignore_unknown_fields() {
        assert_eq!(
            decode_text(r#"{"type":"hello","name":"Ann","extra":[1,2]}"#),
            Ok(ClientMessage::Hello {
                name: "Ann".into(),
                key: None
            })
        );
        assert_eq!(
            decode_text(r#"{"type":"typing"}"#),
            Ok(ClientMessage::Typing {})
        );
    }

    #[test]
    fn unknown_type_and_malformed_are_told_apart() {
        assert_eq!(
            decode_text(r#"{"type":"dance"}"#).map_err(|e| e.code()),
            Err(ErrorCode::UnknownType)
        );
        assert_eq!(
            decode_text(r#"{"type":"say"}"#).map_err(|e| e.code()),
            Err(ErrorCode::Malformed)
        );
        assert_eq!(
            decode_text("{not json").map_err(|e| e.code()),
            Err(ErrorCode::Malformed)
        );
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_crash() {
        let deep = format!(
            "{{\"type\":\"say\",\"text\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(decode_text(&deep).is_err());
    }

    #[test]
    fn text_keeps_newlines_and_drops_controls() {
        assert_eq!(clean_text("a\nb\u{1b}[31m"), Some("a\nb[31m".into()));
        assert_eq!(clean_text(" \n\t "), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoding_never_panics(frame in ".{0,512}") {
            let _ = decode_text(&frame);
        }

        #[test]
        fn decoding_json_shaped_noise_never_panics(frame in r#"\{[\[\]{}":,a-z0-9 ]{0,256}"#) {
            let _ = decode_text(&frame);
        }

        #[test]
        fn say_round_trips_any_text(text in ".{0,256}") {
            let frame = serde_json::json!({"type": "say", "text": text}).to_string();
            prop_assert_eq!(decode_text(&frame), Ok(ClientMessage::Say { text, reply_to: None, files: Vec::new() }));
        }

        #[test]
        fn plain_text_is_always_say(text in "[^{ \t\n\r][^\n]{0,200}") {
            prop_assert_eq!(decode_text(&text), Ok(ClientMessage::Say { text: text.clone(), reply_to: None, files: Vec::new() }));
        }

        #[test]
        fn cleaned_text_has_no_controls_but_newlines_and_tabs(raw in ".{0,200}") {
            if let Some(text) = clean_text(&raw) {
                prop_assert!(text.chars().all(|c| matches!(c, '\n' | '\t') || !is_unprintable(c)));
                prop_assert!(!text.trim().is_empty());
            }
        }
    }
}
