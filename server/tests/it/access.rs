//! Origin and Host allowlists (cross-site WebSocket hijacking, DNS rebinding).

use crate::support::{handshake_status, http_get, test_config, TestServer};
use hearth_server::Config;

#[tokio::test]
async fn foreign_and_null_origins_get_403() {
    let server = TestServer::start(test_config()).await;
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:1",
        "file://",
    ] {
        assert_eq!(
            handshake_status(&server, &[("origin", origin)]).await,
            403,
            "{origin}"
        );
    }
    assert_eq!(server.room.stats().connections, 0);
}

#[tokio::test]
async fn same_origin_desktop_configured_and_absent_origins_succeed() {
    let server = TestServer::start(Config {
        allowed_origins: vec!["https://friend.example".into()],
        ..test_config()
    })
    .await;
    let port = server.addr.port();
    let same = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ];
    let others = [
        "tauri://localhost",
        "http://tauri.localhost",
        "https://tauri.localhost",
        "https://friend.example",
    ];
    for origin in same.iter().map(String::as_str).chain(others) {
        assert_eq!(
            handshake_status(&server, &[("origin", origin)]).await,
            101,
            "{origin}"
        );
    }
    assert_eq!(handshake_status(&server, &[]).await, 101);
}

#[tokio::test]
async fn a_foreign_host_gets_403_on_every_route() {
    let server = TestServer::start(test_config()).await;
    for path in ["/", "/healthz", "/ws", "/index.html"] {
        let (status, _, _) = http_get(server.addr, path, "evil.example:80").await;
        assert_eq!(status, 403, "{path}");
        let (status, _, _) = http_get(
            server.addr,
            path,
            &format!("rebind.example:{}", server.addr.port()),
        )
        .await;
        assert_eq!(status, 403, "{path}");
    }
    let status = handshake_status(&server, &[("host", "evil.example")]).await;
    assert_eq!(status, 403);
    let (status, _, _) = http_get(
        server.addr,
        "/healthz",
        &format!("localhost:{}", server.addr.port()),
    )
    .await;
    assert_eq!(status, 200);
}
