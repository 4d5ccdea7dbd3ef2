//! Hearth's load tools (`loadgen`, `soak`, `sendfloor`, `storebench`) and
//! what they share with each other and with the server's integration tests:
//!
//! * [`SpawnedServer`]: the server binary run as a separate process on a free
//!   loopback port with `--print-address`, its address read from the first
//!   line of its stdout, its stderr drained (not interpreted) by a thread, and
//!   stopped with SIGTERM (SIGKILL as the last resort);
//! * [`health`]: `GET /healthz` as [`Health`]; [`wire`] is the client code
//!   shared with the integration tests;
//! * [`rss_kib`]: a process's resident memory from `/proc/PID/status`;
//!   [`cpu_ticks`] and [`clock_ticks`]: CPU time from `/proc/…/stat`;
//! * [`raise_nofile_limit`]: raises `RLIMIT_NOFILE` and warns when too low;
//! * [`heading`], [`print_row`], [`print_counts`] and [`opt`]: the
//!   human-readable table; [`print_json_line`]: the JSON line;
//! * [`stream_end`], [`millis_f64`], [`lock`] and the [`Ws`] socket types.

// The tools report on stdout: that is what they are for.
#![allow(clippy::print_stdout)]

pub mod wire;

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use futures::stream::{SplitSink, SplitStream};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// A client's WebSocket.
pub type Ws = WebSocketStream<TcpStream>;
/// The writing half of a client's WebSocket.
pub type WsSink = SplitSink<Ws, Message>;
/// The reading half of a client's WebSocket.
pub type WsRead = SplitStream<Ws>;

/// Longest a `/healthz` request may take.
const HEALTHZ_LIMIT: Duration = Duration::from_secs(5);
/// Longest wait for the spawned server to print its address.
const ADDRESS_LIMIT: Duration = Duration::from_secs(10);

