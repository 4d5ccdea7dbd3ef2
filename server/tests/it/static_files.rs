//! The embedded UI and `/healthz`.

use crate::support::{http_get, test_config, TestServer};

#[tokio::test]
async fn the_page_and_its_files_are_served_with_the_right_types() {
    let server = TestServer::start(test_config()).await;
    let host = server.addr.to_string();
    let (status, head, body) = http_get(server.addr, "/", &host).await;
    assert_eq!(status, 200);
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    let csp = head
        .lines()
        .find_map(|line| line.strip_prefix("content-security-policy:"))
        .unwrap_or_else(|| panic!("a CSP header in {head}"));
    let mut directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    directives.sort_unstable();
    assert_eq!(
        directives,
        [
            "base-uri 'none'",
            "connect-src 'self'",
            "default-src 'self'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "img-src 'self' data: blob:",
            "object-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
        ],
        "{csp}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(
        String::from_utf8_lossy(&body).contains("<title>"),
        "index.html body"
    );
    let (status, head, _) = http_get(server.addr, "/app.js", &host).await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/javascript"),
        "{head}"
    );
    let (status, _, _) = http_get(server.addr, "/no-such-file.txt", &host).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn traversal_attempts_find_nothing() {
    let server = TestServer::start(test_config()).await;
    let host = server.addr.to_string();
    for target in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/%252e%252e/Cargo.toml",
        "/..\\Cargo.toml",
        "/%5c..%5cCargo.toml",
        "//etc/passwd",
        "/ui/../../Cargo.toml",
    ] {
        let (status, _, body) = http_get(server.addr, target, &host).await;
        assert!(status == 404 || status == 400, "{target}: {status}");
        assert!(
            !String::from_utf8_lossy(&body).contains("[package]"),
            "{target}"
        );
        assert!(
            !String::from_utf8_lossy(&body).contains("root:"),
            "{target}"
        );
    }
}

#[tokio::test]
async fn healthz_reports_status_version_clients_and_counters() {
    let server = TestServer::start(test_config()).await;
    let _lurker = crate::support::Client::connect(&server).await;
    let (mut ann, _) = crate::support::Client::join(&server, "Ann").await;
    ann.send(serde_json::json!({"type": "say", "text": "counted"}))
        .await;
    ann.expect("message").await;
    server.wait_for_connections(2).await;
    let (status, head, body) = http_get(server.addr, "/healthz", &server.addr.to_string()).await;
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("application/json"));
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], hearth_server::VERSION);
    assert_eq!(health["clients"], 2);
    assert_eq!(health["connections"], 2);
    assert_eq!(health["joined"], 1);
    assert_eq!(health["messages"], 1);
    assert_eq!(health["evictions"]["overflow"], 0);
    assert_eq!(health["evictions"]["stalled"], 0);
    assert_eq!(health["join_timeouts"], 0);
    assert_eq!(health["room_rate_limited"], 0);
    assert_eq!(health["panics"], 0);
    assert!(health["uptime_secs"].is_u64());
}
