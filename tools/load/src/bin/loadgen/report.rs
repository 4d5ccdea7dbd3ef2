//! The report: one serialisable struct per section, printed as a table row
//! by row and serialised, all together, as the one JSON line.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;

use serde::Serialize;

use crate::clients::Shared;
use crate::support::{self, heading, opt, print_counts, Evictions, ServerExit};
use crate::Cli;

/// Close reasons (as described by `support::stream_end`) of the server's
/// evictions, which a client receives in its close frame.
const EVICTION_CLOSES: [&str; 2] = ["close 1008 send queue overflow", "close 1008 too slow"];

/// Width of the table's label column.
const WIDTH: usize = 34;

/// Prints one row of the table.
fn row(label: &str, value: impl std::fmt::Display) {
    support::print_row(WIDTH, label, value);
}

/// Rounds to 3 decimals for the report.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Microseconds as milliseconds, rounded to 3 decimals.
pub fn us_to_ms(us: Option<u64>) -> Option<f64> {
    us.map(|us| round3(us as f64 / 1000.0))
}

/// A CPU time in ms for the table: whole milliseconds.
fn whole_ms(ms: Option<f64>) -> String {
    opt(ms.map(f64::trunc))
}

/// `count / seconds`, guarding against a zero duration.
fn per_second(count: f64, ms: f64) -> f64 {
    count / (ms / 1000.0).max(1e-9)
}

/// How many of the counted stream ends were eviction close frames.
pub fn evictions_seen(ends: &BTreeMap<String, u64>) -> u64 {
    ends.iter()
        .filter(|(end, _)| EVICTION_CLOSES.iter().any(|e| end.starts_with(e)))
        .map(|(_, n)| n)
        .sum()
}

/// The whole report, serialised under `"loadgen"`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where the server is and how it is measured.
    #[serde(flatten)]
    pub setup: Setup,
    /// The command line that shaped the run.
    pub config: Cli,
    /// Phase 1.
    pub connect: ConnectReport,
    /// Phase 2.
    pub idle: IdleReport,
    /// `--check-people`, after phase 2.
    pub people: Option<PeopleReport>,
    /// Phase 3 (all zero when it did not run).
    pub latency: LatencyReport,
    /// Phase 4, if it ran.
    pub burst: Option<BurstReport>,
    /// The non-reading clients of phase 4.
    pub non_readers: NonReadersReport,
    /// Over every phase.
    pub totals: TotalsReport,
    /// The server's own counters and exit.
    pub server: ServerReport,
    /// Whether there were no problems.
    pub ok: bool,
    /// What went wrong.
    pub problems: Vec<String>,
}

/// Where the server is and how it is measured.
#[derive(Debug, Serialize)]
pub struct Setup {
    /// The WebSocket URL.
    pub url: String,
    /// Whether this run spawned the server.
    pub spawned: bool,
    /// The pid whose `/proc` entries are sampled.
    pub server_pid: Option<u32>,
    /// Clock ticks per second of `/proc/PID/stat`.
    pub clk_tck: u64,
    /// This process's soft `RLIMIT_NOFILE`.
    pub rlimit_nofile: u64,
}

impl Setup {
    /// Prints the section.
    pub fn print(&self) {
        heading("setup");
        row("url", &self.url);
        row("server pid", opt(self.server_pid));
        row("clock ticks/s (getconf CLK_TCK)", self.clk_tck);
        row("RLIMIT_NOFILE (soft)", self.rlimit_nofile);
    }
}

/// Phase 1: the readers connect and join.
#[derive(Debug, Serialize)]
pub struct ConnectReport {
    /// Readers asked for.
    pub requested: usize,
    /// Readers that joined (or connected, without `hello`).
    pub joined: usize,
    /// Readers that failed.
    pub failed: u64,
    /// Failures, by message.
    pub errors: BTreeMap<String, u64>,
    /// Whether they said `hello`.
    pub hello: bool,
    /// Server CPU time over the phase.
    pub server_cpu_ms: Option<f64>,
    /// This process's CPU time over the phase.
    pub loadgen_cpu_ms: Option<f64>,
    /// Time the phase took.
    pub elapsed_ms: f64,
    /// Whether the phase deadline cut it short.
    pub timed_out: bool,
}

