//! `sendfloor`: what one small write to each of N loopback TCP peers costs
//! the sending thread, with nothing else in the way: no WebSocket, no room,
//! no async runtime on the sending side. It is the floor under the server's
//! "CPU per recipient of a lone message" (`loadgen --senders 0`), measured
//! the same way: per round one frame goes to every peer, and the round ends
//! when every peer has read it.
//!
//! ```text
//! cargo run --release -p hearth-load --bin sendfloor -- --peers 1000 --rounds 300
//! cargo run --release -p hearth-load --bin sendfloor -- --peers 1000 --rounds 300 --pin
//! ```
//!
//! The receiving side is a tokio runtime like the load generator's: one task
//! per peer reading its socket. With `--pin` (Linux) the sending thread runs
//! on core 0 and the receiving runtime on core 1, as in the pinned latency
//! runs. Output: CPU per write (user and system), round times, and one line
//! of JSON starting with `{"sendfloor":`.

// Printing the report is what this binary is for.
#![allow(clippy::print_stdout)]

// This tool uses a few of the shared helpers only.
#[allow(dead_code)]
// The tools' shared library: spawning the server, reading it, reporting.
use hearth_load as support;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use tokio::io::AsyncReadExt as _;

#[derive(Debug, Parser)]
#[command(about = "CPU per write of one small frame to each of N loopback TCP peers")]
struct Cli {
    /// Connected peers, each written once per round.
    #[arg(long, default_value_t = 1000)]
    peers: usize,
    /// Rounds.
    #[arg(long, default_value_t = 300)]
    rounds: usize,
    /// Bytes written to each peer per round (a chat message's frame is
    /// about 150).
    #[arg(long, default_value_t = 150)]
    size: usize,
    /// Sending thread on core 0, receiving runtime on core 1 (Linux).
    #[arg(long)]
    pin: bool,
}

/// Longest a round may take before the run is given up.
const ROUND_LIMIT: Duration = Duration::from_secs(10);

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.peers == 0 || cli.size == 0 {
        bail!("--peers and --size must be above zero");
    }
    let clk_tck = support::clock_ticks();
    let remaining = Arc::new(AtomicUsize::new(0));
    let (round_done, round_finished) = mpsc::channel::<()>();
    let pin = cli.pin;
    let receivers = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .on_thread_start(move || {
            if pin {
                pin_to_core(1);
            }
        })
        .build()
        .context("starting the receiving runtime")?;

    let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    let addr = listener.local_addr()?;
    let mut senders = Vec::with_capacity(cli.peers);
    for _ in 0..cli.peers {
        let peer = receivers
            .block_on(tokio::net::TcpStream::connect(addr))
            .context("connecting a peer")?;
        let (sender, _) = listener.accept().context("accepting a peer")?;
        // As the server sets on every accepted socket.
        sender.set_nodelay(true)?;
        receivers.spawn(read_frames(
            peer,
            cli.size,
            remaining.clone(),
            round_done.clone(),
        ));
        senders.push(sender);
    }

    if pin {
        pin_to_core(0);
    }
    let frame = vec![b'x'; cli.size];
    let mut round_micros = Vec::with_capacity(cli.rounds);
    let cpu_before = thread_cpu_ticks()?;
    for _ in 0..cli.rounds {
        remaining.store(cli.peers, Ordering::SeqCst);
        let started = Instant::now();
        write_to_all(&mut senders, &frame)?;
        round_finished
            .recv_timeout(ROUND_LIMIT)
            .context("a round did not finish: a peer did not read its frame")?;
        round_micros.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    let cpu_after = thread_cpu_ticks()?;
    receivers.shutdown_background();

    let writes = (cli.peers * cli.rounds) as f64;
    let per_write_us = |ticks: u64| ticks as f64 * 1e6 / clk_tck as f64 / writes;
    let user_us = per_write_us(cpu_after.0.saturating_sub(cpu_before.0));
    let system_us = per_write_us(cpu_after.1.saturating_sub(cpu_before.1));
    round_micros.sort_unstable();
    let p50 = percentile_ms(&round_micros, 0.50);
    let p99 = percentile_ms(&round_micros, 0.99);
    println!(
        "{} peers x {} rounds of {} B{}",
        cli.peers,
        cli.rounds,
        cli.size,
        if pin { ", pinned" } else { "" }
    );
    println!(
        "sender CPU per write: {:.2} µs ({user_us:.2} user, {system_us:.2} system)",
        user_us + system_us
    );
    println!("round time: p50 {p50:.2} ms, p99 {p99:.2} ms");
    println!(
        "{{\"sendfloor\":{{\"peers\":{},\"rounds\":{},\"size\":{},\"pinned\":{pin},\"cpu_us_per_write\":{:.3},\"user_us\":{user_us:.3},\"system_us\":{system_us:.3},\"p50_ms\":{p50:.3},\"p99_ms\":{p99:.3}}}}}",
        cli.peers,
        cli.rounds,
        cli.size,
        user_us + system_us
    );
    Ok(())
}

/// One write of `frame` to every peer: what the server's writers do for a
/// lone message, minus everything else.
fn write_to_all(senders: &mut [TcpStream], frame: &[u8]) -> Result<()> {
    for sender in senders {
        sender.write_all(frame).context("writing to a peer")?;
    }
    Ok(())
}

/// Reads `size`-byte frames; the peer that reads the round's last frame
/// says the round is over.
async fn read_frames(
    mut peer: tokio::net::TcpStream,
    size: usize,
    remaining: Arc<AtomicUsize>,
    round_done: mpsc::Sender<()>,
) {
    let mut buf = vec![0u8; 4096];
    let mut partial = 0usize;
    loop {
        let read = match peer.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        partial += read;
        while partial >= size {
            partial -= size;
            if remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
                let _ = round_done.send(());
            }
        }
    }
}

/// The value below which `share` of the sorted `micros` fall, in ms.
fn percentile_ms(sorted_micros: &[u64], share: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let index =
        ((sorted_micros.len() as f64 * share).ceil() as usize).clamp(1, sorted_micros.len()) - 1;
    sorted_micros[index] as f64 / 1000.0
}

/// The calling thread's user and system time, in clock ticks.
fn thread_cpu_ticks() -> Result<(u64, u64)> {
    support::cpu_ticks("/proc/thread-self/stat").context("reading this thread's CPU time")
}

/// Keeps the calling thread on one core (Linux); elsewhere, says it cannot.
fn pin_to_core(core: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: the set is zeroed, then one bit is set in it, and it is
        // passed by pointer with its own size.
        #[allow(unsafe_code)]
        let pinned = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        };
        if !pinned {
            eprintln!("warning: could not pin a thread to core {core}");
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    eprintln!("warning: --pin works on Linux only; core {core} not pinned");
}
