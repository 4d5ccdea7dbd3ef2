//! Who people are in the room.

use serde::{Deserialize, Serialize};

/// A peer's identity in the room: ids come from a counter and are never reused.
pub type PeerId = usize;

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