impl ConnectReport {
    /// Prints the section.
    pub fn print(&self) {
        heading("connect");
        row("clients requested", self.requested);
        let joined = if self.hello {
            "clients joined"
        } else {
            "clients connected (no hello)"
        };
        row(joined, self.joined);
        row("failed", self.failed);
        print_counts(WIDTH, "  error", &self.errors);
        row("elapsed ms", format!("{:.1}", self.elapsed_ms));
        let rate = per_second(self.joined as f64, self.elapsed_ms);
        row("joins/s", format!("{rate:.0}"));
        row("server CPU ms", whole_ms(self.server_cpu_ms));
        row("loadgen CPU ms", whole_ms(self.loadgen_cpu_ms));
        row("timed out", self.timed_out);
    }
}

/// Phase 2: the server's memory with every reader connected and idle.
#[derive(Debug, Serialize)]
pub struct IdleReport {
    /// Server RSS before the readers connected.
    pub rss_before_kib: Option<u64>,
    /// Server RSS once they had and the join announcements had drained.
    pub rss_after_kib: Option<u64>,
    /// The difference per connected reader.
    pub kib_per_connection: Option<f64>,
    /// `/healthz` `clients` then.
    pub healthz_clients: Option<u64>,
    /// Frames the readers had received by then (the join announcements).
    pub join_frames: u64,
}

impl IdleReport {
    /// Prints the section.
    pub fn print(&self) {
        heading("idle");
        row("server RSS before connecting KiB", opt(self.rss_before_kib));
        row("server RSS after connecting KiB", opt(self.rss_after_kib));
        let per_conn = self.kib_per_connection.map(|k| format!("{k:.1}"));
        row("KiB per idle connection", opt(per_conn));
        row("/healthz clients", opt(self.healthz_clients));
        row("join frames received by readers", self.join_frames);
    }
}

/// `--check-people`: every reader's count of the room, and the whole list
/// paged out by one more client.
#[derive(Debug, Default, Serialize)]
pub struct PeopleReport {
    /// `/healthz` `joined` when the counts were last compared.
    pub expected: Option<u64>,
    /// This load generator's readers.
    pub own_readers: usize,
    /// Open readers that count `expected` people.
    pub readers_exact: usize,
    /// Open readers that count otherwise.
    pub readers_wrong: usize,
    /// How long the counts took to agree (or the wait, when they did not).
    pub count_wait_ms: f64,
    /// Entries the auditor paged through, duplicates included.
    pub listed: Option<usize>,
    /// Distinct ids among them.
    pub listed_distinct: Option<usize>,
    /// Distinct ids named with this load generator's prefix.
    pub listed_with_prefix: Option<usize>,
    /// The room's count as the auditor knew it at the end.
    pub auditor_count: Option<u64>,
    /// Why the audit failed, if it did.
    pub audit_error: Option<String>,
}

impl PeopleReport {
    /// Prints the section.
    pub fn print(&self) {
        heading("people");
        row("/healthz joined", opt(self.expected));
        row("readers counting exactly that", self.readers_exact);
        row("readers counting otherwise", self.readers_wrong);
        row(
            "wait for the counts ms",
            format!("{:.1}", self.count_wait_ms),
        );
        row(
            "auditor: listed / distinct",
            format!("{} / {}", opt(self.listed), opt(self.listed_distinct)),
        );
        row("auditor: this prefix", opt(self.listed_with_prefix));
        row("auditor: count", opt(self.auditor_count));
        if let Some(err) = &self.audit_error {
            row("auditor: error", err);
        }
    }

    /// What is wrong, if anything: a reader's count, or a list that is not
    /// the room (its size, a duplicate, or one of this load generator's
    /// people missing).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.readers_wrong > 0 || self.expected.is_none() {
            problems.push(format!(
                "{} readers count the room wrong",
                self.readers_wrong
            ));
        }
        if let Some(err) = &self.audit_error {
            problems.push(format!("people audit failed: {err}"));
        }
        // The auditor joined after the readers: one more than they count.
        let room = self.expected.map(|n| n + 1);
        let listed = self.listed.map(|n| n as u64);
        let distinct = self.listed_distinct.map(|n| n as u64);
        if self.audit_error.is_none()
            && (listed != distinct || distinct != room || self.auditor_count != room)
        {
            problems.push(format!(
                "the people list pages out {} entries ({} distinct, count {}) for a room of {}",
                opt(self.listed),
                opt(self.listed_distinct),
                opt(self.auditor_count),
                opt(room)
            ));
        }
        if self.audit_error.is_none() && self.listed_with_prefix != Some(self.own_readers + 1) {
            problems.push(format!(
                "the people list names {} of this load generator's {} people",
                opt(self.listed_with_prefix),
                self.own_readers + 1
            ));
        }
        problems
    }
}

