//! Phase 4, burst: `--non-readers` extra clients join and never read again;
//! then `--senders` readers each send `--messages` messages of `--size`
//! bytes as fast as they can.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures::SinkExt as _;
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::clients::{connect_many, connect_non_reader, probe_non_readers, settle, Reader};
use crate::report::{round3, us_to_ms, BurstReport, NonReadersReport};
use crate::sampling::CpuSpan;
use crate::support::{health, millis_f64, WsSink};
use crate::Ctx;

/// Once all senders are done, a burst with no new delivery for this long has ended.
const BURST_STALL: Duration = Duration::from_secs(5);

/// What a sender task hands back: its reader, its sink, messages written,
/// and whether a write failed.
type SenderDone = (usize, WsSink, u64, bool);

/// Runs the phase, if the options and the connected readers allow it.
pub async fn run(ctx: &Ctx, readers: &mut [Reader]) -> (Option<BurstReport>, NonReadersReport) {
    let cli = &ctx.cli;
    let mut non_readers = NonReadersReport {
        requested: cli.non_readers,
        ..NonReadersReport::default()
    };
    if cli.hold_only || cli.senders == 0 || cli.messages == 0 || readers.is_empty() {
        return (None, non_readers);
    }
    if cli.non_readers == 0 {
        return (Some(burst(ctx, readers).await), non_readers);
    }
    let joined = connect_many(
        cli,
        cli.non_readers,
        cli.clients,
        ctx.phase_deadline(),
        |n| connect_non_reader(ctx.addr, ctx.url.clone(), n, ctx.client_options()),
    )
    .await;
    non_readers.joined = joined.clients.len();
    non_readers.errors = joined.errors;
    settle(&ctx.shared).await;
    let clients = || async { health(ctx.addr, &ctx.host).await.ok().map(|h| h.clients) };
    non_readers.healthz_before = clients().await;
    let disconnects_before = ctx.shared.disconnects.load(Relaxed);
    let report = burst(ctx, readers).await;
    // Evictions land within the server's stall grace (2 s).
    sleep(Duration::from_millis(500)).await;
    non_readers.healthz_after = clients().await;
    let reader_losses = ctx.shared.disconnects.load(Relaxed) - disconnects_before;
    non_readers.dropped_by_healthz = non_readers
        .healthz_before
        .zip(non_readers.healthz_after)
        .map(|(b, a)| b.saturating_sub(a).saturating_sub(reader_losses));
    let (dropped, reasons) = probe_non_readers(joined.clients).await;
    non_readers.dropped_by_probe = dropped;
    non_readers.close_reasons = reasons;
    (Some(report), non_readers)
}

/// Counters at the start of the burst, to take differences from.
#[derive(Debug, Clone, Copy)]
struct Start {
    /// When the first sender started.
    at: Instant,
    /// Reader disconnects so far.
    disconnects: u64,
    /// Burst deliveries so far.
    received: u64,
    /// CPU times so far.
    cpu: CpuSpan,
}

/// The burst itself: `--senders` readers each send `--messages` messages at
/// full speed; it ends when every reader has every message, deliveries
/// stall, or the phase deadline passes.
async fn burst(ctx: &Ctx, readers: &mut [Reader]) -> BurstReport {
    let (cli, shared) = (&ctx.cli, &ctx.shared);
    let senders = pick_senders(readers, cli.senders);
    let mut out = BurstReport {
        readers: shared.alive.load(Relaxed),
        ..BurstReport::default()
    };
    // Each message reaches every reader in its sender's room (everyone,
    // without --rooms).
    let audience = |room: Option<u64>| {
        readers
            .iter()
            .filter(|r| r.room == room && !r.stats.ended.load(Relaxed))
            .count()
    };
    out.expected = senders
        .iter()
        .map(|&i| (cli.messages * audience(readers[i].room)) as u64)
        .sum();
    // What each room's readers should each receive.
    let mut per_room: std::collections::HashMap<Option<u64>, u64> = Default::default();
    for &i in &senders {
        *per_room.entry(readers[i].room).or_default() += cli.messages as u64;
    }
    let disconnects = shared.disconnects.load(Relaxed);
    let received = shared.burst_received.load(Relaxed);
    let cpu = CpuSpan::start(ctx.server, ctx.clk_tck);
    if let (Some(p), Some(sampler)) = (ctx.server, &ctx.sampler) {
        sampler.reset(p);
    }
    let start = Start {
        at: Instant::now(),
        disconnects,
        received,
        cpu,
    };
    let tasks = spawn_senders(readers, &senders, cli.messages, cli.size);
    await_deliveries(ctx, readers, tasks, &mut out, start).await;
    finish(ctx, readers, out, start, &per_room)
}

