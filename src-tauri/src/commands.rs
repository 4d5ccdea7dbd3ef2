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

impl RoomInfo {
    /// The info for a hosted room.
    pub fn of(hosted: &HostedRoom) -> Self {
        Self {
            url: hosted.url.clone(),
            note: hosted.note.clone(),
        }
    }
}

/// The room's address and any note about it.
#[tauri::command]
pub fn room_info(hosted: State<'_, HostedRoom>) -> RoomInfo {
    RoomInfo::of(&hosted)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{bind_with_fallback, HostedRoom};
    use hearth_server::Config;

    #[tokio::test]
    async fn room_info_reports_the_real_address() {
        let config = Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        let bound = bind_with_fallback(config).await.expect("bind");
        let port = bound.server.local_addr().port();
        let hosted = HostedRoom::start(bound);
        let info = RoomInfo::of(&hosted);
        assert_eq!(info.url, format!("http://127.0.0.1:{port}"));
        assert_eq!(info.note, None);
        assert_eq!(hosted.room.stats(), RoomStats::default());
        assert!(hosted.stop().await.is_ok());
    }
}
