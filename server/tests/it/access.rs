//! Origin and Host allowlists (cross-site WebSocket hijacking, DNS rebinding).

use crate::support::{handshake_status, http_get, raw_request, test_config, TestServer};
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
async fn same_origin_configured_and_absent_origins_succeed() {
    let server = TestServer::start(Config {
        allowed_origins: vec!["https://friend.example".into()],
        ..test_config()
    })
    .await;
    let port = server.addr.port();
    let allowed = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
        "https://friend.example".to_owned(),
    ];
    for origin in &allowed {
        assert_eq!(
            handshake_status(&server, &[("origin", origin)]).await,
            101,
            "{origin}"
        );
    }
    assert_eq!(handshake_status(&server, &[]).await, 101);
}

/// Browsers send `*.localhost` to loopback, so a page from any local web
/// server on port 80 has origin `http://tauri.localhost`: a server without a
/// webview must not trust the webview origins.
#[tokio::test]
async fn the_headless_server_refuses_the_desktop_webview_origins() {
    let server = TestServer::start(test_config()).await;
    for origin in [
        "tauri://localhost",
        "http://tauri.localhost",
        "https://tauri.localhost",
    ] {
        assert_eq!(
            handshake_status(&server, &[("origin", origin)]).await,
            403,
            "{origin}"
        );
    }
}

/// The allowlist names `[::1]` and `localhost` only because the room holds
/// [::1] on its port too: no other program can serve a page there.
#[tokio::test]
async fn the_room_also_holds_ipv6_loopback_on_its_port() {
    let server = TestServer::start(test_config()).await;
    let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.addr.port()));
    let squatter = std::net::TcpListener::bind(v6);
    assert!(
        squatter.is_err(),
        "another program could listen on {v6} beside the room"
    );
    let host = format!("[::1]:{}", server.addr.port());
    let (status, _, body) = http_get(v6, "/healthz", &host).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("\"status\":\"ok\""));
}

/// When another program already holds [::1] on the room's port, pages from
/// `[::1]` and `localhost` may be that program's: they are refused.
#[tokio::test]
async fn with_ipv6_loopback_held_by_another_program_only_127_0_0_1_is_trusted() {
    // Hold [::1] on a port, then start the room on 127.0.0.1 with that port.
    let squatter = std::net::TcpListener::bind("[::1]:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let Ok(server) = TestServer::try_start(Config {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        ..test_config()
    })
    .await
    else {
        // 127.0.0.1 on that port is taken by someone else: nothing to test
        // on this port, and the property is covered by the unit tests.
        return;
    };
    for origin in [
        format!("http://[::1]:{port}"),
        format!("http://localhost:{port}"),
    ] {
        assert_eq!(
            handshake_status(&server, &[("origin", &origin)]).await,
            403,
            "{origin}"
        );
    }
    let same = format!("http://127.0.0.1:{port}");
    assert_eq!(handshake_status(&server, &[("origin", &same)]).await, 101);
    drop(squatter);
}

/// `--allow-origin http://mybox.local:PORT` lets pages from that origin in,
/// which means accepting the Host their browser sends too.
#[tokio::test]
async fn an_allowed_origin_is_also_an_allowed_host() {
    let server = TestServer::start(Config {
        allowed_origins: vec!["http://mybox.local:7070".into()],
        ..test_config()
    })
    .await;
    let (status, _, _) = http_get(server.addr, "/healthz", "mybox.local:7070").await;
    assert_eq!(status, 200);
    let (status, _, _) = http_get(server.addr, "/healthz", "otherbox.local:7070").await;
    assert_eq!(status, 403);
}

/// RFC 9112 §3.2: more than one Host header is a 400, on every route, so
/// nothing can disagree about which one the rebinding check looked at.
#[tokio::test]
async fn two_host_headers_get_400_on_every_route() {
    let server = TestServer::start(test_config()).await;
    let good = server.addr.to_string();
    for (path, extra) in [
        ("/", ""),
        ("/healthz", ""),
        ("/app.js", ""),
        (
            "/ws",
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        ),
    ] {
        for hosts in [
            [good.as_str(), "evil.example"],
            ["evil.example", good.as_str()],
            [good.as_str(), good.as_str()],
        ] {
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nHost: {}\r\n{extra}Connection: close\r\n\r\n",
                hosts[0], hosts[1]
            );
            let (status, _, _) = raw_request(server.addr, &request).await;
            assert_eq!(status, 400, "{path} with {hosts:?}");
        }
    }
    assert_eq!(server.room.stats().connections, 0);
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
