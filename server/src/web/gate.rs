//! The gate for the network: what a browser on another machine may reach.
//!
//! Requests through a loopback listener pass as before. Requests through a
//! network listener (only while the host shares the room) must carry a
//! valid invite pass, except for the invite link itself and the few files
//! of the "ask the host for an invite" page, which hold nothing of the room.

use std::net::IpAddr;

use http::{header, HeaderValue, StatusCode};
use warp::reject::Rejection;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::{assets, Denied, RouteState};
use crate::model::ConnectedFrom;
use crate::net::{Arrival, Via};
use crate::share::{forget_pass_cookie, BadInvite, Invites, PASS_COOKIE};

/// Files a browser on the network gets without a pass: the pages around
/// the invite need them, and none says anything about the room.
const PUBLIC_FILES: [&str; 3] = ["invite.css", "join.js", "icon.svg"];

/// Decides whether a request may reach the room. `page` says whether the
/// refusal should be the "ask the host" page rather than plain text.
pub fn admit(
    via: Option<&Via>,
    pass: Option<&str>,
    invites: &Invites,
    page: bool,
) -> Result<Arrival, Denied> {
    let (addr, sharing) = match via {
        // Only the accept loops make connections; without the extension
        // the request did not come through one, so it is not trusted.
        None => return Err(Denied::Forbidden("unknown listener")),
        Some(Via::Loopback(addr)) => {
            // "This computer" is whoever connects from a loopback address,
            // not whatever reached the main listener.
            return if is_loopback(addr.ip()) {
                Ok(Arrival {
                    addr: *addr,
                    from: ConnectedFrom::ThisComputer,
                    sharing: None,
                })
            } else {
                Err(Denied::Forbidden("not from this computer"))
            };
        }
        Some(Via::Network(addr, sharing)) => (addr, sharing),
    };
    match pass {
        None => Err(Denied::NeedsInvite { stale: false, page }),
        Some(token) => match invites.check(token) {
            Some(pass) => Ok(Arrival {
                addr: *addr,
                from: ConnectedFrom::Network {
                    ip: addr.ip(),
                    pass,
                },
                sharing: Some(sharing.clone()),
            }),
            None => Err(Denied::NeedsInvite { stale: true, page }),
        },
    }
}

/// Whether `ip` is this computer, an IPv4 loopback address mapped into
/// IPv6 included.
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Lets through what a request from where it came from may reach: anything
/// from this computer; from the network, the invite link, the public files,
/// and everything else only with a valid pass.
pub fn gate(state: RouteState) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::ext::optional::<Via>()
        .and(warp::path::full())
        .and(warp::cookie::optional::<String>(PASS_COOKIE))
        .and_then(
            move |via: Option<Via>, path: warp::path::FullPath, pass: Option<String>| {
                let path = path.as_str().trim_start_matches('/');
                let verdict = if matches!(via, Some(Via::Network(..)))
                    && (path.starts_with("join/") || PUBLIC_FILES.contains(&path))
                {
                    Ok(())
                } else {
                    admit(via.as_ref(), pass.as_deref(), &state.invites, is_page(path)).map(drop)
                };
                async move { verdict.map_err(warp::reject::custom) }
            },
        )
        .untuple_one()
}

/// Whether a path asks for a page (rather than a script, a file, the
/// WebSocket), so a refusal is best told as the "ask the host" page.
fn is_page(path: &str) -> bool {
    path.is_empty() || path.ends_with('/') || path.ends_with(".html")
}

/// `GET /join/{secret}`: the invite link. From the network, the right
/// secret buys this browser a pass (an `HttpOnly`, `SameSite=Strict`
/// cookie) and a page that moves on to the room, replacing itself in the
/// history. From this computer, which needs no invite, it just goes to the
/// room.
pub fn join(state: RouteState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("join" / String)
        .and(warp::get())
        .and(warp::ext::optional::<Via>())
        .map(move |secret: String, via: Option<Via>| {
            let Some(Via::Network(addr, _)) = via else {
                return go_to_room();
            };
            match state.invites.redeem(addr.ip(), &secret) {
                Ok(pass) => {
                    log::info!("{} joined with the invite link", addr.ip());
                    let mut response = page("join.html", StatusCode::OK);
                    set_cookie(&mut response, &pass.set_cookie());
                    response
                }
                Err(BadInvite::Wrong) => {
                    // The secret itself is never logged.
                    log::warn!("{} tried an invite link that is not valid", addr.ip());
                    page("ask.html", StatusCode::FORBIDDEN)
                }
                Err(BadInvite::NoRandomness) => warp::reply::with_status(
                    "the room cannot let anyone in right now",
                    StatusCode::SERVICE_UNAVAILABLE,
                )
                .into_response(),
                Err(BadInvite::Full) => {
                    log::warn!("{} was not let in: the room is full", addr.ip());
                    warp::reply::with_status(
                        "the room has as many guests as it can take right now; ask the host",
                        StatusCode::SERVICE_UNAVAILABLE,
                    )
                    .into_response()
                }
                Err(BadInvite::TooManyFromAddress) => {
                    log::warn!("{} was not let in: too many passes there", addr.ip());
                    warp::reply::with_status(
                        "too many guests from this address are in the room; ask the host",
                        StatusCode::TOO_MANY_REQUESTS,
                    )
                    .into_response()
                }
                Err(BadInvite::TooManyAttempts) => {
                    log::warn!("{} tried too many invite links", addr.ip());
                    warp::reply::with_status(
                        "too many invite attempts: try again in a minute",
                        StatusCode::TOO_MANY_REQUESTS,
                    )
                    .into_response()
                }
            }
        })
}

