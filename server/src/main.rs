//! `hearth-server`: the Hearth room without a window.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hearth_server::{Config, ExportFormat, HostOptions, ServerArgs};

/// Host a Hearth chat room without the desktop window.
///
/// Open the printed address in any browser on this machine to join. The
/// conversation is kept in the data directory; `hearth-server export`
/// writes it out.
#[derive(Debug, Parser)]
#[command(
    name = "hearth-server",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Host the room (what `hearth-server` alone does).
    Serve(Box<ServerArgs>),
    /// Print the kept conversation to standard output.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The data directory to read. Default: the platform's data directory.
    #[arg(long, env = "HEARTH_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Markdown to read, JSON for programs.
    #[arg(long, value_enum, default_value_t = ExportFormat::Markdown)]
    format: ExportFormat,
    /// Include direct conversations (left out unless asked for: they are
    /// between two people, not the room's).
    #[arg(long)]
    include_direct: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    hearth_server::count_panics();
    let server = match cli.command {
        Some(Command::Export(args)) => return export(args),
        Some(Command::Serve(server)) => *server,
        None => cli.server,
    };
    hearth_server::release_memory_eagerly();
    let options = HostOptions {
        port_fallback: false,
        print_address: server.print_address,
    };
    hearth_server::host_until_signal(Config::from(server), options).await
}

fn export(args: ExportArgs) -> ExitCode {
    let Some(dir) = args.data_dir.or_else(hearth_server::platform_data_dir) else {
        log::error!("no data directory on this system: pass --data-dir");
        return ExitCode::FAILURE;
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match hearth_server::export(&dir, args.format, args.include_direct, &mut out) {
        Ok(count) => {
            let _ = out.flush();
            log::info!("exported {count} messages from {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            log::error!("{err}");
            ExitCode::FAILURE
        }
    }
}
