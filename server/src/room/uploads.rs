//! Files people send: only people in the room may, each upload belongs to
//! its uploader (their uid), and what is kept is bounded in all, per
//! person, per invite pass, and by the free disk space.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{identity, now_millis, Refused, Room};
use crate::model::ConnectedFrom;
use crate::model::FileInfo;
use crate::store::{Blob, FileQuota};

/// Free disk space that must be left once a file is kept, so the
/// conversation itself can still be written.
pub const DISK_RESERVE_BYTES: u64 = 256 * 1024 * 1024;

/// What the room counts about uploads beyond the store's own quotas.
#[derive(Debug)]
pub struct UploadLimits {
    /// The quotas the store checks.
    pub quota: FileQuota,
    /// Bytes uploaded through each invite pass while it lasts: a guest on
    /// the network who makes new identities still has one pass.
    by_pass: Mutex<HashMap<u64, u64>>,
}

impl UploadLimits {
    /// Limits with these quotas and nothing counted yet.
    pub fn new(quota: FileQuota) -> Self {
        Self {
            quota,
            by_pass: Mutex::new(HashMap::new()),
        }
    }
}

impl Room {
    /// The uid of the joined person whose client holds `key`, and where
    /// they are connected from; `NotJoined` when nobody with that key is
    /// in the room (uploads are for people in it, not for anyone who can
    /// reach the address).
    pub fn joined_uploader(&self, key: &str) -> Result<(String, ConnectedFrom), Refused> {
        let uid = identity::uid_for(&self.instance, key).map_err(|_| Refused::NotJoined)?;
        let state = self.lock();
        state
            .members
            .values()
            .find(|m| m.user.as_ref().is_some_and(|u| u.uid == uid))
            .map(|m| (uid.clone(), m.from))
            .ok_or(Refused::NotJoined)
    }

    /// Keeps a file `uid` uploaded (from `from`), within every quota.
    pub async fn add_upload(
        &self,
        bytes: bytes::Bytes,
        name: &str,
        uid: String,
        from: &ConnectedFrom,
    ) -> Result<FileInfo, Refused> {
        let size = bytes.len() as u64;
        let limits = &self.uploads;
        let pass = match from {
            ConnectedFrom::Network { pass, .. } => Some(*pass),
            ConnectedFrom::ThisComputer => None,
        };
        if let Some(pass) = pass {
            let used = limits
                .by_pass
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&pass)
                .copied()
                .unwrap_or(0);
            if used.saturating_add(size) > limits.quota.per_person {
                return Err(Refused::PersonFilesFull);
            }
        }
        let name = crate::store::clean_file_name(name);
        let kept = self
            .store
            .add_upload(bytes, name, now_millis(), uid, limits.quota)
            .await
            .map_err(|err| {
                log::warn!("could not keep an uploaded file: {err}");
                Refused::StorageUnavailable
            })?
            .map_err(Refused::from)?;
        if let Some(pass) = pass {
            *limits
                .by_pass
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(pass)
                .or_default() += size;
        }
        Ok(kept)
    }

    /// An uploaded file, and a way to read its bytes.
    pub async fn upload(&self, id: &str) -> Result<Option<(FileInfo, Blob)>, Refused> {
        // Ids are hex: anything else cannot name an upload.
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        self.store.upload(id.to_owned()).await.map_err(|err| {
            log::warn!("could not read file {id}: {err}");
            Refused::ReadFailed
        })
    }
}