/// A 303 to the room's page.
fn go_to_room() -> Response {
    let mut response = warp::reply::with_status("", StatusCode::SEE_OTHER).into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/"));
    response
}

/// One of the embedded pages, with `status`, never cached (the invite's
/// answer differs per visitor).
pub fn page(name: &str, status: StatusCode) -> Response {
    let Some((path, file)) = assets::lookup(name) else {
        return warp::reply::with_status("not found", StatusCode::NOT_FOUND).into_response();
    };
    let mut response = assets::respond(&path, file, None).into_response();
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.remove(header::ETAG);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The answer to a request from the network without a valid pass: 401
/// without one, 403 (and the browser told to forget it) with a stale one.
pub fn needs_invite(stale: bool, as_page: bool) -> Response {
    let status = if stale {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNAUTHORIZED
    };
    let mut response = if as_page {
        page("ask.html", status)
    } else {
        warp::reply::with_status("an invite from the host is needed", status).into_response()
    };
    if stale {
        set_cookie(&mut response, &forget_pass_cookie());
    }
    response
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;

    fn invites() -> Invites {
        let limits = crate::share::GuestLimits {
            per_pass: 8,
            per_address: 16,
        };
        Invites::new(limits).expect("randomness")
    }

    fn guest_addr() -> std::net::SocketAddr {
        std::net::SocketAddr::from(([198, 18, 0, 2], 50000))
    }

    fn network() -> Via {
        Via::Network(guest_addr(), CancellationToken::new())
    }

    #[test]
    fn loopback_needs_no_pass() {
        let invites = invites();
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let addr = std::net::SocketAddr::new(ip.parse().expect("ip"), 50000);
            let admitted = admit(Some(&Via::Loopback(addr)), None, &invites, true);
            assert!(
                matches!(
                    admitted,
                    Ok(Arrival {
                        from: ConnectedFrom::ThisComputer,
                        ..
                    })
                ),
                "{ip}"
            );
        }
    }

    #[test]
    fn this_computer_is_decided_by_the_peer_address_not_the_listener() {
        let invites = invites();
        let admitted = admit(Some(&Via::Loopback(guest_addr())), None, &invites, true);
        assert!(matches!(admitted, Err(Denied::Forbidden(_))));
    }

    #[test]
    fn the_network_needs_a_valid_pass() {
        let invites = invites();
        let none = admit(Some(&network()), None, &invites, true);
        assert!(matches!(
            none,
            Err(Denied::NeedsInvite {
                stale: false,
                page: true
            })
        ));
        let wrong = admit(Some(&network()), Some("forged"), &invites, false);
        assert!(matches!(
            wrong,
            Err(Denied::NeedsInvite {
                stale: true,
                page: false
            })
        ));
        let ip = IpAddr::from([198, 18, 0, 2]);
        let pass = invites
            .redeem(ip, &invites.secret().expect("a secret"))
            .expect("a pass");
        let admitted =
            admit(Some(&network()), Some(&pass.token), &invites, false).expect("admitted");
        assert_eq!(admitted.from, ConnectedFrom::Network { ip, pass: pass.id });
        assert!(admitted.sharing.is_some());
    }

    #[test]
    fn a_request_from_no_known_listener_is_refused() {
        let invites = invites();
        assert!(admit(None, None, &invites, false).is_err());
    }

    #[test]
    fn pages_are_told_from_other_requests() {
        for path in ["", "index.html", "sub/"] {
            assert!(is_page(path), "{path}");
        }
        for path in ["ws", "app.js", "files/abc", "healthz"] {
            assert!(!is_page(path), "{path}");
        }
    }
}
