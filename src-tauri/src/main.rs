//! `hearth`: the desktop app. Hosts the room in-process on Tauri's tokio
//! runtime and shows it in a window; without a display (or with
//! `--headless`) it hosts the room alone.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod closing;
mod desktop;
mod error;
mod host;
mod logs;
mod mode;
mod settings;
mod sharing;
mod tray;
mod webview;

use std::process::ExitCode;

use clap::Parser;
use hearth_server::{HostOptions, ServerArgs};

/// Host a Hearth chat room on this machine and chat in a window.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, about, long_about)]
struct Cli {
    /// Host the room without opening a window (also chosen when no display is available).
    #[arg(long, env = "HEARTH_HEADLESS")]
    headless: bool,

    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hearth_server::count_panics();
    hearth_server::release_memory_eagerly();
    let print_address = cli.server.print_address;
    // The window and `--headless` keep the same conversation.
    let storage = cli.server.storage(desktop::app_data_dir());
    let config = cli.server.into_config(storage);
    match mode::choose(cli.headless, mode::open_display) {
        mode::Mode::Window => desktop::run(config, print_address),
        mode::Mode::Headless(reason) => {
            env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
                .init();
            reason.log();
            let options = HostOptions {
                port_fallback: true,
                print_address,
            };
            tauri::async_runtime::block_on(hearth_server::host_until_signal(config, options))
        }
    }
}
