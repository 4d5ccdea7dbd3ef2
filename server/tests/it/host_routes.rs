//! The headless host's routes refuse everything but the host's own
//! terminal: no token, another account's guess, a form, a page's fetch, a
//! body with fields the route does not know.

use serde_json::Value;

use crate::support::{raw_request, test_config, TestServer};

async fn host_server() -> TestServer {
    let mut config = test_config();
    config.share_addrs = vec!["127.0.0.1:0".parse().expect("share addr")];
    config.host_routes = true;
    TestServer::start(config).await
}

fn auth(server: &TestServer) -> String {
    format!(
        "Authorization: Bearer {}\r\n",
        server.host_token.as_deref().expect("a host token")
    )
}

/// A `POST` with `extra` header lines (a `Content-Type` among them, or not).
async fn post(server: &TestServer, path: &str, extra: &str, body: &str) -> (u16, String) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let (status, head, body) = raw_request(server.addr, &request).await;
    (
        status,
        format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&body)),
    )
}

async fn get(server: &TestServer, path: &str, extra: &str) -> (u16, String) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}Connection: close\r\n\r\n",
        server.addr
    );
    let (status, head, body) = raw_request(server.addr, &request).await;
    (
        status,
        format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&body)),
    )
}

#[tokio::test]
async fn without_the_host_token_nothing_answers_and_sharing_stays_off() {
    let server = host_server().await;
    let json = "Content-Type: application/json\r\n";
    for extra in [
        String::new(),
        "Authorization: Bearer 00000000000000000000000000000000\r\n".to_owned(),
        format!(
            "Authorization: {}\r\n",
            server.host_token.as_deref().expect("token")
        ),
    ] {
        let (status, text) = get(&server, "/host/share", &extra).await;
        assert_eq!(status, 401, "{extra}: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("www-authenticate: bearer"),
            "{text}"
        );
        assert_eq!(get(&server, "/invite", &extra).await.0, 401);
        let (status, _) = post(
            &server,
            "/host/share",
            &format!("{extra}{json}"),
            r#"{"on":true}"#,
        )
        .await;
        assert_eq!(status, 401);
        assert!(!server.sharing.is_on(), "{extra}");
    }
    let (status, _) = get(&server, "/invite?token=0123", "").await;
    assert_eq!(status, 401, "a wrong token in the query");
    // The query is for the invite page only.
    let token = server.host_token.clone().expect("token");
    assert_eq!(
        get(&server, &format!("/host/share?token={token}"), "")
            .await
            .0,
        401
    );
    let (status, text) = get(&server, "/host/share", &auth(&server)).await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn a_form_a_page_and_unknown_fields_cannot_switch_sharing_on() {
    let server = host_server().await;
    let auth = auth(&server);
    // What an HTML form can send: text/plain, urlencoded, multipart; or none.
    for content_type in [
        "Content-Type: text/plain\r\n",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: multipart/form-data; boundary=x\r\n",
        "",
    ] {
        let (status, text) = post(
            &server,
            "/host/share",
            &format!("{auth}{content_type}"),
            r#"{"on":true}"#,
        )
        .await;
        assert_eq!(status, 415, "{content_type:?}: {text}");
        assert!(!server.sharing.is_on(), "{content_type:?}");
    }
    // What a page's fetch says about itself, even without an Origin.
    for site in ["cross-site", "same-site", "same-origin"] {
        let extra = format!("{auth}Sec-Fetch-Site: {site}\r\nContent-Type: application/json\r\n");
        let (status, _) = post(&server, "/host/share", &extra, r#"{"on":true}"#).await;
        assert_eq!(status, 403, "{site}");
        assert!(!server.sharing.is_on(), "{site}");
    }
    let json = format!("{auth}Content-Type: application/json; charset=utf-8\r\n");
    let (status, _) = post(&server, "/host/share", &json, r#"{"on":true,"also":1}"#).await;
    assert_eq!(status, 400, "an unknown field");
    assert!(!server.sharing.is_on());
    let (status, _) = post(
        &server,
        "/host/people/1/remove",
        &json,
        r#"{"everyone":true}"#,
    )
    .await;
    assert_eq!(status, 400, "an unknown field on a route without fields");

    // The host's own terminal: the token, JSON, nothing a browser adds.
    let (status, text) = post(&server, "/host/share", &json, r#"{"on":true}"#).await;
    assert_eq!(status, 200, "{text}");
    assert!(server.sharing.is_on());
    // What the address bar sends for `GET /invite` is the host's too.
    let (status, text) = get(
        &server,
        "/invite",
        &format!("{auth}Sec-Fetch-Site: none\r\n"),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert!(body.contains("/join/"), "{body}");
    let state = get(&server, "/host/share", &auth).await.1;
    let json: Value =
        serde_json::from_str(state.split("\r\n\r\n").nth(1).unwrap_or("{}")).expect("JSON");
    assert_eq!(json["share"]["on"], true);
}

#[tokio::test]
async fn a_network_address_for_the_main_listener_is_refused() {
    let mut config = test_config();
    config.addr = "0.0.0.0:0".parse().expect("addr");
    let err = TestServer::try_start(config).await.err().expect("refused");
    assert!(err.to_string().contains("--share"), "{err}");
}

/// A request with any method and a JSON body.
async fn send(server: &TestServer, method: &str, path: &str, body: &str) -> (u16, Value) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        auth(server),
        body.len()
    );
    let (status, _, body) = raw_request(server.addr, &request).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_headless_host_makes_changes_and_deletes_rooms() {
    let server = host_server().await;
    let (status, made) = send(
        &server,
        "POST",
        "/host/rooms",
        r#"{"name":"Track A","topic":"one"}"#,
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["room"]["name"], "Track A");
    let id = made["room"]["id"].as_u64().expect("an id");
    let (status, taken) = send(&server, "POST", "/host/rooms", r#"{"name":"track a"}"#).await;
    assert_eq!((status, taken["error"].clone()), (409, "name_taken".into()));
    let (status, bad) = send(&server, "POST", "/host/rooms", r#"{"name":"  "}"#).await;
    assert_eq!((status, bad["error"].clone()), (400, "invalid_name".into()));
    let (status, _) = send(
        &server,
        "POST",
        "/host/rooms",
        r#"{"name":"x","owner":"me"}"#,
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");

    let path = format!("/host/rooms/{id}");
    let (status, changed) = send(
        &server,
        "PATCH",
        &path,
        r#"{"name":"Track B","archived":true}"#,
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            changed["room"]["name"].clone(),
            changed["room"]["archived"].clone()
        ),
        ("Track B".into(), true.into())
    );
    let (status, listed) = send(&server, "GET", "/host/rooms", "").await;
    assert_eq!(status, 200);
    let names: Vec<_> = listed["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, ["General", "Track B"]);
    assert_eq!(listed["anyone_creates_rooms"], false);
    let (status, settings) = send(
        &server,
        "POST",
        "/host/settings",
        r#"{"anyone_creates_rooms":true}"#,
    )
    .await;
    assert_eq!(
        (status, settings["anyone_creates_rooms"].clone()),
        (200, true.into())
    );

    let (status, _) = send(&server, "DELETE", &path, "").await;
    assert_eq!(status, 204);
    let (status, gone) = send(&server, "DELETE", &path, "").await;
    assert_eq!((status, gone["error"].clone()), (404, "not_found".into()));
    let (status, general) = send(&server, "DELETE", "/host/rooms/1", "").await;
    assert_eq!(
        (status, general["error"].clone()),
        (403, "forbidden".into())
    );

    // Without the token, or from a page, nothing happens.
    let request = format!(
        "POST /host/rooms HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 15\r\nConnection: close\r\n\r\n{{\"name\":\"nope\"}}",
        server.addr
    );
    assert_eq!(raw_request(server.addr, &request).await.0, 401);
    let (status, _) = post(
        &server,
        "/host/rooms",
        &format!(
            "{}Origin: http://127.0.0.1\r\nContent-Type: application/json\r\n",
            auth(&server)
        ),
        r#"{"name":"nope"}"#,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(server.room.rooms().len(), 1);
}
