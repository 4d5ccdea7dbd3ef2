//! Rooms and direct conversations over real sockets: who receives what,
//! and that nobody learns of a conversation they are not in, by any frame.
//!
//! "Never receives" is checked without sleeping: fan-out has one order, so
//! once a later message in General reaches someone, anything meant for
//! them before it has too.

use serde_json::{json, Value};

use crate::support::{answer, durable, join_with_key, say, test_config, Client, TestServer};

const ANN: &str = "ann-key-0123456789abcdef";
const BOB: &str = "bob-key-0123456789abcdef";
const CAT: &str = "cat-key-0123456789abcdef";

async fn three(server: &TestServer) -> [(Client, Value); 3] {
    [
        join_with_key(server, "Ann", Some(ANN)).await,
        join_with_key(server, "Bob", Some(BOB)).await,
        join_with_key(server, "Cat", Some(CAT)).await,
    ]
}

fn uid(welcome: &Value) -> String {
    welcome["you"]["uid"].as_str().expect("a uid").to_owned()
}

/// Says `text` in General from `from`, then reads each of `others` up to
/// it: the frames each received before it, oldest first.
async fn up_to_marker(
    from: &mut Client,
    others: &mut [&mut Client],
    text: &str,
) -> Vec<Vec<Value>> {
    let echo = say(from, json!({"text": text})).await;
    assert_eq!(echo["type"], "message", "{echo}");
    let mut seen = Vec::new();
    for client in others.iter_mut() {
        let mut before = Vec::new();
        loop {
            let frame = client.next().await;
            if frame["type"] == "message" && frame["text"] == text {
                break;
            }
            before.push(frame);
        }
        seen.push(before);
    }
    seen
}

#[tokio::test]
async fn welcome_lists_general_as_the_default_room_everyone_is_in() {
    let server = TestServer::start(test_config()).await;
    let (_ann, welcome) = join_with_key(&server, "Ann", Some(ANN)).await;
    let rooms = welcome["rooms"].as_array().expect("rooms");
    assert_eq!(rooms.len(), 1, "{welcome}");
    assert_eq!(rooms[0]["name"], "General");
    assert_eq!(rooms[0]["kind"], "room");
    assert_eq!(rooms[0]["default"], true);
    assert_eq!(rooms[0]["member"], true);
    assert_eq!(rooms[0]["unread"], 0);
    assert_eq!(rooms[0]["archived"], false);
}

#[tokio::test]
async fn only_a_rooms_members_receive_it_and_others_may_preview_it() {
    let server = TestServer::start(test_config()).await;
    let [(mut ann, _), (mut bob, _), (mut cat, _)] = three(&server).await;
    let made = server
        .room
        .create_room("Track A", Some("the first track"))
        .await
        .expect("made");
    let room = made.id;
    for client in [&mut ann, &mut bob, &mut cat] {
        let added = client.expect("room_added").await;
        assert_eq!(added["room"]["name"], "Track A");
        assert_eq!(added["room"]["member"], false);
        assert_eq!(added["room"]["topic"], "the first track");
    }
    let refused = say(&mut ann, json!({"text": "hello?", "room": room})).await;
    assert_eq!(refused["code"], "not_member");

    for client in [&mut bob, &mut cat] {
        let joined = answer(
            client,
            json!({"type": "join_room", "room": room}),
            "room_changed",
        )
        .await;
        assert_eq!(joined["room"]["member"], true, "{joined}");
    }
    let said = say(&mut bob, json!({"text": "in track A", "room": room})).await;
    assert_eq!(said["room"], room);
    let heard = cat.expect("message").await;
    assert_eq!(
        (heard["text"].clone(), heard["room"].clone()),
        (json!("in track A"), json!(room))
    );

    let seen = up_to_marker(&mut cat, &mut [&mut ann], "marker").await;
    assert!(
        seen[0].iter().all(|f| f["type"] != "message"),
        "a non-member received the room: {:?}",
        seen[0]
    );
    // Everyone may read an open room's history before joining.
    let page = answer(
        &mut ann,
        json!({"type": "history", "room": room}),
        "history",
    )
    .await;
    assert_eq!(page["room"], room);
    assert_eq!(page["messages"][0]["text"], "in track A");

    // Typing is per room: only members hear it.
    bob.send(json!({"type": "typing", "room": room})).await;
    let typing = cat.expect("typing").await;
    assert_eq!(typing["room"], room);
    let seen = up_to_marker(&mut bob, &mut [&mut ann], "after typing").await;
    assert!(
        seen[0].iter().all(|f| f["type"] != "typing"),
        "{:?}",
        seen[0]
    );

    // Leaving: no more live messages.
    let left = answer(
        &mut cat,
        json!({"type": "leave_room", "room": room}),
        "room_changed",
    )
    .await;
    assert_eq!(left["room"]["member"], false);
    say(&mut bob, json!({"text": "cat has gone", "room": room})).await;
    let seen = up_to_marker(&mut bob, &mut [&mut cat], "after leaving").await;
    assert!(
        seen[0].iter().all(|f| f["type"] != "message"),
        "{:?}",
        seen[0]
    );
    let general = answer(
        &mut cat,
        json!({"type": "leave_room", "room": 1}),
        "room_changed",
    )
    .await;
    assert_eq!(general["code"], "forbidden");
}