/// Phase 3: send → every reader received, per round.
#[derive(Debug, Default, Serialize)]
pub struct LatencyReport {
    /// Whether the phase ran (else every figure is zero).
    #[serde(skip)]
    pub ran: bool,
    /// Rounds every reader completed.
    pub completed: usize,
    /// Rounds some reader never completed.
    pub incomplete: usize,
    /// Rounds never started.
    pub skipped: usize,
    /// Send failures.
    pub send_errors: usize,
    /// Whether the phase deadline cut it short.
    pub timed_out: bool,
    /// Median round time.
    pub p50_ms: Option<f64>,
    /// 95th percentile round time.
    pub p95_ms: Option<f64>,
    /// 99th percentile round time.
    pub p99_ms: Option<f64>,
    /// Longest round.
    pub max_ms: Option<f64>,
    /// Median time until the first reader had a round's message.
    pub first_receiver_p50_ms: Option<f64>,
    /// 99th percentile of the same.
    pub first_receiver_p99_ms: Option<f64>,
    /// Time the phase took.
    pub elapsed_ms: f64,
    /// Server CPU time over the phase.
    pub server_cpu_ms: Option<f64>,
    /// This process's CPU time over the phase.
    pub loadgen_cpu_ms: Option<f64>,
}

impl LatencyReport {
    /// Prints the section, if the phase ran.
    pub fn print(&self) {
        if !self.ran {
            return;
        }
        heading("latency (send → every client received)");
        row("rounds completed", self.completed);
        let incomplete = format!("{} / {}", self.incomplete, self.skipped);
        row("rounds incomplete / skipped", incomplete);
        for (label, value) in [
            ("p50 ms", self.p50_ms),
            ("p95 ms", self.p95_ms),
            ("p99 ms", self.p99_ms),
            ("max ms", self.max_ms),
        ] {
            row(label, opt(value.map(|v| format!("{v:.3}"))));
        }
        let first = format!(
            "{} / {}",
            opt(self.first_receiver_p50_ms),
            opt(self.first_receiver_p99_ms)
        );
        row("first receiver p50 / p99 ms", first);
        row("phase elapsed ms", format!("{:.1}", self.elapsed_ms));
        row("server CPU ms", whole_ms(self.server_cpu_ms));
        row("loadgen CPU ms", whole_ms(self.loadgen_cpu_ms));
        row("timed out", self.timed_out);
    }
}

/// Phase 4: every sender sends as fast as it can.
#[derive(Debug, Default, Serialize)]
pub struct BurstReport {
    /// Readers at the start (every one should receive every message).
    pub readers: usize,
    /// Messages the senders wrote.
    pub sent: u64,
    /// Deliveries expected: messages × readers.
    pub expected: u64,
    /// Deliveries received.
    pub received: u64,
    /// Deliveries missing.
    pub lost: u64,
    /// First send to last delivery.
    pub elapsed_ms: f64,
    /// First send until every sender had written everything.
    pub send_elapsed_ms: f64,
    /// Deliveries per second over `elapsed_ms`.
    pub deliveries_per_s: f64,
    /// Reader streams that ended during the burst.
    pub disconnects: u64,
    /// Sender write failures.
    pub send_errors: u64,
    /// Fewest burst messages one surviving reader received.
    pub per_reader_min: u64,
    /// Most burst messages one surviving reader received.
    pub per_reader_max: u64,
    /// Surviving readers that missed at least one message.
    pub readers_missing_messages: usize,
    /// Server CPU time over the burst.
    pub server_cpu_ms: Option<f64>,
    /// Server CPU time per delivery.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// This process's CPU time over the burst.
    pub loadgen_cpu_ms: Option<f64>,
    /// Highest server RSS during the burst.
    pub peak_rss_kib: Option<u64>,
    /// Whether the phase deadline cut it short.
    pub timed_out: bool,
    /// Whether it ended because deliveries stopped before all arrived.
    pub stalled: bool,
}

