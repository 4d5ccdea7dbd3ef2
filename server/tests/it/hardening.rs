//! What one hostile participant could do to everyone else, and now cannot:
//! each test fails against the server as it was before the fix it names.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{
    handshake_status, http_get, names, non_reader, test_config, Client, TestServer, PATIENCE,
};
use hearth_server::{Config, RateLimit};

/// Plain text full of `"`, which JSON escaping doubles: 16,000 of them take
/// 32,000 bytes in every frame and in `welcome`.
fn quote_bomb() -> String {
    "\"".repeat(16_000)
}

/// Says `count` quote bombs as plain text, reading the echoes as they come
/// (so the attacker itself is not dropped for not reading), and returns once
/// the last is echoed.
async fn flood_history(server: &TestServer, count: usize) {
    let attacker = Client::connect(server).await;
    let (mut tx, mut rx) = attacker.socket.split();
    let echoes = tokio::spawn(async move {
        let mut echoed = 0;
        while echoed < count {
            match rx.next().await {
                Some(Ok(Message::Text(text))) if text.starts_with(r#"{"type":"message""#) => {
                    echoed += 1;
                }
                Some(Ok(_)) => {}
                other => panic!("the attacker's socket ended: {other:?}"),
            }
        }
    });
    for _ in 0..count {
        tx.send(Message::text(quote_bomb())).await.unwrap();
    }
    tokio::time::timeout(PATIENCE, echoes)
        .await
        .expect("every bomb echoed in time")
        .unwrap();
}

/// Issue 9.1: 135 such frames used to push `welcome` past the 4 MiB send
/// budget, so everyone who joined afterwards was closed with 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_history_still_lets_everyone_join() {
    let config = test_config();
    let budget = config.send_queue_bytes;
    let server = TestServer::start(config).await;
    flood_history(&server, 150).await;

    for name in ["newcomer", "returning"] {
        let mut client = Client::connect(&server).await;
        client.send(json!({"type": "hello", "name": name})).await;
        let welcome = client.expect("welcome").await;
        let size = welcome.to_string().len();
        assert!(size <= budget / 2, "welcome is {size} bytes");
        let history = welcome["history"].as_array().expect("history");
        assert!(!history.is_empty(), "the newest messages are kept");
        client.send(json!({"type": "say", "text": "hi"})).await;
        assert_eq!(client.expect("message").await["text"], "hi");
    }
    // A plain-text client joins by speaking, and gets its welcome too.
    let mut plain = Client::connect(&server).await;
    plain.send_raw(Message::text("hello from netcat")).await;
    plain.expect("welcome").await;
    assert_eq!(plain.expect("message").await["text"], "hello from netcat");
}

/// Issue 9.3: a client that joins and never reads used to hold its whole
/// `welcome` in server memory for as long as it answered pings. With the
/// default budget the history is at most 1 MiB: more than the kernel may
/// buffer for a client that reads nothing, so the write cannot complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_takes_its_welcome_is_dropped() {
    let server = TestServer::start(Config {
        write_timeout: Duration::from_millis(1500),
        ..test_config()
    })
    .await;
    flood_history(&server, 150).await;
    server.wait_for_connections(0).await;
    let (mut reader, _) = Client::join(&server, "reader").await;
    let joined = server.room.stats().connections;

    let _stuck = non_reader(&server, "stuck").await;
    server.wait_for_connections(joined + 1).await;
    let started = Instant::now();
    server.wait_for_connections(joined).await;
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(server.health().await["evictions"]["stalled"], 1);

    // Nobody else noticed.
    reader
        .send(json!({"type": "say", "text": "still here"}))
        .await;
    loop {
        let frame = reader.next().await;
        if frame["type"] == "message" && frame["text"] == "still here" {
            break;
        }
    }
}

/// Issue 9.4: connections that never said `hello` used to keep their slot
/// under `--max-clients` for good, while a real browser got 503.
#[tokio::test]
async fn connections_that_never_join_give_their_slot_back() {
    let server = TestServer::start(Config {
        max_clients: 2,
        join_timeout: Duration::from_millis(600),
        ping_interval: Duration::from_millis(200),
        ..test_config()
    })
    .await;
    // Polled in the background, so they answer every ping: alive, but idle.
    let mut lurkers = Vec::new();
    for _ in 0..2 {
        let lurker = Client::connect(&server).await;
        let (_tx, mut rx) = lurker.socket.split();
        lurkers.push(tokio::spawn(async move {
            let mut close = None;
            while let Some(Ok(frame)) = rx.next().await {
                if let Message::Close(frame) = frame {
                    close = frame.map(|f| (f.code, f.reason.to_string()));
                }
            }
            drop(_tx);
            close
        }));
    }
    server.wait_for_connections(2).await;
    assert_eq!(handshake_status(&server, &[]).await, 503);

    for lurker in lurkers {
        let close = tokio::time::timeout(PATIENCE, lurker)
            .await
            .expect("a lurker is closed in time")
            .expect("lurker task");
        let (code, reason) = close.expect("a close frame");
        assert_eq!(code, CloseCode::Policy);
        assert_eq!(reason, "did not join in time");
    }
    server.wait_for_connections(0).await;
    let (mut late, welcome) = Client::join(&server, "late").await;
    assert_eq!(welcome["you"]["name"], "late");
    late.send(json!({"type": "say", "text": "in"})).await;
    late.expect("message").await;
    assert_eq!(server.health().await["join_timeouts"], 2);
}

