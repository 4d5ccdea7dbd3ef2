//! Size, rate and connection limits.

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{handshake_status, test_config, Client, TestServer};
use hearth_server::{Config, RateLimit};

#[tokio::test]
async fn oversize_frames_close_with_1009_and_others_are_unaffected() {
    let server = TestServer::start(Config {
        max_message_bytes: 1024,
        ..test_config()
    })
    .await;
    let (mut big, _) = Client::join(&server, "Big").await;
    let (mut other, _) = Client::join(&server, "Other").await;
    big.send_raw(Message::text("x".repeat(2000))).await;
    assert_eq!(big.close_code().await, Some(CloseCode::Size));
    other.send(json!({"type": "say", "text": "fine"})).await;
    assert_eq!(other.expect("message").await["text"], "fine");
}

#[tokio::test]
async fn a_fragmented_message_over_the_limit_is_refused_too() {
    let server = TestServer::start(Config {
        max_message_bytes: 1024,
        ..test_config()
    })
    .await;
    let (mut big, _) = Client::join(&server, "Big").await;
    // Many small frames that add up to more than the limit.
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::frame::{
        coding::{Data, OpCode},
        Frame,
    };
    let chunk = vec![b'a'; 512];
    let mut first = Frame::message(chunk.clone(), OpCode::Data(Data::Text), false);
    first.header_mut().is_final = false;
    big.socket.send(Message::Frame(first)).await.unwrap();
    for _ in 0..4 {
        let frame = Frame::message(chunk.clone(), OpCode::Data(Data::Continue), false);
        big.socket.send(Message::Frame(frame)).await.unwrap();
    }
    assert_eq!(big.close_code().await, Some(CloseCode::Size));
}

#[tokio::test]
async fn the_rate_limit_refuses_with_an_error_not_a_disconnect() {
    let server = TestServer::start(Config {
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 3,
        }),
        ..test_config()
    })
    .await;
    let (mut client, _) = Client::join(&server, "Fast").await;
    for n in 0..10 {
        client
            .send(json!({"type": "say", "text": format!("m{n}")}))
            .await;
    }
    let (mut delivered, mut limited) = (0, 0);
    // Every say gets its echo or its error; refusals can arrive before the
    // echoes of earlier messages, which wait for the store.
    while delivered + limited < 10 {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("message") => delivered += 1,
            Some("error") => {
                assert_eq!(frame["code"], "rate_limited");
                limited += 1;
            }
            _ => {}
        }
    }
    // hello took one token; the burst allows two more at once (one more may
    // refill if the test machine is slow).
    assert!((2..=3).contains(&delivered), "delivered {delivered}");
    assert!(limited >= 6, "limited {limited}");
}

#[tokio::test]
async fn the_connection_cap_answers_503_before_the_upgrade() {
    let server = TestServer::start(Config {
        max_clients: 2,
        ..test_config()
    })
    .await;
    let mut first = Client::connect(&server).await;
    let _second = Client::connect(&server).await;
    assert_eq!(handshake_status(&server, &[]).await, 503);
    first.socket.close(None).await.unwrap();
    server.wait_for_connections(1).await;
    assert_eq!(handshake_status(&server, &[]).await, 101);
}

#[tokio::test]
async fn typing_hints_never_use_up_the_budget_of_messages() {
    let server = TestServer::start(Config {
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 2,
        }),
        ..test_config()
    })
    .await;
    // `hello` takes one of the two messages the bucket holds.
    let (mut ann, _) = Client::join(&server, "Ann").await;
    for _ in 0..5 {
        ann.send(json!({"type": "typing"})).await;
    }
    ann.send(json!({"type": "say", "text": "after typing"}))
        .await;
    let answer = loop {
        let frame = ann.next().await;
        if frame["type"] == "message" || frame["type"] == "error" {
            break frame;
        }
    };
    assert_eq!(answer["text"], "after typing", "refused: {answer}");
}
