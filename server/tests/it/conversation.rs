//! The conversation people expect: a stable identity, replies, reactions,
//! edits and deletions (and who may do them), files, and all of it kept
//! across a restart.

use std::path::Path;

use hearth_server::{Config, RateLimit, Storage};
use serde_json::{json, Value};

use crate::support::{http_get, post_file, test_config, Client, TestServer};

const ANN_KEY: &str = "ann-secret-0123456789abcdef";
const BOB_KEY: &str = "bob-secret-0123456789abcdef";

/// The smallest valid PNG: one transparent pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

fn durable(dir: &Path) -> Config {
    Config {
        storage: Storage::Dir(dir.to_owned()),
        ..test_config()
    }
}

/// Joins as `name` with the client secret `key`; returns the client and
/// its `welcome`.
async fn join_with_key(server: &TestServer, name: &str, key: Option<&str>) -> (Client, Value) {
    let mut client = Client::connect(server).await;
    let mut hello = json!({"type": "hello", "name": name});
    if let Some(key) = key {
        hello["key"] = json!(key);
    }
    client.send(hello).await;
    let welcome = client.expect("welcome").await;
    (client, welcome)
}

/// Sends `request` and returns the first frame of type `kind` or `error`.
async fn answer(client: &mut Client, request: Value, kind: &str) -> Value {
    client.send(request).await;
    loop {
        let frame = client.next().await;
        if frame["type"] == kind || frame["type"] == "error" {
            return frame;
        }
    }
}

async fn say(client: &mut Client, message: Value) -> Value {
    let mut request = message;
    request["type"] = json!("say");
    answer(client, request, "message").await
}

/// Proves nothing else reached `client` before: a marker message said by
/// `by` must be the next frame it gets, people coming and going aside.
async fn nothing_else_reached(client: &mut Client, by: &mut Client, marker: &str) {
    by.send(json!({"type": "say", "text": marker})).await;
    let mut next = client.next().await;
    // Comings and goings are not what a refused request could cause.
    while next["type"] == "joined" || next["type"] == "left" {
        next = client.next().await;
    }
    assert_eq!(next["type"], "message", "unexpected frame {next}");
    assert_eq!(next["text"], marker);
}

async fn newest(client: &mut Client, limit: usize) -> Vec<Value> {
    let page = answer(
        client,
        json!({"type": "history", "limit": limit}),
        "history",
    )
    .await;
    page["messages"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_key_is_the_same_person_across_connections_and_a_name_is_not() {
    let server = TestServer::start(test_config()).await;
    let (ann, first) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let uid = first["you"]["uid"].as_str().unwrap().to_owned();
    assert_eq!(uid.len(), 32);
    assert!(!uid.contains(ANN_KEY), "the uid must not reveal the key");
    drop(ann);
    server.wait_for_connections(0).await;
    let (_again, second) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    assert_eq!(second["you"]["uid"], uid.as_str());
    let (_bob, bob) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    assert_ne!(bob["you"]["uid"], uid.as_str());
    let (_c1, c1) = join_with_key(&server, "Cy", None).await;
    let (_c2, c2) = join_with_key(&server, "Di", None).await;
    assert_ne!(c1["you"]["uid"], c2["you"]["uid"]);
    let mut short = Client::connect(&server).await;
    let refused = answer(
        &mut short,
        json!({"type": "hello", "name": "Eve", "key": "short"}),
        "welcome",
    )
    .await;
    assert_eq!(refused["code"], "malformed");
}

#[tokio::test]
async fn a_reply_quotes_its_original_and_a_missing_one_disturbs_nobody() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let long = "word ".repeat(60);
    let original = say(&mut ann, json!({"text": long})).await;
    let id = original["id"].as_u64().unwrap();
    bob.expect("message").await;
    let reply = say(&mut bob, json!({"text": "agreed", "reply_to": id})).await;
    assert_eq!(reply["reply_to"]["id"], id);
    assert_eq!(reply["reply_to"]["from"]["name"], "Ann");
    assert_eq!(reply["reply_to"]["from"]["uid"], original["from"]["uid"]);
    let excerpt = reply["reply_to"]["excerpt"].as_str().unwrap();
    assert!(
        excerpt.ends_with('…') && excerpt.chars().count() == 101,
        "{excerpt}"
    );
    assert_eq!(ann.expect("message").await["reply_to"]["id"], id);

    let missing = say(&mut bob, json!({"text": "to nothing", "reply_to": 999})).await;
    assert_eq!(missing["code"], "not_found");
    nothing_else_reached(&mut ann, &mut bob, "marker").await;
}

/// Issue 23.16a: without `deleted = 0` in the quote's lookup a reply to a
/// deleted message went through with an empty quote, and no test noticed.
#[tokio::test]
async fn a_reply_to_a_deleted_message_is_refused_and_reaches_nobody() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let id = say(&mut ann, json!({"text": "regrettable"})).await["id"].clone();
    bob.expect("message").await;
    answer(&mut ann, json!({"type": "delete", "id": id}), "deleted").await;
    assert_eq!(bob.expect("deleted").await["id"], id);
    let refused = say(
        &mut bob,
        json!({"text": "what did you say?", "reply_to": id}),
    )
    .await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "not_found");
    nothing_else_reached(&mut ann, &mut bob, "marker").await;
}

