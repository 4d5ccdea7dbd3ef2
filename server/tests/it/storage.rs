//! The durable room: restarts, the crash guarantee, older pages, search,
//! clearing, retention, export, and every way storage can fail. The
//! binaries run on temporary data directories, never a real one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hearth_server::{Config, Exported, Retention, Storage};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{test_config, Client, TestServer, PATIENCE};

fn durable(dir: &Path) -> Config {
    Config {
        storage: Storage::Dir(dir.to_owned()),
        ..test_config()
    }
}

async fn say(client: &mut Client, text: &str) -> Value {
    client.send(json!({"type": "say", "text": text})).await;
    loop {
        let frame = client.next().await;
        if frame["type"] == "error" || (frame["type"] == "message" && frame["text"] == text) {
            return frame;
        }
    }
}

async fn ask(client: &mut Client, request: Value, answer: &str) -> Value {
    client.send(request).await;
    client.expect(answer).await
}

/// Every stored message of General, oldest first, read page by page as a
/// client would.
async fn all_history(client: &mut Client) -> Vec<Value> {
    room_history(client, 1).await
}

/// Every stored message of `room`, oldest first.
async fn room_history(client: &mut Client, room: u64) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let mut request = json!({"type": "history", "room": room, "limit": 200});
        if let Some(before) = before {
            request["before"] = json!(before);
        }
        let page = ask(client, request, "history").await;
        let batch = page["messages"].as_array().unwrap().clone();
        before = batch.first().and_then(|m| m["id"].as_u64());
        let more = page["more"] == true;
        messages.splice(0..0, batch);
        if !more || before.is_none() {
            return messages;
        }
    }
}

fn ids(messages: &[Value]) -> Vec<u64> {
    messages.iter().map(|m| m["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn the_room_and_its_messages_outlive_a_restart_and_ids_keep_rising() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, welcome) = Client::join(&server, "Ann").await;
    let room = welcome["room"].clone();
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(say(&mut ann, text).await["id"].as_u64().unwrap());
    }
    drop(ann);
    server.stop().await;

    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, welcome) = Client::join(&server, "Ann").await;
    assert_eq!(welcome["room"], room, "same data directory, same room");
    assert_eq!(welcome["first_id"], sent[0]);
    let history = welcome["history"].as_array().unwrap();
    assert_eq!(ids(history), sent);
    assert_eq!(history[2]["text"], "three");
    assert_eq!(history[0]["from"]["name"], "Ann");
    let next = say(&mut ann, "four").await["id"].as_u64().unwrap();
    assert!(next > sent[2], "ids keep rising: {next} after {}", sent[2]);

    let elsewhere = tempfile::tempdir().unwrap();
    let other = TestServer::start(durable(elsewhere.path())).await;
    let (_, fresh) = Client::join(&other, "Ann").await;
    assert_ne!(fresh["room"], room, "a fresh data directory is a new room");
    assert_eq!(fresh["history"], json!([]));
    let ephemeral = TestServer::start(test_config()).await;
    let (_, fresh) = Client::join(&ephemeral, "Ann").await;
    assert_ne!(fresh["room"], room);
}

