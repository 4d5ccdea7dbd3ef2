//! Test support: a real server on 127.0.0.1:0 and real WebSocket clients.

use hearth_load::wire;

pub use wire::BASE_SERVER_ARGS;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hearth_server::{Config, Room, Server, Sharing, ShutdownHandle, Storage};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A config for tests: loopback, a free port, no rate limit unless asked.
pub fn test_config() -> Config {
    Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        rate_limit: None,
        room_rate_limit: None,
        ..Config::default()
    }
}

/// A running server that shuts down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub room: Arc<Room>,
    pub shutdown: ShutdownHandle,
    pub sharing: Sharing,
    /// The host routes' token, read from its file, when they are mounted.
    pub host_token: Option<String>,
    pub task: Option<JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        Self::try_start(config).await.expect("bind 127.0.0.1:0")
    }

    pub async fn try_start(config: Config) -> Result<Self, hearth_server::BindError> {
        let _ = env_logger::builder().is_test(true).try_init();
        let server = Server::bind(config).await?;
        let addr = server.local_addr();
        let room = server.room();
        let shutdown = server.shutdown_handle();
        let sharing = server.sharing();
        let host_token = server.host_token_path().map(|path| {
            std::fs::read_to_string(path)
                .expect("the host token's file")
                .trim()
                .to_owned()
        });
        let task = tokio::spawn(server.run(std::future::pending()));
        Ok(Self {
            addr,
            room,
            shutdown,
            sharing,
            host_token,
            task: Some(task),
        })
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> Value {
        wire::healthz(self.addr, &self.addr.to_string(), PATIENCE)
            .await
            .expect("/healthz answers 200 with JSON")
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Stops the server and waits for `run` to return.
    pub async fn stop(mut self) -> Duration {
        let started = std::time::Instant::now();
        self.shutdown.shutdown();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task)
                .await
                .expect("run returns after shutdown")
                .expect("server task");
        }
        started.elapsed()
    }

    /// Waits until the room reports `n` open connections.
    pub async fn wait_for_connections(&self, n: usize) {
        let mut stats = self.room.subscribe();
        tokio::time::timeout(PATIENCE, stats.wait_for(|s| s.connections == n))
            .await
            .unwrap_or_else(|_| panic!("expected {n} connections, have {:?}", self.room.stats()))
            .expect("stats channel open");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A protocol v1 client over a real WebSocket.
pub struct Client {
    pub socket: Socket,
}

impl Client {
    pub async fn connect(server: &TestServer) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .expect("WebSocket connects");
        Self { socket }
    }

    /// Connects and joins as `name`; returns the client and its `welcome`.
    pub async fn join(server: &TestServer, name: &str) -> (Self, Value) {
        let mut client = Self::connect(server).await;
        let welcome = tokio::time::timeout(PATIENCE, wire::join(&mut client.socket, name))
            .await
            .expect("welcome in time")
            .expect("joined");
        (client, welcome)
    }

    pub async fn send(&mut self, value: Value) {
        self.socket
            .send(Message::text(value.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("send");
    }

    /// The next protocol frame (pings are answered by tungstenite itself).
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("frame ok");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Skips frames until one of type `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Reads until the server closes; returns the close code.
    pub async fn close_code(&mut self) -> Option<CloseCode> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("close in time");
            match frame {
                Some(Ok(Message::Close(close))) => return close.map(|c| c.code),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Tries a WebSocket handshake with extra headers; returns the HTTP status.
pub async fn handshake_status(server: &TestServer, headers: &[(&str, &str)]) -> u16 {
    let mut request = server.ws_url().into_client_request().expect("request");
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(err) => panic!("handshake failed oddly: {err}"),
    }
}

/// A raw HTTP/1.1 GET; returns (status, headers text, body).
pub async fn http_get(addr: SocketAddr, target: &str, host: &str) -> (u16, String, Vec<u8>) {
    let response = wire::http_get(addr, target, host, PATIENCE)
        .await
        .expect("HTTP response");
    (response.status, response.head, response.body)
}

/// Sends `request` as is and reads the whole response; returns (status,
/// headers text, body).
pub async fn raw_request(addr: SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let response = wire::raw_request(addr, request, PATIENCE)
        .await
        .expect("HTTP response");
    (response.status, response.head, response.body)
}

/// A client whose socket has a tiny receive buffer, joined as `name`, that
/// the test then leaves unread: the server's writes to it stall almost at
/// once. It reads nothing, not even its `welcome`.
pub async fn non_reader(server: &TestServer, name: &str) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(server.addr).await.expect("connect");
    let stream = MaybeTlsStream::Plain(stream);
    let (socket, _) = tokio_tungstenite::client_async(server.ws_url(), stream)
        .await
        .expect("WebSocket handshake");
    let mut client = Client { socket };
    client.send(json!({"type": "hello", "name": name})).await;
    client
}

/// What `POST /files` answered: status, headers text, and the JSON body.
pub struct Uploaded {
    pub status: u16,
    pub head: String,
    pub json: Value,
}

/// Uploads `bytes` as the multipart field `file` named `name`, as a
/// browser's `FormData` does, from `origin` (none: a non-browser client).
pub async fn post_file(
    addr: SocketAddr,
    key: Option<&str>,
    name: &str,
    claimed_type: &str,
    bytes: &[u8],
    origin: Option<&str>,
) -> Uploaded {
    let response = wire::raw_request_bytes(
        addr,
        &upload_request(addr, key, name, claimed_type, bytes, origin),
        PATIENCE,
    )
    .await
    .expect("HTTP response");
    Uploaded {
        status: response.status,
        json: serde_json::from_slice(&response.body).unwrap_or(Value::Null),
        head: response.head,
    }
}

/// The whole HTTP request of an upload, as a browser's form sends it: the
/// field `key` (when given), then the field `file`.
pub fn upload_request(
    addr: SocketAddr,
    key: Option<&str>,
    name: &str,
    claimed_type: &str,
    bytes: &[u8],
    origin: Option<&str>,
) -> Vec<u8> {
    let boundary = "----hearthtestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    if let Some(key) = key {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n{key}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {claimed_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let mut request = format!(
        "POST /files HTTP/1.1\r\nHost: {addr}\r\n{origin}Connection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// The names of the people in the room, in joining order.
pub fn names(server: &TestServer) -> Vec<String> {
    server.room.people().into_iter().map(|p| p.name).collect()
}

/// The smallest valid PNG: one transparent pixel.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A room kept in `dir`.
pub fn durable(dir: &Path) -> Config {
    Config {
        storage: Storage::Dir(dir.to_owned()),
        ..test_config()
    }
}

/// Joins as `name` with the client secret `key`; returns the client and
/// its `welcome`.
pub async fn join_with_key(server: &TestServer, name: &str, key: Option<&str>) -> (Client, Value) {
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
pub async fn answer(client: &mut Client, request: Value, kind: &str) -> Value {
    client.send(request).await;
    loop {
        let frame = client.next().await;
        if frame["type"] == kind || frame["type"] == "error" {
            return frame;
        }
    }
}

/// Says `message` (a `say` frame without its type); returns the echo or the error.
pub async fn say(client: &mut Client, message: Value) -> Value {
    let mut request = message;
    request["type"] = json!("say");
    answer(client, request, "message").await
}
