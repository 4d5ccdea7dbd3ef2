//! The conversation people expect: a stable identity, replies, reactions,
//! edits and deletions (and who may do them), and all of it kept across a
//! restart. (Files: `files.rs`.)

use hearth_server::{Config, RateLimit};
use serde_json::{json, Value};

use crate::support::{answer, durable, join_with_key, say, test_config, Client, TestServer};

const ANN_KEY: &str = "ann-secret-0123456789abcdef";
const BOB_KEY: &str = "bob-secret-0123456789abcdef";

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
