//! The headless server's host controls: loopback-only routes for whoever
//! runs `hearth-server` (the desktop app has its window instead, and does
//! not serve these).
//!
//! - `GET /invite`: the invite link and its QR code, as a page;
//! - `GET /host/share`: sharing's state and who is in the room, as JSON;
//! - `POST /host/share` `{"on": bool}`: start or stop sharing;
//! - `POST /host/share/new-link` `{"remove_everyone": bool}`: a new link;
//! - `POST /host/people/{id}/remove`: close someone with 1008;
//! - `GET`/`POST /host/rooms`, `PATCH`/`DELETE /host/rooms/{id}`,
//!   `POST /host/settings`: rooms (see [`super::host_rooms`]).
//!
//! A request gets through only if it came from this computer through the
//! loopback listener, and
//! - carries the launch's host token as `Authorization: Bearer TOKEN` (for
//!   `GET /invite`, which a browser's address bar opens, `?token=TOKEN`
//!   does too): other accounts on the machine reach loopback as well, but
//!   cannot read the token's file;
//! - has no `Origin` header and no `Sec-Fetch-Site` other than `none`:
//!   browsers send these with every request a web page makes;
//! - for a `POST`, has `Content-Type: application/json` (which no HTML form
//!   can send, and which makes a browser ask first) and a body with no
//!   field the route does not know.

use std::sync::Arc;

use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reject::Rejection;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::host_token::HostToken;
use super::Denied;
use crate::net::Via;
use crate::share::{ShareStatus, Sharing, WeakSharing};

/// Most bytes of JSON a host request may carry.
const MAX_BODY: u64 = 1024;

/// What the host routes need: the host's controls and the key to them.
#[derive(Debug, Clone)]
pub struct HostRoutes {
    /// The host's controls.
    pub sharing: WeakSharing,
    /// This launch's host token.
    pub token: Arc<HostToken>,
}

/// The host routes, or none at all (404 as for any unknown path) when
/// `host` is `None`.
pub fn routes(host: Option<HostRoutes>) -> BoxedFilter<(Response,)> {
    match host {
        Some(host) => mounted(host).boxed(),
        None => warp::any()
            .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
            .boxed(),
    }
}

fn mounted(host: HostRoutes) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let token = host.token.clone();
    let host_only = host_only(host);
    let invite = warp::path!("invite")
        .and(warp::get())
        .and(host_only.clone())
        .map(move |sharing: Sharing| {
            invite_page(&sharing.status(), sharing.room_port(), token.path())
        });
    let status = warp::path!("host" / "share")
        .and(warp::get())
        .and(host_only.clone())
        .map(|sharing: Sharing| status_json(&sharing));
    let switch = warp::path!("host" / "share")
        .and(warp::post())
        .and(host_only.clone())
        .and(json_body::<Switch>())
        .then(|sharing: Sharing, switch: Switch| async move {
            let outcome = if switch.on {
                sharing.start().await.map(drop)
            } else {
                sharing.stop().await;
                Ok(())
            };
            match outcome {
                Ok(()) => status_json(&sharing),
                Err(err) => with_status(
                    warp::reply::json(&serde_json::json!({ "error": err.to_string() })),
                    StatusCode::CONFLICT,
                ),
            }
        });
    let new_link = warp::path!("host" / "share" / "new-link")
        .and(warp::post())
        .and(host_only.clone())
        .and(json_body::<NewLink>())
        .map(|sharing: Sharing, ask: NewLink| {
            sharing.renew(ask.remove_everyone);
            status_json(&sharing)
        });
    let remove = warp::path!("host" / "people" / usize / "remove")
        .and(warp::post())
        .and(host_only.clone())
        .and(json_body::<NoFields>())
        .map(|id: usize, sharing: Sharing, NoFields {}| {
            if sharing.remove(id) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                with_status("nobody with that id", StatusCode::NOT_FOUND)
            }
        });
    invite
        .or(status)
        .unify()
        .or(switch)
        .unify()
        .or(new_link)
        .unify()
        .or(remove)
        .unify()
        .or(super::host_rooms::routes(host_only))
        .unify()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    on: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLink {
    #[serde(default)]
    remove_everyone: bool,
}

/// The body of a route that takes no fields: `{}` or nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// A small JSON body, sent as `application/json`; an empty one reads as
/// `{}`. Anything else is refused before the route acts: 415 for another
/// content type (an HTML form can send only three, none of them JSON), 400
/// for a body that is not the route's fields.
pub(super) fn json_body<T: serde::de::DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and_then(|content_type: Option<String>| async move {
            if content_type.as_deref().is_some_and(is_json) {
                Ok(())
            } else {
                Err(warp::reject::custom(Denied::UnsupportedMediaType(
                    "host requests are application/json",
                )))
            }
        })
        .untuple_one()
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and_then(|bytes: bytes::Bytes| async move {
            let text = if bytes.is_empty() {
                &b"{}"[..]
            } else {
                &bytes[..]
            };
            serde_json::from_slice::<T>(text).map_err(|_| {
                warp::reject::custom(Denied::BadRequest("not the JSON this route takes"))
            })
        })
}

