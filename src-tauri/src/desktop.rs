//! The desktop app put together: the hosted room, the chat window, and
//! each concern (logs, closing, sharing, the tray) through its front door,
//! and a graceful quit.

use std::process::ExitCode;

use hearth_server::{bind_with_fallback, BindError, Config, StorageError};
use tauri::utils::config::Csp;
use tauri::{Emitter, Manager, RunEvent, Wry};
use tauri_plugin_window_state::StateFlags;

use crate::closing::{self, Quitting};
use crate::host::{self, HostedRoom, StopError};
use crate::tray::{self, Tray};
use crate::{logs, sharing};

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
    let share_on_start = config.share_on_start;
    let bound = match tauri::async_runtime::block_on(bind_with_fallback(config)) {
        Ok(bound) => bound,
        Err(err) => {
            not_bound(&err, context);
            return ExitCode::FAILURE;
        }
    };
    let port = bound.server.local_addr().port();
    let hosted = HostedRoom::start(bound);
    if print_address {
        hearth_server::print_address(&hosted.info.url);
    }
    context.config_mut().app.security.csp = Some(Csp::Policy(window_policy(port)));
    let app = builder(hosted)
        .setup(move |app| setup(app, share_on_start))
        .build(context);
    let Ok(app) = app.map_err(|err| eprintln!("hearth: cannot start the window: {err}")) else {
        return ExitCode::FAILURE;
    };
    app.run(|handle, event| {
        if let RunEvent::ExitRequested { api, .. } = event {
            close_room_then_exit(handle, &api);
        }
    });
    ExitCode::SUCCESS
}

/// Says why the room could not be hosted. The room is bound first: the
/// window's content security policy names its exact address, and the UI
/// asks for it as soon as it loads. Binding opens the conversation before
/// it tries a port, so a second launch learns that Hearth already has it
/// open (`Locked`), whatever address either asked for, and hands over to it
/// before anything else.
fn not_bound(err: &BindError, context: tauri::Context) {
    if matches!(err, BindError::Storage(StorageError::Locked { .. })) {
        // Most likely Hearth is already open on this conversation: bring
        // its window forward (this process then exits 0).
        show_running_instance(context);
    }
    eprintln!("hearth: {err}");
}

/// The page's own policy, whose connections are the IPC bridge and the
/// exact address of the room this window hosts (its WebSocket, its uploads
/// and the pictures people send).
fn window_policy(port: u16) -> String {
    let room = format!("ws://127.0.0.1:{port}");
    let files = format!("http://127.0.0.1:{port}");
    hearth_server::content_security_policy(
        &["'self'", "ipc:", "http://ipc.localhost", &room, &files],
        &[&files],
    )
}

/// The app: its plugins, its state, its window's behaviour and commands.
fn builder(hosted: HostedRoom) -> tauri::Builder<Wry> {
    tauri::Builder::default()
        // First, so a second launch is caught before it does anything else.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            log::info!("Hearth was launched again; showing the existing window");
            tray::show_window(app);
        }))
        .plugin(logs::init())
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
        .on_window_event(closing::on_window_event)
        .invoke_handler(tauri::generate_handler![
            host::commands::room_info,
            host::commands::room_stats,
            logs::commands::open_logs_folder,
            host::commands::open_data_folder,
            host::commands::export_conversation,
            host::commands::clear_history,
            host::commands::delete_message,
            host::commands::rooms,
            host::commands::create_room,
            host::commands::change_room,
            host::commands::delete_room,
            host::commands::set_anyone_creates_rooms,
            closing::commands::when_closed,
            closing::commands::set_when_closed,
            closing::commands::close_choice,
            tray::commands::tray_menu,
            sharing::commands::share_status,
            sharing::commands::set_sharing,
            sharing::commands::new_invite_link,
            sharing::commands::people,
            sharing::commands::remove_person
        ])
}

/// Once the window exists: the tray, the stats it and the window show,
/// sharing as the host left it, and quitting on a signal.
fn setup(app: &mut tauri::App, share_on_start: bool) -> Result<(), Box<dyn std::error::Error>> {
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
    let tray = Tray::install(app.handle(), &hosted.info.url, sharing::toggle)?;
    forward_stats(app.handle().clone(), &hosted, tray);
    sharing::init(app.handle(), share_on_start);
    quit_on_signal(app.handle().clone());
    Ok(())
}

/// Keeps the app running until every browser has been told the room
/// closed, then exits.
fn close_room_then_exit(handle: &tauri::AppHandle, api: &tauri::ExitRequestApi) {
    if handle.state::<HostedRoom>().is_stopped() {
        return;
    }
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

/// Hands over to a running Hearth, as a second launch does: the
/// single-instance plugin asks it to show its window and ends this process.
/// Returns only if no Hearth answers.
fn show_running_instance(context: tauri::Context) {
    let _ = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|_, _, _| {}))
        .build(context);
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