#[tokio::test]
async fn older_pages_lead_back_to_the_first_message_and_forward_again() {
    let server = TestServer::start(Config {
        history: 5,
        ..test_config()
    })
    .await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let mut sent = Vec::new();
    for n in 0..23 {
        sent.push(
            say(&mut ann, &format!("m{n}")).await["id"]
                .as_u64()
                .unwrap(),
        );
    }
    let (mut bob, welcome) = Client::join(&server, "Bob").await;
    let recent = ids(welcome["history"].as_array().unwrap());
    assert_eq!(recent, sent[18..], "welcome keeps the last --history");

    let page = ask(
        &mut bob,
        json!({"type": "history", "before": recent[0], "limit": 10}),
        "history",
    )
    .await;
    assert_eq!(ids(page["messages"].as_array().unwrap()), sent[8..18]);
    assert_eq!(page["more"], true);
    assert_eq!(page["before"], recent[0]);
    let page = ask(
        &mut bob,
        json!({"type": "history", "before": sent[8], "limit": 10}),
        "history",
    )
    .await;
    assert_eq!(ids(page["messages"].as_array().unwrap()), sent[..8]);
    assert_eq!(page["more"], false);
    assert_eq!(ids(&all_history(&mut bob).await), sent);

    let page = ask(
        &mut bob,
        json!({"type": "history", "after": sent[3], "limit": 4}),
        "history",
    )
    .await;
    assert_eq!(ids(page["messages"].as_array().unwrap()), sent[4..8]);
    assert_eq!(page["more"], true);
    // A limit past the cap is capped, not refused.
    let page = ask(
        &mut bob,
        json!({"type": "history", "limit": 100_000}),
        "history",
    )
    .await;
    assert_eq!(ids(page["messages"].as_array().unwrap()), sent);
}

#[tokio::test]
async fn history_and_search_need_a_joined_peer_and_are_rate_limited() {
    let server = TestServer::start(Config {
        rate_limit: Some(hearth_server::RateLimit {
            per_second: 1,
            burst: 3,
        }),
        ..test_config()
    })
    .await;
    let mut lurker = Client::connect(&server).await;
    let refused = ask(&mut lurker, json!({"type": "history"}), "error").await;
    assert_eq!(refused["code"], "not_joined");
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        ann.send(json!({"type": "search", "query": "x"})).await;
        let answer = ann.next().await;
        codes.push(
            answer["code"]
                .as_str()
                .unwrap_or(answer["type"].as_str().unwrap())
                .to_owned(),
        );
    }
    assert_eq!(&codes[..2], ["results", "results"]);
    assert!(codes.contains(&"rate_limited".to_owned()), "{codes:?}");
}

#[tokio::test]
async fn search_finds_words_by_prefix_and_takes_any_input_as_text() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    for text in [
        "Meet at the Café at noon",
        "the cafeteria is closed",
        "no match here",
        "an (odd) \"quoted\" AND message * with NEAR",
        "日本語のテキスト 🎉 party",
    ] {
        say(&mut ann, text).await;
    }
    let found = |answer: &Value| -> Vec<String> {
        answer["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let answer = ask(
        &mut ann,
        json!({"type": "search", "query": "cafe"}),
        "results",
    )
    .await;
    assert_eq!(answer["query"], "cafe");
    assert_eq!(
        found(&answer),
        ["the cafeteria is closed", "Meet at the Café at noon"],
        "newest first; accents and case ignored; words match as prefixes"
    );
    let answer = ask(
        &mut ann,
        json!({"type": "search", "query": "NOON meet"}),
        "results",
    )
    .await;
    assert_eq!(found(&answer), ["Meet at the Café at noon"]);
    let answer = ask(
        &mut ann,
        json!({"type": "search", "query": "🎉"}),
        "results",
    )
    .await;
    assert_eq!(found(&answer), ["日本語のテキスト 🎉 party"]);

    for hostile in [
        "\"",
        "\"\"",
        "((",
        ")",
        "AND",
        "OR OR",
        "NEAR(a b)",
        "*",
        "a*b",
        "^start",
        "text:x",
        "-x",
        "{text} : x",
        "'; DROP TABLE messages; --",
        "\u{0}",
        "NOT",
        "\"odd",
        "💥💥",
        "a AND",
        "(odd)",
        "\\",
        "+",
        "..",
        "“curly”",
    ] {
        ann.send(json!({"type": "search", "query": hostile})).await;
        let answer = ann.next().await;
        assert_eq!(answer["type"], "results", "{hostile:?} gave {answer}");
    }
    let answer = ask(
        &mut ann,
        json!({"type": "search", "query": "(odd) \"quoted"}),
        "results",
    )
    .await;
    assert_eq!(found(&answer).len(), 1, "operators are searched as words");
    assert_eq!(
        all_history(&mut ann).await.len(),
        5,
        "and nothing was dropped"
    );
}

