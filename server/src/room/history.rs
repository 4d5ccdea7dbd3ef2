//! The recent messages a newcomer receives in `welcome`, bounded by count and
//! by serialized size.
//!
//! The size bound is what keeps `welcome` sendable: it must fit in a peer's
//! send queue with room to spare, whatever people have said. Without it, a
//! few hundred large messages full of characters that JSON escapes (`"`
//! doubles, control characters grow six-fold) would make `welcome` larger
//! than any peer may queue, and nobody could join the room again.

use std::collections::VecDeque;

use crate::model::{excerpt, ChatMessage, Quote, Reaction, User};

/// An upper bound of the bytes `message` takes in a `message` frame (and
/// so in `welcome`).
pub fn size_of(message: &ChatMessage) -> usize {
    serde_json::to_string(message).map_or(usize::MAX / 2, |json| json.len() + FRAME_OVERHEAD)
}

/// What a frame adds around a message's JSON: `{"type":"message",` and the
/// closing brace, generously.
const FRAME_OVERHEAD: usize = 24;

/// The last messages, oldest first, at most `max_len` of them and at most
/// `max_bytes` of JSON together.
#[derive(Debug)]
pub struct History {
    messages: VecDeque<(ChatMessage, usize)>,
    bytes: usize,
    max_len: usize,
    max_bytes: usize,
}

impl History {
    /// An empty history with both bounds.
    pub fn new(max_len: usize, max_bytes: usize) -> Self {
        Self {
            messages: VecDeque::new(),
            bytes: 0,
            max_len,
            max_bytes,
        }
    }

    /// Keeps `message`, whose JSON takes `size` bytes, and forgets the oldest
    /// messages until both bounds hold again. A message larger than the whole
    /// byte budget is not kept.
    pub fn push(&mut self, message: ChatMessage, size: usize) {
        if self.max_len == 0 || size > self.max_bytes {
            return;
        }
        self.messages.push_back((message, size));
        self.bytes += size;
        self.fit();
    }
}

impl History {
    /// The kept message `id` gets `text`, edited at `ts`; so do the quotes
    /// of it.
    pub fn edit(&mut self, id: u64, text: &str, ts: u64) {
        self.update(id, |m| {
            m.text = text.to_owned();
            m.edited_ts = Some(ts);
        });
        self.update_quotes(id, |q| q.excerpt = excerpt(text));
    }

    /// The kept message `id` is deleted; its quotes say so.
    pub fn delete(&mut self, id: u64) {
        self.update(id, |m| {
            m.text.clear();
            m.deleted = true;
            m.edited_ts = None;
            m.reply_to = None;
            m.files.clear();
            m.reactions.clear();
        });
        self.update_quotes(id, |q| {
            q.excerpt.clear();
            q.deleted = true;
        });
    }

    /// `user` added (or took back) `emoji` on the kept message `id`.
    pub fn react(&mut self, id: u64, emoji: &str, user: &User, added: bool) {
        self.update(id, |m| {
            let at = m.reactions.iter().position(|r| r.emoji == emoji);
            match (at, added) {
                (Some(at), true) => m.reactions[at].users.push(user.clone()),
                (None, true) => m.reactions.push(Reaction {
                    emoji: emoji.to_owned(),
                    users: vec![user.clone()],
                }),
                (Some(at), false) => {
                    let users = &mut m.reactions[at].users;
                    users.retain(|u| u.uid != user.uid);
                    if users.is_empty() {
                        m.reactions.remove(at);
                    }
                }
                (None, false) => {}
            }
        });
    }

    /// Changes the kept message `id` (if kept), then restores the byte
    /// budget it may have outgrown.
    fn update(&mut self, id: u64, change: impl FnOnce(&mut ChatMessage)) {
        let Ok(at) = self.messages.binary_search_by_key(&id, |(m, _)| m.id) else {
            return;
        };
        let Some((message, size)) = self.messages.get_mut(at) else {
            return;
        };
        change(message);
        let new_size = size_of(message);
        self.bytes = self.bytes - *size + new_size;
        *size = new_size;
        self.fit();
    }

    fn update_quotes(&mut self, id: u64, mut change: impl FnMut(&mut Quote)) {
        let mut bytes = self.bytes;
        for (message, size) in self.messages.iter_mut() {
            if let Some(quote) = message.reply_to.as_mut().filter(|q| q.id == id) {
                change(quote);
                let new_size = size_of(message);
                bytes = bytes - *size + new_size;
                *size = new_size;
            }
        }
        self.bytes = bytes;
        self.fit();
    }