#[tokio::test]
async fn a_direct_conversation_is_invisible_to_everyone_else_by_every_frame() {
    let server = TestServer::start(test_config()).await;
    let [(mut ann, _), (mut bob, bob_welcome), (mut cat, _)] = three(&server).await;
    let added = answer(
        &mut ann,
        json!({"type": "direct", "uid": uid(&bob_welcome)}),
        "room_added",
    )
    .await;
    assert_eq!(added["room"]["kind"], "direct", "{added}");
    assert_eq!(added["room"]["with"]["name"], "Bob");
    assert_eq!(added["room"]["with"]["here"], true);
    let dm = added["room"]["id"].as_u64().expect("an id");
    let to_bob = bob.expect("room_added").await;
    assert_eq!(to_bob["room"]["id"], dm);
    assert_eq!(to_bob["room"]["with"]["name"], "Ann");

    let secret = say(&mut ann, json!({"text": "a secret for bob", "room": dm})).await;
    let secret_id = secret["id"].as_u64().expect("id");
    let heard = bob.expect("message").await;
    assert_eq!(heard["text"], "a secret for bob");
    let reply = say(
        &mut bob,
        json!({"text": "got it", "room": dm, "reply_to": secret_id}),
    )
    .await;
    assert_eq!(reply["reply_to"]["excerpt"], "a secret for bob");
    ann.expect("message").await;

    // Cat tries everything, and learns nothing: each answer is not_found,
    // never forbidden.
    let tries = [
        (
            json!({"type": "say", "text": "let me in", "room": dm}),
            "message",
        ),
        (json!({"type": "history", "room": dm}), "history"),
        (json!({"type": "join_room", "room": dm}), "room_changed"),
        (json!({"type": "leave_room", "room": dm}), "room_changed"),
        (
            json!({"type": "read", "room": dm, "id": secret_id}),
            "unread",
        ),
        (json!({"type": "typing", "room": dm}), "typing"),
        (
            json!({"type": "react", "id": secret_id, "emoji": "👍"}),
            "reaction",
        ),
        (
            json!({"type": "edit", "id": secret_id, "text": "mine now"}),
            "edited",
        ),
        (json!({"type": "delete", "id": secret_id}), "deleted"),
        (
            json!({"type": "say", "text": "quoting", "reply_to": secret_id}),
            "message",
        ),
        (
            json!({"type": "direct", "uid": "no-such-person"}),
            "room_added",
        ),
    ];
    for (request, kind) in tries {
        let got = answer(&mut cat, request.clone(), kind).await;
        assert_eq!(got["code"], "not_found", "{request} -> {got}");
    }
    // A room id nobody has and a direct conversation answer alike.
    let nothing = answer(
        &mut cat,
        json!({"type": "history", "room": 999_999}),
        "history",
    )
    .await;
    assert_eq!(nothing["code"], "not_found");
    for search in [
        json!({"type": "search", "query": "secret"}),
        json!({"type": "search", "query": "secret", "room": dm}),
        json!({"type": "search", "query": "from:Ann secret"}),
    ] {
        let results = answer(&mut cat, search.clone(), "results").await;
        assert_eq!(results["messages"], json!([]), "{search} -> {results}");
    }
    let seen = up_to_marker(&mut ann, &mut [&mut cat], "marker").await;
    assert!(
        seen[0]
            .iter()
            .all(|f| f.to_string().find("secret").is_none() && f["type"] != "room_added"),
        "cat saw something of the direct conversation: {:?}",
        seen[0]
    );
    // Its two find it in search, with its room.
    let found = answer(
        &mut bob,
        json!({"type": "search", "query": "secret"}),
        "results",
    )
    .await;
    assert_eq!(found["messages"][0]["room"], dm, "{found}");
    // And nothing of it reached anyone else's welcome.
    let (_, late) = join_with_key(&server, "Dan", Some("dan-key-0123456789abcdef")).await;
    assert_eq!(late["rooms"].as_array().map(Vec::len), Some(1), "{late}");
    assert!(!late.to_string().contains("secret"));
}

