//! `hearth-server`: the Hearth room without a window.

use std::process::ExitCode;

use clap::Parser;
use hearth_server::{Config, Server, ServerArgs};

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
    hearth_server::limits::raise_open_files_limit();
    hearth_server::limits::release_memory_eagerly();
    let print_address = cli.server.print_address;
    let server = match Server::bind(Config::from(cli.server)).await {
        Ok(server) => server,
        Err(err) => {
            log::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if print_address {
        announce(&server.url());
    }
    server.run(hearth_server::stop_signal()).await;
    ExitCode::SUCCESS
}

/// Prints the room's address for `--print-address`: the binary's one line of
/// standard output, read by scripts and tests.
fn announce(url: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    // A closed stdout only means nobody is listening for the address.
    let _ = writeln!(stdout, "{url}").and_then(|()| stdout.flush());
}
