//! Files people send: told by their bytes and served safely, sent only by
//! people in the room, owned by their sender, bounded by quotas, a pace
//! and caps on uploads and downloads at once.

use std::time::Duration;

use hearth_server::{Config, UploadPace};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{
    answer, durable, http_get, join_with_key, post_file, say, test_config, upload_request,
    TestServer, PATIENCE, PNG,
};

const ANN_KEY: &str = "ann-secret-0123456789abcdef";
const BOB_KEY: &str = "bob-secret-0123456789abcdef";

#[tokio::test]
async fn a_picture_is_told_by_its_bytes_and_served_inline_safely() {
    let server = TestServer::start(test_config()).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", None).await;
    let uploaded = post_file(
        server.addr,
        Some(ANN_KEY),
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
    let _ann = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let html = b"<html><script>alert(document.domain)</script></html>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for (name, claimed, bytes) in [
        ("cat.png", "image/png", &html[..]),
        ("drawing.svg", "image/svg+xml", &svg[..]),
        ("page.html", "text/html", &html[..]),
    ] {
        let uploaded = post_file(server.addr, Some(ANN_KEY), name, claimed, bytes, None).await;
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
    let uploaded = post_file(
        server.addr,
        Some(ANN_KEY),
        "x.html",
        "text/html",
        &polyglot,
        None,
    )
    .await;
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
    let _ann = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let big = vec![7u8; 1025];
    let refused = post_file(
        server.addr,
        Some(ANN_KEY),
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
        Some(ANN_KEY),
        "ok.bin",
        "application/octet-stream",
        &big[..1024],
        None,
    )
    .await;
    assert_eq!(fits.status, 200);
    for origin in ["https://evil.example", "null"] {
        let refused = post_file(
            server.addr,
            Some(ANN_KEY),
            "x.png",
            "image/png",
            PNG,
            Some(origin),
        )
        .await;
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
async fn deleting_a_message_deletes_its_file_once_no_other_upload_of_it_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    // The same picture sent twice: two uploads, one copy of the bytes.
    let upload = || {
        post_file(
            server.addr,
            Some(ANN_KEY),
            "cat.png",
            "image/png",
            PNG,
            None,
        )
    };
    let first = upload().await.json["file"].clone();
    let second = upload().await.json["file"].clone();
    assert_ne!(first["id"], second["id"]);
    let blobs = || std::fs::read_dir(dir.path().join("files")).map_or(0, |d| d.count());
    assert_eq!(blobs(), 1);
    let once = say(&mut ann, json!({"text": "a", "files": [first["id"]]})).await["id"].clone();
    let twice = say(&mut ann, json!({"text": "b", "files": [second["id"]]})).await["id"].clone();
    answer(&mut ann, json!({"type": "delete", "id": once}), "deleted").await;
    let host = server.addr.to_string();
    let served = |file: &Value| file["url"].as_str().unwrap().to_owned();
    assert_eq!(http_get(server.addr, &served(&first), &host).await.0, 404);
    assert_eq!(
        http_get(server.addr, &served(&second), &host).await.0,
        200,
        "still carried by another message"
    );
    assert_eq!(blobs(), 1);
    answer(&mut ann, json!({"type": "delete", "id": twice}), "deleted").await;
    assert_eq!(http_get(server.addr, &served(&second), &host).await.0, 404);
    assert_eq!(blobs(), 0, "the bytes are gone from the disk");
    server.stop().await;
}

#[tokio::test]
async fn only_people_in_the_room_may_send_files() {
    let server = TestServer::start(test_config()).await;
    let upload = |key| post_file(server.addr, key, "cat.png", "image/png", PNG, None);
    for key in [None, Some(ANN_KEY)] {
        let refused = upload(key).await;
        assert_eq!(refused.status, 403, "{key:?}: {}", refused.json);
        assert_eq!(refused.json["error"]["code"], "not_joined");
    }
    let (ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    assert_eq!(upload(Some(ANN_KEY)).await.status, 200);
    assert_eq!(
        upload(Some(BOB_KEY)).await.json["error"]["code"],
        "not_joined",
        "a key nobody in the room holds"
    );
    drop(ann);
    server.wait_for_connections(0).await;
    assert_eq!(upload(Some(ANN_KEY)).await.status, 403, "she has left");
}

#[tokio::test]
async fn a_file_goes_only_with_its_senders_message_and_dies_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(durable(dir.path())).await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let (mut bob, _) = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let file = post_file(
        server.addr,
        Some(ANN_KEY),
        "cat.png",
        "image/png",
        PNG,
        None,
    )
    .await
    .json["file"]
        .clone();
    let taken = say(&mut bob, json!({"text": "mine now", "files": [file["id"]]})).await;
    assert_eq!(taken["code"], "not_found", "someone else's upload: {taken}");
    let sent = say(&mut ann, json!({"text": "a cat", "files": [file["id"]]})).await;
    assert_eq!(sent["files"][0]["id"], file["id"]);
    bob.expect("message").await;
    for client in [&mut ann, &mut bob] {
        let again = say(client, json!({"text": "again", "files": [file["id"]]})).await;
        assert_eq!(again["code"], "not_found", "attached already: {again}");
    }
    answer(
        &mut ann,
        json!({"type": "delete", "id": sent["id"]}),
        "deleted",
    )
    .await;
    let url = file["url"].as_str().unwrap();
    assert_eq!(
        http_get(server.addr, url, &server.addr.to_string()).await.0,
        404
    );
    let blobs = std::fs::read_dir(dir.path().join("files")).map_or(0, |d| d.count());
    assert_eq!(blobs, 0, "gone for good");
    server.stop().await;
}

#[tokio::test]
async fn files_fill_a_quota_for_the_room_and_one_for_each_person() {
    // In memory (an ephemeral room): bounded the same way as on disk.
    let server = TestServer::start(Config {
        max_files_bytes: Some(3000),
        max_person_files_bytes: 2000,
        ..test_config()
    })
    .await;
    let (mut ann, _) = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let _bob = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let upload = |key, fill: u8| async move {
        post_file(
            server.addr,
            Some(key),
            "x.bin",
            "application/octet-stream",
            &[fill; 1000],
            None,
        )
        .await
    };
    let first = upload(ANN_KEY, 1).await;
    assert_eq!(first.status, 200);
    // Unsent, and still counted.
    assert_eq!(upload(ANN_KEY, 2).await.status, 200);
    let over = upload(ANN_KEY, 3).await;
    assert_eq!(
        (over.status, &over.json["error"]["code"]),
        (507, &json!("person_files_full"))
    );
    assert_eq!(upload(BOB_KEY, 4).await.status, 200);
    let full = upload(BOB_KEY, 5).await;
    assert_eq!(
        (full.status, &full.json["error"]["code"]),
        (507, &json!("files_full"))
    );
    assert!(full.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no more space"));

    // The room goes on; deleting a message with a file frees its space.
    let sent = say(
        &mut ann,
        json!({"text": "one", "files": [first.json["file"]["id"]]}),
    )
    .await;
    assert_eq!(sent["text"], "one");
    answer(
        &mut ann,
        json!({"type": "delete", "id": sent["id"]}),
        "deleted",
    )
    .await;
    assert_eq!(upload(BOB_KEY, 6).await.status, 200);
    server.stop().await;
}

/// An HTTP connection that has sent `sent` and waits for the answer.
async fn begin(server: &TestServer, sent: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream
}

/// The status of the answer on `stream`, which the server sends and closes.
async fn status_of(mut stream: TcpStream) -> (u16, String) {
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("reads");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// Asks `/healthz` until `ready` holds for its `files` counts.
async fn until_files(server: &TestServer, ready: impl Fn(&Value) -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !ready(&server.health().await["files"]) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the file counts in time");
}

/// The start of an upload's request: its headers and form (`key` first)
/// up to `keep_of_file` bytes of the file; without a key, the headers
/// alone (a form with a file and no key is refused at once).
fn trickle(server: &TestServer, key: Option<&str>, keep_of_file: usize) -> Vec<u8> {
    let whole = upload_request(
        server.addr,
        key,
        "slow.bin",
        "application/octet-stream",
        &[9u8; 64 * 1024],
        None,
    );
    let headers_end = |w: &[u8]| w == b"\r\n\r\n";
    let cut = match key {
        Some(_) => whole.windows(4).rposition(headers_end).unwrap() + 4 + keep_of_file,
        None => whole.windows(4).position(headers_end).unwrap() + 4,
    };
    whole[..cut].to_vec()
}

#[tokio::test]
async fn trickling_uploads_are_cut_off_and_never_make_others_wait() {
    let server = TestServer::start(Config {
        max_concurrent_uploads: 4,
        upload_pace: UploadPace {
            grace: Duration::from_secs(1),
            min_bytes_per_sec: 16 * 1024,
        },
        ..test_config()
    })
    .await;
    let _ann = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let _bob = join_with_key(&server, "Bob", Some(BOB_KEY)).await;
    let upload = |key| post_file(server.addr, Some(key), "cat.png", "image/png", PNG, None);

    // One of Ann's on its way: her next waits its turn, and says so.
    let hers = begin(&server, &trickle(&server, Some(ANN_KEY), 10)).await;
    until_files(&server, |files| files["senders"] == 1).await;
    let second = upload(ANN_KEY).await;
    assert_eq!(
        (second.status, &second.json["error"]["code"]),
        (429, &json!("one_at_a_time"))
    );
    assert_eq!(upload(BOB_KEY).await.status, 200, "others are not held up");

    // Every place taken by trickles: the next upload is told at once.
    let mut trickles = vec![hers];
    for _ in 0..3 {
        trickles.push(begin(&server, &trickle(&server, None, 0)).await);
    }
    until_files(&server, |files| files["receiving"] == 4).await;
    let busy = upload(BOB_KEY).await;
    assert_eq!(
        (busy.status, &busy.json["error"]["code"]),
        (503, &json!("busy"))
    );

    // And the trickles are cut off after the grace, freeing their places.
    for stream in trickles {
        let (status, answer) = status_of(stream).await;
        assert_eq!(status, 408, "{answer}");
        assert!(answer.contains("too_slow"), "{answer}");
    }
    until_files(&server, |files| {
        files["receiving"] == 0 && files["senders"] == 0
    })
    .await;
    assert_eq!(upload(ANN_KEY).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn downloads_nobody_reads_are_capped_and_cut_off() {
    const SIZE: usize = 24 * 1024 * 1024;
    let server = TestServer::start(Config {
        max_upload_bytes: SIZE as u64,
        max_downloads_per_address: 2,
        connection_write_timeout: Duration::from_secs(1),
        ..test_config()
    })
    .await;
    let _ann = join_with_key(&server, "Ann", Some(ANN_KEY)).await;
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let uploaded = post_file(
        server.addr,
        Some(ANN_KEY),
        "big.bin",
        "application/octet-stream",
        &bytes,
        None,
    )
    .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.json);
    let url = uploaded.json["file"]["url"].as_str().unwrap().to_owned();
    let get = format!(
        "GET {url} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );

    // Two downloads that read nothing: far more than the sockets buffer.
    let stalled = [
        begin(&server, get.as_bytes()).await,
        begin(&server, get.as_bytes()).await,
    ];
    until_files(&server, |files| files["downloading"] == 2).await;
    let host = server.addr.to_string();
    assert_eq!(
        http_get(server.addr, &url, &host).await.0,
        503,
        "a third from the same address"
    );

    // Their writes time out: the places come back, the file is whole.
    until_files(&server, |files| files["downloading"] == 0).await;
    drop(stalled);
    let (status, _, body) = http_get(server.addr, &url, &host).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the whole file, streamed");
    server.stop().await;
}
