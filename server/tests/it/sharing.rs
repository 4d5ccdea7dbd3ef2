//! Sharing with the network, through a second listener on 127.0.0.1:0 that
//! the server treats as a network address (tests bind only to loopback;
//! the network-namespace test in tests/share/ uses a real second host).

use std::net::SocketAddr;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{raw_request, test_config, Client, Socket, TestServer, PATIENCE};

/// A server sharing on a second loopback port, and that port.
async fn shared_server(host_routes: bool) -> (TestServer, SocketAddr) {
    let mut config = test_config();
    config.share_addrs = vec!["127.0.0.1:0".parse().expect("share addr")];
    config.host_routes = host_routes;
    let server = TestServer::start(config).await;
    let status = server.sharing.start().await.expect("sharing starts");
    assert!(status.on);
    let address = status.addresses[0].trim_start_matches("http://");
    let network: SocketAddr = address.parse().expect("a network address");
    assert_ne!(network, server.addr);
    (server, network)
}

fn secret_of(server: &TestServer) -> String {
    let link = server.sharing.status().link.expect("a link while shared");
    link.rsplit('/').next().expect("a secret").to_owned()
}

/// A GET with optional extra header lines; returns (status, head, body).
async fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    let (status, head, body) = raw_request(addr, &request).await;
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// Redeems the invite from `network`; returns the `Cookie:` header line.
async fn redeem(network: SocketAddr, secret: &str) -> String {
    let (status, head, body) = get(network, &format!("/join/{secret}"), "").await;
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("join.js"), "the page moves on to the room");
    let cookie = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().to_owned())
        })
        .expect("a Set-Cookie header");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains(secret), "the pass is not the secret");
    let pair = cookie.split(';').next().expect("name=value");
    format!("Cookie: {pair}\r\n")
}

/// A WebSocket to `network` as a browser there would open it.
async fn guest_socket(network: SocketAddr, cookie: &str, origin: &str) -> Result<Socket, u16> {
    let mut request = format!("ws://{network}/ws")
        .into_client_request()
        .expect("request");
    let pair = cookie.trim_start_matches("Cookie: ").trim_end();
    if !pair.is_empty() {
        request
            .headers_mut()
            .insert("cookie", pair.parse().expect("cookie"));
    }
    request
        .headers_mut()
        .insert("origin", origin.parse().expect("origin"));
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("handshake failed oddly: {err}"),
    }
}

async fn guest(network: SocketAddr, cookie: &str, name: &str) -> (Client, Value) {
    let socket = guest_socket(network, cookie, &format!("http://{network}"))
        .await
        .expect("the guest's WebSocket opens");
    let mut client = Client { socket };
    client.send(json!({"type": "hello", "name": name})).await;
    let welcome = client.expect("welcome").await;
    (client, welcome)
}

