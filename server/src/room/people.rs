//! Paging through the people in the room, in joining order.

use super::{Laggards, Refused, Room, State};
use crate::model::{PeerId, User};
use crate::protocol::{ServerMessage, PEOPLE_PAGE};

impl Room {
    /// Answers `people`: the next page of the people in the room after the
    /// cursor `after`.
    pub fn people_after(&self, id: PeerId, after: u64) -> Result<Laggards, Refused> {
        let mut state = self.lock();
        if state.members.get(&id).is_none_or(|m| m.user.is_none()) {
            return Err(Refused::NotJoined);
        }
        // The page reflects the roster now: what is still batched goes first.
        let laggards = self.flush_presence(&mut state);
        let (users, next) = people_page(&state, Some(after));
        let frame = ServerMessage::People { users, next }.to_frame();
        if let Some(member) = state.members.get_mut(&id) {
            member.outbox.push(frame);
            member.knows_everyone = next.is_none();
            // A peer may page from the start again and still hold later pages.
            member.loaded_through = member.loaded_through.max(next.unwrap_or(u64::MAX));
        }
        Ok(laggards)
    }
}

/// Up to [`PEOPLE_PAGE`] people in joining order after the cursor `after`
/// (from the start without one), and the cursor for the next page.
pub(super) fn people_page(state: &State, after: Option<u64>) -> (Vec<User>, Option<u64>) {
    let start = match after {
        Some(after) => std::ops::Bound::Excluded(after),
        None => std::ops::Bound::Unbounded,
    };
    let mut page = state.roster.range((start, std::ops::Bound::Unbounded));
    let mut users = Vec::new();
    let mut last = None;
    for (seq, id) in page.by_ref().take(PEOPLE_PAGE) {
        if let Some(user) = state.members.get(id).and_then(|m| m.user.clone()) {
            users.push(user);
            last = Some(*seq);
        }
    }
    let next = page.next().and(last);
    (users, next)
}