/// Issue 9.4 and 15.3: past the pending-connection cap the *oldest* idle
/// connection is closed. With no cap the idle sockets would stay open (the
/// header timeout here is a minute); with the old policy of refusing the
/// newest, idle sockets opened first would keep every browser out.
#[tokio::test]
async fn past_the_pending_cap_the_oldest_idle_connections_make_room() {
    let server = TestServer::start(Config {
        max_pending_connections: 8,
        header_read_timeout: Duration::from_secs(60),
        ..test_config()
    })
    .await;
    let (mut a, _) = Client::join(&server, "a").await;
    let (mut b, _) = Client::join(&server, "b").await;

    let mut idle = Vec::new();
    for _ in 0..40 {
        let conn = TcpStream::connect(server.addr).await.unwrap();
        idle.push(conn);
        // Accepted in order, so "oldest" is well defined.
        tokio::task::yield_now().await;
    }
    // The 32 oldest are closed by the server, not by any timeout.
    let newest = idle.split_off(32);
    for (n, mut conn) in idle.into_iter().enumerate() {
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(PATIENCE, conn.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "idle connection {n} should have been closed, got {read:?}"
        );
    }
    // A browser's request still gets through (and closes one more idle one).
    let (status, _, _) = http_get(server.addr, "/healthz", &server.addr.to_string()).await;
    assert_eq!(status, 200);
    let mut still_open = 0;
    for mut conn in newest {
        let mut buf = [0u8; 1];
        if tokio::time::timeout(Duration::from_millis(50), conn.read(&mut buf))
            .await
            .is_err()
        {
            still_open += 1;
        }
    }
    assert!(still_open >= 6, "{still_open} of the 8 newest stay open");
    a.send(json!({"type": "say", "text": "after the flood"}))
        .await;
    loop {
        let frame = b.expect("message").await;
        if frame["text"] == "after the flood" {
            break;
        }
    }
}

