//! Pieces shared by the `loadgen` and `soak` examples, included by each with
//! `mod support;` (cargo builds only `examples/*.rs` and `examples/*/main.rs`
//! as examples, so this directory is not one itself).
//!
//! * [`SpawnedServer`]: the server binary run as a separate process on a free
//!   loopback port, its address read from its `listening on http://…` log
//!   line, its stderr drained (and summarized) by a thread, and stopped with
//!   SIGTERM (SIGKILL as the last resort);
//! * [`rss_kib`]: a process's resident memory from `/proc/PID/status`;
//! * [`healthz_clients`]: `GET /healthz` over a plain std `TcpStream`;
//! * [`raise_nofile_limit`]: raises `RLIMIT_NOFILE` and warns when too low;
//! * [`heading`], [`print_row`] and [`opt`]: the human-readable table;
//! * [`lock`] and the [`Ws`] socket types.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use futures::stream::{SplitSink, SplitStream};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A client's WebSocket.
pub type Ws = WebSocketStream<TcpStream>;
/// The writing half of a client's WebSocket.
pub type WsSink = SplitSink<Ws, Message>;
/// The reading half of a client's WebSocket.
pub type WsRead = SplitStream<Ws>;

/// What the server's log line announcing its address contains, just before
/// the address.
pub const LISTENING_ON: &str = "listening on http://";

/// Locks a mutex, ignoring poisoning (a panicked task leaves plain data behind).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Resident memory of process `pid` in KiB (`VmRSS`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Raises the soft `RLIMIT_NOFILE` as far as allowed and returns it; prints
/// a warning when it is still below `needed` descriptors.
pub fn raise_nofile_limit(needed: u64) -> Result<u64> {
    let nofile = rlimit::increase_nofile_limit(u64::MAX).context("raising RLIMIT_NOFILE")?;
    if nofile < needed {
        println!("warning: RLIMIT_NOFILE is {nofile}, fewer than the ~{needed} descriptors needed");
    }
    Ok(nofile)
}

/// `GET /healthz` (with `Host: host`) over a fresh connection to `addr`;
/// returns the `clients` count.
pub async fn healthz_clients(addr: SocketAddr, host: &str) -> Result<u64> {
    let host = host.to_owned();
    // Blocking std I/O on a worker thread: tokio's `io-util` feature is not a
    // dependency of this crate.
    tokio::task::spawn_blocking(move || -> Result<u64> {
        let limit = Duration::from_secs(5);
        let mut stream = std::net::TcpStream::connect_timeout(&addr, limit)?;
        stream.set_read_timeout(Some(limit))?;
        stream.set_write_timeout(Some(limit))?;
        let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes())?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let text = String::from_utf8_lossy(&response);
        let body = text
            .split("\r\n\r\n")
            .nth(1)
            .ok_or_else(|| anyhow!("no body in the /healthz response"))?;
        let json: Value = serde_json::from_str(body.trim()).context("/healthz body")?;
        json["clients"]
            .as_u64()
            .ok_or_else(|| anyhow!("/healthz has no clients count: {body}"))
    })
    .await?
}

/// Prints a section heading of the table.
pub fn heading(title: &str) {
    println!("\n== {title} ==");
}

/// Prints one row of the table, the label padded to `width` columns.
pub fn print_row(width: usize, label: &str, value: impl std::fmt::Display) {
    println!("  {label:<width$} {value}");
}

/// Formats an optional figure, `-` when unknown.
pub fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A server process started by an example; killed if dropped while running.
/// `L` is the example's summary of the server's log.
#[derive(Debug)]
pub struct SpawnedServer<L> {
    /// The process.
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Summary of its log, filled by a thread draining its stderr.
    pub log: Arc<Mutex<L>>,
    /// The draining thread; it ends when the process closes its stderr.
    drain: Option<std::thread::JoinHandle<()>>,
}

impl<L: Default + Send + 'static> SpawnedServer<L> {
    /// Starts `bin` with `args` and then `extra` (the arguments must make it
    /// listen on a free loopback port) and waits for its address. Every line
    /// of its stderr, the `listening on` line included, is passed to
    /// `on_line` together with the locked log summary.
    pub async fn start<F>(bin: &Path, args: &[&str], extra: &[String], on_line: F) -> Result<Self>
    where
        F: FnMut(String, &mut L) + Send + 'static,
    {
        let mut command = Command::new(bin);
        command
            .args(args)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if std::env::var_os("RUST_LOG").is_none() {
            // The address (and the disconnect reasons) are logged at info level.
            command.env("RUST_LOG", "info");
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let log = Arc::new(Mutex::new(L::default()));
        let (addr_tx, addr_rx) = oneshot::channel();
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("no stderr pipe");
        };
        // Keep draining stderr for the server's whole life, or it blocks on
        // a full pipe. A thread: tokio's `process` and `io-util` features are off.
        let drain = {
            let log = log.clone();
            std::thread::spawn(move || drain_server_log(stderr, addr_tx, &log, on_line))
        };
        let mut server = Self {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            drain: Some(drain),
        };
        server.addr = match timeout(Duration::from_secs(10), addr_rx).await {
            Ok(Ok(addr)) => addr,
            Ok(Err(_)) => bail!("the server exited before logging its address"),
            Err(_) => bail!("the server logged no `listening on` line within 10 s"),
        };
        Ok(server)
    }
}

impl<L> SpawnedServer<L> {
    /// Stops the server with SIGTERM (SIGKILL after `wait`) and waits for its
    /// log to be drained. Returns how long the graceful shutdown took (if it
    /// was graceful), the exit status, and whether it exited successfully.
    pub async fn stop(mut self, wait: Duration) -> (Option<Duration>, String, bool) {
        let outcome = self.terminate(wait).await;
        if let Some(drain) = self.drain.take() {
            // The process is gone, so its stderr is closed and the thread ends.
            let _ = tokio::task::spawn_blocking(move || drain.join()).await;
        }
        outcome
    }

    /// The signalling part of [`Self::stop`].
    async fn terminate(&mut self, wait: Duration) -> (Option<Duration>, String, bool) {
        if let Ok(Some(status)) = self.child.try_wait() {
            return (None, format!("had already exited: {status}"), false);
        }
        let started = Instant::now();
        // `kill(1)` keeps this crate free of unsafe FFI (the workspace forbids it).
        let signalled = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        while signalled && started.elapsed() < wait {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return (
                        Some(started.elapsed()),
                        status.to_string(),
                        status.success(),
                    )
                }
                Ok(None) => sleep(Duration::from_millis(5)).await,
                Err(err) => return (None, format!("cannot wait for it: {err}"), false),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (
            None,
            format!(
                "did not stop on SIGTERM within {} s: killed",
                wait.as_secs_f64()
            ),
            false,
        )
    }
}

impl<L> Drop for SpawnedServer<L> {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads the server's stderr: reports the address once, and passes every
/// line to `on_line` with the locked log summary.
fn drain_server_log<L>(
    stderr: std::process::ChildStderr,
    addr_tx: oneshot::Sender<SocketAddr>,
    log: &Mutex<L>,
    mut on_line: impl FnMut(String, &mut L),
) {
    let mut addr_tx = Some(addr_tx);
    for line in std::io::BufReader::new(stderr).lines() {
        let Ok(line) = line else {
            break;
        };
        if let Some(rest) = line.split(LISTENING_ON).nth(1) {
            if let (Some(tx), Ok(addr)) = (addr_tx.take(), rest.trim().parse()) {
                let _ = tx.send(addr);
            }
        }
        on_line(line, &mut lock(log));
    }
}
