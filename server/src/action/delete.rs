//! `delete`: a message's text and files removed for good, by its author or
//! the host; everyone is told `deleted`.

use crate::model::RoomId;
use serde::{Deserialize, Serialize};

/// Deleting a message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Delete {
    /// Which message.
    pub id: u64,
}

/// A message was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// Which message.
    pub id: u64,
    /// The conversation it is in.
    pub room: RoomId,
    /// Content hashes no upload uses any more: their bytes go once the
    /// transaction commits. Nobody is told.
    #[serde(skip)]
    pub gone: Vec<String>,
}
