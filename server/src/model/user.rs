//! Who people are in the room.

use std::net::IpAddr;

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

/// Where a connection comes from: what the host's people list shows, and
/// what ties a guest on the network to the invite pass that let them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectedFrom {
    /// Through the loopback address: the host's own computer.
    ThisComputer,
    /// Through a shared network address.
    Network {
        /// The guest's address.
        ip: IpAddr,
        /// The invite pass it presented.
        pass: u64,
    },
}
