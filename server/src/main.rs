//! `hearth-server`: the Hearth room without a window.

use std::process::ExitCode;

use clap::Parser;
use hearth_server::{Config, HostOptions, ServerArgs};

/// Host a Hearth chat room without the desktop window.
///
/// Open the printed address in any browser on this machine to join.
#[derive(Debug, Parser)]
#[command(name = "hearth-server", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    hearth_server::count_panics();
    hearth_server::release_memory_eagerly();
    let options = HostOptions {
        port_fallback: false,
        print_address: cli.server.print_address,
    };
    hearth_server::host_until_signal(Config::from(cli.server), options).await
}
