//! Commands the chat window may invoke (only the desktop app has them).

use std::io::BufWriter;
use std::path::PathBuf;

use hearth_server::{ExportFormat, Person, RoomStats, ShareStatus};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::closing::{self, Quitting, WhenClosed};
use crate::host::HostedRoom;
use crate::sharing;
use crate::tray::Tray;

/// Where the room is, for the host panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    /// The address browsers open.
    pub url: String,
    /// Why it is not the usual address, if it is not.
    pub note: Option<String>,
    /// Where the conversation is kept; `None` for an ephemeral room.
    pub data_dir: Option<String>,
}

/// Where an export went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedTo {
    /// The file written.
    pub path: String,
    /// How many messages it holds.
    pub count: u64,
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

/// Opens the folder that keeps the conversation in the file manager.
#[tauri::command]
pub fn open_data_folder(app: AppHandle, hosted: State<'_, HostedRoom>) -> Result<(), String> {
    let dir = hosted
        .room
        .storage()
        .dir()
        .ok_or("this room is ephemeral: nothing is kept on disk")?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|err| format!("cannot open {}: {err}", dir.display()))
}

/// Asks where to save, then writes the whole conversation there; `None`
/// when the host cancels the dialog.
#[tauri::command]
pub async fn export_conversation(
    app: AppHandle,
    hosted: State<'_, HostedRoom>,
    format: ExportFormat,
) -> Result<Option<ExportedTo>, String> {
    let (kind, extension) = match format {
        ExportFormat::Markdown => ("Markdown", "md"),
        ExportFormat::Json => ("JSON", "json"),
    };
    let (chosen, choice) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export conversation")
        .set_file_name(format!("hearth-conversation.{extension}"))
        .add_filter(kind, &[extension])
        .save_file(move |path| {
            let _ = chosen.send(path);
        });
    let Some(path) = choice.await.ok().flatten() else {
        return Ok(None);
    };
    let path: PathBuf = path
        .into_path()
        .map_err(|err| format!("cannot save there: {err}"))?;
    let file = std::fs::File::create(&path)
        .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    let count = hosted
        .room
        .export(format, BufWriter::new(file))
        .await
        .map_err(|err| err.to_string())?;
    log::info!("exported {count} messages to {}", path.display());
    Ok(Some(ExportedTo {
        path: path.display().to_string(),
        count,
    }))
}

/// Deletes the whole conversation, for everyone (the window asks first).
#[tauri::command]
pub async fn clear_history(hosted: State<'_, HostedRoom>) -> Result<(), String> {
    hosted
        .room
        .clear_history()
        .await
        .map_err(|err| err.to_string())
}

/// Deletes any message, as the host (the window asks first). Only this
/// window can: no WebSocket frame carries the host's power.
#[tauri::command]
pub async fn delete_message(hosted: State<'_, HostedRoom>, id: u64) -> Result<(), String> {
    hosted
        .room
        .delete_as_host(id)
        .await
        .map_err(|err| err.to_string())?;
    log::info!("the host deleted message {id}");
    Ok(())
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

/// What closing the window does while others are in the room.
#[tauri::command]
pub fn when_closed(app: AppHandle) -> WhenClosed {
    closing::when_closed(&app)
}

/// Changes what closing the window does (the host panel's setting).
#[tauri::command]
pub fn set_when_closed(app: AppHandle, when_closed: WhenClosed) -> Result<(), String> {
    closing::remember(&app, when_closed)
}

/// The host's answer to "close the room for N people?": keep hosting with
/// the window hidden, or close the room; remembered if asked to.
#[tauri::command]
pub fn close_choice(app: AppHandle, choice: WhenClosed, remember: bool) -> Result<(), String> {
    if remember && choice != WhenClosed::Ask {
        closing::remember(&app, choice)?;
    }
    match choice {
        WhenClosed::Ask => {}
        WhenClosed::KeepHosting => {
            log::info!("the window is hidden; the room stays open");
            if let Some(window) = app.get_webview_window("main") {
                window.hide().map_err(|err| err.to_string())?;
            }
        }
        WhenClosed::CloseRoom => {
            log::info!("the host closes the room");
            app.state::<Quitting>().set();
            app.exit(0);
        }
    }
    Ok(())
}

/// Whether the room is shared with the network, and its invite.
#[tauri::command]
pub fn share_status(hosted: State<'_, HostedRoom>) -> ShareStatus {
    hosted.sharing.status()
}

/// The host's switch: "People on this network can join" (remembered).
#[tauri::command]
pub async fn set_sharing(app: AppHandle, on: bool) -> Result<ShareStatus, String> {
    sharing::switch(&app, on, true).await
}

/// A new invite link: the old one stops working; with `remove_everyone`,
/// the people on the network are closed too.
#[tauri::command]
pub fn new_invite_link(app: AppHandle, remove_everyone: bool) -> ShareStatus {
    let status = app.state::<HostedRoom>().sharing.renew(remove_everyone);
    sharing::changed(&app);
    status
}

/// Who is in the room and where each connects from.
#[tauri::command]
pub fn people(hosted: State<'_, HostedRoom>) -> Vec<Person> {
    hosted.sharing.people()
}

/// Removes someone from the room (1008); their invite stops working.
#[tauri::command]
pub fn remove_person(hosted: State<'_, HostedRoom>, id: usize) -> Result<(), String> {
    if hosted.sharing.remove(id) {
        Ok(())
    } else {
        Err("that person has already left".to_owned())
    }
}

/// The tray menu's items as the host sees them (separators as `---`).
#[tauri::command]
pub fn tray_menu(tray: State<'_, Tray>) -> Vec<String> {
    tray.items()
}
