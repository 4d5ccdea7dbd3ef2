//! Binding, heartbeat and graceful shutdown.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{non_reader, test_config, Client, TestServer, PATIENCE};
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

/// Reads `client` in the background until the server closes it; returns
/// every protocol frame it got, the close code, and when the close came.
fn read_to_close(
    client: Client,
) -> tokio::task::JoinHandle<(Vec<serde_json::Value>, Option<CloseCode>, Instant)> {
    tokio::spawn(async move {
        let (_tx, mut rx) = client.socket.split();
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout(PATIENCE, rx.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    frames.push(serde_json::from_str(&text).expect("JSON frame"));
                }
                Ok(Some(Ok(Message::Close(close)))) => {
                    return (frames, close.map(|c| c.code), Instant::now());
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) | Err(_) => return (frames, None, Instant::now()),
            }
        }
    })
}

/// A client that closes hears the server's close frame back (RFC 6455
/// §5.5.1) before the connection ends: the closing handshake completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_gets_the_close_reply() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = Client::join(&server, "leaving").await;
    let bye = CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    };
    client
        .socket
        .close(Some(bye))
        .await
        .expect("the close frame is sent");
    let reply = loop {
        match tokio::time::timeout(PATIENCE, client.socket.next()).await {
            Ok(Some(Ok(Message::Close(close)))) => break close,
            Ok(Some(Ok(_))) => {}
            other => panic!("no close reply: {other:?}"),
        }
    };
    assert_eq!(reply.map(|c| c.code), Some(CloseCode::Normal));
    server.stop().await;
}

/// Every client hears 1001 within two seconds of `shutdown()`, timed on the
/// client's side, and the room ends with no connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_1001_to_everyone_within_two_seconds() {
    let server = TestServer::start(test_config()).await;
    let mut readers = Vec::new();
    for n in 0..20 {
        readers.push(read_to_close(
            Client::join(&server, &format!("p{n}")).await.0,
        ));
    }
    server.wait_for_connections(20).await;
    let room = server.room.clone();
    let started = Instant::now();
    server.shutdown.shutdown();
    for reader in readers {
        let (_, code, at) = reader.await.expect("reader task");
        assert_eq!(code, Some(CloseCode::Away));
        let took = at.duration_since(started);
        assert!(took < Duration::from_secs(2), "1001 after {took:?}");
    }
    let mut stats = room.subscribe();
    tokio::time::timeout(PATIENCE, stats.wait_for(|s| s.connections == 0))
        .await
        .expect("every connection is gone")
        .expect("stats channel");
    server.stop().await;
}

/// Whatever is still queued for a client that is behind arrives before the
/// 1001: the queue is flushed, not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_what_was_queued_before_the_close() {
    let server = TestServer::start(Config {
        send_queue_bytes: 64 * 1024 * 1024,
        stall_grace: Duration::from_secs(60),
        write_timeout: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let mut behind = non_reader(&server, "behind").await;
    let (mut talker, _) = Client::join(&server, "talker").await;
    let count = 400;
    let text = "x".repeat(8 * 1024);
    for _ in 0..count {
        talker.send(json!({"type": "say", "text": text})).await;
    }
    let mut echoed = 0;
    while echoed < count {
        if talker.next().await["type"] == "message" {
            echoed += 1;
        }
    }
    // 3.2 MB are now on their way to a client with a 4 KiB receive buffer:
    // most of it is still in the server's queue.
    server.shutdown.shutdown();
    let mut messages = 0;
    let code = loop {
        match tokio::time::timeout(PATIENCE, behind.socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "message" {
                    messages += 1;
                }
            }
            Ok(Some(Ok(Message::Close(close)))) => break close.map(|c| c.code),
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?} after {messages} messages"),
        }
    };
    assert_eq!(messages, count, "every queued message before the close");
    assert_eq!(code, Some(CloseCode::Away));
}

/// Quitting through the handle (as the desktop app does) is as orderly as a
/// signal: the room is closing before any session ends, so nobody is told
/// that the others left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_through_the_handle_announces_no_departures() {
    for _ in 0..5 {
        let server = TestServer::start(test_config()).await;
        let mut readers = Vec::new();
        for n in 0..30 {
            readers.push(read_to_close(
                Client::join(&server, &format!("p{n}")).await.0,
            ));
        }
        server.wait_for_connections(30).await;
        server.shutdown.shutdown();
        for reader in readers {
            let (frames, code, _) = reader.await.expect("reader task");
            assert_eq!(code, Some(CloseCode::Away));
            let left: Vec<_> = frames.iter().filter(|f| f["type"] == "left").collect();
            assert!(
                left.is_empty(),
                "told of departures during shutdown: {left:?}"
            );
        }
        server.stop().await;
    }
}
