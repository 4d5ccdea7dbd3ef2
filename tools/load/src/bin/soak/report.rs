//! The report: one serialisable struct per section, printed as a table row
//! by row, checked for failures, and serialised, all together, as the one
//! JSON line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::churn::{Churn, Leave};
use crate::delivery::Delivery;
use crate::support::{self, heading, millis_f64, opt, print_counts, Evictions, ServerExit};
use crate::Cli;

/// How a half-open client's stream ends when the server drops it for
/// answering no ping (see `support::stream_end`).
const HEARTBEAT_CLOSE: &str = "close 1001 no heartbeat";

/// Width of the table's label column.
const WIDTH: usize = 44;

/// Prints one row of the table.
fn row(label: &str, value: impl std::fmt::Display) {
    support::print_row(WIDTH, label, value);
}

/// Milliseconds of `d`, rounded to 0.1.
pub fn millis_1dp(d: Duration) -> f64 {
    (millis_f64(d) * 10.0).round() / 10.0
}

/// The whole report, serialised under `"soak"`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where the server is.
    #[serde(flatten)]
    pub setup: Setup,
    /// The command line that shaped the run.
    pub config: Cli,
    /// The run as a whole.
    pub run: RunReport,
    /// The churning clients.
    pub churn: ChurnReport,
    /// The well-behaved clients.
    pub steady: SteadyReport,
    /// Who is in the room, as the server and the clients see it.
    pub presence: PresenceReport,
    /// The server's memory.
    pub rss: RssReport,
    /// The server's own counters and exit.
    pub server: ServerReport,
    /// Whether nothing failed.
    pub ok: bool,
    /// What failed.
    pub failures: Vec<String>,
}

/// Where the server is.
#[derive(Debug, Serialize)]
pub struct Setup {
    /// Its WebSocket URL.
    pub url: String,
    /// Its pid.
    pub server_pid: u32,
    /// This process's soft `RLIMIT_NOFILE`.
    pub rlimit_nofile: u64,
}

impl Setup {
    /// Prints the setup section.
    pub fn print(&self, config: &Cli) {
        heading("setup");
        row("server", config.server_bin.display());
        row("url", &self.url);
        row("server pid", self.server_pid);
        let shape = format!(
            "{} s / {} / {} (max {} at once)",
            config.duration_secs, config.steady, config.clients, config.max_concurrent
        );
        row("duration / steady / churn target", shape);
        row("seed", config.seed);
        row("RLIMIT_NOFILE (soft)", self.rlimit_nofile);
    }
}

/// The run as a whole.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// How long the churn lasted.
    pub churn_elapsed_ms: f64,
    /// `/healthz` clients once the well-behaved clients had joined.
    pub healthz_start: Option<u64>,
    /// Highest `/healthz` clients count (sampled 2/s).
    pub peak_healthz_clients: u64,
    /// Highest server RSS (sampled 2/s).
    pub peak_rss_kib: u64,
    /// `/healthz` samples that failed.
    pub healthz_errors: u64,
}

impl RunReport {
    /// Prints the section.
    fn print(&self) {
        heading("run");
        let secs = self.churn_elapsed_ms / 1000.0;
        row("churn elapsed s", format!("{secs:.1}"));
        row(
            "/healthz clients after steady joined",
            opt(self.healthz_start),
        );
        row(
            "peak /healthz clients (sampled 2/s)",
            self.peak_healthz_clients,
        );
        row("peak server RSS KiB (sampled 2/s)", self.peak_rss_kib);
        row("/healthz sampling errors", self.healthz_errors);
    }
}

/// How many churning clients that joined were to leave one way.
#[derive(Debug, Serialize)]
pub struct LeaveReport {
    /// Clients that joined.
    pub joined: usize,
}

