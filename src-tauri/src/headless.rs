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
        hearth_server::stop_signal().await;
        match hosted.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                log::error!("{err}");
                ExitCode::FAILURE
            }
        }
    })
}