#[tokio::test]
async fn reactions_toggle_once_per_person_and_show_in_history() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let id = say(&mut ann, json!({"text": "cake?"})).await["id"].clone();
    bob.expect("message").await;

    let react = json!({"type": "react", "id": id, "emoji": "👍🏽"});
    let added = answer(&mut bob, react.clone(), "reaction").await;
    assert_eq!(added["added"], true);
    assert_eq!(added["user"]["name"], "Bob");
    assert_eq!(ann.expect("reaction").await["emoji"], "👍🏽");
    let mine = answer(
        &mut ann,
        json!({"type": "react", "id": id, "emoji": "👍🏽"}),
        "reaction",
    )
    .await;
    assert_eq!(mine["added"], true);
    bob.expect("reaction").await;

    let page = newest(&mut bob, 1).await;
    let reactions = &page[0]["reactions"];
    assert_eq!(reactions[0]["emoji"], "👍🏽");
    let names: Vec<&str> = reactions[0]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob", "Ann"]);

    let taken_back = answer(&mut bob, react, "reaction").await;
    assert_eq!(taken_back["added"], false);
    ann.expect("reaction").await;
    let (_late, welcome) = join_with_key(&server, "Late", None).await;
    let users = &welcome["history"][0]["reactions"][0]["users"];
    assert_eq!(users.as_array().map(Vec::len), Some(1));
    assert_eq!(users[0]["name"], "Ann");

    for (emoji, code) in [
        ("ok", "invalid_emoji"),
        ("👍👍", "invalid_emoji"),
        ("", "invalid_emoji"),
    ] {
        let refused = answer(
            &mut bob,
            json!({"type": "react", "id": id, "emoji": emoji}),
            "reaction",
        )
        .await;
        assert_eq!(refused["code"], code, "{emoji:?}");
    }
    let missing = answer(
        &mut bob,
        json!({"type": "react", "id": 999, "emoji": "🎉"}),
        "reaction",
    )
    .await;
    assert_eq!(missing["code"], "not_found");
    nothing_else_reached(&mut ann, &mut bob, "marker").await;
}

#[tokio::test]
async fn only_the_author_edits_or_deletes_and_a_look_alike_newcomer_cannot() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let id = say(&mut ann, json!({"text": "the meeting is at 3"})).await["id"].clone();
    bob.expect("message").await;

    let edited = answer(
        &mut ann,
        json!({"type": "edit", "id": id, "text": "the meeting is at 4"}),
        "edited",
    )
    .await;
    assert_eq!(edited["text"], "the meeting is at 4");
    assert!(edited["edited_ts"].as_u64().is_some());
    assert_eq!(bob.expect("edited").await["id"], id);

    for request in [
        json!({"type": "edit", "id": id, "text": "mine now"}),
        json!({"type": "delete", "id": id}),
    ] {
        let refused = answer(&mut bob, request, "deleted").await;
        assert_eq!(refused["code"], "forbidden");
    }
    nothing_else_reached(&mut ann, &mut bob, "marker 1").await;

    // Ann leaves; someone takes her name without her key.
    drop(ann);
    bob.expect("left").await;
    let (mut impostor, _) = join_with_key(&server, "Ann", Some("impostor-key-0123456789")).await;
    let refused = answer(
        &mut impostor,
        json!({"type": "delete", "id": id}),
        "deleted",
    )
    .await;
    assert_eq!(refused["code"], "forbidden");
    drop(impostor);
    bob.expect("left").await;

    // The real Ann, back with her key, still owns it.
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let deleted = answer(&mut ann, json!({"type": "delete", "id": id}), "deleted").await;
    assert_eq!(deleted["id"], id);
    assert_eq!(bob.expect("deleted").await["id"], id);
    for request in [
        json!({"type": "edit", "id": id, "text": "again"}),
        json!({"type": "delete", "id": id}),
        json!({"type": "react", "id": id, "emoji": "👍"}),
    ] {
        let refused = answer(&mut ann, request, "never").await;
        assert_eq!(refused["code"], "not_found");
    }
    let page = newest(&mut bob, 5).await;
    let gone = page.iter().find(|m| m["id"] == id).unwrap();
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["text"], "");
    let results = answer(
        &mut bob,
        json!({"type": "search", "query": "meeting"}),
        "results",
    )
    .await;
    assert_eq!(results["messages"], json!([]), "deleted text is not found");
}