/// The churning clients.
#[derive(Debug, Serialize)]
pub struct ChurnReport {
    /// Clients started.
    pub started: usize,
    /// Clients that got their `welcome`.
    pub joined: usize,
    /// Pause between two starts.
    pub start_every_ms: f64,
    /// Mean planned lifetime.
    pub mean_life_ms: f64,
    /// Most churning clients in flight at once.
    pub peak_in_flight: usize,
    /// Clients that joined, by how they left (or were to leave).
    pub by_leave: BTreeMap<Leave, LeaveReport>,
    /// Clients whose chat the end of the run cut short.
    pub stopped_early: usize,
    /// Messages said.
    pub sent: u64,
    /// Own messages seen echoed.
    pub echoed: u64,
    /// Text frames read.
    pub frames: u64,
    /// Clients that failed, in total.
    pub failed: u64,
    /// Failures, by message.
    pub errors: BTreeMap<String, u64>,
    /// Clients that had not finished leaving when the wait for them ended.
    pub stuck: usize,
    /// Half-open sockets held until the presence checks.
    pub half_open_held: usize,
    /// How the server ended them, as each half-open client read it.
    pub half_open_ends: BTreeMap<String, u64>,
}

impl ChurnReport {
    /// The report on `churn`, whose half-open sockets (`half_open_held` of
    /// them) ended as `half_open_ends` says.
    pub fn new(churn: Churn, half_open_held: usize, half_open_ends: BTreeMap<String, u64>) -> Self {
        let by_leave = Leave::ALL
            .iter()
            .map(|&leave| {
                let joined = churn.by_leave.get(&leave).copied().unwrap_or(0);
                (leave, LeaveReport { joined })
            })
            .collect();
        Self {
            started: churn.started,
            joined: churn.joined,
            start_every_ms: millis_1dp(churn.start_every),
            mean_life_ms: millis_1dp(churn.mean_life),
            peak_in_flight: churn.peak_active,
            by_leave,
            stopped_early: churn.stopped_early,
            sent: churn.sent,
            echoed: churn.echoed,
            frames: churn.frames,
            failed: churn.errors.values().sum(),
            errors: churn.errors,
            stuck: churn.stuck,
            half_open_held,
            half_open_ends,
        }
    }

    /// Prints the section.
    fn print(&self) {
        heading("churn");
        row(
            "started / joined",
            format!("{} / {}", self.started, self.joined),
        );
        let pace = format!("{} / {}", self.start_every_ms, self.mean_life_ms);
        row("start every ms / mean planned life ms", pace);
        row("peak churning clients in flight", self.peak_in_flight);
        for (leave, report) in &self.by_leave {
            row(&format!("left by {}", leave.label()), report.joined);
        }
        row("cut short by the end of the run", self.stopped_early);
        let chat = format!("{} / {}", self.sent, self.echoed);
        row("messages said / own echoes seen", chat);
        row("frames read by churning clients", self.frames);
        row(
            "half-open sockets held until the checks",
            self.half_open_held,
        );
        print_counts(WIDTH, "  half-open ended", &self.half_open_ends);
        row("failures", self.failed);
        print_counts(WIDTH, "  error", &self.errors);
        row("never finished leaving", self.stuck);
    }

    /// What failed among the churning clients.
    fn failures(&self, cli: &Cli) -> Vec<String> {
        let mut failures = Vec::new();
        if self.started < cli.clients {
            failures.push(format!(
                "only {} churning clients started, fewer than --clients {}",
                self.started, cli.clients
            ));
        }
        if self.failed > 0 {
            let n = self.failed;
            failures.push(format!("{n} churning clients failed (see churn errors)"));
        }
        if self.stuck > 0 {
            let n = self.stuck;
            failures.push(format!("{n} churning clients never finished leaving"));
        }
        // The server ends a client that answers no ping with this close
        // frame; each half-open client reads it from its backlog.
        let half_open = self.by_leave.get(&Leave::HalfOpen).map_or(0, |l| l.joined) as u64;
        let silent = self
            .half_open_ends
            .get(HEARTBEAT_CLOSE)
            .copied()
            .unwrap_or(0);
        if silent != half_open {
            failures.push(format!(
                "only {silent} of {half_open} half-open clients were dropped by heartbeat (\"{HEARTBEAT_CLOSE}\")"
            ));
        }
        failures
    }
}

/// The well-behaved clients.
#[derive(Debug, Serialize)]
pub struct SteadyReport {
    /// How many.
    pub clients: usize,
    /// The verdict on their messages.
    #[serde(flatten)]
    pub delivery: Delivery,
    /// Wait for the last deliveries after the run.
    pub delivery_wait_ms: f64,
    /// Text frames read.
    pub frames: u64,
    /// Text frames that were not JSON objects with a `type`.
    pub unparsed: u64,
    /// `error` frames received, by code.
    pub error_frames: BTreeMap<String, u64>,
    /// Clients disconnected before the end.
    pub disconnected_during_run: usize,
    /// A few of them, with how, for the failure message.
    #[serde(skip)]
    pub ended_early: Vec<(String, String)>,
    /// How their graceful closes at the end ended.
    pub close: BTreeMap<String, u64>,
}

