//! The room without a window: `hearth --headless`, or no display.

use std::process::ExitCode;

use hearth_server::Config;

use crate::host::{bind_with_fallback, HostedRoom};
use crate::mode::HeadlessReason;

/// Hosts the room on Tauri's tokio runtime until Ctrl-C or SIGTERM.
pub fn run(config: Config, reason: HeadlessReason) -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match &reason {
        HeadlessReason::Requested => log::info!("running headless, as asked"),
        HeadlessReason::NoDisplay(detail) => {
            log::warn!("no display could be opened ({detail}); hosting the room without a window")
        }
    }
    hearth_server::limits::raise_open_files_limit();
    tauri::async_runtime::block_on(async move {
        let bound = match bind_with_fallback(config).await {
            Ok(bound) => bound,
            Err(err) => {
                log::error!("{err}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(note) = &bound.note {
            log::warn!("{note}");
        }
        let hosted = HostedRoom::start(bound);
        log::info!("join the room at {}", hosted.url);
        wait_for_stop_signal().await;
        hosted.stop().await;
        ExitCode::SUCCESS
    })
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                log::warn!("cannot listen for SIGTERM: {err}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