#[tokio::test]
async fn clearing_empties_every_view_and_ids_keep_rising() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let (mut bob, _) = Client::join(&server, "Bob").await;
    let before = say(&mut ann, "secret").await["id"].as_u64().unwrap();
    server.room.clear_history().await.unwrap();
    ann.expect("cleared").await;
    bob.expect("cleared").await;
    assert_eq!(all_history(&mut bob).await, Vec::<Value>::new());
    let search = ask(
        &mut bob,
        json!({"type": "search", "query": "secret"}),
        "results",
    )
    .await;
    assert_eq!(search["messages"], json!([]), "gone from search too");
    let after = say(&mut ann, "fresh").await["id"].as_u64().unwrap();
    assert!(after > before);
    drop((ann, bob));
    server.stop().await;
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, welcome) = Client::join(&server, "Ann").await;
    assert_eq!(ids(welcome["history"].as_array().unwrap()), [after]);
    assert!(
        welcome["first_id"].as_u64().unwrap() > before,
        "clients drop what was cleared"
    );
    assert!(welcome["first_id"].as_u64().unwrap() <= after);
    assert!(say(&mut ann, "later").await["id"].as_u64().unwrap() > after);
}

#[tokio::test]
async fn retention_keeps_only_the_newest_messages() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let mut sent = Vec::new();
    for n in 0..6 {
        sent.push(
            say(&mut ann, &format!("m{n}")).await["id"]
                .as_u64()
                .unwrap(),
        );
    }
    drop(ann);
    server.stop().await;
    // Pruning runs at start (then every minute). By age: everything here
    // is younger than a day, so only the count prunes.
    let server = TestServer::start(Config {
        retention: Retention {
            max_messages: Some(2),
            max_age: Some(Duration::from_secs(86_400)),
        },
        ..durable(dir.path())
    })
    .await;
    let (mut ann, welcome) = Client::join(&server, "Ann").await;
    assert_eq!(ids(welcome["history"].as_array().unwrap()), sent[4..]);
    assert_eq!(ids(&all_history(&mut ann).await), sent[4..]);
    drop(ann);
    server.stop().await;
    // By age alone: with a clock a week ahead, everything is too old.
    let stored = rusqlite::Connection::open(dir.path().join(hearth_server::DATABASE_FILE)).unwrap();
    stored
        .execute("UPDATE messages SET ts = ts - 7 * 86400000", [])
        .unwrap();
    drop(stored);
    let server = TestServer::start(Config {
        retention: Retention {
            max_messages: None,
            max_age: Some(Duration::from_secs(86_400)),
        },
        ..durable(dir.path())
    })
    .await;
    let (mut ann, welcome) = Client::join(&server, "Ann").await;
    assert_eq!(welcome["history"], json!([]));
    assert_eq!(all_history(&mut ann).await, Vec::<Value>::new());
    assert!(say(&mut ann, "new").await["id"].as_u64().unwrap() > sent[5]);
}