/// Locks a mutex, ignoring poisoning (a panicked task leaves plain data behind).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds of `d`, with fractions.
pub fn millis_f64(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How a client's stream ended, if this item of it ends it: `close …` (see
/// [`wire::describe_close`]), `error: …` or `eof`; `None` for any other frame.
pub fn stream_end(item: Option<&Result<Message, WsError>>) -> Option<String> {
    match item {
        Some(Ok(Message::Close(frame))) => Some(wire::describe_close(frame.as_ref())),
        Some(Ok(_)) => None,
        Some(Err(err)) => Some(format!("error: {err}")),
        None => Some("eof".to_owned()),
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User and system CPU time, in clock ticks, from a `/proc/…/stat` file
/// (a process's or a thread's).
#[allow(dead_code)] // `soak` measures no CPU time
pub fn cpu_ticks(stat_path: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the command name, which may hold spaces: utime is field
    // 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user = fields.next()?.parse().ok()?;
    let system = fields.next()?.parse().ok()?;
    Some((user, system))
}

/// Clock ticks per second of `/proc` times, from `getconf CLK_TCK` (no
/// unsafe `sysconf` call); 100 if that fails, the value on every mainstream
/// Linux.
#[allow(dead_code)] // `soak` measures no CPU time
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
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

/// The parts of the server's `/healthz` answer the tools use.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, serde::Serialize)]
pub struct Health {
    /// Open WebSocket connections, joined or not.
    pub clients: u64,
    /// Connections that have joined.
    pub joined: u64,
    /// Peers the server dropped, by reason, since it started.
    pub evictions: Evictions,
    /// Connections closed because they never joined.
    pub join_timeouts: u64,
    /// Panics in the server process since it started.
    pub panics: u64,
}

/// `/healthz` `evictions`: peers the server dropped for not reading.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, serde::Serialize)]
pub struct Evictions {
    /// Their send queue went over its byte budget.
    pub overflow: u64,
    /// They stopped taking what was sent to them for too long.
    pub stalled: u64,
}

/// `GET /healthz` (with `Host: host`) over a fresh connection to `addr`.
pub async fn health(addr: SocketAddr, host: &str) -> Result<Health> {
    let json = wire::healthz(addr, host, HEALTHZ_LIMIT).await?;
    serde_json::from_value(json).context("/healthz fields")
}

/// Prints a section heading of the table.
pub fn heading(title: &str) {
    println!("\n== {title} ==");
}

/// Prints one row of the table, the label padded to `width` columns.
pub fn print_row(width: usize, label: &str, value: impl std::fmt::Display) {
    println!("  {label:<width$} {value}");
}

/// Prints `label` once per counted entry of `map`, as `N× KEY`.
pub fn print_counts(width: usize, label: &str, map: &std::collections::BTreeMap<String, u64>) {
    for (key, n) in map {
        print_row(width, label, format!("{n}× {key}"));
    }
}

/// Prints `report` as one line of JSON under `key` (`{"KEY":{…}}`), so
/// scripts can pick it out of the table.
pub fn print_json_line(key: &str, report: &impl serde::Serialize) -> Result<()> {
    let mut line = serde_json::Map::new();
    line.insert(key.to_owned(), serde_json::to_value(report)?);
    println!("{}", serde_json::Value::Object(line));
    Ok(())
}

/// Formats an optional figure, `-` when unknown.
pub fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// How a spawned server ended after SIGTERM.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerExit {
    /// How long the graceful shutdown took, in ms (`None` if it was not graceful).
    pub shutdown_ms: Option<f64>,
    /// The exit status, or what went wrong.
    pub exit: String,
    /// Whether it exited successfully on SIGTERM.
    #[serde(skip)]
    pub clean: bool,
}

/// A server process started by an example; killed if dropped while running.
#[derive(Debug)]
pub struct SpawnedServer {
    /// The process.
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The threads draining its stdout and stderr; they end when it exits.
    drains: Vec<std::thread::JoinHandle<()>>,
    /// Its data directory when it is ours to remove: temporary, so storage is
    /// measured as people run it, and gone with the server.
    _data_dir: Option<tempfile::TempDir>,
}

impl SpawnedServer {
    /// Starts `bin` with `args`, `--print-address` and then `extra` (the
    /// arguments must make it listen on a free loopback port) and reads its
    /// address from its stdout. Its stderr (the log) is drained for its whole
    /// life and copied to `log_copy` if given, never interpreted.
    pub async fn start(
        bin: &Path,
        args: &[&str],
        extra: &[String],
        log_copy: Option<std::fs::File>,
    ) -> Result<Self> {
        let data_dir = tempfile::tempdir().context("cannot create a data directory")?;
        let mut server = Self::start_in(bin, data_dir.path(), args, extra, log_copy).await?;
        server._data_dir = Some(data_dir);
        Ok(server)
    }

    /// [`Self::start`] on the data directory `data_dir`, which the caller
    /// keeps (and removes).
    pub async fn start_in(
        bin: &Path,
        data_dir: &Path,
        args: &[&str],
        extra: &[String],
        log_copy: Option<std::fs::File>,
    ) -> Result<Self> {
        let mut child = Command::new(bin)
            .args(wire::BASE_SERVER_ARGS)
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("no stdout or stderr pipe");
        };
        let (addr_tx, addr_rx) = oneshot::channel();
        // Threads, not tasks: tokio's `process` feature is off. Both pipes are
        // read until the end, or the server would block on a full one.
        let drains = vec![
            std::thread::spawn(move || read_address(stdout, addr_tx)),
            std::thread::spawn(move || drain_log(stderr, log_copy)),
        ];
        let mut server = Self {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            drains,
            _data_dir: None,
        };
        server.addr = match timeout(ADDRESS_LIMIT, addr_rx).await {
            Ok(Ok(Ok(addr))) => addr,
            Ok(Ok(Err(err))) => return Err(err),
            Ok(Err(_)) => bail!("the server closed its stdout without printing its address"),
            Err(_) => bail!("the server printed no address within 10 s"),
        };
        Ok(server)
    }

    /// Stops the server with SIGTERM (SIGKILL after `wait`) and waits for its
    /// pipes to be drained.
    pub async fn stop(mut self, wait: Duration) -> ServerExit {
        let outcome = self.terminate(wait).await;
        let drains = std::mem::take(&mut self.drains);
        // The process is gone, so its pipes are closed and the threads end.
        let _ = tokio::task::spawn_blocking(move || {
            for drain in drains {
                let _ = drain.join();
            }
        })
        .await;
        outcome
    }

    /// The signalling part of [`Self::stop`].
    async fn terminate(&mut self, wait: Duration) -> ServerExit {
        let exit = |took: Option<Duration>, exit: String, clean: bool| ServerExit {
            // Rounded to µs: finer figures are noise.
            shutdown_ms: took.map(|d| (millis_f64(d) * 1000.0).round() / 1000.0),
            exit,
            clean,
        };
        if let Ok(Some(status)) = self.child.try_wait() {
            return exit(None, format!("had already exited: {status}"), false);
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
                    return exit(
                        Some(started.elapsed()),
                        status.to_string(),
                        status.success(),
                    )
                }
                Ok(None) => sleep(Duration::from_millis(5)).await,
                Err(err) => return exit(None, format!("cannot wait for it: {err}"), false),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let secs = wait.as_secs_f64();
        exit(
            None,
            format!("did not stop on SIGTERM within {secs} s: killed"),
            false,
        )
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads the server's stdout: the first line is its URL
/// (`http://HOST:PORT`), sent as an address; the rest is drained.
fn read_address(stdout: ChildStdout, addr_tx: oneshot::Sender<Result<SocketAddr>>) {
    let mut lines = std::io::BufReader::new(stdout).lines();
    let Some(first) = lines.next() else {
        // Dropping the sender tells `start` that stdout closed.
        return;
    };
    let addr = first
        .context("reading the server's stdout")
        .and_then(|line| {
            let url = line.trim();
            url.strip_prefix("http://")
                .and_then(|rest| rest.trim_end_matches('/').parse().ok())
                .ok_or_else(|| anyhow!("the server printed {url:?}, not http://HOST:PORT"))
        });
    let _ = addr_tx.send(addr);
    for line in lines {
        if line.is_err() {
            break;
        }
    }
}

/// Reads the server's stderr until it closes, copying it to `copy` if given
/// (a failed write stops the copying, not the draining).
fn drain_log(mut stderr: ChildStderr, mut copy: Option<std::fs::File>) {
    let mut buffer = [0u8; 8192];
    loop {
        match stderr.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if copy
                    .as_mut()
                    .is_some_and(|file| file.write_all(&buffer[..n]).is_err())
                {
                    copy = None;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}
