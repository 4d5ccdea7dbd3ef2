//! Commands the chat window may invoke (only the desktop app has them).

use hearth_server::RoomStats;
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_opener::OpenerExt;

use crate::host::HostedRoom;

/// Where the room is, for the host panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    /// The address browsers open.
    pub url: String,
    /// Why it is not the usual address, if it is not.
    pub note: Option<String>,
}

/// The room's address and any note about it.
#[tauri::command]
pub fn room_info(hosted: State<'_, HostedRoom>) -> RoomInfo {
    hosted.info.clone()
}

/// Who is connected right now.
#[tauri::command]
pub fn room_stats(hosted: State<'_, HostedRoom>) -> RoomStats {
    hosted.room.stats()
}

/// Opens the folder with the app's log files in the file manager.
#[tauri::command]
pub fn open_logs_folder(app: AppHandle) -> Result<(), String> {
    let dir = app
        .path()
        .app_log_dir()
        .map_err(|err| format!("cannot find the logs folder: {err}"))?;
    std::fs::create_dir_all(&dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|err| format!("cannot open {}: {err}", dir.display()))
}