#[tokio::test]
async fn direct_returns_the_one_conversation_and_tells_only_the_asker_again() {
    let server = TestServer::start(test_config()).await;
    let [(mut ann, ann_welcome), (mut bob, bob_welcome), _] = three(&server).await;
    let first = answer(
        &mut ann,
        json!({"type": "direct", "uid": uid(&bob_welcome)}),
        "room_added",
    )
    .await;
    bob.expect("room_added").await;
    let again = answer(
        &mut bob,
        json!({"type": "direct", "uid": uid(&ann_welcome)}),
        "room_added",
    )
    .await;
    assert_eq!(first["room"]["id"], again["room"]["id"]);
    let seen = up_to_marker(&mut bob, &mut [&mut ann], "marker").await;
    assert!(
        seen[0].iter().all(|f| f["type"] != "room_added"),
        "{:?}",
        seen[0]
    );
    let own = answer(
        &mut ann,
        json!({"type": "direct", "uid": uid(&ann_welcome)}),
        "room_added",
    )
    .await;
    assert_eq!(own["code"], "not_found");
}

#[tokio::test]
async fn opening_direct_conversations_with_new_people_is_limited_per_hour() {
    let server = TestServer::start(hearth_server::Config {
        max_directs_per_hour: 1,
        ..test_config()
    })
    .await;
    let [(mut ann, _), (_, bob), (_, cat)] = three(&server).await;
    let first = answer(
        &mut ann,
        json!({"type": "direct", "uid": uid(&bob)}),
        "room_added",
    )
    .await;
    assert_eq!(first["type"], "room_added");
    let second = answer(
        &mut ann,
        json!({"type": "direct", "uid": uid(&cat)}),
        "room_added",
    )
    .await;
    assert_eq!(second["code"], "rate_limited");
    // The one already open is no new person.
    let again = answer(
        &mut ann,
        json!({"type": "direct", "uid": uid(&bob)}),
        "room_added",
    )
    .await;
    assert_eq!(again["type"], "room_added");
}

