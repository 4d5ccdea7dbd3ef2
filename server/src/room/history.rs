//! The recent messages a newcomer receives in `welcome`, bounded by count and
//! by serialized size.
//!
//! The size bound is what keeps `welcome` sendable: it must fit in a peer's
//! send queue with room to spare, whatever people have said. Without it, a
//! few hundred large messages full of characters that JSON escapes (`"`
//! doubles, control characters grow six-fold) would make `welcome` larger
//! than any peer may queue, and nobody could join the room again.

use std::collections::VecDeque;

use serde::{Serialize, Serializer};

use crate::protocol::ChatMessage;

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
        while self.messages.len() > self.max_len || self.bytes > self.max_bytes {
            let Some((_, dropped)) = self.messages.pop_front() else {
                break;
            };
            self.bytes -= dropped;
        }
    }
}

impl History {
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

/// Serializes as a JSON array of the messages, oldest first.
impl Serialize for History {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.messages.iter().map(|(message, _)| message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::User;

    fn message(id: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id,
            from: User {
                id: 1,
                name: "Ann".into(),
            },
            text: text.into(),
            ts: 0,
        }
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
        let json = serde_json::to_value(&history).expect("serializes");
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