    /// Forgets the oldest messages until both bounds hold.
    fn fit(&mut self) {
        while self.messages.len() > self.max_len
            || (self.bytes > self.max_bytes && self.messages.len() > 1)
        {
            let Some((_, dropped)) = self.messages.pop_front() else {
                break;
            };
            self.bytes -= dropped;
        }
        // The newest message stays, whatever it carries: trimmed to fit.
        if self.bytes > self.max_bytes {
            if let Some((message, size)) = self.messages.back_mut() {
                message.trim_reactions_to(self.max_bytes.saturating_sub(FRAME_OVERHEAD));
                let new_size = size_of(message);
                self.bytes = self.bytes - *size + new_size;
                *size = new_size;
            }
        }
    }

    /// Forgets every message.
    pub fn clear(&mut self) {
        self.messages.clear();
        self.bytes = 0;
    }

    /// Forgets the messages older than `first_kept` (pruned from storage).
    pub fn forget_before(&mut self, first_kept: u64) {
        while self
            .messages
            .front()
            .is_some_and(|(m, _)| m.id < first_kept)
        {
            if let Some((_, size)) = self.messages.pop_front() {
                self.bytes -= size;
            }
        }
    }
}

impl History {
    /// The messages, oldest first (what `welcome` carries).
    pub fn messages(&self) -> Vec<&ChatMessage> {
        self.messages.iter().map(|(message, _)| message).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> User {
        User {
            id: 1,
            uid: "ann".into(),
            name: "Ann".into(),
        }
    }

    fn message(id: u64, text: &str) -> ChatMessage {
        ChatMessage::plain(id, ann(), text.into(), 0)
    }

    #[test]
    fn edits_deletions_and_reactions_reach_kept_messages_and_quotes() {
        let mut history = History::new(10, 10_000);
        history.push(message(1, "first"), 10);
        let mut reply = message(2, "answer");
        reply.reply_to = Some(Quote {
            id: 1,
            from: ann(),
            excerpt: "first".into(),
            deleted: false,
        });
        history.push(reply, 10);
        history.edit(1, "first, edited", 5);
        history.react(1, "👍", &ann(), true);
        let json = serde_json::to_value(history.messages()).expect("serializes");
        assert_eq!(json[0]["text"], "first, edited");
        assert_eq!(json[0]["edited_ts"], 5);
        assert_eq!(json[0]["reactions"][0]["users"][0]["uid"], "ann");
        assert_eq!(json[1]["reply_to"]["excerpt"], "first, edited");
        history.react(1, "👍", &ann(), false);
        history.delete(1);
        let json = serde_json::to_value(history.messages()).expect("serializes");
        assert_eq!(json[0]["text"], "");
        assert_eq!(json[0]["deleted"], true);
        assert!(json[0].get("reactions").is_none());
        assert_eq!(json[1]["reply_to"]["deleted"], true);
        assert_eq!(json[1]["reply_to"]["excerpt"], "");
        assert_eq!(
            history.bytes,
            history.messages.iter().map(|(_, s)| s).sum::<usize>()
        );
    }

    fn ids(history: &History) -> Vec<u64> {
        history.messages.iter().map(|(m, _)| m.id).collect()
    }

    #[test]
    fn keeps_the_last_n() {
        let mut history = History::new(2, 1000);
        for id in 0..5 {
            history.push(message(id, "x"), 10);
        }
        assert_eq!(ids(&history), [3, 4]);
        assert_eq!(history.bytes, 20);
    }

    #[test]
    fn keeps_within_the_byte_budget() {
        let mut history = History::new(100, 250);
        for id in 0..10 {
            history.push(message(id, "x"), 100);
        }
        assert_eq!(ids(&history), [8, 9]);
        assert!(history.bytes <= 250);
        // Too big to keep at all: the history stays as it was.
        history.push(message(10, "huge"), 251);
        assert_eq!(ids(&history), [8, 9]);
    }

    #[test]
    fn serializes_as_an_array_oldest_first() {
        let mut history = History::new(10, 1000);
        history.push(message(1, "a"), 1);
        history.push(message(2, "b"), 1);
        let json = serde_json::to_value(history.messages()).expect("serializes");
        assert_eq!(json[0]["id"], 1);
        assert_eq!(json[1]["text"], "b");
    }

    #[test]
    fn zero_length_keeps_nothing() {
        let mut history = History::new(0, 1000);
        history.push(message(1, "a"), 1);
        assert!(history.messages.is_empty());
    }
}
