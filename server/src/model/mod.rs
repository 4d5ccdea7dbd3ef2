//! What the conversation is made of: people, messages and what they carry,
//! and the rules for names, text and reactions' emoji. Depends on nothing else in the crate.

pub mod conversation;
pub mod emoji;
pub mod message;
pub mod names;
pub mod search;
pub mod text;
pub mod user;

pub use conversation::{Conversation, Kind, RoomId, GENERAL};
pub use message::{excerpt, ChatMessage, FileInfo, Quote, Reaction};
pub use text::clean_text;
pub use user::{ConnectedFrom, PeerId, User};
