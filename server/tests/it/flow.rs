//! Fan-out under pressure: readers get everything, non-readers are dropped.

use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{self, test_config, Client, TestServer};
use hearth_server::Config;

/// A non-reader that has taken its `welcome`, then stops reading.
async fn non_reader(server: &TestServer, name: &str) -> Client {
    let mut client = support::non_reader(server, name).await;
    client.expect("welcome").await;
    client
}

/// Waits until nobody called `name` is in the room.
async fn until_gone(server: &TestServer, name: &str) {
    let mut stats = server.room.subscribe();
    let gone = || !server.room.people().iter().any(|p| p.name == name);
    tokio::time::timeout(crate::support::PATIENCE, async {
        while !gone() {
            stats.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{name} is dropped in time"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_reader_is_dropped_while_fifty_readers_get_every_message() {
    let server = TestServer::start(Config {
        send_queue_bytes: 256 * 1024,
        ..test_config()
    })
    .await;
    let (senders, per_sender, size) = (5usize, 300usize, 4000usize);
    let expected = senders * per_sender;

    let _stuck = non_reader(&server, "stuck").await;
    let mut readers = Vec::new();
    for n in 0..50 {
        readers.push(Client::join(&server, &format!("reader{n}")).await.0);
    }
    let mut talkers = Vec::new();
    for n in 0..senders {
        talkers.push(Client::join(&server, &format!("sender{n}")).await.0);
    }
    // Readers count messages in the background.
    let reading: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            tokio::spawn(async move {
                let mut ids = Vec::with_capacity(expected);
                while ids.len() < expected {
                    let frame = reader.next().await;
                    if frame["type"] == "message" {
                        ids.push(frame["id"].as_u64().unwrap());
                    }
                }
                (ids, reader)
            })
        })
        .collect();
    // Senders also receive everything, so they read too, in the background.
    let text = "x".repeat(size);
    let sending: Vec<_> = talkers
        .into_iter()
        .map(|talker| {
            let frame = Message::text(json!({"type": "say", "text": text}).to_string());
            tokio::spawn(async move {
                let (mut tx, mut rx) = talker.socket.split();
                let drain = tokio::spawn(async move { while rx.next().await.is_some() {} });
                for _ in 0..per_sender {
                    tx.send(frame.clone()).await.unwrap();
                }
                (tx, drain)
            })
        })
        .collect();
    let _senders_still_connected = join_all(sending).await;
    let results: Vec<_> = join_all(reading)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let first = results[0].0.clone();
    for (ids, _) in &results {
        assert_eq!(ids, &first, "same messages, same order");
    }
    assert_eq!(first.len(), expected);
    // The non-reader is gone; everyone else is still here.
    until_gone(&server, "stuck").await;
    assert_eq!(server.room.stats().people, 50 + senders);
}

/// The stall path, end to end: a peer that stops reading while others chat
/// holds its sender back until the stall grace runs out, then is closed with
/// 1008 "too slow"; the readers lose nothing. The queue budget is large and
/// the write timeout long, so neither overflow nor a blocked write can be
/// what drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_closed_as_too_slow_within_the_grace() {
    let grace = Duration::from_secs(2);
    let server = TestServer::start(Config {
        send_queue_bytes: 1024 * 1024,
        stall_grace: grace,
        write_timeout: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let mut stuck = non_reader(&server, "stuck").await;
    let (talker, _) = Client::join(&server, "talker").await;
    let (reader, _) = Client::join(&server, "reader").await;
    // The talker reads its own echoes as it goes, as a browser would.
    let (mut talker, mut echoes) = talker.socket.split();
    let draining = tokio::spawn(async move { while echoes.next().await.is_some() {} });
    let count = 1500;
    let reading = tokio::spawn(async move {
        let mut reader = reader;
        let mut ids = Vec::new();
        while ids.len() < count {
            let frame = reader.next().await;
            if frame["type"] == "message" {
                ids.push(frame["id"].as_u64().unwrap());
            }
        }
        ids
    });
    let frame = Message::text(json!({"type": "say", "text": "x".repeat(4000)}).to_string());
    let started = std::time::Instant::now();
    // The talker goes on while the stuck peer is dropped: the close frame
    // waits a second at most for the peer to read, however long the rest
    // of the talk takes on a busy machine.
    let talking = tokio::spawn(async move {
        for _ in 0..count {
            talker.send(frame.clone()).await.unwrap();
        }
        talker
    });
    until_gone(&server, "stuck").await;
    // Read what the socket still holds, then the close frame.
    let close = loop {
        match tokio::time::timeout(crate::support::PATIENCE, stuck.socket.next()).await {
            Ok(Some(Ok(Message::Close(close)))) => break close,
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    let close = close.expect("a close code");
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason, "too slow: not reading");
    assert!(started.elapsed() < grace + crate::support::PATIENCE);
    let health = server.health().await;
    assert_eq!(health["evictions"]["stalled"], 1);
    assert_eq!(health["evictions"]["overflow"], 0);

    let _talker = talking.await.unwrap();
    let ids = reading.await.unwrap();
    assert_eq!(ids.len(), count);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, no gaps");
    draining.abort();
}
