//! The web UI (`ui/`), embedded in the binary so an installed copy needs
//! nothing beside it.
//!
//! Lookups go to the embedded table only, never to the file system, so no
//! path (encoded or not) can reach a file outside `ui/`.

use std::sync::LazyLock;

use http::{header, HeaderValue, Response, StatusCode};
use percent_encoding::percent_decode_str;
use rust_embed::RustEmbed;

use super::csp::content_security_policy;

#[derive(RustEmbed)]
#[folder = "../ui/"]
#[exclude = "*.d.ts"]
#[exclude = "tsconfig.json"]
struct Ui;

/// Content-Security-Policy for the pages we serve, whose only connections
/// are WebSockets back to this server.
static PAGE_CSP: LazyLock<String> = LazyLock::new(|| content_security_policy(&["'self'"], &[]));

/// Resolves a request path (percent-encoded, without the leading slash) to an
/// embedded file. Directory-like paths serve their `index.html`.
pub fn lookup(raw_path: &str) -> Option<(String, rust_embed::EmbeddedFile)> {
    let decoded = percent_decode_str(raw_path).decode_utf8().ok()?;
    // Refuse anything that is not a plain relative path: parent or current
    // directory segments, backslashes, NULs, absolute paths.
    if decoded.starts_with('/')
        || decoded.contains('\\')
        || decoded.contains('\0')
        || decoded.split('/').any(|seg| seg == ".." || seg == ".")
    {
        return None;
    }
    let path = if decoded.is_empty() || decoded.ends_with('/') {
        format!("{decoded}index.html")
    } else {
        decoded.into_owned()
    };
    let file = Ui::get(&path)?;
    Some((path, file))
}

/// Builds the response for a file, honouring `If-None-Match`.
pub fn respond(
    path: &str,
    file: rust_embed::EmbeddedFile,
    if_none_match: Option<&str>,
) -> Response<Vec<u8>> {
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let not_modified = if_none_match
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mime = file.metadata.mimetype();
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer");
    if path.ends_with(".html") {
        builder = builder
            .header(header::CONTENT_SECURITY_POLICY, PAGE_CSP.as_str())
            .header(header::X_FRAME_OPTIONS, "DENY");
    }
    let content_type = if is_textual(mime) && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    builder = builder.header(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let result = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Vec::new())
    } else {
        builder.body(file.data.into_owned())
    };
    result.unwrap_or_else(|err| {
        log::error!("failed to build a response for {path}: {err}");
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

fn is_textual(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript"
                | "application/json"
                | "image/svg+xml"
                | "application/manifest+json"
        )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_served_for_the_root() {
        assert_eq!(lookup("").map(|(p, _)| p), Some("index.html".into()));
    }

    #[test]
    fn traversal_is_refused_encoded_or_not() {
        for path in [
            "../Cargo.toml",
            "%2e%2e/Cargo.toml",
            "..%2fCargo.toml",
            "%2e%2e%2fCargo.toml",
            "a/../../Cargo.toml",
            "..\\Cargo.toml",
            "%2fetc/passwd",
            "./index.html",
            "index.html%00",
        ] {
            assert!(lookup(path).is_none(), "{path}");
        }
    }
}