#[tokio::test]
async fn the_host_exports_everything_and_json_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, welcome) = Client::join(&server, "Ann*_[x]").await;
    let texts = ["first", "second\nline", "with \"quotes\" and ]} braces"];
    for text in texts {
        say(&mut ann, text).await;
    }
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    struct Sink(Vec<u8>, std::sync::mpsc::Sender<Vec<u8>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.1.send(self.0.clone()).ok();
            Ok(())
        }
    }
    let count = server
        .room
        .export(
            hearth_server::ExportFormat::Json,
            false,
            Sink(Vec::new(), tx),
        )
        .await
        .unwrap();
    assert_eq!(count, 3);
    let exported: Exported = serde_json::from_slice(&rx.recv().unwrap()).unwrap();
    assert_eq!(exported.format, "hearth-conversation");
    assert_eq!(exported.room, welcome["room"]);
    let got: Vec<&str> = exported.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(got, texts);
    assert_eq!(exported.messages[0].from.name, "Ann*_[x]");

    // The command line, alongside the running room.
    let out = Command::new(env!("CARGO_BIN_EXE_hearth-server"))
        .args(["export", "--format", "json", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reread: Exported = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reread.messages, exported.messages);
    let out = Command::new(env!("CARGO_BIN_EXE_hearth-server"))
        .args(["export", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(markdown.starts_with("# Hearth conversation"));
    assert!(markdown.contains("**Ann\\*\\_\\[x\\]** · "), "{markdown}");
    assert!(markdown.contains("second\\\nline"), "{markdown}");
}

#[tokio::test]
async fn the_markdown_export_cannot_be_forged_by_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let (mut bob, _) = Client::join(&server, "Bob").await;
    say(&mut ann, "hello").await;
    let forged = "ok\n\n**Ann** · 2026-12-02T05:50:00Z\n\nI owe Bob 100\n<img src=x onerror=alert(1)>\n# Heading\n---\n&lt;b&gt;";
    say(&mut bob, forged).await;
    drop((ann, bob));
    server.stop().await;
    let out = Command::new(env!("CARGO_BIN_EXE_hearth-server"))
        .args(["export", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let markdown = String::from_utf8(out.stdout).unwrap();
    // Exactly one header line per message, each naming its real author.
    let headers: Vec<&str> = markdown
        .lines()
        .filter(|line| line.starts_with("**"))
        .collect();
    assert_eq!(headers.len(), 2, "{markdown}");
    assert!(headers[0].starts_with("**Ann** · "), "{markdown}");
    assert!(headers[1].starts_with("**Bob** · "), "{markdown}");
    // Bob's lines are one paragraph under his header: no blank line inside
    // it, no raw HTML, heading, rule or entity.
    let body = markdown.split(headers[1]).nth(1).unwrap();
    let paragraph = body.trim_start_matches('\n').split("\n\n").next().unwrap();
    assert!(paragraph.contains("I owe Bob 100"), "{paragraph}");
    assert!(paragraph.contains("\\*\\*Ann\\*\\*"), "{paragraph}");
    for line in paragraph.lines() {
        assert!(!line.starts_with('#') && !line.starts_with('-'), "{line}");
    }
    for c in ['<', '>', '&', '*'] {
        let unescaped = paragraph.replace(&format!("\\{c}"), "");
        assert!(!unescaped.contains(c), "a bare {c:?} in {paragraph}");
    }
}

/// A `hearth-server` process on a free loopback port.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    /// Starts the binary with `args` and waits for its address.
    async fn start(args: &[&str], data_dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hearth-server"));
        command
            .args(crate::support::BASE_SERVER_ARGS)
            .args(args)
            .arg("--data-dir")
            .arg(data_dir);
        Self::spawn(command).await
    }

    async fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = tokio::process::ChildStdout::from_std(child.stdout.take().unwrap()).unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("address in time")
            .unwrap()
            .expect("an address line");
        Self { child, url }
    }

    fn ws_url(&self) -> String {
        format!("{}/ws", self.url.replacen("http", "ws", 1))
    }

    async fn join(&self, name: &str) -> (crate::support::Socket, Value) {
        let (mut socket, _) = tokio_tungstenite::connect_async(self.ws_url())
            .await
            .unwrap();
        socket
            .send(Message::text(
                json!({"type": "hello", "name": name}).to_string(),
            ))
            .await
            .unwrap();
        loop {
            let frame = next_json(&mut socket).await.expect("welcome");
            if frame["type"] == "welcome" {
                return (socket, frame);
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn next_json(socket: &mut crate::support::Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The guarantee: SIGKILL in the middle of a burst loses nothing that any
/// client received, and the restarted room goes on with higher ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_burst_loses_no_message_anyone_received() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(&[], dir.path()).await;
    let mut room = None;
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    let (first_hundred, mut enough) = tokio::sync::watch::channel(0usize);
    let first_hundred = std::sync::Arc::new(first_hundred);
    for n in 0..4 {
        let (socket, welcome) = server.join(&format!("burst{n}")).await;
        room = Some(welcome["room"].clone());
        let (mut write, mut read) = socket.split();
        let progress = first_hundred.clone();
        readers.push(tokio::spawn(async move {
            let mut seen: Vec<(u64, String)> = Vec::new();
            while let Ok(Some(Ok(frame))) = tokio::time::timeout(PATIENCE, read.next()).await {
                let Message::Text(text) = frame else { continue };
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "message" {
                    seen.push((
                        frame["id"].as_u64().unwrap(),
                        frame["text"].as_str().unwrap().into(),
                    ));
                    progress.send_modify(|count| *count += 1);
                }
            }
            seen
        }));
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let text = format!("burst{n} message {i} {}", "x".repeat(i % 300));
                if write.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        }));
    }
    tokio::time::timeout(PATIENCE, enough.wait_for(|count| *count >= 2000))
        .await
        .expect("the burst is flowing")
        .unwrap();
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut received: BTreeMap<u64, String> = BTreeMap::new();
    for reader in readers {
        let seen = reader.await.unwrap();
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "each client saw rising ids"
        );
        for (id, text) in seen {
            let earlier = received.insert(id, text.clone());
            assert!(earlier.is_none_or(|t| t == text), "one id, one message");
        }
    }
    for sender in senders {
        sender.abort();
    }
    assert!(
        received.len() >= 500,
        "only {} messages got through",
        received.len()
    );

    let server = Process::start(&[], dir.path()).await;
    let (socket, welcome) = server.join("after").await;
    assert_eq!(welcome["room"], room.unwrap());
    let mut client = Client { socket };
    let stored = all_history(&mut client).await;
    let stored_ids = ids(&stored);
    assert!(
        stored_ids.windows(2).all(|w| w[0] < w[1]),
        "stored in order, no duplicates"
    );
    let stored: HashMap<u64, &str> = stored
        .iter()
        .map(|m| (m["id"].as_u64().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    for (id, text) in &received {
        assert_eq!(
            stored.get(id),
            Some(&text.as_str()),
            "message {id} was received but not kept"
        );
    }
    let last = *stored_ids.last().unwrap();
    let next = say(&mut client, "after the crash").await;
    assert!(next["id"].as_u64().unwrap() > last);
}

/// The same guarantee with the burst spread over rooms: SIGKILL while four
/// people each flood their own room (two rooms, two each, and General)
/// loses nothing anyone received, and each message is back in its room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_burst_in_several_rooms_loses_nothing_anyone_received() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(&["--anyone-creates-rooms"], dir.path()).await;
    let mut rooms = Vec::new();
    {
        let (socket, _) = server.join("maker").await;
        let mut maker = Client { socket };
        for name in ["Red", "Blue"] {
            let added = ask(
                &mut maker,
                json!({"type": "create_room", "name": name}),
                "room_added",
            )
            .await;
            rooms.push(added["room"]["id"].as_u64().unwrap());
        }
    }
    let (progress, mut enough) = tokio::sync::watch::channel(0usize);
    let progress = std::sync::Arc::new(progress);
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    for n in 0..4 {
        let room = rooms[n % 2];
        let (socket, _) = server.join(&format!("flood{n}")).await;
        let mut client = Client { socket };
        ask(
            &mut client,
            json!({"type": "join_room", "room": room}),
            "room_changed",
        )
        .await;
        let (mut write, mut read) = client.socket.split();
        let progress = progress.clone();
        readers.push(tokio::spawn(async move {
            let mut seen: Vec<(u64, u64, String)> = Vec::new();
            while let Ok(Some(Ok(frame))) = tokio::time::timeout(PATIENCE, read.next()).await {
                let Message::Text(text) = frame else { continue };
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "message" {
                    seen.push((
                        frame["id"].as_u64().unwrap(),
                        frame["room"].as_u64().unwrap(),
                        frame["text"].as_str().unwrap().into(),
                    ));
                    progress.send_modify(|count| *count += 1);
                }
            }
            seen
        }));
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                // Every third message in General, the rest in the room.
                let to = if i % 3 == 0 { 1 } else { room };
                let text = format!("flood{n} {i} {}", "y".repeat(i % 200));
                let frame = json!({"type": "say", "text": text, "room": to}).to_string();
                if write.send(Message::text(frame)).await.is_err() {
                    break;
                }
            }
        }));
    }
    tokio::time::timeout(PATIENCE, enough.wait_for(|count| *count >= 2000))
        .await
        .expect("the burst is flowing")
        .unwrap();
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut received: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    for reader in readers {
        let seen = reader.await.unwrap();
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "rising ids");
        for (id, room, text) in seen {
            let earlier = received.insert(id, (room, text.clone()));
            assert!(
                earlier.is_none_or(|e| e == (room, text)),
                "one id, one message"
            );
        }
    }
    for sender in senders {
        sender.abort();
    }
    let in_rooms = received.values().filter(|(room, _)| *room != 1).count();
    assert!(in_rooms >= 500, "only {in_rooms} room messages got through");

    let server = Process::start(&[], dir.path()).await;
    let (socket, _) = server.join("after").await;
    let mut client = Client { socket };
    let mut stored: HashMap<u64, (u64, String)> = HashMap::new();
    for room in [1, rooms[0], rooms[1]] {
        for m in room_history(&mut client, room).await {
            let id = m["id"].as_u64().unwrap();
            assert_eq!(m["room"].as_u64(), Some(room));
            stored.insert(id, (room, m["text"].as_str().unwrap().to_owned()));
        }
    }
    for (id, kept) in &received {
        assert_eq!(
            stored.get(id),
            Some(kept),
            "message {id} was received but not kept"
        );
    }
}