#[tokio::test]
async fn the_host_deletes_any_message_and_no_peer_can_claim_to_be_the_host() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let id = say(&mut ann, json!({"text": "rude words"})).await["id"]
        .as_u64()
        .unwrap();
    bob.expect("message").await;
    // Fields a peer might add to sound like the host change nothing.
    let refused = answer(
        &mut bob,
        json!({"type": "delete", "id": id, "host": true, "by": null}),
        "deleted",
    )
    .await;
    assert_eq!(refused["code"], "forbidden");
    server.room.delete_as_host(id).await.expect("the host may");
    assert_eq!(ann.expect("deleted").await["id"], id);
    assert_eq!(bob.expect("deleted").await["id"], id);
    assert!(
        server.room.delete_as_host(id).await.is_err(),
        "already gone"
    );
}

#[tokio::test]
async fn every_new_kind_of_frame_counts_against_the_rate_limit() {
    let server = TestServer::start(Config {
        rate_limit: Some(RateLimit {
            per_second: 1,
            // `hello`, `say`, `react` and `edit`; not `delete`.
            burst: 4,
        }),
        ..test_config()
    })
    .await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let id = say(&mut ann, json!({"text": "one"})).await["id"].clone();
    assert_eq!(
        answer(
            &mut ann,
            json!({"type": "react", "id": id, "emoji": "🎉"}),
            "reaction"
        )
        .await["type"],
        "reaction"
    );
    assert_eq!(
        answer(
            &mut ann,
            json!({"type": "edit", "id": id, "text": "two"}),
            "edited"
        )
        .await["type"],
        "edited"
    );
    let limited = answer(&mut ann, json!({"type": "delete", "id": id}), "deleted").await;
    assert_eq!(limited["code"], "rate_limited");
}

#[tokio::test]
async fn replies_reactions_edits_deletions_and_identities_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, welcome) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let ann_uid = welcome["you"]["uid"].clone();
    let first = say(&mut ann, json!({"text": "first"})).await["id"].clone();
    let doomed = say(&mut ann, json!({"text": "doomed"})).await["id"].clone();
    let reply = say(&mut ann, json!({"text": "re", "reply_to": first})).await["id"].clone();
    answer(
        &mut ann,
        json!({"type": "react", "id": first, "emoji": "❤️"}),
        "reaction",
    )
    .await;
    answer(
        &mut ann,
        json!({"type": "edit", "id": first, "text": "first, edited"}),
        "edited",
    )
    .await;
    answer(&mut ann, json!({"type": "delete", "id": doomed}), "deleted").await;
    drop(ann);
    server.stop().await;

    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, welcome) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    assert_eq!(welcome["you"]["uid"], ann_uid, "same key, same person");
    for messages in [
        welcome["history"].as_array().cloned().unwrap(),
        newest(&mut ann, 10).await,
    ] {
        let by_id = |id: &Value| messages.iter().find(|m| m["id"] == *id).unwrap().clone();
        let first = by_id(&first);
        assert_eq!(first["text"], "first, edited");
        assert!(first["edited_ts"].as_u64().is_some());
        assert_eq!(first["reactions"][0]["emoji"], "❤️");
        assert_eq!(first["reactions"][0]["users"][0]["uid"], ann_uid);
        let doomed = by_id(&doomed);
        assert_eq!(
            (doomed["deleted"].clone(), doomed["text"].clone()),
            (json!(true), json!(""))
        );
        let reply = by_id(&reply);
        assert_eq!(reply["reply_to"]["excerpt"], "first, edited");
        assert_eq!(reply["from"]["uid"], ann_uid);
    }
    // Still hers after the restart.
    let edited = answer(
        &mut ann,
        json!({"type": "edit", "id": reply, "text": "re!"}),
        "edited",
    )
    .await;
    assert_eq!(edited["text"], "re!");
    server.stop().await;
}

#[tokio::test]
async fn a_picture_is_told_by_its_bytes_and_served_inline_safely() {
    let server = TestServer::start(test_config()).await;
    let uploaded = post_file(
        server.addr,
        "cat.png",
        "image/png",
        PNG,
        Some(&format!("http://{}", server.addr)),
    )
    .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.json);
    let file = &uploaded.json["file"];
    assert_eq!(file["type"], "image/png");
    assert_eq!(file["name"], "cat.png");
    assert_eq!(file["size"], PNG.len());
    let url = file["url"].as_str().unwrap();
    assert_eq!(url, format!("/files/{}", file["id"].as_str().unwrap()));

    let (status, head, body) = http_get(server.addr, url, &server.addr.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(body, PNG);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: image/png"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"));
    assert!(head.contains("content-disposition: inline"));
    assert!(
        head.contains("content-security-policy: default-src 'none'") && head.contains("sandbox")
    );

    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", None).await;
    let message = say(&mut ann, json!({"text": "", "files": [file["id"]]})).await;
    assert_eq!(message["files"][0], *file);
    assert_eq!(message["text"], "");
    assert_eq!(bob.expect("message").await["files"][0]["url"], url);
    let unknown = say(
        &mut ann,
        json!({"text": "x", "files": ["00112233445566778899aabbccddeeff"]}),
    )
    .await;
    assert_eq!(unknown["code"], "not_found");
    let too_many = say(
        &mut ann,
        json!({"text": "x", "files": vec![file["id"].clone(); 11]}),
    )
    .await;
    assert_eq!(too_many["code"], "malformed");
}

