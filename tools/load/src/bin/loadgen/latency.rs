//! Phase 3, latency, the websocket-shootout method: per round one reader
//! (rotating) says a unique marker; the round lasts from the send until
//! every reader has received it.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures::SinkExt as _;
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::clients::{Reader, RoundEvent};
use crate::report::{round3, us_to_ms, LatencyReport};
use crate::sampling::CpuSpan;
use crate::support::{millis_f64, WsSink};
use crate::Ctx;

/// Longest a single latency round may take before it is given up.
const ROUND_LIMIT: Duration = Duration::from_secs(5);

/// What the rounds measured, before it is summarised.
#[derive(Debug, Default)]
struct Rounds {
    /// Round times of the rounds every reader completed, in µs.
    micros: Vec<u64>,
    /// Time from the send until the first reader had it, per round, in µs.
    first_micros: Vec<u64>,
    /// Rounds some reader never completed (it disconnected, or [`ROUND_LIMIT`]).
    incomplete: usize,
    /// Rounds never started because of the phase deadline or no sender left.
    skipped: usize,
    /// Send failures.
    send_errors: usize,
    /// Whether the phase deadline cut it short.
    timed_out: bool,
}

/// Runs the latency rounds and summarises them.
pub async fn run(
    ctx: &Ctx,
    readers: &mut [Reader],
    done: &mut mpsc::UnboundedReceiver<RoundEvent>,
) -> LatencyReport {
    let started = Instant::now();
    let deadline = ctx.phase_deadline();
    let cpu = CpuSpan::start(ctx.server, ctx.clk_tck);
    let rounds = ctx.cli.rounds;
    let mut out = Rounds::default();
    for round in 0..rounds {
        if Instant::now() >= deadline {
            out.timed_out = true;
            out.skipped = rounds - round;
            break;
        }
        let Some(sink) = sender_of(readers, round) else {
            out.skipped = rounds - round;
            break;
        };
        let target = ctx.shared.alive.load(Relaxed);
        let stored = u32::try_from(target).unwrap_or(u32::MAX);
        ctx.shared.latency_target.store(stored, Relaxed);
        let frame = format!(r#"{{"type":"say","text":"L{round}"}}"#);
        let sent_at = Instant::now();
        if sink.send(Message::text(frame)).await.is_err() {
            out.send_errors += 1;
            continue;
        }
        await_round(ctx, done, round, sent_at, deadline, target, &mut out).await;
    }
    let (server_us, loadgen_us) = cpu.finish();
    out.micros.sort_unstable();
    out.first_micros.sort_unstable();
    LatencyReport {
        ran: true,
        completed: out.micros.len(),
        incomplete: out.incomplete,
        skipped: out.skipped,
        send_errors: out.send_errors,
        timed_out: out.timed_out,
        p50_ms: percentile_ms(&out.micros, 0.5),
        p95_ms: percentile_ms(&out.micros, 0.95),
        p99_ms: percentile_ms(&out.micros, 0.99),
        max_ms: percentile_ms(&out.micros, 1.0),
        first_receiver_p50_ms: percentile_ms(&out.first_micros, 0.5),
        first_receiver_p99_ms: percentile_ms(&out.first_micros, 0.99),
        elapsed_ms: round3(millis_f64(started.elapsed())),
        server_cpu_ms: us_to_ms(server_us),
        loadgen_cpu_ms: us_to_ms(loadgen_us),
    }
}

/// The writing half of the first reader still open from `round` on, rotating.
fn sender_of(readers: &mut [Reader], round: usize) -> Option<&mut WsSink> {
    let count = readers.len();
    let i = (0..count)
        .map(|k| (round + k) % count)
        .find(|&i| !readers[i].stats.ended.load(Relaxed))?;
    readers[i].sink.as_mut()
}

/// Waits for `round` (sent at `sent_at` to `target` readers) to reach every
/// reader, recording its times or that it was incomplete.
async fn await_round(
    ctx: &Ctx,
    done: &mut mpsc::UnboundedReceiver<RoundEvent>,
    round: usize,
    sent_at: Instant,
    deadline: Instant,
    target: usize,
    out: &mut Rounds,
) {
    let round_deadline = deadline.min(sent_at + ROUND_LIMIT);
    let shared = &ctx.shared;
    loop {
        let wake = round_deadline.min(Instant::now() + Duration::from_millis(100));
        match timeout_at(wake, done.recv()).await {
            Ok(Some(event)) if event.round == round => {
                let took = duration_us(event.at.saturating_duration_since(sent_at));
                if event.last {
                    out.micros.push(took);
                    return;
                }
                out.first_micros.push(took);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                out.incomplete += 1;
                return;
            }
            Err(_) => {
                // Readers that left cannot complete the round.
                let alive = shared.alive.load(Relaxed);
                let received = shared.latency_counts[round].load(Relaxed) as usize;
                if received >= alive.min(target) && alive < target {
                    out.incomplete += 1;
                    return;
                }
                if Instant::now() >= round_deadline {
                    out.incomplete += 1;
                    out.timed_out |= Instant::now() >= deadline;
                    return;
                }
            }
        }
    }
}

/// Percentile `q` (0–1) of sorted `values`, in ms.
fn percentile_ms(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0)
}

/// Whole microseconds of `d`.
fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