impl BurstReport {
    /// Prints the section.
    pub fn print(&self, cli: &Cli) {
        heading(&format!(
            "burst ({} senders × {} messages × {} B → {} readers)",
            cli.senders, cli.messages, cli.size, self.readers
        ));
        row("messages sent", self.sent);
        row("deliveries expected", self.expected);
        row("deliveries received", self.received);
        let lost_pct = 100.0 * self.lost as f64 / self.expected.max(1) as f64;
        row("lost", format!("{} ({lost_pct:.3}%)", self.lost));
        let elapsed = format!("{:.1}", self.elapsed_ms);
        row("elapsed ms (first send → last rx)", elapsed);
        let send_elapsed = format!("{:.1}", self.send_elapsed_ms);
        row("senders finished writing ms", send_elapsed);
        row("deliveries/s", format!("{:.0}", self.deliveries_per_s));
        let sent_rate = per_second(self.sent as f64, self.elapsed_ms);
        row("messages/s (sent)", format!("{sent_rate:.0}"));
        row("reader disconnects", self.disconnects);
        row("send errors", self.send_errors);
        let min_max = format!("{} / {}", self.per_reader_min, self.per_reader_max);
        row("per-reader received min / max", min_max);
        row("readers missing messages", self.readers_missing_messages);
        row("server CPU ms", whole_ms(self.server_cpu_ms));
        let per_delivery = self.server_cpu_us_per_delivery.map(|us| format!("{us:.3}"));
        row("server CPU µs per delivery", opt(per_delivery));
        row("loadgen CPU ms", whole_ms(self.loadgen_cpu_ms));
        row("server peak RSS KiB", opt(self.peak_rss_kib));
        let ended = format!("{} / {}", self.timed_out, self.stalled);
        row("timed out / stalled", ended);
    }
}

/// What became of the non-reading clients.
#[derive(Debug, Default, Serialize)]
pub struct NonReadersReport {
    /// Asked for.
    pub requested: usize,
    /// Joined.
    pub joined: usize,
    /// Failures to connect, by message.
    pub errors: BTreeMap<String, u64>,
    /// `/healthz` clients before the burst.
    pub healthz_before: Option<u64>,
    /// `/healthz` clients after the burst.
    pub healthz_after: Option<u64>,
    /// Dropped by the server, from `/healthz` (minus reader disconnects).
    pub dropped_by_healthz: Option<u64>,
    /// Dropped by the server, from reading their sockets at the end.
    pub dropped_by_probe: usize,
    /// How the dropped ones' streams ended.
    pub close_reasons: BTreeMap<String, u64>,
}

impl NonReadersReport {
    /// Prints the section.
    pub fn print(&self) {
        heading("non-readers");
        let joined = format!("{} / {}", self.requested, self.joined);
        row("requested / joined", joined);
        let healthz = format!("{} / {}", opt(self.healthz_before), opt(self.healthz_after));
        row("/healthz clients before / after", healthz);
        row("dropped (by /healthz)", opt(self.dropped_by_healthz));
        row("dropped (by reading at the end)", self.dropped_by_probe);
        print_counts(WIDTH, "  ended", &self.close_reasons);
    }
}

/// What the readers received over every phase.
#[derive(Debug, Serialize)]
pub struct TotalsReport {
    /// Frames received by readers.
    pub frames: u64,
    /// Bytes of text received by readers.
    pub bytes: u64,
    /// Reader streams that ended.
    pub reader_disconnects: u64,
    /// How they ended.
    pub close_reasons: BTreeMap<String, u64>,
    /// `error` frames received, by code.
    pub error_frames: BTreeMap<String, u64>,
    /// Message ids not greater than the previous one on the same client.
    pub order_violations: u64,
}