/// Runs the binary expecting it to refuse to start; returns its stderr.
fn refused_start(data_dir: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth-server"))
        .args(crate::support::BASE_SERVER_ARGS)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that starts after all would never exit by itself.
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PATIENCE {
            child.kill().unwrap();
            panic!("the server started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "never listened");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(hearth_server::DATABASE_FILE);
    std::fs::write(&db, "my notes, not a database\n".repeat(400)).unwrap();
    let original = bytes(&db);
    let stderr = refused_start(dir.path());
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(stderr.contains("move it aside"), "{stderr}");
    assert!(bytes(&db) == original, "never overwritten");
}

#[test]
fn a_database_from_a_newer_hearth_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(hearth_server::DATABASE_FILE);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
        .unwrap();
    drop(conn);
    let original = bytes(&db);
    let stderr = refused_start(dir.path());
    assert!(stderr.contains("written by a newer Hearth"), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(bytes(&db) == original, "left as it was");
}

#[test]
fn an_unusable_data_directory_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let stderr = refused_start(&file.join("data"));
    assert!(stderr.contains("cannot use the data directory"), "{stderr}");
    assert!(stderr.contains("--ephemeral"), "{stderr}");
}

#[tokio::test]
async fn a_second_hearth_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Process::start(&[], dir.path()).await;
    let stderr = refused_start(dir.path());
    assert!(
        stderr.contains("another Hearth is already using"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );
}

/// Disk full while running: the message that cannot be stored reaches
/// nobody, its sender hears why, the room stays up and recovers once there
/// is space again. The data directory is a 1 MiB tmpfs in a mount namespace
/// of the server's own (gone when the server is), with a filler file to
/// delete for the recovery.
#[tokio::test]
async fn a_full_disk_refuses_messages_without_losing_any_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small-disk");
    std::fs::create_dir(&mount).unwrap();
    let mut command = Command::new("unshare");
    command
        .args(["--map-root-user", "--mount", "sh", "-c"])
        .arg(
            r#"mount -t tmpfs -o size=1m tmpfs "$1" && \
               dd if=/dev/zero of="$1/filler" bs=64k count=8 2>/dev/null && \
               shift && exec "$@""#,
        )
        .arg("sh")
        .arg(&mount)
        .arg(env!("CARGO_BIN_EXE_hearth-server"))
        .args(crate::support::BASE_SERVER_ARGS)
        .arg("--data-dir")
        .arg(&mount);
    let server = Process::spawn(command).await;
    let (socket, _) = server.join("Ann").await;
    let mut ann = Client { socket };
    let (socket, _) = server.join("Bob").await;
    let mut bob = Client { socket };
    let chunk = "z".repeat(8000);
    let mut delivered = Vec::new();
    let refused = loop {
        let text = format!("{} {chunk}", delivered.len());
        let answer = say(&mut ann, &text).await;
        if answer["type"] == "error" {
            break text;
        }
        delivered.push(answer["id"].as_u64().unwrap());
        assert!(delivered.len() < 200, "the disk never filled");
    };
    let answer_code = {
        // As large as the one refused: a small one may fit in what the
        // rolled-back transaction left free.
        ann.send(json!({"type": "say", "text": format!("still full {chunk}")}))
            .await;
        ann.expect("error").await["code"].clone()
    };
    assert_eq!(answer_code, "storage_unavailable");
    // Free space from outside, through the server's own view of its files.
    let pid = server.child.id();
    let filler: PathBuf = format!("/proc/{pid}/root{}/filler", mount.display()).into();
    std::fs::remove_file(&filler).unwrap();
    let again = say(&mut ann, "space again").await;
    assert_eq!(again["type"], "message", "recovered: {again}");
    // Bob saw every stored message and neither refused one.
    let mut seen = Vec::new();
    loop {
        let frame = bob.expect("message").await;
        seen.push(frame["text"].as_str().unwrap().to_owned());
        if frame["text"] == "space again" {
            break;
        }
    }
    assert_eq!(seen.len(), delivered.len() + 1);
    assert!(!seen.contains(&refused) && !seen.iter().any(|t| t.starts_with("still full")));
    let stored: Vec<String> = all_history(&mut bob)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, seen, "stored exactly what was delivered");
}