impl SteadyReport {
    /// Prints the section.
    fn print(&self) {
        let d = &self.delivery;
        heading("well-behaved clients");
        row("clients", self.clients);
        row("markers sent (after all joined)", d.steady_sent);
        row("wait for the last deliveries ms", self.delivery_wait_ms);
        row("missing deliveries", d.missing);
        row("duplicate deliveries", d.duplicates);
        row("distinct message ids seen", d.distinct_ids);
        let min_max = format!("{} / {}", d.per_client_min, d.per_client_max);
        row("messages per client min / max", min_max);
        row("ids not strictly increasing", d.id_not_increasing);
        row("id gaps", d.id_gaps);
        row("ids not seen by every client", d.ids_not_seen_by_all);
        row("id/text conflicts", d.id_text_conflicts);
        row("markers seen by all (order compared)", d.common);
        row("clients with a different order", d.order_mismatches);
        let frames = format!("{} / {}", self.frames, self.unparsed);
        row("frames read / unparsed", frames);
        row("error frames", self.error_frames.values().sum::<u64>());
        row("disconnected during the run", self.disconnected_during_run);
        print_counts(WIDTH, "  closing ended", &self.close);
    }

    /// What failed among the well-behaved clients.
    fn failures(&self) -> Vec<String> {
        let mut failures = self.delivery.failures();
        if !self.ended_early.is_empty() {
            failures.push(format!(
                "{} well-behaved clients were disconnected during the run, e.g. {:?}",
                self.ended_early.len(),
                self.ended_early.iter().take(3).collect::<Vec<_>>()
            ));
        }
        if !self.error_frames.is_empty() {
            let errors = &self.error_frames;
            failures.push(format!("well-behaved clients got error frames: {errors:?}"));
        }
        // The server's close reply ends the reader with "close (no code)".
        let bad_close: u64 = self
            .close
            .iter()
            .filter(|(end, _)| end.as_str() != "close (no code)")
            .map(|(_, n)| n)
            .sum();
        if bad_close > 0 {
            failures.push(format!(
                "{bad_close} well-behaved clients' graceful close got no close reply: {:?}",
                self.close
            ));
        }
        failures
    }
}

/// Who is in the room, as the server and the clients see it.
#[derive(Debug, Serialize)]
pub struct PresenceReport {
    /// `/healthz` clients once churn stopped (want: the well-behaved clients).
    pub healthz_after_churn: Option<u64>,
    /// `/healthz` joined users then.
    pub joined_after_churn: Option<u64>,
    /// Wait for that count.
    pub settle_ms: f64,
    /// Well-behaved clients whose roster was wrong.
    pub rosters_wrong: usize,
    /// How many users the observer's `welcome.users` listed.
    pub observer_users: Option<usize>,
    /// `/healthz` clients after everybody left (want 0).
    pub healthz_end: Option<u64>,
    /// Wait for that count.
    pub empty_ms: f64,
    /// Failure lines of the roster and observer checks.
    #[serde(skip)]
    pub details: Vec<String>,
}

impl PresenceReport {
    /// Prints the section; `want` is the number of well-behaved clients.
    fn print(&self, want: usize) {
        heading("presence (no ghosts)");
        let settled = format!(
            "{} (want {want}) after {} ms",
            opt(self.healthz_after_churn),
            self.settle_ms
        );
        row("/healthz after churn (want steady)", settled);
        row("/healthz joined after churn", opt(self.joined_after_churn));
        row("well-behaved rosters wrong", self.rosters_wrong);
        let observer = self
            .observer_users
            .map(|n| format!("{n} (want {})", want + 1));
        row("observer welcome.users", opt(observer));
        let empty = format!("{} after {} ms", opt(self.healthz_end), self.empty_ms);
        row("/healthz after everybody left (want 0)", empty);
    }

