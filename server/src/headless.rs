//! Hosting the room without a window: the one entry point that
//! `hearth-server` and `hearth --headless` share.

use std::io::Write as _;
use std::process::ExitCode;

use crate::config::Config;
use crate::limits::raise_open_files_limit;
use crate::server::{bind_with_fallback, Bound, Server};
use crate::shutdown::stop_signal;

/// How a binary hosts the room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostOptions {
    /// When the port is taken, use the next free one (and say so) instead of
    /// failing: the desktop app's choice, so a double-click always hosts.
    pub port_fallback: bool,
    /// Print the room's address on standard output once listening.
    pub print_address: bool,
}

/// Binds, announces and serves the room until Ctrl-C or SIGTERM, then closes
/// it gracefully. Errors are logged; the exit code says whether it started.
pub async fn host_until_signal(config: Config, options: HostOptions) -> ExitCode {
    let stop = stop_signal();
    raise_open_files_limit();
    let bound = if options.port_fallback {
        bind_with_fallback(config).await
    } else {
        Server::bind(config)
            .await
            .map(|server| Bound { server, note: None })
    };
    let Bound { server, note } = match bound {
        Ok(bound) => bound,
        Err(err) => {
            log::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(note) = &note {
        log::warn!("{note}");
    }
    let url = server.url();
    log::info!("join the room at {url}");
    if options.print_address {
        print_address(&url);
    }
    server.run(stop).await;
    ExitCode::SUCCESS
}

/// Prints the room's address alone on one line of standard output, as
/// `--print-address` promises: the stable interface scripts and tests read
/// (the log lines on standard error are for people).
pub fn print_address(url: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout only means nobody is listening for the address.
    let _ = writeln!(stdout, "{url}").and_then(|()| stdout.flush());
}