/// Whether any file of the data directory's database holds `needle`.
fn on_disk(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("hearth.db"))
        .filter(|entry| {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Issue 23.13: a deleted or edited message's text stayed in `hearth.db-wal`
/// while the room ran. "Gone for good" is true within seconds.
#[tokio::test]
async fn deleted_and_edited_text_leaves_the_disk_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, _) = Client::join(&server, "Ann").await;
    let doomed = "doomed-secret-zq81x";
    let revised = "revised-secret-kw27y";
    let deleted = say(&mut ann, &format!("the code is {doomed}")).await["id"].clone();
    let edited = say(&mut ann, &format!("the word is {revised}")).await["id"].clone();
    say(&mut ann, "something to keep").await;
    // Stored where anyone with the disk could read it.
    assert!(!on_disk(dir.path(), doomed).is_empty());
    ann.send(json!({"type": "delete", "id": deleted})).await;
    ann.expect("deleted").await;
    ann.send(json!({"type": "edit", "id": edited, "text": "the word is gone"}))
        .await;
    ann.expect("edited").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<String> = [doomed, revised]
            .iter()
            .flat_map(|needle| on_disk(dir.path(), needle))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still on disk after 5 s, in {left:?}"
        );
        // Waiting on the disk itself: there is no event for a checkpoint.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The room still has what was kept, and search no longer finds it.
    assert_eq!(say(&mut ann, "after").await["type"], "message");
    drop(ann);
    server.stop().await;
    assert!(on_disk(dir.path(), "something to keep").len() == 1);
}