#[tokio::test]
async fn archived_rooms_are_read_only_and_deleted_ones_are_gone() {
    let server = TestServer::start(test_config()).await;
    let [(mut ann, _), (mut bob, _), _] = three(&server).await;
    let room = server.room.create_room("Old", None).await.expect("made").id;
    answer(
        &mut ann,
        json!({"type": "join_room", "room": room}),
        "room_changed",
    )
    .await;
    let said = say(&mut ann, json!({"text": "before", "room": room})).await;
    server
        .room
        .change_room(
            room,
            hearth_server::RoomEdit {
                archived: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("archived");
    let changed = bob.expect("room_changed").await;
    assert_eq!(changed["room"]["archived"], true);
    let refused = say(&mut ann, json!({"text": "after", "room": room})).await;
    assert_eq!(refused["code"], "archived");
    let edit = answer(
        &mut ann,
        json!({"type": "edit", "id": said["id"], "text": "x"}),
        "edited",
    )
    .await;
    assert_eq!(edit["code"], "archived");
    let page = answer(
        &mut bob,
        json!({"type": "history", "room": room}),
        "history",
    )
    .await;
    assert_eq!(page["messages"][0]["text"], "before");

    server.room.delete_room(room).await.expect("deleted");
    let removed = bob.expect("room_removed").await;
    assert_eq!(removed["room"], room);
    let gone = answer(
        &mut bob,
        json!({"type": "history", "room": room}),
        "history",
    )
    .await;
    assert_eq!(gone["code"], "not_found");
    assert_eq!(
        server.room.delete_room(1).await.map_err(|e| e.code()),
        Err(hearth_server::ErrorCode::Forbidden)
    );
}

#[tokio::test]
async fn room_names_are_unique_by_look_and_the_house_has_a_limit() {
    let server = TestServer::start(hearth_server::Config {
        max_rooms: 3,
        ..test_config()
    })
    .await;
    server
        .room
        .create_room("Track A", None)
        .await
        .expect("made");
    let taken = server.room.create_room("TRACK Ａ", None).await;
    assert_eq!(
        taken.map_err(|e| e.code()).err(),
        Some(hearth_server::ErrorCode::NameTaken)
    );
    let general = server.room.create_room("general", None).await;
    assert_eq!(
        general.map_err(|e| e.code()).err(),
        Some(hearth_server::ErrorCode::NameTaken)
    );
    let empty = server.room.create_room(" \u{200b} ", None).await;
    assert_eq!(
        empty.map_err(|e| e.code()).err(),
        Some(hearth_server::ErrorCode::InvalidName)
    );
    server
        .room
        .create_room("Track B", None)
        .await
        .expect("made");
    let full = server.room.create_room("Track C", None).await;
    assert_eq!(
        full.map_err(|e| e.code()).err(),
        Some(hearth_server::ErrorCode::TooManyRooms)
    );
}

#[tokio::test]
async fn guests_make_rooms_only_when_the_host_lets_them() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN)).await;
    let request = json!({"type": "create_room", "name": "Ann's", "topic": "mine"});
    let refused = answer(&mut ann, request.clone(), "room_added").await;
    assert_eq!(refused["code"], "forbidden");
    server.room.set_anyone_creates_rooms(true);
    let added = answer(&mut ann, request, "room_added").await;
    assert_eq!(added["room"]["name"], "Ann's");
    let joined = ann.expect("room_changed").await;
    assert_eq!(joined["room"]["member"], true, "the maker is in it");
}

#[tokio::test]
async fn reading_on_one_connection_updates_the_count_on_the_others() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN)).await;
    let (mut ann_phone, _) = join_with_key(&server, "Ann 2", Some(ANN)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB)).await;
    let mut last = 0;
    for n in 0..3 {
        last = say(&mut bob, json!({"text": format!("m{n}")})).await["id"]
            .as_u64()
            .expect("id");
    }
    // The second connection heard three messages it has not read.
    let (_, welcome) = join_with_key(&server, "Ann 3", Some(ANN)).await;
    assert_eq!(welcome["rooms"][0]["unread"], 3, "{welcome}");
    ann.send(json!({"type": "read", "id": last - 1})).await;
    let unread = ann_phone.expect("unread").await;
    assert_eq!(
        (unread["room"].clone(), unread["unread"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn plain_text_clients_talk_in_general() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN)).await;
    let mut plain = Client::connect(&server).await;
    plain
        .send_raw(tokio_tungstenite::tungstenite::Message::text(
            "hi from netcat",
        ))
        .await;
    let heard = ann.expect("message").await;
    assert_eq!(
        (heard["text"].clone(), heard["room"].clone()),
        (json!("hi from netcat"), json!(1))
    );
}

