//! Protocol v1 behaviour as clients see it.

use futures::future::join_all;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{names, test_config, Client, TestServer};

#[tokio::test]
async fn broadcast_reaches_everyone_including_the_sender_in_one_order() {
    let server = TestServer::start(test_config()).await;
    let mut clients = Vec::new();
    for name in ["ann", "bob", "cy"] {
        clients.push(Client::join(&server, name).await.0);
    }
    let per_client = 20;
    // Everyone talks at once.
    join_all(clients.iter_mut().enumerate().map(|(i, c)| async move {
        for n in 0..per_client {
            c.send(json!({"type": "say", "text": format!("{i}-{n}")}))
                .await;
        }
    }))
    .await;
    let mut orders = Vec::new();
    for client in &mut clients {
        let mut seen = Vec::new();
        while seen.len() < 3 * per_client {
            let frame = client.next().await;
            if frame["type"] == "message" {
                seen.push((frame["id"].as_u64().unwrap(), frame["text"].clone()));
            }
        }
        orders.push(seen);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "one total order for all"
    );
    let ids: Vec<u64> = orders[0].iter().map(|(id, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");
}

#[tokio::test]
async fn late_joiner_gets_history_and_the_people_present() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    for text in ["one", "two"] {
        ann.send(json!({"type": "say", "text": text})).await;
        ann.expect("message").await;
    }
    let (_late, welcome) = Client::join(&server, "Late").await;
    assert_eq!(welcome["you"]["name"], "Late");
    let history: Vec<_> = welcome["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"]["name"].clone(), m["text"].clone()))
        .collect();
    assert_eq!(
        history,
        [(json!("Ann"), json!("one")), (json!("Ann"), json!("two"))]
    );
    let users: Vec<_> = welcome["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].clone())
        .collect();
    assert_eq!(users, [json!("Ann"), json!("Late")]);
    assert_eq!(welcome["limits"]["max_message_bytes"], 16 * 1024);
}

#[tokio::test]
async fn joined_renamed_and_left_reach_the_others() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let (mut bob, welcome) = Client::join(&server, "Bob").await;
    let bob_id = welcome["you"]["id"].clone();
    let bob_uid = welcome["you"]["uid"].clone();
    assert!(bob_uid.as_str().is_some_and(|uid| uid.len() == 32));
    let joined = ann.expect("joined").await;
    assert_eq!(
        joined["user"],
        json!({"id": bob_id, "uid": bob_uid, "name": "Bob"})
    );

    bob.send(json!({"type": "rename", "name": "Robert"})).await;
    let renamed = ann.expect("renamed").await;
    assert_eq!(renamed["previous"], "Bob");
    assert_eq!(renamed["user"]["name"], "Robert");
    assert_eq!(bob.expect("renamed").await["user"]["name"], "Robert");

    bob.send(json!({"type": "typing"})).await;
    assert_eq!(ann.expect("typing").await["user"]["name"], "Robert");

    bob.socket.close(None).await.unwrap();
    let left = ann.expect("left").await;
    assert_eq!(left["user"]["name"], "Robert");
    server.wait_for_connections(1).await;
    assert_eq!(names(&server), ["Ann"]);
}

#[tokio::test]
async fn a_taken_name_is_refused_whatever_its_case() {
    let server = TestServer::start(test_config()).await;
    let (_ann, _) = Client::join(&server, "Ann").await;
    let mut other = Client::connect(&server).await;
    other.send(json!({"type": "hello", "name": "  aNN "})).await;
    let error = other.expect("error").await;
    assert_eq!(error["code"], "name_taken");
    // The refused client can pick another name and carry on.
    other.send(json!({"type": "hello", "name": "Ann2"})).await;
    assert_eq!(other.expect("welcome").await["you"]["name"], "Ann2");
    other.send(json!({"type": "rename", "name": "ANN"})).await;
    assert_eq!(other.expect("error").await["code"], "name_taken");
}

#[tokio::test]
async fn invalid_names_are_refused() {
    let server = TestServer::start(test_config()).await;
    let mut client = Client::connect(&server).await;
    for name in ["", "   ", &"x".repeat(10_000), "bell\u{7}"] {
        client.send(json!({"type": "hello", "name": name})).await;
        assert_eq!(
            client.expect("error").await["code"],
            "invalid_name",
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn plain_text_frames_chat_under_a_default_name() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let mut generic = Client::connect(&server).await;
    generic.send_raw(Message::text("hello from websocat")).await;
    let welcome = generic.expect("welcome").await;
    let name = welcome["you"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("guest-"), "{name}");
    let echoed = generic.expect("message").await;
    assert_eq!(echoed["text"], "hello from websocat");
    let seen = ann.expect("message").await;
    assert_eq!(seen["from"]["name"], name.as_str());
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_lives() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = Client::join(&server, "Ann").await;
    client.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(client.expect("error").await["code"], "binary_unsupported");
    client.send(json!({"type": "dance"})).await;
    assert_eq!(client.expect("error").await["code"], "unknown_type");
    client.send_raw(Message::text("{\"type\": \"say\", ")).await;
    assert_eq!(client.expect("error").await["code"], "malformed");
    client.send(json!({"type": "say", "text": 42})).await;
    assert_eq!(client.expect("error").await["code"], "malformed");
    let nested = format!(
        "{{\"type\":\"say\",\"text\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    client.send_raw(Message::text(nested)).await;
    assert_eq!(client.expect("error").await["code"], "malformed");
    client.send(json!({"type": "say", "text": "  \n "})).await;
    assert_eq!(client.expect("error").await["code"], "empty_message");
    // Still connected and chatting.
    client
        .send(json!({"type": "say", "text": "still here", "extra": {"ignored": true}}))
        .await;
    assert_eq!(client.expect("message").await["text"], "still here");
}

#[tokio::test]
async fn control_characters_are_stripped_from_text() {
    let server = TestServer::start(test_config()).await;
    let (mut client, _) = Client::join(&server, "Ann").await;
    client
        .send(json!({"type": "say", "text": "red\u{1b}[31m\nline\u{0}"}))
        .await;
    assert_eq!(client.expect("message").await["text"], "red[31m\nline");
}

#[tokio::test]
async fn rename_and_typing_before_hello_are_errors() {
    let server = TestServer::start(test_config()).await;
    let mut client = Client::connect(&server).await;
    client.send(json!({"type": "rename", "name": "X"})).await;
    assert_eq!(client.expect("error").await["code"], "not_joined");
    client.send(json!({"type": "typing"})).await;
    assert_eq!(client.expect("error").await["code"], "not_joined");
}
