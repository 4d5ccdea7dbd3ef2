//! The command that shows the host where the logs are.

use tauri::{AppHandle, Manager as _};
use tauri_plugin_opener::OpenerExt;

use crate::error::{Error, Result};

/// Opens the folder with the app's log files in the file manager.
#[tauri::command]
pub fn open_logs_folder(app: AppHandle) -> Result<()> {
    let dir = app
        .path()
        .app_log_dir()
        .map_err(|err| Error::NoLogsFolder(Box::new(err)))?;
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open {
            path: dir,
            source: Box::new(source),
        })
}
