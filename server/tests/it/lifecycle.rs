//! Binding, heartbeat and graceful shutdown.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::{test_config, Client, TestServer};
use hearth_server::{BindError, Config, Server};

#[tokio::test]
async fn a_taken_port_is_a_typed_error() {
    let holder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = holder.local_addr().unwrap();
    let result = Server::bind(Config {
        addr,
        ..test_config()
    })
    .await;
    match result {
        Err(err @ BindError::AddrInUse { .. }) => {
            assert!(err.to_string().contains(&addr.to_string()), "{err}");
        }
        other => panic!("expected AddrInUse, got {other:?}"),
    }
}

#[tokio::test]
async fn port_zero_reports_the_real_port() {
    let server = Server::bind(test_config()).await.unwrap();
    assert_ne!(server.local_addr().port(), 0);
    assert_eq!(server.url(), format!("http://{}", server.local_addr()));
}

#[tokio::test]
async fn a_silent_peer_is_dropped_by_the_heartbeat_and_a_live_one_stays() {
    let server = TestServer::start(Config {
        ping_interval: Duration::from_millis(300),
        ..test_config()
    })
    .await;
    // Never polled, so it never answers pings.
    let _silent = Client::connect(&server).await;
    // Polled in the background, so tungstenite answers every ping.
    let live = Client::connect(&server).await;
    let (live_tx, mut live_rx) = live.socket.split();
    let reader = tokio::spawn(async move { while live_rx.next().await.is_some() {} });
    server.wait_for_connections(2).await;
    server.wait_for_connections(1).await;
    // The live one outlasts several more silence windows.
    let mut stats = server.room.subscribe();
    let outcome = tokio::time::timeout(
        Duration::from_secs(2),
        stats.wait_for(|s| s.connections == 0),
    )
    .await;
    assert!(outcome.is_err(), "the live peer must not be dropped");
    drop(live_tx);
    reader.abort();
}

#[tokio::test]
async fn shutdown_sends_1001_to_everyone_within_two_seconds() {
    let server = TestServer::start(test_config()).await;
    let mut clients = Vec::new();
    for name in ["a", "b", "c"] {
        clients.push(Client::join(&server, name).await.0);
    }
    clients[0]
        .send(json!({"type": "say", "text": "last words"}))
        .await;
    clients[0].expect("message").await;
    let elapsed = server.stop().await;
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    for client in &mut clients[1..] {
        // Whatever was queued arrives before the close frame.
        assert_eq!(client.expect("message").await["text"], "last words");
        assert_eq!(client.close_code().await, Some(CloseCode::Away));
    }
    assert_eq!(clients[0].close_code().await, Some(CloseCode::Away));
}