/// Takes the sinks back from the sender tasks as they finish and waits
/// until every delivery arrived, deliveries stall or the deadline passes.
async fn await_deliveries(
    ctx: &Ctx,
    readers: &mut [Reader],
    mut tasks: JoinSet<SenderDone>,
    out: &mut BurstReport,
    start: Start,
) {
    let deadline = start.at + Duration::from_secs(ctx.cli.timeout_secs);
    let mut senders_done = false;
    let mut last_seen = start.received;
    let mut last_progress = Instant::now();
    loop {
        while let Some(joined) = tasks.try_join_next() {
            if let Ok((i, sink, sent, failed)) = joined {
                readers[i].sink = Some(sink);
                out.sent += sent;
                out.send_errors += u64::from(failed);
            } else {
                out.send_errors += 1;
            }
        }
        if !senders_done && tasks.is_empty() {
            senders_done = true;
            out.send_elapsed_ms = round3(millis_f64(start.at.elapsed()));
        }
        let received = ctx.shared.burst_received.load(Relaxed) - start.received;
        if received >= out.expected {
            break;
        }
        if received != last_seen {
            last_seen = received;
            last_progress = Instant::now();
        }
        if senders_done && last_progress.elapsed() >= BURST_STALL {
            out.stalled = true;
            break;
        }
        if Instant::now() >= deadline {
            out.timed_out = true;
            break;
        }
        sleep(Duration::from_millis(10)).await;
    }
    if !senders_done {
        // Timed out with senders still writing: stop them; their sinks are lost.
        tasks.abort_all();
        out.send_elapsed_ms = round3(millis_f64(start.at.elapsed()));
    }
}

/// Fills in what the burst delivered and cost; `per_room` is the number of
/// messages every reader in each room should have received.
fn finish(
    ctx: &Ctx,
    readers: &[Reader],
    mut out: BurstReport,
    start: Start,
    per_room: &std::collections::HashMap<Option<u64>, u64>,
) -> BurstReport {
    let shared = &ctx.shared;
    out.received = shared.burst_received.load(Relaxed) - start.received;
    out.lost = out.expected.saturating_sub(out.received);
    let started_ns = u64::try_from((start.at - shared.epoch).as_nanos()).unwrap_or(0);
    let last_ns = shared.last_delivery_ns.load(Relaxed);
    let elapsed = if out.received > 0 && last_ns > started_ns {
        Duration::from_nanos(last_ns - started_ns)
    } else {
        start.at.elapsed()
    };
    out.elapsed_ms = round3(millis_f64(elapsed));
    out.deliveries_per_s = round3(out.received as f64 / elapsed.as_secs_f64().max(1e-9));
    out.disconnects = shared.disconnects.load(Relaxed) - start.disconnects;
    let (server_us, loadgen_us) = start.cpu.finish();
    out.server_cpu_ms = us_to_ms(server_us);
    out.server_cpu_us_per_delivery = server_us
        .filter(|_| out.received > 0)
        .map(|us| round3(us as f64 / out.received as f64));
    out.loadgen_cpu_ms = us_to_ms(loadgen_us);
    if let (Some(p), Some(sampler)) = (ctx.server, &ctx.sampler) {
        out.peak_rss_kib = Some(sampler.peak(p));
    }
    let survivors: Vec<(u64, u64)> = readers
        .iter()
        .filter(|r| !r.stats.ended.load(Relaxed))
        .map(|r| {
            let due = per_room.get(&r.room).copied().unwrap_or(0);
            (r.stats.burst.load(Relaxed), due)
        })
        .collect();
    out.per_reader_min = survivors.iter().map(|s| s.0).min().unwrap_or(0);
    out.per_reader_max = survivors.iter().map(|s| s.0).max().unwrap_or(0);
    out.readers_missing_messages = survivors.iter().filter(|(got, due)| got < due).count();
    out
}

/// Up to `count` readers that can send, taken from each room in turn, so
/// with `--rooms` the rooms are busy alike.
fn pick_senders(readers: &[Reader], count: usize) -> Vec<usize> {
    let mut by_room: std::collections::BTreeMap<Option<u64>, Vec<usize>> = Default::default();
    for (i, reader) in readers.iter().enumerate() {
        if !reader.stats.ended.load(Relaxed) && reader.sink.is_some() {
            by_room.entry(reader.room).or_default().push(i);
        }
    }
    let mut queues: Vec<std::vec::IntoIter<usize>> =
        by_room.into_values().map(Vec::into_iter).collect();
    let mut senders = Vec::with_capacity(count);
    while senders.len() < count {
        let before = senders.len();
        for queue in &mut queues {
            if senders.len() < count {
                senders.extend(queue.next());
            }
        }
        if senders.len() == before {
            break;
        }
    }
    senders
}

/// Lends the sinks of `senders` to tasks that each write `messages`
/// messages of `size` bytes, flushing every 32.
fn spawn_senders(
    readers: &mut [Reader],
    senders: &[usize],
    messages: usize,
    size: usize,
) -> JoinSet<SenderDone> {
    let padding = "x".repeat(size);
    let mut tasks = JoinSet::new();
    for (s, &i) in senders.iter().enumerate() {
        let Some(mut sink) = readers[i].sink.take() else {
            continue;
        };
        let padding = padding.clone();
        let room = readers[i]
            .room
            .map_or_else(String::new, |room| format!(r#","room":{room}"#));
        tasks.spawn(async move {
            let mut sent = 0u64;
            let mut failed = false;
            for j in 0..messages {
                let marker = format!("B{s}:{j}:");
                let pad = &padding[..padding.len().saturating_sub(marker.len())];
                let frame = format!(r#"{{"type":"say","text":"{marker}{pad}"{room}}}"#);
                if sink.feed(Message::text(frame)).await.is_err() {
                    failed = true;
                    break;
                }
                sent += 1;
                if j % 32 == 31 && sink.flush().await.is_err() {
                    failed = true;
                    break;
                }
            }
            if !failed && sink.flush().await.is_err() {
                failed = true;
            }
            (i, sink, sent, failed)
        });
    }
    tasks
}
