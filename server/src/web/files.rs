//! `POST /files` (upload one file, for a message to carry) and
//! `GET /files/{id}` (fetch it). Uploads are a way in for hostile bytes, so
//! both ends are careful: an upload passes the same Host and Origin checks
//! as the WebSocket, the room's rate ceiling and a size limit; a file is
//! served with a type told by its bytes (only four picture types are ever
//! shown inline), never sniffed again by the browser, sandboxed, and
//! anything else as a download.

use std::sync::Arc;

use bytes::{Buf as _, BytesMut};
use futures::{StreamExt as _, TryStreamExt as _};
use http::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_DISPOSITION,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use tokio::sync::Semaphore;
use warp::reject::Rejection;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::{PeerAddr, RouteState};
use crate::limits::MessageRate;
use crate::peer::Remote;
use crate::protocol::FileInfo;

/// Room for the multipart envelope around the file: boundaries and part
/// headers (a long file name included).
const ENVELOPE_BYTES: u64 = 16 * 1024;

/// Uploads received at once: each may hold up to the size limit in memory.
const CONCURRENT_UPLOADS: usize = 4;

/// The policy of a served file: nothing in it may run, load or navigate,
/// even if a browser were to render it as a page.
const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// What the upload routes share beyond [`RouteState`].
#[derive(Debug, Clone)]
pub struct Uploads {
    receiving: Arc<Semaphore>,
    rate: Arc<MessageRate>,
}

impl Uploads {
    /// At most [`CONCURRENT_UPLOADS`] at once, and `rate` for the room.
    pub fn new(rate: Option<crate::config::RateLimit>) -> Self {
        Self {
            receiving: Arc::new(Semaphore::new(CONCURRENT_UPLOADS)),
            rate: Arc::new(MessageRate::new(rate)),
        }
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

/// `POST /files`: one `multipart/form-data` field named `file`.
pub fn upload(state: RouteState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("files")
        .and(warp::post())
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::ext::optional::<PeerAddr>())
        .and(warp::multipart::form().max_length(None))
        .then(
            move |origin: Option<String>,
                  length: Option<u64>,
                  addr: Option<PeerAddr>,
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
                                Remote(addr.map(|a| a.0))
                            );
                            warp::reply::json(&serde_json::json!({ "file": file })).into_response()
                        }
                        Err(err) => {
                            log::debug!(
                                "refused an upload from {}: {}",
                                Remote(addr.map(|a| a.0)),
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
    if !uploads.rate.allow() || !state.peer.room_rate.allow() {
        return Err(UploadError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many uploads right now; try again in a moment",
        ));
    }
    let _receiving = uploads.receiving.acquire().await.map_err(|_| {
        UploadError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the server is shutting down",
        )
    })?;
    let malformed = |why: &str| UploadError::new(StatusCode::BAD_REQUEST, "malformed", why);
    while let Some(part) = form.next().await {
        let part = part.map_err(|_| malformed("the upload was not a valid form"))?;
        if part.name() != "file" {
            continue;
        }
        let name = part.filename().unwrap_or("file").to_owned();
        let mut bytes = BytesMut::new();
        let mut stream = part.stream();
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|_| malformed("the upload broke off"))?
        {
            if bytes.len() as u64 + chunk.remaining() as u64 > max {
                return Err(UploadError::too_big(max));
            }
            bytes.extend_from_slice(chunk.chunk());
        }
        if bytes.is_empty() {
            return Err(malformed("the file is empty"));
        }
        return state
            .peer
            .room
            .add_upload(bytes.freeze(), &name)
            .await
            .map_err(|err| {
                log::warn!("could not keep an uploaded file: {err}");
                UploadError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the host cannot keep files right now; try again soon",
                )
            });
    }
    Err(malformed("the form has no field named file"))
}

/// `GET /files/{id}`: the file, as safely as it can be served.
pub fn download(
    state: RouteState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("files" / String)
        .and(warp::get())
        .and(warp::header::optional::<String>(IF_NONE_MATCH.as_str()))
        .and_then(move |id: String, etag: Option<String>| {
            let state = state.clone();
            async move {
                match state.peer.room.upload(&id).await {
                    Ok(Some((file, bytes))) => Ok(serve(&file, bytes, etag.as_deref())),
                    Ok(None) => Err(warp::reject::not_found()),
                    Err(err) => {
                        log::warn!("could not read file {id}: {err}");
                        Ok(warp::reply::with_status(
                            "the host cannot read files right now",
                            StatusCode::SERVICE_UNAVAILABLE,
                        )
                        .into_response())
                    }
                }
            }
        })
}

fn serve(file: &FileInfo, bytes: bytes::Bytes, if_none_match: Option<&str>) -> Response {
    let tag = format!("\"{}\"", file.id);
    let mut response = if if_none_match == Some(tag.as_str()) {
        warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response()
    } else {
        Response::new(bytes.into())
    };
    let picture = file.kind.starts_with("image/");
    let headers = response.headers_mut();
    let kind = if picture {
        file.kind.as_str()
    } else {
        "application/octet-stream"
    };
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(kind).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(FILE_CSP));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Revalidated each time: a deleted file stops being served at once.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        headers.insert(ETAG, tag);
    }
    if let Ok(disposition) = HeaderValue::from_str(&disposition(&file.name, picture)) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    response
}

/// `inline` for the four picture types, `attachment` for anything else (so
/// HTML or SVG is saved, never rendered); the name in both RFC 6266 forms.
fn disposition(name: &str, picture: bool) -> String {
    let kind = if picture { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%' | ';')) || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(name, NON_ALPHANUMERIC);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pictures_are_inline_and_names_cannot_break_the_header() {
        assert_eq!(
            disposition("cat.png", true),
            "inline; filename=\"cat.png\"; filename*=UTF-8''cat%2Epng"
        );
        let hostile = disposition("a\";b.html\r\nX: y", false);
        assert!(hostile.starts_with("attachment; filename=\"a__b.html__X: y\""));
        assert!(!hostile.contains('\r'));
        assert!(disposition("ünï.svg", false).contains("filename*=UTF-8''%C3%BCn%C3%AF%2Esvg"));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_size(1024), "1 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(900), "900 bytes");
    }
}
