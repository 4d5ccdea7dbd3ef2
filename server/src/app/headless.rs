//! Hosting the room without a window: the one entry point that
//! `hearth-server` and `hearth --headless` share.

use std::io::Write as _;
use std::process::ExitCode;

use super::server::{bind_with_fallback, Bound, Server};
use super::shutdown::stop_signal;
use crate::config::Config;
use crate::os::raise_open_files_limit;
use crate::share::ShareStatus;

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
pub async fn host_until_signal(mut config: Config, options: HostOptions) -> ExitCode {
    let stop = stop_signal();
    // Without a window, the host's controls are loopback routes.
    config.host_routes = true;
    let share_on_start = config.share_on_start;
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
    if let Some(token) = server.host_token_path() {
        print_host_controls(token, &url);
    }
    if share_on_start {
        match server.sharing().start().await {
            Ok(status) => print_invite(&status, &url),
            Err(err) => log::error!("the room is not shared: {err}"),
        }
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

/// Tells the host on the terminal how to use the host routes: the token's
/// file (its path only; the secret stays in the file) and a `curl` line.
fn print_host_controls(token: &std::path::Path, url: &str) {
    log::info!(
        "host controls (sharing, the invite, removing people) need the host token in {}: \
         curl -H \"Authorization: Bearer $(cat {})\" {url}/host/share",
        token.display(),
        token.display(),
    );
}

/// Prints the invite once on the terminal (standard error, beside the log
/// lines but not through the logger: log files are no place for a secret).
fn print_invite(status: &ShareStatus, url: &str) {
    let Some(link) = &status.link else {
        return;
    };
    let mut terminal = std::io::stderr().lock();
    // A closed terminal only means nobody is there to read it.
    let _ = writeln!(
        terminal,
        "\n    The room is shared with your network at {addresses}.\n    \
         Anyone on it with this link can join (share it only with people you invite):\n\n        \
         {link}\n\n    The link and its QR code are also at {url}/invite?token=TOKEN (on this computer \
         only; TOKEN is in the host token's file named above).\n    \
         Messages travel unencrypted: share only on networks you trust.\n",
        addresses = status.addresses.join(", "),
    );
}
