//! Frames a client sends, and decoding them.

use serde::Deserialize;

use super::ErrorCode;
use crate::action::{Delete, Edit, React, Say};
use crate::model::RoomId;

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
    Say(Say),
    /// Change the text of one's own message.
    Edit(Edit),
    /// Delete one's own message: its text and files are removed for good.
    Delete(Delete),
    /// Add one's reaction with `emoji` to a message, or take it back.
    React(React),
    /// Change one's display name.
    Rename {
        /// The new display name.
        name: String,
    },
    /// Tell the others one is typing.
    Typing {
        /// Where; General when absent.
        #[serde(default)]
        room: Option<RoomId>,
    },
    /// Ask for stored messages before `before` (or after `after`).
    History {
        /// Whose; General when absent.
        #[serde(default)]
        room: Option<RoomId>,
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
        /// Only this conversation; every one the client is in (and its
        /// direct conversations) when absent.
        #[serde(default)]
        room: Option<RoomId>,
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
    /// Join a room: receive it live and take part.
    JoinRoom {
        /// Which.
        room: RoomId,
    },
    /// Leave a room (never General).
    LeaveRoom {
        /// Which.
        room: RoomId,
    },
    /// Make a room (only when the host lets everyone).
    CreateRoom {
        /// Its name.
        name: String,
        /// What it is for.
        #[serde(default)]
        topic: Option<String>,
    },
    /// Open (or find) the direct conversation with one person.
    Direct {
        /// Their uid.
        uid: String,
    },
    /// One's read position in a conversation.
    Read {
        /// Which conversation; General when absent.
        #[serde(default)]
        room: Option<RoomId>,
        /// The last message id read.
        id: u64,
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
        return Ok(ClientMessage::Say(Say::text(frame)));
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
                        | "join_room"
                        | "leave_room"
                        | "create_room"
                        | "direct"
                        | "read"
                ) =>
            {
                ProtocolError::UnknownType(truncate_chars(&kind, 64))
            }
            _ => ProtocolError::Malformed(err.to_string()),
        }
    })
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_say() {
        assert_eq!(
            decode_text("hi there"),
            Ok(ClientMessage::Say(Say::text("hi there")))
        );
    }

    #[test]
    fn only_json_white_space_may_precede_an_object() {
        assert!(matches!(
            decode_text(" \n{\"type\":\"typing\"}"),
            Ok(ClientMessage::Typing { room: None })
        ));
        assert_eq!(
            decode_text("\u{b}{"),
            Ok(ClientMessage::Say(Say::text("\u{b}{")))
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
            Ok(ClientMessage::Typing { room: None })
        );
        assert_eq!(
            decode_text(r#"{"type":"typing","room":4}"#),
            Ok(ClientMessage::Typing { room: Some(4) })
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
            prop_assert_eq!(decode_text(&frame), Ok(ClientMessage::Say(Say::text(text))));
        }

        #[test]
        fn plain_text_is_always_say(text in "[^{ \t\n\r][^\n]{0,200}") {
            prop_assert_eq!(decode_text(&text), Ok(ClientMessage::Say(Say::text(text.clone()))));
        }
    }
}
