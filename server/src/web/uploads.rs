//! `POST /files`: upload one file, for a message to carry. Uploads are a
//! way in for hostile bytes and a way to fill the host's disk, so an upload
//! passes the same Origin checks as the WebSocket, comes only from someone
//! in the room (the form's `key`), one at a time per person, within the
//! room's rate ceiling, a size limit, a minimum pace and the quotas; when
//! every place is taken it is refused (503), not kept waiting.
//! (`downloads.rs` serves them.)

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf as _, BytesMut};
use futures::{StreamExt as _, TryStreamExt as _};
use http::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, VARY};
use http::StatusCode;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use warp::reject::Rejection;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::RouteState;
use crate::config::{Config, UploadPace};
use crate::limits::{KeyPlace, MessageRate, PerKey};
use crate::model::ConnectedFrom;
use crate::model::FileInfo;
use crate::net::{Remote, Via};
use crate::room::Refused;

/// Room for the multipart envelope around the file: boundaries and part
/// headers (a long file name included).
const ENVELOPE_BYTES: u64 = 16 * 1024;

/// Longest client key the upload form may carry (as in `hello`).
const MAX_KEY_BYTES: usize = 256;

/// What uploads share beyond [`RouteState`]: how many are received, and
/// who is uploading.
#[derive(Debug, Clone)]
pub struct Uploads {
    /// Places for uploads being received: each may hold up to the size
    /// limit in memory.
    receiving: Arc<Semaphore>,
    max_receiving: usize,
    pace: UploadPace,
    rate: Arc<MessageRate>,
    /// The uids with an upload under way: one at a time each.
    uploaders: PerKey<String>,
}

impl Uploads {
    /// Uploads as `config` bounds them, and `rate` for the room's.
    pub fn new(config: &Config, rate: Option<crate::config::RateLimit>) -> Self {
        let max_receiving = config.max_concurrent_uploads.min(Semaphore::MAX_PERMITS);
        Self {
            receiving: Arc::new(Semaphore::new(max_receiving)),
            max_receiving,
            pace: config.upload_pace,
            rate: Arc::new(MessageRate::new(rate)),
            uploaders: PerKey::new(1),
        }
    }

    /// Uploads being received now, and of them those whose sender is
    /// known (for `/healthz`).
    pub fn under_way(&self) -> (usize, usize) {
        let receiving = self.max_receiving - self.receiving.available_permits();
        (receiving, self.uploaders.keys())
    }
}

/// Why an upload was refused: its status, code and explanation go back as
/// JSON, `{"error": {"code", "message"}}`.
#[derive(Debug)]
struct UploadError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl UploadError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn too_big(max: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_big",
            format!("the file is too big: at most {}", human_size(max)),
        )
    }

    fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the room is receiving other files right now; try again in a moment",
        )
    }

    fn too_slow() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "too_slow",
            "the file arrived too slowly and was not kept",
        )
    }
}

impl From<Refused> for UploadError {
    fn from(refused: Refused) -> Self {
        let (status, code) = match refused {
            Refused::NotJoined => (StatusCode::FORBIDDEN, "not_joined"),
            Refused::FilesFull => (StatusCode::INSUFFICIENT_STORAGE, "files_full"),
            Refused::PersonFilesFull => (StatusCode::INSUFFICIENT_STORAGE, "person_files_full"),
            Refused::DiskFull => (StatusCode::INSUFFICIENT_STORAGE, "disk_full"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
        };
        let message = match refused {
            Refused::NotJoined => "join the room before sending files".to_owned(),
            Refused::StorageUnavailable | Refused::ReadFailed => {
                "the host cannot keep files right now; try again soon".to_owned()
            }
            other => other.to_string(),
        };
        Self::new(status, code, message)
    }
}

/// `1.5 MiB`, `10 MiB`, `900 bytes`.
fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const KIB: u64 = 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b if b >= KIB => format!("{:.1} KiB", b as f64 / KIB as f64),
        b => format!("{b} bytes"),
    }
}

/// `POST /files`: a `multipart/form-data` form with the field `key` (the
/// client's key, as in `hello`: only people in the room may send files)
/// and then the field `file`.
pub fn upload(state: RouteState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("files")
        .and(warp::post())
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::ext::optional::<Via>())
        .and(warp::multipart::form().max_length(None))
        .then(
            move |origin: Option<String>,
                  length: Option<u64>,
                  via: Option<Via>,
                  form: warp::multipart::FormData| {
                let state = state.clone();
                async move {
                    let allowed = state.access.origin_allowed(origin.as_deref());
                    let answer = receive(&state, allowed, length, form).await;
                    let mut response = match answer {
                        Ok(file) => {
                            log::info!(
                                "received a file of {} bytes ({}) from {}",
                                file.size,
                                file.kind,
                                Remote(via.as_ref().map(Via::addr))
                            );
                            warp::reply::json(&serde_json::json!({ "file": file })).into_response()
                        }
                        Err(err) => {
                            log::debug!(
                                "refused an upload from {}: {}",
                                Remote(via.as_ref().map(Via::addr)),
                                err.message
                            );
                            let body = serde_json::json!({
                                "error": {"code": err.code, "message": err.message}
                            });
                            warp::reply::with_status(warp::reply::json(&body), err.status)
                                .into_response()
                        }
                    };
                    // The desktop window's page is another origin: it may
                    // read the answer. Pages from anywhere else may not.
                    if let Some(origin) = origin.filter(|_| allowed) {
                        if let Ok(value) = HeaderValue::from_str(&origin) {
                            let headers = response.headers_mut();
                            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
                            headers.insert(VARY, HeaderValue::from_static("Origin"));
                        }
                    }
                    response
                }
            },
        )
}