#[tokio::test]
async fn disguised_uploads_are_only_ever_downloads() {
    let server = TestServer::start(test_config()).await;
    let html = b"<html><script>alert(document.domain)</script></html>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for (name, claimed, bytes) in [
        ("cat.png", "image/png", &html[..]),
        ("drawing.svg", "image/svg+xml", &svg[..]),
        ("page.html", "text/html", &html[..]),
    ] {
        let uploaded = post_file(server.addr, name, claimed, bytes, None).await;
        assert_eq!(uploaded.status, 200);
        assert_eq!(
            uploaded.json["file"]["type"], "application/octet-stream",
            "{name}"
        );
        let url = uploaded.json["file"]["url"].as_str().unwrap().to_owned();
        let (status, head, _) = http_get(server.addr, &url, &server.addr.to_string()).await;
        assert_eq!(status, 200);
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("content-type: application/octet-stream"),
            "{name}: {head}"
        );
        assert!(
            head.contains("content-disposition: attachment"),
            "{name}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"));
    }
    // A polyglot: a real PNG header with HTML after it stays a picture,
    // which a browser only ever decodes as an image.
    let mut polyglot = PNG.to_vec();
    polyglot.extend_from_slice(html);
    let uploaded = post_file(server.addr, "x.html", "text/html", &polyglot, None).await;
    assert_eq!(uploaded.json["file"]["type"], "image/png");
    let url = uploaded.json["file"]["url"].as_str().unwrap().to_owned();
    let (_, head, _) = http_get(server.addr, &url, &server.addr.to_string()).await;
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: image/png") && head.contains("nosniff"));
}

#[tokio::test]
async fn uploads_are_refused_over_the_size_limit_or_from_a_foreign_page() {
    let server = TestServer::start(Config {
        max_upload_bytes: 1024,
        ..test_config()
    })
    .await;
    let big = vec![7u8; 1025];
    let refused = post_file(
        server.addr,
        "big.bin",
        "application/octet-stream",
        &big,
        None,
    )
    .await;
    assert_eq!(refused.status, 413);
    assert_eq!(refused.json["error"]["code"], "too_big");
    assert!(refused.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1 KiB"));
    let fits = post_file(
        server.addr,
        "ok.bin",
        "application/octet-stream",
        &big[..1024],
        None,
    )
    .await;
    assert_eq!(fits.status, 200);
    for origin in ["https://evil.example", "null"] {
        let refused = post_file(server.addr, "x.png", "image/png", PNG, Some(origin)).await;
        assert_eq!(refused.status, 403, "{origin}");
        assert!(!refused
            .head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"));
    }
    let (status, _, _) = http_get(
        server.addr,
        "/files/00112233445566778899aabbccddeeff",
        &server.addr.to_string(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = http_get(
        server.addr,
        "/files/..%2Fhearth.db",
        &server.addr.to_string(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn deleting_a_message_deletes_its_file_once_no_other_message_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let uploaded = post_file(server.addr, "cat.png", "image/png", PNG, None).await;
    let file = uploaded.json["file"].clone();
    let url = file["url"].as_str().unwrap().to_owned();
    let blobs = || std::fs::read_dir(dir.path().join("files")).map_or(0, |d| d.count());
    assert_eq!(blobs(), 1);
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let once = say(&mut ann, json!({"text": "a", "files": [file["id"]]})).await["id"].clone();
    let twice = say(&mut ann, json!({"text": "b", "files": [file["id"]]})).await["id"].clone();
    answer(&mut ann, json!({"type": "delete", "id": once}), "deleted").await;
    let host = server.addr.to_string();
    assert_eq!(
        http_get(server.addr, &url, &host).await.0,
        200,
        "still used by another message"
    );
    assert_eq!(blobs(), 1);
    answer(&mut ann, json!({"type": "delete", "id": twice}), "deleted").await;
    assert_eq!(http_get(server.addr, &url, &host).await.0, 404);
    assert_eq!(blobs(), 0, "the bytes are gone from the disk");
    server.stop().await;
}
