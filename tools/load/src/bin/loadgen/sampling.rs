//! The server's (and this process's) resource use, read from `/proc`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::support;

/// How often server memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// The server's resource use, read from `/proc`.
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    /// Process id.
    pub pid: u32,
    /// Clock ticks per second of `/proc/PID/stat` times.
    pub clk_tck: u64,
}

impl Proc {
    /// Resident memory in KiB (`VmRSS`), if the process is readable.
    pub fn rss_kib(self) -> Option<u64> {
        support::rss_kib(self.pid)
    }

    /// User plus system CPU time in microseconds.
    pub fn cpu_us(self) -> Option<u64> {
        let (user, system) = support::cpu_ticks(&format!("/proc/{}/stat", self.pid))?;
        Some((user + system) * 1_000_000 / self.clk_tck.max(1))
    }
}

/// Samples a process's RSS in the background and keeps the peak.
#[derive(Debug)]
pub struct Sampler {
    /// Highest RSS seen since the last reset, in KiB.
    pub peak_kib: Arc<AtomicU64>,
    /// The sampling task.
    pub task: JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling every [`SAMPLE_EVERY`].
    pub fn start(proc_: Proc) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let peak = peak_kib.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            loop {
                tick.tick().await;
                if let Some(rss) = proc_.rss_kib() {
                    peak.fetch_max(rss, Relaxed);
                }
            }
        });
        Self { peak_kib, task }
    }

    /// Starts a new peak from the current RSS.
    pub fn reset(&self, proc_: Proc) {
        self.peak_kib.store(proc_.rss_kib().unwrap_or(0), Relaxed);
    }

    /// The peak since the last reset, including the RSS right now.
    pub fn peak(&self, proc_: Proc) -> u64 {
        let now = proc_.rss_kib().unwrap_or(0);
        self.peak_kib.fetch_max(now, Relaxed).max(now)
    }
}

/// CPU time used by the server and by this process over one phase.
#[derive(Debug, Clone, Copy)]
pub struct CpuSpan {
    /// The server and its CPU µs at the start, if it is sampled.
    server: Option<(Proc, Option<u64>)>,
    /// This process and its CPU µs at the start.
    me: (Proc, Option<u64>),
}

impl CpuSpan {
    /// Starts measuring `server` (if known) and this process.
    pub fn start(server: Option<Proc>, clk_tck: u64) -> Self {
        let me = Proc {
            pid: std::process::id(),
            clk_tck,
        };
        Self {
            server: server.map(|p| (p, p.cpu_us())),
            me: (me, me.cpu_us()),
        }
    }

    /// CPU µs used since the start: (server, this process).
    pub fn finish(self) -> (Option<u64>, Option<u64>) {
        let since = |(p, before): (Proc, Option<u64>)| {
            p.cpu_us().zip(before).map(|(a, b)| a.saturating_sub(b))
        };
        (self.server.and_then(since), since(self.me))
    }
}