#[tokio::test]
async fn the_network_gets_nothing_of_the_room_without_an_invite() {
    let (server, network) = shared_server(false).await;
    let (status, head, body) = get(network, "/", "").await;
    assert_eq!(status, 401);
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: text/html"));
    assert!(body.contains("Ask the host for an invite link"), "{body}");
    for path in [
        "/app.js",
        "/index.html",
        "/healthz",
        "/files/abc",
        "/style.css",
    ] {
        let (status, _, body) = get(network, path, "").await;
        assert!(status == 401, "{path}: {status} {body}");
    }
    // The ask page's own look is public: it says nothing of the room.
    assert_eq!(get(network, "/invite.css", "").await.0, 200);
    assert_eq!(
        guest_socket(network, "", &format!("http://{network}"))
            .await
            .err(),
        Some(401)
    );
    let forged = "Cookie: hearth_pass=0123456789abcdef0123456789abcdef\r\n";
    let (status, head, _) = get(network, "/", forged).await;
    assert_eq!(status, 403, "a pass that is not one");
    assert!(head.contains("Max-Age=0"), "the browser forgets it: {head}");
    assert_eq!(
        guest_socket(network, forged, &format!("http://{network}"))
            .await
            .err(),
        Some(403)
    );
    // Loopback needs nothing, as before.
    assert_eq!(get(server.addr, "/", "").await.0, 200);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_guessing_is_cut_off() {
    let (server, network) = shared_server(false).await;
    let (status, _, body) = get(network, "/join/0123456789abcdef0123456789abcdef", "").await;
    assert_eq!(status, 403);
    assert!(body.contains("Ask the host"), "{body}");
    let mut last = 0;
    for _ in 0..12 {
        last = get(network, "/join/nope", "").await.0;
    }
    assert_eq!(last, 429, "too many attempts from one address");
    let secret = secret_of(&server);
    let (status, _, _) = get(network, &format!("/join/{secret}"), "").await;
    assert_eq!(status, 429, "even the right secret waits now");
}

#[tokio::test]
async fn the_invite_lets_a_guest_chat_with_this_computer_both_ways() {
    let (server, network) = shared_server(false).await;
    let cookie = redeem(network, &secret_of(&server)).await;
    let (status, _, body) = get(network, "/", &cookie).await;
    assert_eq!(status, 200);
    assert!(body.contains("app.js"));

    let (mut local, _) = Client::join(&server, "host-side").await;
    let (mut remote, welcome) = guest(network, &cookie, "guest").await;
    assert_eq!(welcome["users"].as_array().map(Vec::len), Some(2));
    local.expect("joined").await;

    remote
        .send(json!({"type": "say", "text": "hello from the LAN"}))
        .await;
    assert_eq!(local.expect("message").await["text"], "hello from the LAN");
    local
        .send(json!({"type": "say", "text": "hello back"}))
        .await;
    let heard = loop {
        let frame = remote.expect("message").await;
        if frame["text"] == "hello back" {
            break frame;
        }
    };
    assert_eq!(heard["from"]["name"], "host-side");

    let people = server.sharing.people();
    let guest_person = people.iter().find(|p| p.name == "guest").expect("listed");
    assert_eq!(guest_person.address, Some(network.ip()));
    let local_person = people
        .iter()
        .find(|p| p.name == "host-side")
        .expect("listed");
    assert_eq!(local_person.address, None, "this computer");

    // A page elsewhere cannot ride the guest's pass (cross-site WebSocket
    // hijacking), nor can a sandboxed frame.
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://{}", server.addr),
    ] {
        assert_eq!(
            guest_socket(network, &cookie, origin).await.err(),
            Some(403),
            "{origin}"
        );
    }
    // Nor can a rebinding name: the Host must be the shared address.
    let (status, _, _) = raw_request(
        network,
        &format!(
            "GET / HTTP/1.1\r\nHost: evil.example:{}\r\n{cookie}Connection: close\r\n\r\n",
            network.port()
        ),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_new_link_ends_the_old_one_and_its_passes_but_not_who_is_in() {
    let (server, network) = shared_server(false).await;
    let old_secret = secret_of(&server);
    let old_cookie = redeem(network, &old_secret).await;
    let (mut staying, _) = guest(network, &old_cookie, "staying").await;

    server.sharing.renew(false);
    assert_ne!(secret_of(&server), old_secret);
    assert_eq!(
        get(network, &format!("/join/{old_secret}"), "").await.0,
        403
    );
    assert_eq!(get(network, "/", &old_cookie).await.0, 403);
    assert_eq!(
        guest_socket(network, &old_cookie, &format!("http://{network}"))
            .await
            .err(),
        Some(403)
    );
    // Whoever is in stays.
    staying
        .send(json!({"type": "say", "text": "still here"}))
        .await;
    assert_eq!(staying.expect("message").await["text"], "still here");

    let new_cookie = redeem(network, &secret_of(&server)).await;
    let (mut second, _) = guest(network, &new_cookie, "second").await;
    server.sharing.renew(true);
    assert_eq!(staying.close_code().await, Some(CloseCode::Policy));
    assert_eq!(second.close_code().await, Some(CloseCode::Policy));
}

#[tokio::test]
async fn a_removed_guest_is_closed_with_1008_and_cannot_come_back() {
    let (server, network) = shared_server(false).await;
    let cookie = redeem(network, &secret_of(&server)).await;
    let (mut removed, welcome) = guest(network, &cookie, "removed").await;
    let id = welcome["you"]["id"].as_u64().expect("an id");
    let (mut local, _) = Client::join(&server, "watcher").await;

    assert!(server.sharing.remove(usize::try_from(id).expect("id")));
    let close = loop {
        match tokio::time::timeout(PATIENCE, removed.socket.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(close))) => break close.expect("a close frame"),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason.as_str(), "removed by the host");
    assert_eq!(local.expect("left").await["user"]["name"], "removed");
    assert_eq!(
        guest_socket(network, &cookie, &format!("http://{network}"))
            .await
            .err(),
        Some(403),
        "the pass is revoked"
    );
    assert!(!server.sharing.remove(usize::MAX), "nobody with that id");
}

#[tokio::test]
async fn stopping_closes_the_network_with_1001_and_stops_listening() {
    let (server, network) = shared_server(false).await;
    let cookie = redeem(network, &secret_of(&server)).await;
    let (mut remote, _) = guest(network, &cookie, "remote").await;
    let (mut local, _) = Client::join(&server, "local").await;

    let status = server.sharing.stop().await;
    assert!(!status.on);
    assert!(status.link.is_none());
    assert_eq!(remote.close_code().await, Some(CloseCode::Away));
    // The address no longer answers.
    let refused = tokio::time::timeout(PATIENCE, async {
        loop {
            if tokio::net::TcpStream::connect(network).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the network listener is closed");
    // Loopback goes on.
    local
        .send(json!({"type": "say", "text": "still hosting"}))
        .await;
    assert_eq!(local.expect("message").await["text"], "still hosting");
    // And the network address is no longer an allowed Host or Origin.
    let (status, _, _) = raw_request(
        server.addr,
        &format!("GET / HTTP/1.1\r\nHost: {network}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn host_routes_answer_the_terminal_only() {
    let (server, network) = shared_server(true).await;
    let auth = format!(
        "Authorization: Bearer {}\r\n",
        server.host_token.as_deref().expect("a host token")
    );
    let (status, head, body) = get(server.addr, "/host/share", &auth).await;
    assert_eq!(status, 200, "{head}");
    let state: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(state["share"]["on"], true);
    let link = state["share"]["link"].as_str().expect("a link").to_owned();

    let (status, head, body) = get(server.addr, "/invite", &auth).await;
    assert_eq!(status, 200);
    assert!(body.contains(&link) && body.contains("<svg"), "{body}");
    assert!(head.contains("frame-ancestors 'none'"), "{head}");
    // The host's address bar cannot send a header: the token in the query.
    let token = server.host_token.clone().expect("token");
    let (status, _, body) = get(server.addr, &format!("/invite?token={token}"), "").await;
    assert_eq!(status, 200);
    assert!(body.contains(&link));

    // A web page (any Origin) and the network get 403, with the token too.
    let origin = format!("Origin: http://{}\r\n", server.addr);
    let page = format!("{origin}{auth}");
    assert_eq!(get(server.addr, "/invite", &page).await.0, 403);
    assert_eq!(get(server.addr, "/host/share", &page).await.0, 403);
    let cookie = redeem(network, &secret_of(&server)).await;
    assert_eq!(
        get(network, "/invite", &format!("{cookie}{auth}")).await.0,
        403
    );
    assert_eq!(
        get(network, "/host/share", &format!("{cookie}{auth}"))
            .await
            .0,
        403
    );

    let post = |path: &str, body: &str, extra: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            server.addr,
            body.len()
        )
    };
    let (status, _, _) = raw_request(server.addr, &post("/host/share/new-link", "{}", &page)).await;
    assert_eq!(status, 403, "a page cannot make a new link");
    assert_eq!(server.sharing.status().link.as_deref(), Some(link.as_str()));
    let (status, _, body) =
        raw_request(server.addr, &post("/host/share/new-link", "", &auth)).await;
    assert_eq!(status, 200);
    let renewed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_ne!(renewed["share"]["link"].as_str(), Some(link.as_str()));

    let (status, _, _) =
        raw_request(server.addr, &post("/host/share", r#"{"on":false}"#, &auth)).await;
    assert_eq!(status, 200);
    assert!(!server.sharing.is_on());
}

#[tokio::test]
async fn without_host_routes_there_are_none() {
    let (server, _network) = shared_server(false).await;
    assert_eq!(get(server.addr, "/invite", "").await.0, 404);
    assert_eq!(get(server.addr, "/host/share", "").await.0, 404);
}

#[tokio::test]
async fn a_flood_from_the_network_cannot_close_this_computers_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = test_config();
    config.max_pending_connections = 4;
    config.share_addrs = vec!["127.0.0.1:0".parse().expect("share addr")];
    let server = TestServer::start(config).await;
    let status = server.sharing.start().await.expect("sharing starts");
    let network: SocketAddr = status.addresses[0]
        .trim_start_matches("http://")
        .parse()
        .expect("addr");

    // Three connections from this computer, not yet sending anything.
    let mut local = Vec::new();
    for _ in 0..3 {
        local.push(
            tokio::net::TcpStream::connect(server.addr)
                .await
                .expect("connect"),
        );
    }
    // Far more idle ones from the network than the cap.
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(
            tokio::net::TcpStream::connect(network)
                .await
                .expect("connect"),
        );
    }
    // The cap acts on the network's own connections: its oldest is closed.
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(PATIENCE, flood[0].read(&mut byte))
        .await
        .expect("the oldest network connection is closed in time");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    // This computer's connections are all still there and served.
    for stream in &mut local {
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
            .await
            .expect("answered in time")
            .expect("read");
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
}

/// A server sharing on a second loopback port with `config`'s caps.
async fn shared_with(config: hearth_server::Config) -> (TestServer, SocketAddr) {
    let config = hearth_server::Config {
        share_addrs: vec!["127.0.0.1:0".parse().expect("share addr")],
        ..config
    };
    let server = TestServer::start(config).await;
    let status = server.sharing.start().await.expect("sharing starts");
    let network = status.addresses[0]
        .trim_start_matches("http://")
        .parse()
        .expect("a network address");
    (server, network)
}

#[tokio::test]
async fn one_guest_cannot_take_every_connection() {
    let (server, network) = shared_with(hearth_server::Config {
        max_connections_per_guest: 3,
        max_connections_per_address: 5,
        ..test_config()
    })
    .await;
    let secret = secret_of(&server);
    let origin = format!("http://{network}");
    let ann = redeem(network, &secret).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            guest_socket(network, &ann, &origin)
                .await
                .expect("within her cap"),
        );
    }
    assert_eq!(guest_socket(network, &ann, &origin).await.err(), Some(429));
    // Another browser at the same address: the address's cap.
    let bob = redeem(network, &secret).await;
    for _ in 0..2 {
        open.push(
            guest_socket(network, &bob, &origin)
                .await
                .expect("within the address's cap"),
        );
    }
    assert_eq!(guest_socket(network, &bob, &origin).await.err(), Some(429));
    // Closed connections count no more.
    drop(open.remove(0));
    tokio::time::timeout(PATIENCE, async {
        while guest_socket(network, &ann, &origin).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("her place comes back");
    server.stop().await;
}

#[tokio::test]
async fn this_computer_always_gets_in_however_many_guests_try() {
    let (server, network) = shared_with(hearth_server::Config {
        max_clients: 6,
        ..test_config()
    })
    .await;
    let secret = secret_of(&server);
    let origin = format!("http://{network}");
    let mut guests = Vec::new();
    for _ in 0..3 {
        let pass = redeem(network, &secret).await;
        guests.push(
            guest_socket(network, &pass, &origin)
                .await
                .expect("a guest"),
        );
    }
    let late = redeem(network, &secret).await;
    assert_eq!(
        guest_socket(network, &late, &origin).await.err(),
        Some(503),
        "the network's share is taken"
    );
    let mut here = Vec::new();
    for n in 0..3 {
        here.push(Client::join(&server, &format!("host-{n}")).await);
    }
    server.stop().await;
}

#[tokio::test]
async fn new_identities_on_one_invite_pass_share_one_quota_for_files() {
    let (server, network) = shared_with(hearth_server::Config {
        max_person_files_bytes: 1500,
        ..test_config()
    })
    .await;
    let cookie = redeem(network, &secret_of(&server)).await;
    let origin = format!("http://{network}");
    let keys = [
        "first-identity-0123456789abcdef",
        "second-identity-0123456789abcdef",
    ];
    let mut guests = Vec::new();
    for (n, key) in keys.iter().enumerate() {
        let socket = guest_socket(network, &cookie, &origin)
            .await
            .expect("the guest's WebSocket opens");
        let mut client = Client { socket };
        client
            .send(json!({"type": "hello", "name": format!("guest{n}"), "key": key}))
            .await;
        client.expect("welcome").await;
        guests.push(client);
    }
    // The same browser's form, through the network listener with its pass.
    let upload = |at: SocketAddr, key: &str, pass: &str| {
        let request = crate::support::upload_request(
            at,
            Some(key),
            "notes.txt",
            "text/plain",
            &[b'x'; 1000],
            Some(&format!("http://{at}")),
        );
        let request = String::from_utf8(request).expect("a text request");
        let (line, rest) = request.split_once("\r\n").expect("a request line");
        let request = format!("{line}\r\n{pass}{rest}");
        async move { raw_request(at, &request).await.0 }
    };
    assert_eq!(upload(network, keys[0], &cookie).await, 200);
    assert_eq!(
        upload(network, keys[1], &cookie).await,
        507,
        "a new identity on the same pass is the same guest"
    );
    // This computer's people have their own quotas.
    let _host =
        crate::support::join_with_key(&server, "Host", Some("host-key-0123456789abcdef")).await;
    assert_eq!(
        upload(server.addr, "host-key-0123456789abcdef", "").await,
        200
    );
    server.stop().await;
}
