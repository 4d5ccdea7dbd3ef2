//! Phases 1 and 2: the readers connect, then the server's idle memory per
//! connection is measured.

use std::sync::atomic::Ordering::Relaxed;

use crate::clients::{connect_many, connect_reader, settle, Reader};
use crate::report::{round3, us_to_ms, ConnectReport, IdleReport};
use crate::sampling::CpuSpan;
use crate::support::{health, millis_f64};
use crate::Ctx;

/// Phase 1: `--clients` readers join (`hello` → `welcome`), paced and
/// bounded; with `rooms`, reader n joins `rooms[n % len]` too.
pub async fn connect(ctx: &Ctx, rooms: &[u64]) -> (Vec<Reader>, ConnectReport) {
    let cli = &ctx.cli;
    let cpu = CpuSpan::start(ctx.server, ctx.clk_tck);
    let hello = !cli.no_hello;
    let connected = connect_many(cli, cli.clients, 0, ctx.phase_deadline(), |n| {
        connect_reader(
            ctx.addr,
            ctx.url.clone(),
            n,
            hello,
            (!rooms.is_empty()).then(|| rooms[n % rooms.len()]),
            ctx.shared.clone(),
            ctx.client_options(),
        )
    })
    .await;
    let (server_us, loadgen_us) = cpu.finish();
    let report = ConnectReport {
        requested: cli.clients,
        joined: connected.clients.len(),
        failed: connected.errors.values().sum(),
        errors: connected.errors,
        hello,
        server_cpu_ms: us_to_ms(server_us),
        loadgen_cpu_ms: us_to_ms(loadgen_us),
        elapsed_ms: round3(millis_f64(connected.elapsed)),
        timed_out: connected.timed_out,
    };
    (connected.clients, report)
}

/// Phase 2: once the join announcements have drained, the server's RSS
/// against `rss_before` (taken before phase 1) per connected reader.
pub async fn idle(ctx: &Ctx, rss_before: Option<u64>, readers: usize) -> IdleReport {
    settle(&ctx.shared).await;
    let rss_after = ctx.server.and_then(|p| p.rss_kib());
    let kib_per_connection = rss_before
        .zip(rss_after)
        .filter(|_| readers > 0)
        .map(|(b, a)| round3((a as f64 - b as f64) / readers as f64));
    IdleReport {
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        kib_per_connection,
        healthz_clients: health(ctx.addr, &ctx.host).await.ok().map(|h| h.clients),
        join_frames: ctx.shared.frames.load(Relaxed),
    }
}
