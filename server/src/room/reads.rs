//! Reading what is stored, for one peer: history pages and search.

use tokio_tungstenite::tungstenite::Message;

use super::{Refused, Room};
use crate::model::search::Filters;
use crate::model::{PeerId, RoomId};
use crate::protocol::ServerMessage;
use crate::store::{Scope, StorageError, PAGE_LIMIT, SEARCH_LIMIT};

/// How many messages a history page or a search carries when the client
/// does not say.
pub(super) const DEFAULT_PAGE: usize = 50;

impl Room {
    /// Sends the peer up to `limit` stored messages just before `before` (or
    /// just after `after`), oldest first.
    pub async fn history_page(
        &self,
        id: PeerId,
        room: RoomId,
        before: Option<u64>,
        after: Option<u64>,
        limit: Option<usize>,
    ) -> Result<(), Refused> {
        self.may_read(id, room)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, PAGE_LIMIT);
        let page = match after {
            Some(after) => {
                let after = after.min(i64::MAX as u64);
                self.store
                    .page_after(room, after, limit, self.page_bytes)
                    .await
            }
            None => {
                let before = before.unwrap_or(u64::MAX).min(i64::MAX as u64);
                self.store
                    .page_before(room, before, limit, self.page_bytes)
                    .await
            }
        }
        .map_err(|err| self.storage_refusal(&err))?;
        let frame = ServerMessage::History {
            room,
            messages: &page.messages,
            more: page.more,
            before: if after.is_none() { before } else { None },
            after,
        }
        .to_frame();
        self.send_to(id, frame);
        Ok(())
    }

    /// Sends the peer up to `limit` stored messages that match `query`,
    /// newest first: in `room`, or in every room it is in and its direct
    /// conversations. The query's filters (`in:`, `from:`, `has:`) narrow it.
    pub async fn search(
        &self,
        id: PeerId,
        query: String,
        room: Option<RoomId>,
        limit: Option<usize>,
    ) -> Result<(), Refused> {
        let (_, joined) = self.rooms_of(id)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, SEARCH_LIMIT);
        let filters = Filters::parse(&query);
        let room = match (&filters.room, room) {
            (Some(name), _) => self.room_named(id, name).or(Some(0)),
            (None, room) => room,
        };
        let rooms = match room {
            Some(room) => match self.may_read(id, room) {
                Ok(()) => vec![room],
                // Not one it may see: as good as no room at all.
                Err(Refused::NoSuchRoom) => Vec::new(),
                Err(err) => return Err(err),
            },
            None => joined,
        };
        let scope = Scope {
            rooms,
            from: filters.from.as_deref().map(|name| self.uids_named(name)),
            has_file: filters.has_file,
            has_image: filters.has_image,
            has_link: filters.has_link,
        };
        let messages = self
            .store
            .search(filters.words, scope, limit, self.page_bytes)
            .await
            .map_err(|err| self.storage_refusal(&err))?;
        let frame = ServerMessage::Results {
            query: &query,
            messages: &messages,
        }
        .to_frame();
        self.send_to(id, frame);
        Ok(())
    }

    pub(super) fn storage_refusal(&self, err: &StorageError) -> Refused {
        log::warn!("a history or search request failed: {err}");
        Refused::ReadFailed
    }

    pub(super) fn send_to(&self, id: PeerId, frame: Message) {
        if let Some(member) = self.lock().members.get(&id) {
            member.outbox.push(frame);
        }
    }
}