/// Whether a `Content-Type` names JSON (parameters such as `charset` aside).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// What a request says about who sent it, as the host routes read it.
#[derive(Debug)]
struct Asker {
    via: Option<Via>,
    origin: Option<String>,
    fetch_site: Option<String>,
    authorization: Option<String>,
    /// `?token=` on `GET /invite`, for the host's address bar.
    query_token: Option<String>,
}

impl Asker {
    /// Why this request may not use the host's powers, if it may not.
    fn refusal(&self, token: &HostToken) -> Option<Denied> {
        if !matches!(self.via, Some(Via::Loopback(_))) {
            log::warn!("refused a host request from the network");
            return Some(Denied::Forbidden("only the host's computer may do this"));
        }
        // A browser sends `Sec-Fetch-Site: none` only for what a person
        // opened themselves (the address bar, a bookmark).
        let from_a_page = self.origin.is_some()
            || self
                .fetch_site
                .as_deref()
                .is_some_and(|site| !site.trim().eq_ignore_ascii_case("none"));
        if from_a_page {
            log::warn!("refused a host request from a web page");
            return Some(Denied::Forbidden("web pages may not do this"));
        }
        let by_query = self
            .query_token
            .as_deref()
            .is_some_and(|t| token.matches(t));
        if !(token.authorizes(self.authorization.as_deref()) || by_query) {
            log::warn!("refused a host request without the host token");
            return Some(Denied::Unauthorized);
        }
        None
    }
}

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Passes requests from the host (see the module's doc), extracting the
/// host's controls; refuses the rest with 401 or 403.
fn host_only(host: HostRoutes) -> impl Filter<Extract = (Sharing,), Error = Rejection> + Clone {
    let query = warp::query::<TokenQuery>()
        .or(warp::any().map(TokenQuery::default))
        .unify();
    warp::ext::optional::<Via>()
        .and(warp::header::optional::<String>("origin"))
        .and(warp::header::optional::<String>("sec-fetch-site"))
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::path::full())
        .and(query)
        .and_then(
            move |via: Option<Via>,
                  origin: Option<String>,
                  fetch_site: Option<String>,
                  authorization: Option<String>,
                  path: warp::path::FullPath,
                  query: TokenQuery| {
                let asker = Asker {
                    via,
                    origin,
                    fetch_site,
                    authorization,
                    query_token: query.token.filter(|_| path.as_str() == "/invite"),
                };
                let verdict = match host.sharing.upgrade() {
                    // The server is gone.
                    None => Err(warp::reject::not_found()),
                    Some(sharing) => match asker.refusal(&host.token) {
                        Some(refusal) => Err(warp::reject::custom(refusal)),
                        None => Ok(sharing),
                    },
                };
                async move { verdict }
            },
        )
}

pub(super) fn with_status(reply: impl Reply, status: StatusCode) -> Response {
    let mut response = reply.into_response();
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn status_json(sharing: &Sharing) -> Response {
    let body = serde_json::json!({
        "share": sharing.status(),
        "people": sharing.people(),
    });
    with_status(warp::reply::json(&body), StatusCode::OK)
}

/// The invite page for the host's browser: built here, from the link (our
/// own address and hex) and the QR code's SVG (our own drawing), with no
/// text from anyone in the room.
fn invite_page(status: &ShareStatus, port: u16, token_path: &std::path::Path) -> Response {
    let body = match (&status.link, &status.qr_svg) {
        (Some(link), qr) => format!(
            "<h1>Invite people on your network</h1>\
             <p>Anyone who opens this link on your network joins the room:</p>\
             <p class=\"link\"><a href=\"{link}\">{link}</a></p>\
             <figure role=\"img\" aria-label=\"QR code of the invite link\">{qr}</figure>\
             <p>The room is also at {addresses}.</p>\
             <p class=\"small\">Messages travel unencrypted on your local network: \
             share only on networks you trust. For a new link, \
             <code>curl -X POST -H \"Authorization: Bearer $(cat {token})\" \
             -H 'Content-Type: application/json' http://127.0.0.1:{port}/host/share/new-link</code>.</p>",
            token = html_text(&token_path.display().to_string()),
            qr = qr.as_deref().unwrap_or(""),
            addresses = status.addresses.join(", "),
        ),
        (None, _) => format!(
            "<h1>The room is not shared</h1>\
             <p>Only this computer can join. Start <code>hearth-server --share</code>, or \
             <code>curl -X POST -H \"Authorization: Bearer $(cat {token})\" \
             -H 'Content-Type: application/json' -d '{{\"on\":true}}' \
             http://127.0.0.1:{port}/host/share</code>.</p>",
            token = html_text(&token_path.display().to_string()),
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>Hearth: invite</title><link rel=\"stylesheet\" href=\"/invite.css\"></head>\
         <body><main class=\"card\">{body}</main></body></html>"
    );
    let mut response = with_status(warp::reply::html(html), StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `text` escaped for HTML: the token's path is the host's own, but a
/// folder's name may hold any character.
fn html_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}