async fn receive(
    state: &RouteState,
    origin_allowed: bool,
    length: Option<u64>,
    mut form: warp::multipart::FormData,
) -> Result<FileInfo, UploadError> {
    if !origin_allowed {
        return Err(UploadError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "uploads are not allowed from this page",
        ));
    }
    let max = state.peer.config.max_upload_bytes;
    // Refused before a byte of the body is read, when the browser says how
    // much is coming.
    if length.is_some_and(|length| length > max.saturating_add(ENVELOPE_BYTES)) {
        return Err(UploadError::too_big(max));
    }
    let uploads = &state.uploads;
    let _receiving = uploads
        .receiving
        .clone()
        .try_acquire_owned()
        .map_err(|_| UploadError::busy())?;
    let mut body = Body {
        pace: uploads.pace,
        started: Instant::now(),
        received: 0,
    };
    let mut sender = None;
    while let Some(part) = body.within_pace(form.next()).await? {
        let part = part.map_err(|_| malformed("the upload was not a valid form"))?;
        let field = part.name().to_owned();
        match (field.as_str(), &sender) {
            ("key", _) => {
                let key = body
                    .read(part, MAX_KEY_BYTES as u64)
                    .await?
                    .ok_or_else(|| malformed("the key is too long"))?;
                sender = Some(claim(state, &key)?);
            }
            ("file", Some((place, from))) => {
                let name = part.filename().unwrap_or("file").to_owned();
                let bytes = body
                    .read(part, max)
                    .await?
                    .ok_or_else(|| UploadError::too_big(max))?;
                if bytes.is_empty() {
                    return Err(malformed("the file is empty"));
                }
                let uid = place.key().clone();
                return state
                    .peer
                    .room
                    .add_upload(bytes.freeze(), &name, uid, from)
                    .await
                    .map_err(UploadError::from);
            }
            ("file", None) => return Err(Refused::NotJoined.into()),
            _ => {}
        }
    }
    Err(malformed("the form has no field named file"))
}

fn malformed(why: &str) -> UploadError {
    UploadError::new(StatusCode::BAD_REQUEST, "malformed", why)
}

/// The person a form's `key` names, if they are in the room, within the
/// room's upload rate, and with no other upload under way: their place
/// (held until this upload ends) and where they are connected from.
fn claim(state: &RouteState, key: &[u8]) -> Result<(KeyPlace<String>, ConnectedFrom), UploadError> {
    let key = std::str::from_utf8(key).map_err(|_| malformed("the key is not text"))?;
    let (uid, from) = state.peer.room.joined_uploader(key.trim())?;
    if !state.uploads.rate.allow() || !state.peer.room_rate.allow() {
        return Err(UploadError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many uploads right now; try again in a moment",
        ));
    }
    let place = state.uploads.uploaders.try_take(uid).ok_or_else(|| {
        UploadError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "one_at_a_time",
            "your other file is still on its way; send this one after it",
        )
    })?;
    Ok((place, from))
}

/// An upload's body as it arrives: each piece is due by a grace after the
/// request plus the minimum rate for what came before it.
struct Body {
    pace: UploadPace,
    started: Instant,
    received: usize,
}

impl Body {
    /// `next`, if it comes in time.
    async fn within_pace<T>(
        &self,
        next: impl std::future::Future<Output = T>,
    ) -> Result<T, UploadError> {
        let rate = self.pace.min_bytes_per_sec.max(1) as f64;
        let due =
            self.started + self.pace.grace + Duration::from_secs_f64(self.received as f64 / rate);
        tokio::time::timeout_at(due, next)
            .await
            .map_err(|_| UploadError::too_slow())
    }

    /// The whole of `part`, or `None` once it is over `limit` bytes.
    async fn read(
        &mut self,
        part: warp::multipart::Part,
        limit: u64,
    ) -> Result<Option<BytesMut>, UploadError> {
        let mut bytes = BytesMut::new();
        let mut stream = part.stream();
        while let Some(chunk) = self
            .within_pace(stream.try_next())
            .await?
            .map_err(|_| malformed("the upload broke off"))?
        {
            if bytes.len() as u64 + chunk.remaining() as u64 > limit {
                return Ok(None);
            }
            self.received += chunk.remaining();
            bytes.extend_from_slice(chunk.chunk());
        }
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_size(1024), "1 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(900), "900 bytes");
    }
}
