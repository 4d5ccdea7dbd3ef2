//! The HTTP surface, as small warp filters composed into one boxed filter:
//! `GET /ws` (the room), `GET /healthz`, `POST /files` and `GET /files/{id}`
//! (files people send), `GET /join/{secret}` (the invite link), the
//! headless host's routes, and the embedded UI for every other `GET`. Every
//! route first passes the Host allowlist, then the gate that keeps the
//! network out without an invite.

use std::sync::Arc;

use http::StatusCode;
use tokio_util::task::TaskTracker;
use warp::filters::BoxedFilter;
use warp::reject::{Reject, Rejection};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::limits::ClientSlot;
use crate::limits::ClientSlots;
use crate::model::ConnectedFrom;
use crate::net::{AccessPolicy, Arrival, Via};
use crate::session::{self, PeerContext};
use crate::share::GuestConnection;
use crate::share::{Crowded, Invites, PASS_COOKIE};
use tokio_util::task::task_tracker::TaskTrackerToken;

mod assets;
mod csp;
mod downloads;
mod gate;
mod host;
mod host_rooms;
mod host_token;
mod upgrade;
mod uploads;

pub use csp::content_security_policy;
pub use downloads::Downloads;
pub use host::HostRoutes;
pub use host_token::{HostToken, HostTokenError};
pub use uploads::Uploads;

/// This crate's version, reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the routes share.
#[derive(Debug, Clone)]
pub struct RouteState {
    /// Passed to each WebSocket session.
    pub peer: PeerContext,
    /// Host and Origin allowlists.
    pub access: Arc<AccessPolicy>,
    /// The client cap.
    pub slots: ClientSlots,
    /// Sessions register here so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// What uploads share: their concurrency and rate.
    pub uploads: Uploads,
    /// What downloads share: how many run.
    pub downloads: Downloads,
    /// The invite secret and the passes it bought.
    pub invites: Arc<Invites>,
    /// The host's controls and their token, for the headless server's host
    /// routes; `None` where the host has a window instead.
    pub host: Option<HostRoutes>,
}