    /// What failed: ghosts at `/healthz`, in rosters or for the observer.
    fn failures(&self, cli: &Cli) -> Vec<String> {
        let mut failures = Vec::new();
        let want = cli.steady as u64;
        if self.healthz_after_churn != Some(want) {
            failures.push(format!(
                "/healthz reports {} clients {} s after churn stopped, expected {want} (ghost connections)",
                opt(self.healthz_after_churn),
                cli.settle_secs
            ));
        }
        failures.extend(self.details.iter().cloned());
        if self.healthz_end != Some(0) {
            failures.push(format!(
                "/healthz reports {} clients after everybody left, expected 0",
                opt(self.healthz_end)
            ));
        }
        failures
    }
}

/// The server's memory (VmRSS).
#[derive(Debug, Serialize)]
pub struct RssReport {
    /// With only the well-behaved clients in.
    pub start_kib: Option<u64>,
    /// After everybody left.
    pub end_kib: Option<u64>,
    /// The most allowed at the end.
    pub limit_kib: Option<u64>,
    /// Wait for it to settle under the limit.
    pub settle_ms: f64,
}

impl RssReport {
    /// Prints the section.
    fn print(&self, cli: &Cli) {
        heading("memory (server VmRSS)");
        row("start KiB (steady joined)", opt(self.start_kib));
        row("end KiB (everybody left)", opt(self.end_kib));
        let allowed = format!(
            "{} = start × {} + {} KiB slack (allocator/page granularity, history buffer)",
            opt(self.limit_kib),
            cli.rss_growth,
            cli.rss_slack_kib
        );
        row("allowed KiB", allowed);
        row("settle wait ms", self.settle_ms);
    }

    /// What failed: growth over the limit, or no reading.
    fn failures(&self, cli: &Cli) -> Vec<String> {
        match (self.start_kib, self.end_kib, self.limit_kib) {
            (Some(start), Some(end), Some(limit)) if end > limit => vec![format!(
                "server RSS {end} KiB at the end > {limit} KiB allowed ({start} KiB at start × {} + {} KiB)",
                cli.rss_growth, cli.rss_slack_kib
            )],
            (Some(_), Some(_), Some(_)) => Vec::new(),
            _ => vec!["could not read the server's VmRSS".to_owned()],
        }
    }
}

/// The server's own counters and how it exited.
#[derive(Debug, Serialize)]
pub struct ServerReport {
    /// Evictions by reason, from `/healthz` at the end.
    pub evictions: Option<Evictions>,
    /// Connections closed for never joining, from `/healthz` at the end.
    pub join_timeouts: Option<u64>,
    /// Panics in the server, from `/healthz` at the end.
    pub panics: Option<u64>,
    /// How it stopped on SIGTERM.
    #[serde(flatten)]
    pub exit: ServerExit,
}

impl ServerReport {
    /// Prints the section.
    fn print(&self) {
        heading("server");
        let evictions = self
            .evictions
            .map(|e| format!("{} / {}", e.overflow, e.stalled));
        row("evictions overflow / stalled (/healthz)", opt(evictions));
        row("join timeouts (/healthz)", opt(self.join_timeouts));
        row("panics (/healthz)", opt(self.panics));
        let took = self.exit.shutdown_ms.map(|ms| (ms * 10.0).round() / 10.0);
        row("shutdown on SIGTERM ms", opt(took));
        row("exit", &self.exit.exit);
    }
}

impl Report {
    /// Lists every failure, section by section.
    pub fn find_failures(&self, cli: &Cli) -> Vec<String> {
        let mut failures = self.churn.failures(cli);
        failures.extend(self.steady.failures());
        failures.extend(self.presence.failures(cli));
        failures.extend(self.rss.failures(cli));
        if !self.server.exit.clean {
            let status = &self.server.exit.exit;
            failures.push(format!("server did not stop cleanly on SIGTERM: {status}"));
        }
        match self.server.panics {
            Some(0) => {}
            Some(n) => failures.push(format!("the server panicked {n} times")),
            None => failures.push("no /healthz answer at the end to count panics".to_owned()),
        }
        failures
    }

    /// Prints every section after the setup, the verdict, then the whole
    /// report as one JSON line.
    pub fn print(&self, cli: &Cli) -> anyhow::Result<()> {
        self.run.print();
        self.churn.print();
        self.steady.print();
        self.presence.print(cli.steady);
        self.rss.print(cli);
        self.server.print();
        heading("verdict");
        row("ok", self.ok);
        for failure in &self.failures {
            row("  FAILED", failure);
        }
        support::print_json_line("soak", self)
    }
}
