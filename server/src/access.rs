//! Who may talk to the room: the Host allowlist (against DNS rebinding) and
//! the Origin allowlist (against cross-site WebSocket hijacking).
//!
//! A page on any website can open `ws://127.0.0.1:7070/ws` from the user's
//! browser; only the Origin header tells it apart from our own page. And a
//! hostile DNS name pointed at 127.0.0.1 makes the browser send that name as
//! Host, which is how a rebinding attack is told apart.

use std::net::SocketAddr;

/// Origins of the desktop webview: Linux and macOS use `tauri://localhost`,
/// Windows `http(s)://tauri.localhost`.
pub const DESKTOP_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// The allowlists for one bound address.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl AccessPolicy {
    /// Allows the bound address and its loopback spellings, the desktop
    /// webview, and `extra_origins`.
    pub fn new(bound: SocketAddr, extra_origins: &[String]) -> Self {
        let port = bound.port();
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
            bound.to_string(),
        ];
        hosts.sort();
        hosts.dedup();
        let mut origins: Vec<String> = hosts.iter().map(|h| format!("http://{h}")).collect();
        origins.extend(DESKTOP_ORIGINS.iter().map(|o| (*o).to_owned()));
        origins.extend(
            extra_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()),
        );
        Self { hosts, origins }
    }

    /// Whether a request's Host header names this server. A request without
    /// one is refused: every HTTP/1.1 client, browsers included, sends it.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        host.is_some_and(|h| {
            let h = h.trim().to_ascii_lowercase();
            self.hosts.contains(&h)
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
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AccessPolicy {
        AccessPolicy::new(
            SocketAddr::from(([127, 0, 0, 1], 7070)),
            &["http://MyBox.local:7070/".to_owned()],
        )
    }

    #[test]
    fn same_origin_desktop_and_configured_origins_pass() {
        let p = policy();
        for origin in [
            "http://127.0.0.1:7070",
            "http://localhost:7070",
            "http://[::1]:7070",
            "tauri://localhost",
            "http://tauri.localhost",
            "https://tauri.localhost",
            "http://mybox.local:7070",
        ] {
            assert!(p.origin_allowed(Some(origin)), "{origin}");
        }
        assert!(p.origin_allowed(None));
    }

    #[test]
    fn foreign_null_and_other_port_origins_fail() {
        let p = policy();
        for origin in [
            "null",
            "https://evil.example",
            "http://127.0.0.1:8080",
            "http://localhost.evil.example:7070",
            "",
        ] {
            assert!(!p.origin_allowed(Some(origin)), "{origin}");
        }
    }

    #[test]
    fn hosts_are_checked() {
        let p = policy();
        assert!(p.host_allowed(Some("127.0.0.1:7070")));
        assert!(p.host_allowed(Some("LOCALHOST:7070")));
        assert!(!p.host_allowed(Some("evil.example:7070")));
        assert!(!p.host_allowed(Some("127.0.0.1")));
        assert!(!p.host_allowed(None));
    }
}
