//! The headless server's host controls: loopback-only routes for whoever
//! runs `hearth-server` (the desktop app has its window instead, and does
//! not serve these).
//!
//! - `GET /invite`: the invite link and its QR code, as a page;
//! - `GET /host/share`: sharing's state and who is in the room, as JSON;
//! - `POST /host/share` `{"on": bool}`: start or stop sharing;
//! - `POST /host/share/new-link` `{"remove_everyone": bool}`: a new link;
//! - `POST /host/people/{id}/remove`: close someone with 1008.
//!
//! Only a request through the loopback listener that carries no `Origin`
//! header gets through: browsers send `Origin` with every `POST` and every
//! cross-origin request, so no web page (on the network or on this
//! computer) can use them; a terminal's `curl` can. `GET /invite` is also
//! what a browser's address bar sends, and is never framed.

use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reject::Rejection;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::{Refusal, Via};
use crate::share::{ShareStatus, Sharing, WeakSharing};

/// Most bytes of JSON a host request may carry.
const MAX_BODY: u64 = 1024;

/// The host routes, or none at all (404 as for any unknown path) when
/// `host` is `None`.
pub fn routes(host: Option<WeakSharing>) -> BoxedFilter<(Response,)> {
    match host {
        Some(host) => mounted(host).boxed(),
        None => warp::any()
            .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
            .boxed(),
    }
}

fn mounted(host: WeakSharing) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let host_only = host_only(host);
    let invite = warp::path!("invite")
        .and(warp::get())
        .and(host_only.clone())
        .map(|sharing: Sharing| invite_page(&sharing.status(), sharing.room_port()));
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
        .and(host_only)
        .map(|id: usize, sharing: Sharing| {
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
}

#[derive(Debug, Deserialize)]
struct Switch {
    on: bool,
}

#[derive(Debug, Default, Deserialize)]
struct NewLink {
    #[serde(default)]
    remove_everyone: bool,
}

/// A small JSON body; an empty one reads as the type's default.
fn json_body<T: serde::de::DeserializeOwned + Send>(
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY)
        .and(warp::body::bytes())
        .and_then(|bytes: bytes::Bytes| async move {
            let text = if bytes.is_empty() {
                &b"{}"[..]
            } else {
                &bytes[..]
            };
            serde_json::from_slice::<T>(text)
                .map_err(|_| warp::reject::custom(Refusal::BadRequest("malformed JSON")))
        })
}

/// Passes requests through the loopback listener without an `Origin`
/// header, extracting the host's controls; refuses the rest with 403.
fn host_only(host: WeakSharing) -> impl Filter<Extract = (Sharing,), Error = Rejection> + Clone {
    warp::ext::optional::<Via>()
        .and(warp::header::optional::<String>("origin"))
        .and_then(move |via: Option<Via>, origin: Option<String>| {
            let verdict = match host.upgrade() {
                // The server is gone.
                None => Err(warp::reject::not_found()),
                Some(_) if !matches!(via, Some(Via::Loopback)) => {
                    log::warn!("refused a host request from the network");
                    Err(warp::reject::custom(Refusal::Forbidden(
                        "only the host's computer may do this",
                    )))
                }
                Some(_) if origin.is_some() => {
                    log::warn!("refused a host request from a web page");
                    Err(warp::reject::custom(Refusal::Forbidden(
                        "web pages may not do this",
                    )))
                }
                Some(sharing) => Ok(sharing),
            };
            async move { verdict }
        })
}

fn with_status(reply: impl Reply, status: StatusCode) -> Response {
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
fn invite_page(status: &ShareStatus, port: u16) -> Response {
    let body = match (&status.link, &status.qr_svg) {
        (Some(link), qr) => format!(
            "<h1>Invite people on your network</h1>\
             <p>Anyone who opens this link on your network joins the room:</p>\
             <p class=\"link\"><a href=\"{link}\">{link}</a></p>\
             <figure role=\"img\" aria-label=\"QR code of the invite link\">{qr}</figure>\
             <p>The room is also at {addresses}.</p>\
             <p class=\"small\">Messages travel unencrypted on your local network: \
             share only on networks you trust. For a new link, \
             <code>curl -X POST http://127.0.0.1:{port}/host/share/new-link</code>.</p>",
            qr = qr.as_deref().unwrap_or(""),
            addresses = status.addresses.join(", "),
        ),
        (None, _) => format!(
            "<h1>The room is not shared</h1>\
             <p>Only this computer can join. Start <code>hearth-server --share</code>, or \
             <code>curl -X POST -d '{{\"on\":true}}' http://127.0.0.1:{port}/host/share</code>.</p>"
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