/// Why a request was refused before reaching a handler.
#[derive(Debug)]
pub(crate) enum Denied {
    /// Malformed in a way that could fool a check (two Host headers).
    BadRequest(&'static str),
    /// Host or Origin not on the allowlist.
    Forbidden(&'static str),
    /// A host route asked without the host token.
    Unauthorized,
    /// A host route's body in another format than JSON.
    UnsupportedMediaType(&'static str),
    /// The client cap is reached.
    RoomFull,
    /// A guest, or their address, has as many connections open as they may.
    Crowded(Crowded),
    /// From the network without a valid invite pass (`stale`: with one
    /// that no longer works); `page`: answer with the "ask the host" page.
    NeedsInvite {
        /// A pass was shown but is not (or no longer) valid.
        stale: bool,
        /// The request was for a page.
        page: bool,
    },
}

impl Reject for Denied {}

/// Builds every route. A plain function returning a boxed filter, so callers
/// (the desktop shell's async runtime) never capture warp's generic types.
pub fn routes(state: RouteState) -> BoxedFilter<(Response,)> {
    let host_check = host_check(state.access.clone());
    let api = gate::join(state.clone())
        .or(host::routes(state.host.clone()))
        .unify()
        .or(websocket(state.clone()))
        .unify()
        .or(health(state.clone()))
        .unify()
        .or(uploads::upload(state.clone()))
        .unify()
        .or(downloads::download(state.clone()))
        .unify()
        .or(static_files())
        .unify();
    host_check
        .and(gate::gate(state))
        .and(api)
        .recover(explain_rejection)
        .unify()
        .boxed()
}

/// Refuses any request whose Host header does not name this server, and any
/// with more than one Host header (RFC 9112 §3.2: a server must answer 400),
/// so no disagreement about which one counts can slip past the check.
fn host_check(access: Arc<AccessPolicy>) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and_then(move |headers: http::HeaderMap| {
            let mut hosts = headers.get_all(http::header::HOST).iter();
            let host = hosts.next().map(|h| h.to_str().ok());
            let verdict = if hosts.next().is_some() {
                log::warn!("refused a request with more than one Host header");
                Err(Denied::BadRequest("more than one Host header"))
            } else {
                match host {
                    Some(Some(host)) if access.host_allowed(Some(host)) => Ok(()),
                    _ => {
                        log::warn!("refused a request for host {host:?}");
                        Err(Denied::Forbidden("unknown host"))
                    }
                }
            };
            async move { verdict.map_err(warp::reject::custom) }
        })
        .untuple_one()
}

/// `GET /ws`: checks Origin and the client cap, then upgrades.
fn websocket(state: RouteState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("ws")
        .and(upgrade::handshake())
        .and(warp::header::optional::<String>("origin"))
        .and(warp::ext::optional::<Via>())
        .and(warp::cookie::optional::<String>(PASS_COOKIE))
        .and_then(
            move |ws: upgrade::Handshake,
                  origin: Option<String>,
                  via: Option<Via>,
                  pass: Option<String>| {
                let state = state.clone();
                async move {
                    let arrival = gate::admit(via.as_ref(), pass.as_deref(), &state.invites, false)
                        .map_err(warp::reject::custom)?;
                    upgrade(ws, origin, arrival, state)
                }
            },
        )
}

fn upgrade(
    ws: upgrade::Handshake,
    origin: Option<String>,
    arrival: Arrival,
    state: RouteState,
) -> Result<Response, Rejection> {
    let addr = arrival.addr;
    let origin_allowed = match arrival.from {
        ConnectedFrom::ThisComputer => state.access.origin_allowed(origin.as_deref()),
        ConnectedFrom::Network { .. } => state.access.network_origin_allowed(origin.as_deref()),
    };
    if !origin_allowed {
        log::warn!("refused a WebSocket from origin {origin:?} ({})", addr);
        return Err(warp::reject::custom(Denied::Forbidden(
            "origin not allowed",
        )));
    }
    // A guest's connection counts against their pass and their address.
    let guest = match arrival.from {
        ConnectedFrom::ThisComputer => None,
        ConnectedFrom::Network { ip, pass } => match state.invites.connect(pass, ip) {
            Ok(guest) => Some(guest),
            Err(crowded) => {
                log::warn!("refused a connection from {}: {crowded}", addr);
                return Err(warp::reject::custom(Denied::Crowded(crowded)));
            }
        },
    };
    let Some(slot) = state.slots.try_take(guest.is_some()) else {
        log::warn!(
            "room full ({} clients): refused {}",
            state.peer.config.max_clients,
            addr
        );
        return Err(warp::reject::custom(Denied::RoomFull));
    };
    let guards = SessionGuards::new(slot, guest, state.tracker.token());
    let config = upgrade::socket_config(state.peer.config.max_message_bytes);
    let ctx = state.peer;
    Ok(ws.accept(config, &state.tracker, move |socket| async move {
        session::serve(socket, arrival, ctx).await;
        drop(guards);
    }))
}

/// Holds what a WebSocket session must keep alive until it ends: its slot under the
/// client cap and its place among the tasks shutdown waits for. Dropping it
/// frees both.
#[derive(Debug)]
pub struct SessionGuards {
    _slot: ClientSlot,
    _guest: Option<GuestConnection>,
    _task: TaskTrackerToken,
}

impl SessionGuards {
    /// Guards for a session holding `slot` (and, for a guest on the
    /// network, its place under their caps), tracked by `task`.
    pub fn new(slot: ClientSlot, guest: Option<GuestConnection>, task: TaskTrackerToken) -> Self {
        Self {
            _slot: slot,
            _guest: guest,
            _task: task,
        }
    }
}

/// `GET /healthz`: liveness, who is connected and the room's running
/// totals, as JSON: what tools read instead of log lines.
fn health(state: RouteState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("healthz").and(warp::get()).map(move || {
        let room = &state.peer.room;
        let stats = room.stats();
        let counters = room.counters();
        let (receiving, senders) = state.uploads.under_way();
        warp::reply::json(&serde_json::json!({
            "status": "ok",
            "version": VERSION,
            "clients": stats.connections,
            "connections": stats.connections,
            "joined": stats.people,
            "messages": counters.messages,
            "evictions": {
                "overflow": counters.evicted_overflow,
                "stalled": counters.evicted_stalled,
            },
            "join_timeouts": counters.join_timeouts,
            "room_rate_limited": counters.room_rate_limited,
            "storage_failures": counters.storage_failures,
            "uptime_secs": counters.uptime_secs,
            "panics": crate::panics::panics(),
            "files": {
                "receiving": receiving,
                "senders": senders,
                "downloading": state.downloads.running(),
            },
        }))
        .into_response()
    })
}

/// Every other `GET`/`HEAD`: the embedded UI.
fn static_files() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::get()
        .or(warp::head())
        .unify()
        .and(warp::path::tail())
        .and(warp::header::optional::<String>("if-none-match"))
        .and_then(|tail: warp::path::Tail, etag: Option<String>| async move {
            match assets::lookup(tail.as_str()) {
                Some((path, file)) => {
                    Ok(assets::respond(&path, file, etag.as_deref()).into_response())
                }
                None => Err(warp::reject::not_found()),
            }
        })
}

/// Turns our refusals and "not found" into plain-text answers; anything else
/// keeps warp's default handling (405, 400, …).
async fn explain_rejection(rejection: Rejection) -> Result<Response, Rejection> {
    let (status, text) = if let Some(refusal) = rejection.find::<Denied>() {
        match refusal {
            Denied::NeedsInvite { stale, page } => {
                return Ok(gate::needs_invite(*stale, *page));
            }
            Denied::BadRequest(why) => (StatusCode::BAD_REQUEST, *why),
            Denied::Forbidden(why) => (StatusCode::FORBIDDEN, *why),
            Denied::Unauthorized => {
                let mut response = warp::reply::with_status(
                    "this needs the host token: Authorization: Bearer TOKEN",
                    StatusCode::UNAUTHORIZED,
                )
                .into_response();
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer"),
                );
                return Ok(response);
            }
            Denied::UnsupportedMediaType(why) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, *why),
            Denied::RoomFull => (StatusCode::SERVICE_UNAVAILABLE, "the room is full"),
            Denied::Crowded(Crowded::Guest) => (
                StatusCode::TOO_MANY_REQUESTS,
                "this browser has too many connections to the room open; close some tabs",
            ),
            Denied::Crowded(Crowded::Address) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many connections to the room from this address",
            ),
        }
    } else if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "not found")
    } else {
        return Err(rejection);
    };
    Ok(warp::reply::with_status(text, status).into_response())
}
