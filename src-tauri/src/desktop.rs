//! The desktop app: the hosted room, the chat window, logging, and a
//! graceful quit.

use std::process::ExitCode;

use hearth_server::{bind_with_fallback, BindError, Config, StorageError};
use tauri::utils::config::Csp;
use tauri::{Emitter, Manager, RunEvent, WindowEvent};
use tauri_plugin_log::{RotationStrategy, Target, TargetKind};
use tauri_plugin_window_state::StateFlags;

use crate::closing::{self, CloseAction, Quitting};
use crate::commands;
use crate::host::{HostedRoom, StopError};
use crate::sharing;
use crate::tray::{self, Tray};

/// The app's identifier in `tauri.conf.json`, which names its data folder.
const APP_IDENTIFIER: &str = "app.hearth.desktop";

/// Where the app keeps the conversation unless told otherwise: its data
/// folder, as Tauri names it (`~/.local/share/app.hearth.desktop` on Linux).
pub fn app_data_dir() -> Option<std::path::PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.data_dir().join(APP_IDENTIFIER))
}

/// Builds and runs the app until the window is closed or the app is quit.
pub fn run(mut config: Config, print_address: bool) -> ExitCode {
    hearth_server::raise_open_files_limit();
    // The window's own page talks to the room from the webview's origin;
    // only this process has that webview, so only it allows the origin.
    config
        .allowed_origins
        .push(hearth_server::DESKTOP_WEBVIEW_ORIGIN.to_owned());
    let mut context = tauri::generate_context!();
    // Bind first: the window's content security policy names the room's
    // exact address, and the UI asks for it as soon as it loads. Binding
    // opens the conversation before it tries a port, so a second launch
    // learns that Hearth already has it open (`Locked`), whatever address
    // either asked for, and hands over to it before anything else.
    let config_share_on_start = config.share_on_start;
    let bound = match tauri::async_runtime::block_on(bind_with_fallback(config)) {
        Ok(bound) => bound,
        Err(err) => {
            if matches!(err, BindError::Storage(StorageError::Locked { .. })) {
                // Most likely Hearth is already open on this conversation:
                // bring its window forward (this process then exits 0).
                show_running_instance(context);
            }
            eprintln!("hearth: {err}");
            return ExitCode::FAILURE;
        }
    };
    let port = bound.server.local_addr().port();
    let share_on_start = config_share_on_start;
    let hosted = HostedRoom::start(bound);
    if print_address {
        hearth_server::print_address(&hosted.info.url);
    }

    // The page's own policy, whose connections are the IPC bridge and the
    // exact address of the room this window hosts (its WebSocket, its
    // uploads and the pictures people send).
    let room = format!("ws://127.0.0.1:{port}");
    let files = format!("http://127.0.0.1:{port}");
    let csp = hearth_server::content_security_policy(
        &["'self'", "ipc:", "http://ipc.localhost", &room, &files],
        &[&files],
    );
    context.config_mut().app.security.csp = Some(Csp::Policy(csp));

    let app = tauri::Builder::default()
        // First, so a second launch is caught before it does anything else.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            log::info!("Hearth was launched again; showing the existing window");
            tray::show_window(app);
        }))
        .plugin(logging().build())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_store::Builder::new().build())
        // Size and place, not visibility: a window hidden to the tray when
        // Hearth quit still opens on the next launch.
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .manage(hosted)
        .manage(Quitting::default())
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                let others = app
                    .state::<HostedRoom>()
                    .room
                    .stats()
                    .connections
                    .saturating_sub(1);
                let quitting = app.state::<Quitting>().is_set();
                match closing::decide(quitting, others, closing::when_closed(app)) {
                    CloseAction::Quit => {}
                    CloseAction::Hide => {
                        api.prevent_close();
                        log::info!("window hidden; still hosting {others} connections");
                        let _ = window.hide();
                    }
                    CloseAction::Ask { others } => {
                        api.prevent_close();
                        if let Err(err) = window.emit("close-requested", others) {
                            log::warn!("cannot ask the host what to do: {err}");
                        }
                    }
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::room_info,
            commands::room_stats,
            commands::open_logs_folder,
            commands::open_data_folder,
            commands::export_conversation,
            commands::clear_history,
            commands::delete_message,
            commands::when_closed,
            commands::set_when_closed,
            commands::close_choice,
            commands::tray_menu,
            commands::share_status,
            commands::set_sharing,
            commands::new_invite_link,
            commands::people,
            commands::remove_person
        ])
        .setup(move |app| {
            let hosted = app.state::<HostedRoom>();
            log::info!(
                "Hearth {} hosting the room at {}",
                env!("CARGO_PKG_VERSION"),
                hosted.info.url
            );
            if let Some(note) = &hosted.info.note {
                log::warn!("{note}");
            }
            if let Some(window) = app.get_webview_window("main") {
                crate::webview::lighten(&window);
            }
            let tray = Tray::install(app.handle(), &hosted.info.url)?;
            forward_stats(app.handle().clone(), &hosted, tray);
            sharing::restore(app.handle(), share_on_start);
            quit_on_signal(app.handle().clone());
            Ok(())
        })
        .build(context);
    let Ok(app) = app.map_err(|err| eprintln!("hearth: cannot start the window: {err}")) else {
        return ExitCode::FAILURE;
    };
    app.run(|handle, event| {
        if let RunEvent::ExitRequested { api, .. } = event {
            if handle.state::<HostedRoom>().is_stopped() {
                return;
            }
            // Keep running until every browser has been told the room closed.
            api.prevent_exit();
            let handle = handle.clone();
            tauri::async_runtime::spawn(async move {
                let status = match handle.state::<HostedRoom>().stop().await {
                    Ok(()) => 0,
                    // The first exit request is already closing the room.
                    Err(StopError::AlreadyStopping) => return,
                    Err(err) => {
                        log::warn!("{err}; quitting anyway");
                        1
                    }
                };
                log::info!("goodbye");
                handle.exit(status);
            });
        }
    });
    ExitCode::SUCCESS
}

