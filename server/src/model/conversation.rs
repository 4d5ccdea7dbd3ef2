//! Conversations: General, the rooms the host makes, and direct
//! conversations between two people. Who may see one, who is in one, and
//! the rules for a room's name.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::names::{name_key, validate_label, NameError};

/// A conversation's id: unique in the house, never reused.
pub type RoomId = u64;

/// General's id: every house has it; nobody can leave it and the host
/// cannot delete it.
pub const GENERAL: RoomId = 1;

/// Longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 40;

/// Longest room topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 250;

/// What kind of conversation it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A room everyone can see and join.
    Room,
    /// Two people, and nobody else.
    Direct,
}

impl Kind {
    /// How the database spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Room => "room",
            Kind::Direct => "direct",
        }
    }
}

/// One conversation, as the house keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Its id.
    pub id: RoomId,
    /// Room or direct.
    pub kind: Kind,
    /// A room's name (a direct conversation is named by the other person).
    pub name: String,
    /// A line about what the room is for.
    pub topic: Option<String>,
    /// Read-only: still readable and searchable.
    pub archived: bool,
    /// A direct conversation's two people (uids, in sorted order).
    pub pair: Option<(String, String)>,
    /// A room's members by uid (General's are everyone, so it keeps none).
    pub members: HashSet<String>,
}

impl Conversation {
    /// Whether `uid` may see it at all: every room, and a direct
    /// conversation only by its two.
    pub fn visible_to(&self, uid: &str) -> bool {
        match &self.pair {
            Some((a, b)) => a == uid || b == uid,
            None => true,
        }
    }

    /// Whether `uid` receives it live and may say things in it.
    pub fn has_member(&self, uid: &str) -> bool {
        match &self.pair {
            Some(_) => self.visible_to(uid),
            None => self.id == GENERAL || self.members.contains(uid),
        }
    }

    /// For a direct conversation, the other person's uid.
    pub fn other(&self, uid: &str) -> Option<&str> {
        let (a, b) = self.pair.as_ref()?;
        Some(if a == uid { b } else { a })
    }
}

/// Trims and checks a room name: 1 to 40 visible characters, by the same
/// rules as people's names. Returns it with its comparison key, so rooms
/// that look alike clash.
pub fn validate_room_name(raw: &str) -> Result<(String, String), NameError> {
    let name = validate_label(raw, MAX_ROOM_NAME_CHARS)?;
    let key = name_key(&name);
    Ok((name, key))
}

/// A topic trimmed to at most [`MAX_TOPIC_CHARS`] characters; `None` when
/// nothing remains.
pub fn clean_topic(raw: &str) -> Option<String> {
    let text = super::clean_text(raw)?;
    let line: String = text
        .split(['\n', '\r'])
        .next()
        .unwrap_or_default()
        .chars()
        .take(MAX_TOPIC_CHARS)
        .collect();
    let line = line.trim();
    line.chars()
        .any(super::names::is_visible)
        .then(|| line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generals_key_is_what_the_migration_stores() {
        assert_eq!(name_key("General"), "general");
    }

    #[test]
    fn room_names_follow_the_rules_of_peoples_names_up_to_40_characters() {
        assert_eq!(
            validate_room_name("  Track A ").map(|n| n.0),
            Ok("Track A".into())
        );
        let forty = "a".repeat(40);
        assert!(validate_room_name(&forty).is_ok());
        assert_eq!(
            validate_room_name(&"a".repeat(41)),
            Err(NameError::TooLong(40))
        );
        assert!(validate_room_name("   ").is_err());
        assert!(validate_room_name("a\u{200b}b").is_err());
        let long_hidden = format!("{}\u{200b}", "a".repeat(35));
        assert!(validate_room_name(&long_hidden).is_err());
        assert_eq!(
            validate_room_name("GENERAL").map(|n| n.1),
            validate_room_name("General").map(|n| n.1)
        );
    }

    #[test]
    fn a_topic_is_one_line_of_at_most_250_characters() {
        assert_eq!(clean_topic("  agenda \nand more"), Some("agenda".into()));
        assert_eq!(clean_topic(&"t".repeat(300)).map(|t| t.len()), Some(250));
        assert_eq!(clean_topic(" \u{200b} "), None);
    }

    #[test]
    fn a_direct_conversation_is_only_its_twos() {
        let direct = Conversation {
            id: 7,
            kind: Kind::Direct,
            name: String::new(),
            topic: None,
            archived: false,
            pair: Some(("a".into(), "b".into())),
            members: HashSet::new(),
        };
        assert!(direct.visible_to("a") && direct.has_member("b"));
        assert!(!direct.visible_to("c") && !direct.has_member("c"));
        assert_eq!(direct.other("a"), Some("b"));
    }
}
