//! Hostile and broken clients: each gets a clear refusal, and nobody else is disturbed.

use std::time::Duration;

use futures::SinkExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{handshake_status, test_config, Client, TestServer, PATIENCE};
use hearth_server::Config;

/// Two joined clients that must keep chatting whatever else happens.
async fn bystanders(server: &TestServer) -> (Client, Client) {
    let (a, _) = Client::join(server, "bystander-a").await;
    let (b, _) = Client::join(server, "bystander-b").await;
    (a, b)
}

async fn still_chatting(a: &mut Client, b: &mut Client, text: &str) {
    a.send(json!({"type": "say", "text": text})).await;
    loop {
        let frame = b.expect("message").await;
        if frame["text"] == text {
            break;
        }
    }
}

#[tokio::test]
async fn a_one_mebibyte_frame_is_refused_with_1009() {
    let server = TestServer::start(test_config()).await;
    let (mut a, mut b) = bystanders(&server).await;
    let (mut big, _) = Client::join(&server, "big").await;
    // Written without waiting for the server to read it all: it may close
    // mid-frame, which is the point.
    let _ = big.socket.send(Message::text("x".repeat(1 << 20))).await;
    assert_eq!(big.close_code().await, Some(CloseCode::Size));
    still_chatting(&mut a, &mut b, "after the big one").await;
}

#[tokio::test]
async fn invalid_utf8_text_is_refused_with_1007() {
    let server = TestServer::start(test_config()).await;
    let (mut a, mut b) = bystanders(&server).await;
    let (mut bad, _) = Client::join(&server, "bad").await;
    let frame = Frame::message(vec![b'h', 0xff, 0xfe, b'i'], OpCode::Data(Data::Text), true);
    bad.socket.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(bad.close_code().await, Some(CloseCode::Invalid));
    still_chatting(&mut a, &mut b, "after the bad bytes").await;
}

#[tokio::test]
async fn a_slowloris_handshake_is_timed_out() {
    let server = TestServer::start(Config {
        header_read_timeout: Duration::from_millis(500),
        ..test_config()
    })
    .await;
    let (mut a, mut b) = bystanders(&server).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: ").await.unwrap();
    // Trickle a byte at a time; the server must give up on its own.
    let trickle = async {
        loop {
            if slow.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the server closes a connection that never finishes its headers");
    still_chatting(&mut a, &mut b, "after the slowloris").await;
}

/// The header timeout here is a minute: only the pending cap can close the
/// idle connections within the test's patience.
#[tokio::test]
async fn floods_past_the_caps_are_refused_and_disturb_nobody() {
    let server = TestServer::start(Config {
        max_clients: 4,
        max_pending_connections: 8,
        header_read_timeout: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let (mut a, mut b) = bystanders(&server).await;
    // WebSocket handshakes past the client cap: 503 each.
    let _third = Client::connect(&server).await;
    let _fourth = Client::connect(&server).await;
    for _ in 0..20 {
        assert_eq!(handshake_status(&server, &[]).await, 503);
    }
    // Idle TCP connections past the pending cap: the oldest are closed.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
        tokio::task::yield_now().await;
    }
    still_chatting(&mut a, &mut b, "during the flood").await;
    idle.truncate(30);
    for mut conn in idle {
        let mut buf = [0u8; 1];
        let closed = tokio::time::timeout(PATIENCE, conn.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "idle connection closed by the server"
        );
    }
    still_chatting(&mut a, &mut b, "after the flood").await;
}

#[tokio::test]
async fn hostile_names_and_fields_are_refused_or_ignored() {
    let server = TestServer::start(test_config()).await;
    let (mut a, mut b) = bystanders(&server).await;
    let mut odd = Client::connect(&server).await;
    for name in [
        "x".repeat(10_000),
        "\u{202E}evil".into(),
        "\u{0}\u{1}".into(),
        "a\nb".into(),
    ] {
        odd.send(json!({"type": "hello", "name": name})).await;
        assert_eq!(odd.expect("error").await["code"], "invalid_name");
    }
    odd.send(json!({"type": "hello", "name": "odd", "admin": true, "id": 1}))
        .await;
    assert_eq!(odd.expect("welcome").await["you"]["name"], "odd");
    odd.send(json!({"type": "say", "text": "hi", "from": {"id": 1, "name": "bystander-a"}}))
        .await;
    let echoed = odd.expect("message").await;
    assert_eq!(
        echoed["from"]["name"], "odd",
        "a client cannot speak as someone else"
    );
    for frame in [
        "[]",
        "null",
        "{}",
        "{\"type\":null}",
        "{\"type\":[\"say\"]}",
        "\"say\"",
    ] {
        odd.send_raw(Message::text(frame)).await;
        let reply = odd.next().await;
        assert!(
            reply["type"] == "error" || reply["type"] == "message",
            "{frame} → {reply}"
        );
    }
    still_chatting(&mut a, &mut b, "after the odd one").await;
}
