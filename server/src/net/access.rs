//! Who may talk to the room: the Host allowlist (against DNS rebinding) and
//! the Origin allowlist (against cross-site WebSocket hijacking).
//!
//! A page on any website can open `ws://127.0.0.1:7070/ws` from the user's
//! browser; only the Origin header tells it apart from our own page. And a
//! hostile DNS name pointed at 127.0.0.1 makes the browser send that name as
//! Host, which is how a rebinding attack is told apart.

use std::net::SocketAddr;
use std::sync::{PoisonError, RwLock};

/// The origin of the desktop app's own webview on this platform: Windows
/// serves it from `http://tauri.localhost`, Linux and macOS from
/// `tauri://localhost`. Only the desktop app allows it; a headless server has
/// no webview, and `http://tauri.localhost` is also what a browser sends for
/// a page from any local web server on port 80.
#[cfg(windows)]
pub const DESKTOP_WEBVIEW_ORIGIN: &str = "http://tauri.localhost";
/// The origin of the desktop app's own webview on this platform.
#[cfg(not(windows))]
pub const DESKTOP_WEBVIEW_ORIGIN: &str = "tauri://localhost";

/// Which loopback names reach this server and no other program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loopback {
    /// Listening on 127.0.0.1 and [::1]: both, and `localhost`, are ours.
    Both,
    /// IPv6 loopback does not exist here, so `localhost` means 127.0.0.1.
    V4Only,
    /// Another program holds [::1] on our port: a browser asked for
    /// `localhost` may reach it, so neither `localhost` nor `[::1]` is trusted.
    V6Taken,
    /// Bound to some other address: only that address is ours.
    Elsewhere,
}

/// The allowlists for one bound address, plus the network addresses the
/// room is shared on, while it is.
#[derive(Debug)]
pub struct AccessPolicy {
    hosts: Vec<String>,
    origins: Vec<String>,
    /// `IP:PORT` of each network listener; empty while not sharing.
    network: RwLock<Vec<String>>,
}

impl AccessPolicy {
    /// Allows the bound address and the loopback names that reach only this
    /// server, plus `extra_origins` (each also as a Host).
    pub fn new(bound: SocketAddr, loopback: Loopback, extra_origins: &[String]) -> Self {
        let port = bound.port();
        let mut hosts = vec![bound.to_string()];
        match loopback {
            Loopback::Both => {
                hosts.push(format!("127.0.0.1:{port}"));
                hosts.push(format!("[::1]:{port}"));
                hosts.push(format!("localhost:{port}"));
            }
            Loopback::V4Only => {
                hosts.push(format!("127.0.0.1:{port}"));
                hosts.push(format!("localhost:{port}"));
            }
            Loopback::V6Taken | Loopback::Elsewhere => {}
        }
        let mut origins: Vec<String> = hosts.iter().map(|h| format!("http://{h}")).collect();
        for origin in extra_origins {
            let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
            if let Some(host) = authority(&origin) {
                hosts.push(host.to_owned());
            }
            origins.push(origin);
        }
        hosts.sort();
        hosts.dedup();
        origins.sort();
        origins.dedup();
        Self {
            hosts,
            origins,
            network: RwLock::new(Vec::new()),
        }
    }

    /// The network addresses the room is shared on (none to stop): each is
    /// an allowed Host, and `http://` it an allowed Origin, only meanwhile.
    pub fn set_network(&self, addrs: &[SocketAddr]) {
        let hosts = addrs.iter().map(SocketAddr::to_string).collect();
        *self.network.write().unwrap_or_else(PoisonError::into_inner) = hosts;
    }

    /// Whether a WebSocket through a network listener may be opened from
    /// this Origin: only from the shared address's own pages (or from a
    /// non-browser client, which sends none), never from this computer's
    /// origins, which have no business on the network side.
    pub fn network_origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(origin) => origin
                .trim()
                .to_ascii_lowercase()
                .strip_prefix("http://")
                .is_some_and(|host| self.is_network_host(host)),
        }
    }

    fn is_network_host(&self, host: &str) -> bool {
        self.network
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|h| h == host)
    }

    /// Whether a request's Host header names this server. A request without
    /// one is refused: every HTTP/1.1 client, browsers included, sends it.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        host.is_some_and(|h| {
            let h = h.trim().to_ascii_lowercase();
            self.hosts.contains(&h) || self.is_network_host(&h)
        })
    }

    /// Whether a WebSocket may be opened from this Origin. No Origin means a
    /// non-browser client (browsers always send one on WebSocket requests);
    /// `null` (sandboxed frames, `file:` pages) is refused.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(origin) => {
                let origin = origin.trim().to_ascii_lowercase();
                self.origins.contains(&origin)
                    || origin
                        .strip_prefix("http://")
                        .is_some_and(|host| self.is_network_host(host))
            }
        }
    }
}