/// Issue 9.4: the per-connection limit alone let 20 connections deliver 600
/// messages in a second. The room-wide ceiling bounds what everyone receives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_together_cannot_flood_the_room() {
    let ceiling = RateLimit {
        per_second: 20,
        burst: 20,
    };
    let server = TestServer::start(Config {
        rate_limit: None,
        room_rate_limit: Some(ceiling),
        ..test_config()
    })
    .await;
    let (mut observer, _) = Client::join(&server, "observer").await;
    let mut flooders = Vec::new();
    for n in 0..10 {
        let name = format!("flooder{n}");
        flooders.push((Client::join(&server, &name).await.0, name));
    }
    let started = Instant::now();
    for (flooder, _) in &mut flooders {
        for i in 0..10 {
            flooder
                .send(json!({"type": "say", "text": format!("flood {i}")}))
                .await;
        }
    }
    // Each flooder hears back about each of its 10 frames: its own message
    // echoed, or a refusal.
    let mut refused = 0;
    for (flooder, name) in &mut flooders {
        let mut answers = 0;
        while answers < 10 {
            let frame = flooder.next().await;
            if frame["type"] == "error" {
                assert_eq!(frame["code"], "rate_limited");
                refused += 1;
                answers += 1;
            } else if frame["type"] == "message" && frame["from"]["name"] == name.as_str() {
                answers += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = 100 - refused;
    let allowed = f64::from(ceiling.burst) + f64::from(ceiling.per_second) * elapsed + 1.0;
    assert!(
        (delivered as f64) <= allowed,
        "{delivered} delivered in {elapsed:.2} s; the ceiling allows {allowed:.0}"
    );
    assert!(refused > 0);
    assert_eq!(
        server.health().await["room_rate_limited"].as_u64(),
        Some(refused)
    );
    // The observer saw exactly what was delivered. Its marker may meet the
    // ceiling too: it tries again as the bucket refills.
    observer
        .send(json!({"type": "say", "text": "marker"}))
        .await;
    let mut seen = 0;
    loop {
        let frame = observer.next().await;
        if frame["type"] == "error" {
            assert_eq!(frame["code"], "rate_limited");
            tokio::time::sleep(Duration::from_millis(100)).await;
            observer
                .send(json!({"type": "say", "text": "marker"}))
                .await;
        } else if frame["type"] == "message" {
            if frame["text"] == "marker" {
                break;
            }
            seen += 1;
        }
    }
    assert_eq!(seen, delivered);
}

/// Issue 9.4: busy but normal chat never meets the room ceiling at its default.
#[tokio::test]
async fn busy_normal_chat_is_never_limited() {
    let defaults = Config::default();
    let server = TestServer::start(Config {
        rate_limit: defaults.rate_limit,
        room_rate_limit: defaults.room_rate_limit,
        ..test_config()
    })
    .await;
    let mut people = Vec::new();
    for n in 0..10 {
        people.push(Client::join(&server, &format!("person{n}")).await.0);
    }
    // Everyone says five things at once: 50 messages in a moment.
    for person in &mut people {
        for i in 0..5 {
            person
                .send(json!({"type": "say", "text": format!("line {i}")}))
                .await;
        }
    }
    for person in &mut people {
        let mut messages = 0;
        while messages < 50 {
            let frame = person.next().await;
            assert_ne!(frame["type"], "error", "{frame}");
            if frame["type"] == "message" {
                messages += 1;
            }
        }
    }
}

/// Issue 9.5: names that look like someone else's are refused.
#[tokio::test]
async fn look_alike_and_invisible_names_are_refused() {
    let server = TestServer::start(test_config()).await;
    let (_ann, _) = Client::join(&server, "Ann").await;
    let mut other = Client::connect(&server).await;
    let hidden = [
        "Ann\u{2060}",
        "Ann\u{061C}",
        "Ann\u{034F}",
        "Ann\u{00AD}",
        "Ann\u{180E}",
        "Ann\u{E0041}",
        "Ann\u{3164}",
        "A\u{200B}nn",
        "\u{3164}",
        "\u{3164}\u{3164}\u{3164}",
        "\u{2800}",
        "\u{2800}\u{2800}",
        "An\u{2028}n",
    ];
    for name in hidden {
        other.send(json!({"type": "hello", "name": name})).await;
        let error = other.expect("error").await;
        assert_eq!(error["code"], "invalid_name", "{name:?}");
    }
    for name in ["Ａｎｎ", "ANN", "\u{410}nn"] {
        other.send(json!({"type": "hello", "name": name})).await;
        let error = other.expect("error").await;
        assert_eq!(error["code"], "name_taken", "{name:?}");
    }
    other.send(json!({"type": "hello", "name": "Anna"})).await;
    assert_eq!(other.expect("welcome").await["you"]["name"], "Anna");
    assert_eq!(names(&server), ["Ann", "Anna"]);
}

/// Issue 23.8: a `hello` from someone already in renames them, and every
/// rename reaches everyone; it escaped the room-wide ceiling (1,580
/// `renamed` in 5 s where 700 were allowed). It pays like `rename`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_by_hello_pays_the_room_wide_ceiling() {
    let ceiling = RateLimit {
        per_second: 5,
        burst: 5,
    };
    let server = TestServer::start(Config {
        rate_limit: None,
        room_rate_limit: Some(ceiling),
        ..test_config()
    })
    .await;
    let (mut observer, _) = Client::join(&server, "observer").await;
    let (mut renamer, _) = Client::join(&server, "renamer").await;
    let started = Instant::now();
    let tries = 40;
    for i in 0..tries {
        renamer
            .send(json!({"type": "hello", "name": format!("renamer{i}")}))
            .await;
    }
    // Each hello is answered: the rename (seen by the renamer too) or a refusal.
    let mut refused = 0;
    let mut renamed = 0;
    while refused + renamed < tries {
        let frame = renamer.next().await;
        if frame["type"] == "error" {
            assert_eq!(frame["code"], "rate_limited", "{frame}");
            refused += 1;
        } else if frame["type"] == "renamed" {
            renamed += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = f64::from(ceiling.burst) + f64::from(ceiling.per_second) * elapsed + 1.0;
    assert!(
        f64::from(renamed) <= allowed,
        "{renamed} renames in {elapsed:.2} s; the ceiling allows {allowed:.0}"
    );
    assert!(refused > 0, "the ceiling refused some");
    // The observer saw exactly the renames that went through; the marker
    // may meet the ceiling too, so it is sent again as the bucket refills.
    loop {
        renamer.send(json!({"type": "say", "text": "marker"})).await;
        let frame = renamer.next().await;
        if frame["type"] == "message" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut seen = 0;
    loop {
        let frame = observer.next().await;
        if frame["type"] == "renamed" {
            seen += 1;
        } else if frame["type"] == "message" && frame["text"] == "marker" {
            break;
        }
    }
    assert_eq!(seen, renamed);
}

/// Reacts with `emoji` to `id` and returns the answer: the `reaction`
/// (everyone gets it, the reacter too) or the `error`.
async fn react(client: &mut Client, id: &serde_json::Value, emoji: &str) -> serde_json::Value {
    client
        .send(json!({"type": "react", "id": id, "emoji": emoji}))
        .await;
    loop {
        let frame = client.next().await;
        if frame["type"] == "error" || (frame["type"] == "reaction" && frame["emoji"] == emoji) {
            return frame;
        }
    }
}

async fn say_text(client: &mut Client, text: &str) -> serde_json::Value {
    client.send(json!({"type": "say", "text": text})).await;
    loop {
        let frame = client.next().await;
        if frame["type"] == "message" && frame["text"] == text {
            return frame;
        }
    }
}

/// The first emoji of the RGI set that are plain pictographs, for tests.
const EMOJI: [&str; 24] = [
    "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗",
    "😙", "🥲", "😚", "🙂", "🤗", "🤩", "🤔", "🫡",
];

/// Issue 23.1: one person could put an unlimited number of "different"
/// reactions on a message (any pictographs joined by ZWJ passed as one
/// emoji). Only RGI emoji count, and a message takes at most 20 different
/// ones, a person at most 10 on it.
#[tokio::test]
async fn reactions_are_real_emoji_and_capped_per_message_and_person() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let id = say_text(&mut ann, "react to me").await["id"].clone();
    for (i, made_up) in ["😀\u{200D}😀", "😀\u{200D}😁\u{200D}😂", "🐱\u{200D}🚀"]
        .iter()
        .enumerate()
    {
        let answer = react(&mut ann, &id, made_up).await;
        assert_eq!(answer["code"], "invalid_emoji", "{i}: {answer}");
    }
    for emoji in &EMOJI[..10] {
        assert_eq!(react(&mut ann, &id, emoji).await["type"], "reaction");
    }
    let eleventh = react(&mut ann, &id, EMOJI[10]).await;
    assert_eq!(eleventh["code"], "too_many_reactions", "{eleventh}");
    // Taking one back makes room again.
    assert_eq!(react(&mut ann, &id, EMOJI[0]).await["added"], false);
    assert_eq!(react(&mut ann, &id, EMOJI[10]).await["added"], true);

    let (mut bob, _) = Client::join(&server, "Bob").await;
    for emoji in &EMOJI[11..20] {
        assert_eq!(react(&mut bob, &id, emoji).await["type"], "reaction");
    }
    let (mut cy, _) = Client::join(&server, "Cy").await;
    assert_eq!(react(&mut cy, &id, EMOJI[20]).await["added"], true);
    // 20 different ones are on the message now: another different one is
    // refused, but joining one already there is not.
    let different = react(&mut cy, &id, EMOJI[21]).await;
    assert_eq!(different["code"], "too_many_reactions", "{different}");
    assert_eq!(react(&mut cy, &id, EMOJI[1]).await["added"], true);
}

/// Issue 23.1: a message whose reactions outgrew the page budget was left
/// out of `welcome`, `history` answered `messages: [] more: true` (so the
/// client asked again at once), and search found nothing. The message now
/// always comes, with the list of who reacted trimmed to fit.
#[tokio::test]
async fn a_message_buried_in_reactions_still_comes_in_every_page() {
    // A small send budget: pages and `welcome` carry 2 KiB of history.
    let server = TestServer::start(Config {
        send_queue_bytes: 8 * 1024,
        ..test_config()
    })
    .await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let buried = say_text(&mut ann, "buried treasure").await["id"].clone();
    let mut crowd = Vec::new();
    for n in 0..8 {
        let (mut person, _) = Client::join(&server, &format!("reactor-{n}")).await;
        for emoji in &EMOJI[..10] {
            assert_eq!(react(&mut person, &buried, emoji).await["type"], "reaction");
        }
        crowd.push(person);
    }
    let later = say_text(&mut ann, "later").await["id"].clone();

    let (mut newcomer, welcome) = Client::join(&server, "newcomer").await;
    let history = welcome["history"].as_array().unwrap();
    assert!(
        history.iter().any(|m| m["id"] == buried),
        "welcome without the buried message: {welcome}"
    );
    newcomer
        .send(json!({"type": "history", "before": later}))
        .await;
    let page = newcomer.expect("history").await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{page}");
    assert_eq!(messages[0]["id"], buried);
    assert_eq!(messages[0]["text"], "buried treasure");
    assert!(
        page.to_string().len() < 4 * 1024,
        "trimmed to the budget: {} bytes",
        page.to_string().len()
    );
    newcomer
        .send(json!({"type": "search", "query": "treasure"}))
        .await;
    let results = newcomer.expect("results").await;
    assert_eq!(results["messages"][0]["id"], buried, "{results}");
}
