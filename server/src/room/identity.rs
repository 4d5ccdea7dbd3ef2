//! Who a person is across connections: a client keeps a random secret (its
//! key) and sends it with `hello`; the room derives a public `uid` from it.
//! The key itself is never stored or shown: only the uid, a one-way hash,
//! which cannot be turned back into the key that would let someone else
//! act as its owner.

use sha2::{Digest as _, Sha256};

use super::Refused;

/// Shortest key accepted: a key is a random secret, not a password.
const MIN_KEY_BYTES: usize = 16;
/// Longest key accepted.
const MAX_KEY_BYTES: usize = 256;

/// The uid of whoever holds `key` in the room `room_id`. The room id salts
/// it, so the same browser has unrelated uids in different rooms.
pub fn uid_for(room_id: &str, key: &str) -> Result<String, Refused> {
    if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len())
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Refused::InvalidKey);
    }
    let mut hash = Sha256::new();
    hash.update(b"hearth uid v1\0");
    hash.update(room_id.as_bytes());
    hash.update(b"\0");
    hash.update(key.as_bytes());
    let digest = hash.finalize();
    Ok(hex::encode(&digest[..16]))
}

/// A uid for a connection without a key: its own, for as long as it lasts.
pub fn fresh_uid() -> String {
    match crate::store::random_id() {
        Ok(uid) => uid,
        Err(err) => {
            // Without the OS's randomness nobody could be told apart anyway;
            // an id nobody can claim keeps the connection usable.
            log::error!("no randomness for a fresh identity: {err}");
            String::from("anonymous")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_is_the_same_person_in_one_room_only() {
        let key = "k".repeat(32);
        let uid = uid_for("room-a", &key).expect("valid");
        assert_eq!(uid, uid_for("room-a", &key).expect("valid"));
        assert_ne!(uid, uid_for("room-b", &key).expect("valid"));
        assert_ne!(uid, uid_for("room-a", &"j".repeat(32)).expect("valid"));
        assert_eq!(uid.len(), 32);
        assert!(!uid.contains(&key));
    }

    #[test]
    fn short_long_or_unprintable_keys_are_refused() {
        assert_eq!(uid_for("r", "short"), Err(Refused::InvalidKey));
        assert_eq!(uid_for("r", &"k".repeat(257)), Err(Refused::InvalidKey));
        assert_eq!(
            uid_for("r", &format!("{} x", "k".repeat(20))),
            Err(Refused::InvalidKey)
        );
        assert_ne!(fresh_uid(), fresh_uid());
    }
}
