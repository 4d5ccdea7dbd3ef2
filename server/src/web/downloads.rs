//! `GET /files/{id}`: a file people sent, streamed from where it is kept
//! (never read whole into memory), served with a type told by its bytes
//! (only four picture types are ever shown inline), never sniffed again by
//! the browser, sandboxed, and anything else as a download. Downloads are
//! capped at once, in all and per address, and a client that stops reading
//! is cut off by the connection's write timeout.

use std::net::IpAddr;
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use http::header::{
    HeaderValue, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use warp::reject::Rejection;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::RouteState;
use crate::config::Config;
use crate::limits::{KeyPlace, PerKey};
use crate::model::FileInfo;
use crate::net::Via;
use crate::store::Blob;

/// How much of a file on disk is read and sent at a time.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// The policy of a served file: nothing in it may run, load or navigate,
/// even if a browser were to render it as a page.
const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// How many downloads run, in all and per address.
#[derive(Debug, Clone)]
pub struct Downloads {
    all: Arc<Semaphore>,
    max: usize,
    by_address: PerKey<IpAddr>,
}

impl Downloads {
    /// Downloads as `config` bounds them.
    pub fn new(config: &Config) -> Self {
        let max = config.max_downloads.min(Semaphore::MAX_PERMITS);
        Self {
            all: Arc::new(Semaphore::new(max)),
            max,
            by_address: PerKey::new(config.max_downloads_per_address),
        }
    }

    /// Downloads running now (for `/healthz`).
    pub fn running(&self) -> usize {
        self.max - self.all.available_permits()
    }

    /// A place for one download from `ip`, if one is free.
    fn place(&self, ip: Option<IpAddr>) -> Option<DownloadPlace> {
        let permit = self.all.clone().try_acquire_owned().ok()?;
        let address = match ip {
            Some(ip) => Some(self.by_address.try_take(ip)?),
            None => None,
        };
        Some(DownloadPlace {
            _permit: permit,
            _address: address,
        })
    }
}

/// One running download's place; given back when its body is done or
/// dropped (the client went away, or its connection timed out).
#[derive(Debug)]
struct DownloadPlace {
    _permit: OwnedSemaphorePermit,
    _address: Option<KeyPlace<IpAddr>>,
}

/// `GET /files/{id}`: the file, as safely as it can be served, streamed
/// from where it is kept; at most so many at once, and from one address.
pub fn download(
    state: RouteState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("files" / String)
        .and(warp::get())
        .and(warp::header::optional::<String>(IF_NONE_MATCH.as_str()))
        .and(warp::ext::optional::<Via>())
        .and_then(move |id: String, etag: Option<String>, via: Option<Via>| {
            let addr = via.map(|via| via.addr());
            let state = state.clone();
            async move {
                let busy = || {
                    warp::reply::with_status(
                        "too many downloads at once; try again in a moment",
                        StatusCode::SERVICE_UNAVAILABLE,
                    )
                    .into_response()
                };
                let Some(place) = state.downloads.place(addr.map(|a| a.ip())) else {
                    return Ok(busy());
                };
                match state.peer.room.upload(&id).await {
                    Ok(Some((file, blob))) => Ok(serve(&file, blob, place, etag.as_deref())),
                    Ok(None) => Err(warp::reject::not_found()),
                    Err(_) => Ok(warp::reply::with_status(
                        "the host cannot read files right now",
                        StatusCode::SERVICE_UNAVAILABLE,
                    )
                    .into_response()),
                }
            }
        })
}

/// The bytes of `blob` as a body stream that holds `place` until it ends.
fn body_stream(
    blob: Blob,
    place: DownloadPlace,
) -> impl Stream<Item = std::io::Result<bytes::Bytes>> + Send + Sync + 'static {
    let chunks = match blob {
        Blob::Memory(bytes) => futures::stream::once(async move { Ok(bytes) }).left_stream(),
        Blob::File(file) => tokio_util::io::ReaderStream::with_capacity(
            tokio::fs::File::from_std(file),
            DOWNLOAD_CHUNK,
        )
        .right_stream(),
    };
    chunks.map(move |chunk| {
        let _held = &place;
        chunk
    })
}

fn serve(
    file: &FileInfo,
    blob: Blob,
    place: DownloadPlace,
    if_none_match: Option<&str>,
) -> Response {
    let tag = format!("\"{}\"", file.id);
    let mut response = if if_none_match == Some(tag.as_str()) {
        warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response()
    } else {
        let mut response = warp::reply::stream(body_stream(blob, place)).into_response();
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(file.size));
        response
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
}