/// Hands over to a running Hearth, as a second launch does: the
/// single-instance plugin asks it to show its window and ends this process.
/// Returns only if no Hearth answers.
fn show_running_instance(context: tauri::Context) {
    let _ = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|_, _, _| {}))
        .build(context);
}

/// Server and warp records to stdout and a rotating file in the app's log
/// folder; in debug builds to the webview console too.
fn logging() -> tauri_plugin_log::Builder {
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
}

/// Pushes every change of the room's stats to the window as `room-stats`,
/// and to the tray.
fn forward_stats(app: tauri::AppHandle, hosted: &HostedRoom, tray: Tray) {
    let mut stats = hosted.room.subscribe();
    tray.show(&stats.borrow());
    app.manage(tray.clone());
    tauri::async_runtime::spawn(async move {
        while stats.changed().await.is_ok() {
            let snapshot = stats.borrow_and_update().clone();
            tray.show(&snapshot);
            if let Err(err) = app.emit("room-stats", snapshot) {
                log::debug!("cannot send room stats to the window: {err}");
            }
        }
    });
}

/// Ctrl-C or SIGTERM (logout, `kill`) quits like quitting from the tray:
/// without asking.
fn quit_on_signal(app: tauri::AppHandle) {
    tauri::async_runtime::spawn(async move {
        hearth_server::stop_signal().await;
        app.state::<Quitting>().set();
        app.exit(0);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_data_folder_is_named_by_the_configured_identifier() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).expect("config JSON");
        assert_eq!(config["identifier"], super::APP_IDENTIFIER);
    }

    /// Each permission, and why the window needs it: nothing the page does
    /// not call.
    #[test]
    fn the_capability_grants_exactly_what_the_window_calls() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json"))
                .expect("capability JSON");
        let granted: Vec<String> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .map(|p| match p {
                serde_json::Value::String(id) => id.clone(),
                other => other["identifier"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        let used = [
            "core:event:allow-listen",                  // room-stats in the host panel
            "core:event:allow-unlisten",                // …and its clean-up
            "core:window:allow-set-title",              // unread count in the title
            "notification:allow-is-permission-granted", // before notifying
            "notification:allow-request-permission",    // the first time
            "notification:allow-notify",                // a message while in the background
            "opener:allow-open-url",                    // "Open in browser"
        ];
        assert_eq!(granted, used);
    }
}
