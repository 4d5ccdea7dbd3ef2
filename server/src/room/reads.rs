//! Reading what is stored, for one peer: history pages and search.

use tokio_tungstenite::tungstenite::Message;

use super::{Refused, Room};
use crate::model::PeerId;
use crate::protocol::ServerMessage;
use crate::store::{StorageError, PAGE_LIMIT, SEARCH_LIMIT};

/// How many messages a history page or a search carries when the client
/// does not say.
pub(super) const DEFAULT_PAGE: usize = 50;

impl Room {
    /// Sends the peer up to `limit` stored messages just before `before` (or
    /// just after `after`), oldest first.
    pub async fn history_page(
        &self,
        id: PeerId,
        before: Option<u64>,
        after: Option<u64>,
        limit: Option<usize>,
    ) -> Result<(), Refused> {
        self.require_joined(id)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, PAGE_LIMIT);
        let page = match after {
            Some(after) => self.store.page_after(after, limit, self.page_bytes).await,
            None => {
                let before = before.unwrap_or(u64::MAX).min(i64::MAX as u64);
                self.store.page_before(before, limit, self.page_bytes).await
            }
        }
        .map_err(|err| self.storage_refusal(&err))?;
        let frame = ServerMessage::History {
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
    /// newest first.
    pub async fn search(
        &self,
        id: PeerId,
        query: String,
        limit: Option<usize>,
    ) -> Result<(), Refused> {
        self.require_joined(id)?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, SEARCH_LIMIT);
        let messages = self
            .store
            .search(query.clone(), limit, self.page_bytes)
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

    pub(super) fn require_joined(&self, id: PeerId) -> Result<(), Refused> {
        let state = self.lock();
        match state.members.get(&id) {
            Some(member) if member.user.is_some() => Ok(()),
            _ => Err(Refused::NotJoined),
        }
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
