//! Fan-out under pressure: readers get everything, non-readers are dropped.

use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{test_config, Client, TestServer};
use hearth_server::Config;

/// A client whose socket has a tiny receive buffer and who never reads:
/// the server's writes to it stall almost at once.
async fn non_reader(server: &TestServer, name: &str) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (socket, _) = tokio_tungstenite::client_async(server.ws_url(), stream)
        .await
        .unwrap();
    let mut client = Client { socket };
    client.send(json!({"type": "hello", "name": name})).await;
    client.expect("welcome").await;
    client
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
    let mut stats = server.room.subscribe();
    tokio::time::timeout(
        crate::support::PATIENCE,
        stats.wait_for(|s| !s.users.iter().any(|u| u == "stuck")),
    )
    .await
    .expect("the non-reader is dropped")
    .unwrap();
    assert_eq!(server.room.stats().users.len(), 50 + senders);
}