/// The `host[:port]` of an `http://` or `https://` origin, as a browser
/// sends it in Host for a page from that origin.
fn authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(loopback: Loopback) -> AccessPolicy {
        AccessPolicy::new(
            SocketAddr::from(([127, 0, 0, 1], 7070)),
            loopback,
            &["http://MyBox.local:7070/".to_owned()],
        )
    }

    #[test]
    fn same_origin_and_configured_origins_pass() {
        let p = policy(Loopback::Both);
        for origin in [
            "http://127.0.0.1:7070",
            "http://localhost:7070",
            "http://[::1]:7070",
            "http://mybox.local:7070",
        ] {
            assert!(p.origin_allowed(Some(origin)), "{origin}");
        }
        assert!(p.origin_allowed(None));
    }

    #[test]
    fn foreign_null_webview_and_other_port_origins_fail() {
        let p = policy(Loopback::Both);
        for origin in [
            "null",
            "https://evil.example",
            "http://127.0.0.1:8080",
            "http://localhost.evil.example:7070",
            "tauri://localhost",
            "http://tauri.localhost",
            "https://tauri.localhost",
            "",
        ] {
            assert!(!p.origin_allowed(Some(origin)), "{origin}");
        }
    }

    #[test]
    fn the_webview_origin_is_allowed_only_when_given() {
        let desktop = AccessPolicy::new(
            SocketAddr::from(([127, 0, 0, 1], 7070)),
            Loopback::Both,
            &[DESKTOP_WEBVIEW_ORIGIN.to_owned()],
        );
        assert!(desktop.origin_allowed(Some(DESKTOP_WEBVIEW_ORIGIN)));
        assert!(!policy(Loopback::Both).origin_allowed(Some(DESKTOP_WEBVIEW_ORIGIN)));
    }

    #[test]
    fn loopback_names_another_program_may_hold_are_not_trusted() {
        let p = policy(Loopback::V6Taken);
        assert!(p.origin_allowed(Some("http://127.0.0.1:7070")));
        assert!(!p.origin_allowed(Some("http://[::1]:7070")));
        assert!(!p.origin_allowed(Some("http://localhost:7070")));
        assert!(!p.host_allowed(Some("[::1]:7070")));
        let v4 = policy(Loopback::V4Only);
        assert!(!v4.origin_allowed(Some("http://[::1]:7070")));
        assert!(v4.origin_allowed(Some("http://localhost:7070")));
    }

    #[test]
    fn hosts_are_checked() {
        let p = policy(Loopback::Both);
        assert!(p.host_allowed(Some("127.0.0.1:7070")));
        assert!(p.host_allowed(Some("LOCALHOST:7070")));
        assert!(!p.host_allowed(Some("evil.example:7070")));
        assert!(!p.host_allowed(Some("127.0.0.1")));
        assert!(!p.host_allowed(None));
    }

    #[test]
    fn network_addresses_are_allowed_only_while_shared() {
        let p = policy(Loopback::Both);
        let shared = SocketAddr::from(([198, 18, 0, 1], 7070));
        assert!(!p.host_allowed(Some("198.18.0.1:7070")));
        assert!(!p.origin_allowed(Some("http://198.18.0.1:7070")));
        p.set_network(&[shared]);
        assert!(p.host_allowed(Some("198.18.0.1:7070")));
        assert!(p.origin_allowed(Some("http://198.18.0.1:7070")));
        assert!(!p.origin_allowed(Some("https://198.18.0.1:7070")));
        assert!(!p.origin_allowed(Some("http://198.18.0.1:7071")));
        assert!(!p.host_allowed(Some("198.18.0.2:7070")));
        assert!(p.host_allowed(Some("127.0.0.1:7070")), "loopback unchanged");
        p.set_network(&[]);
        assert!(!p.host_allowed(Some("198.18.0.1:7070")));
        assert!(!p.origin_allowed(Some("http://198.18.0.1:7070")));
    }

    #[test]
    fn an_allowed_origin_is_also_an_allowed_host() {
        let p = policy(Loopback::Both);
        assert!(p.host_allowed(Some("mybox.local:7070")));
        assert!(!p.host_allowed(Some("mybox.local")));
    }
}
