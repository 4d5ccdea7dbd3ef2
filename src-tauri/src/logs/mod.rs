//! The app's logs: where records go (the terminal, a rotating file in the
//! app's log folder, the webview console in debug builds), and the
//! command that opens their folder.

use tauri::plugin::TauriPlugin;
use tauri::Wry;
use tauri_plugin_log::{RotationStrategy, Target, TargetKind};

pub mod commands;

/// Server and warp records to stdout and a rotating file in the app's log
/// folder; in debug builds to the webview console too.
pub fn init() -> TauriPlugin<Wry> {
    let mut targets = vec![
        Target::new(TargetKind::Stdout),
        Target::new(TargetKind::LogDir {
            file_name: Some("hearth".into()),
        }),
    ];
    if cfg!(debug_assertions) {
        targets.push(Target::new(TargetKind::Webview));
    }
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets(targets)
        .level(log::LevelFilter::Info)
        .level_for("hyper", log::LevelFilter::Warn)
        .level_for("tungstenite", log::LevelFilter::Warn)
        .level_for("tokio_tungstenite", log::LevelFilter::Warn)
        // Five files of 5 MB: enough for a day of chat, without growing forever.
        .max_file_size(5 * 1024 * 1024)
        .rotation_strategy(RotationStrategy::KeepSome(5))
        .build()
}