#[tokio::test]
async fn rooms_memberships_reads_and_direct_conversations_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (room, dm) = {
        let server = TestServer::start(durable(dir.path())).await;
        let [(mut ann, _), (mut bob, bob_welcome), _] = three(&server).await;
        let room = server
            .room
            .create_room("Kept", Some("a topic"))
            .await
            .expect("made")
            .id;
        answer(
            &mut ann,
            json!({"type": "join_room", "room": room}),
            "room_changed",
        )
        .await;
        say(&mut ann, json!({"text": "kept in a room", "room": room})).await;
        let dm = answer(
            &mut ann,
            json!({"type": "direct", "uid": uid(&bob_welcome)}),
            "room_added",
        )
        .await["room"]["id"]
            .as_u64()
            .expect("id");
        for n in 0..2 {
            say(&mut ann, json!({"text": format!("dm {n}"), "room": dm})).await;
        }
        bob.expect("room_added").await;
        server.stop().await;
        (room, dm)
    };
    let server = TestServer::start(durable(dir.path())).await;
    let (_, ann) = join_with_key(&server, "Ann", Some(ANN)).await;
    let kept = ann["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["id"] == room)
        .cloned();
    let kept = kept.expect("the room is back");
    assert_eq!(
        (kept["member"].clone(), kept["topic"].clone()),
        (json!(true), json!("a topic"))
    );
    assert_eq!(kept["unread"], 0, "what one said, one has read");
    let (mut bob, bob_welcome) = join_with_key(&server, "Bob", Some(BOB)).await;
    let direct = bob_welcome["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["id"] == dm)
        .cloned();
    let direct = direct.expect("bob finds the direct conversation");
    assert_eq!(direct["unread"], 2, "{direct}");
    assert_eq!(direct["with"]["name"], "Ann");
    let page = answer(&mut bob, json!({"type": "history", "room": dm}), "history").await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(2));
    let (_, cat) = join_with_key(&server, "Cat", Some(CAT)).await;
    assert!(cat["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .all(|r| r["id"] != dm));
}

#[tokio::test]
async fn search_filters_by_room_person_and_what_messages_carry() {
    let server = TestServer::start(test_config()).await;
    let [(mut ann, _), (mut bob, _), _] = three(&server).await;
    let room = server
        .room
        .create_room("Track A", None)
        .await
        .expect("made")
        .id;
    answer(
        &mut ann,
        json!({"type": "join_room", "room": room}),
        "room_changed",
    )
    .await;
    say(
        &mut ann,
        json!({"text": "agenda in the track", "room": room}),
    )
    .await;
    say(&mut ann, json!({"text": "agenda in general"})).await;
    say(&mut bob, json!({"text": "agenda at https://example.org"})).await;
    let query = |q: &str| json!({"type": "search", "query": q});
    let texts = |v: &Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["text"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let all = answer(&mut ann, query("agenda"), "results").await;
    assert_eq!(texts(&all).len(), 3, "{all}");
    let in_track = answer(&mut ann, query("agenda in:\"Track A\""), "results").await;
    assert_eq!(texts(&in_track), ["agenda in the track"]);
    let from_bob = answer(&mut ann, query("agenda from:bob"), "results").await;
    assert_eq!(texts(&from_bob), ["agenda at https://example.org"]);
    let links = answer(&mut ann, query("has:link"), "results").await;
    assert_eq!(texts(&links), ["agenda at https://example.org"]);
    // Bob is not in Track A: it is not in his search unless he names it.
    let bobs = answer(&mut bob, query("agenda"), "results").await;
    assert_eq!(texts(&bobs).len(), 2, "{bobs}");
    let named = answer(&mut bob, query("agenda in:track a"), "results").await;
    assert_eq!(
        texts(&named).len(),
        0,
        "in: takes one word or quotes: {named}"
    );
}