impl TotalsReport {
    /// The totals so far, from the readers' shared counters.
    pub fn from_shared(shared: &Shared) -> Self {
        Self {
            frames: shared.frames.load(Relaxed),
            bytes: shared.bytes.load(Relaxed),
            reader_disconnects: shared.disconnects.load(Relaxed),
            close_reasons: Shared::snapshot(&shared.close_reasons),
            error_frames: Shared::snapshot(&shared.error_codes),
            order_violations: shared.order_violations.load(Relaxed),
        }
    }

    /// Prints the section (the server's rows follow it).
    pub fn print(&self) {
        heading("totals");
        row("frames received by readers", self.frames);
        let mib = self.bytes as f64 / 1_048_576.0;
        row("MiB received by readers", format!("{mib:.1}"));
        row("reader disconnects (all phases)", self.reader_disconnects);
        print_counts(WIDTH, "  ended", &self.close_reasons);
        row("error frames", self.error_frames.values().sum::<u64>());
        print_counts(WIDTH, "  code", &self.error_frames);
        row("message id order violations", self.order_violations);
    }
}

/// The server's own counters and how it exited.
#[derive(Debug, Serialize)]
pub struct ServerReport {
    /// Evictions by reason, from `/healthz` at the end.
    pub evictions: Option<Evictions>,
    /// Readers that received an eviction close frame.
    pub evicted_readers: u64,
    /// Non-readers that received an eviction close frame.
    pub evicted_non_readers: u64,
    /// How a spawned server stopped on SIGTERM.
    #[serde(flatten)]
    pub exit: Option<ServerExit>,
}

impl ServerReport {
    /// Prints the server's rows of the totals.
    pub fn print(&self) {
        let evictions = self
            .evictions
            .map(|e| format!("{} / {}", e.overflow, e.stalled));
        row("server evictions overflow/stalled", opt(evictions));
        // A non-reader's full socket rarely lets the close frame through:
        // the server's count above is the one that says who was dropped.
        let seen = format!("{} / {}", self.evicted_readers, self.evicted_non_readers);
        row("1008 closes seen: readers / non-r.", seen);
        if let Some(exit) = &self.exit {
            let took = exit.shutdown_ms.map(|ms| format!("{ms:.1}"));
            row("server shutdown ms (SIGTERM)", opt(took));
            row("server exit", &exit.exit);
        }
    }
}

impl Report {
    /// Lists the problems the verdict fails on.
    pub fn find_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.connect.failed > 0 || self.connect.timed_out {
            problems.push("connect failures or timeout".to_owned());
        }
        if let Some(people) = &self.people {
            problems.extend(people.problems());
        }
        let disconnects = self.totals.reader_disconnects;
        if disconnects > 0 {
            problems.push(format!("{disconnects} reader disconnects"));
        }
        let l = &self.latency;
        if l.incomplete > 0 || l.skipped > 0 || l.send_errors > 0 || l.timed_out {
            problems.push("latency rounds incomplete".to_owned());
        }
        if let Some(b) = &self.burst {
            if b.received < b.expected || b.send_errors > 0 || b.timed_out {
                problems.push("burst loss".to_owned());
            }
        }
        if !self.totals.error_frames.is_empty() {
            problems.push("error frames".to_owned());
        }
        if self.totals.order_violations > 0 {
            problems.push("message order violations".to_owned());
        }
        let non = &self.non_readers;
        if non.joined < non.requested && self.burst.is_some() {
            problems.push("non-readers failed to connect".to_owned());
        }
        // The slow-consumer policy: every non-reader is dropped while every
        // reader gets everything (checked above as burst loss and disconnects).
        if self.burst.is_some() && non.dropped_by_probe < non.joined {
            problems.push(format!(
                "{} of {} non-readers were not dropped",
                non.joined - non.dropped_by_probe,
                non.joined
            ));
        }
        if let Some(exit) = self.server.exit.as_ref().filter(|e| !e.clean) {
            let status = &exit.exit;
            problems.push(format!("server did not stop cleanly on SIGTERM: {status}"));
        }
        problems
    }

    /// Prints the verdict, then the whole report as one JSON line.
    pub fn print_verdict_and_json(&self) -> anyhow::Result<()> {
        heading("verdict");
        row("ok", self.ok);
        for p in &self.problems {
            row("  problem", p);
        }
        support::print_json_line("loadgen", self)
    }
}
