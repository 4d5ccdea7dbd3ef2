//! The host panel's commands about the room itself.

use std::io::BufWriter;
use std::path::PathBuf;

use hearth_server::{ExportFormat, RoomEdit, RoomStats, RoomView};
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use super::{HostedRoom, RoomInfo};
use crate::error::{Error, Result};

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
pub fn open_data_folder(app: AppHandle, hosted: State<'_, HostedRoom>) -> Result<()> {
    let dir = hosted.room.storage().dir().ok_or(Error::Ephemeral)?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open {
            path: dir.to_owned(),
            source: Box::new(source),
        })
}

/// Asks where to save, then writes the whole conversation there; `None`
/// when the host cancels the dialog.
#[tauri::command]
pub async fn export_conversation(
    app: AppHandle,
    hosted: State<'_, HostedRoom>,
    format: ExportFormat,
) -> Result<Option<ExportedTo>> {
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
        .map_err(|err| Error::SaveHere(err.to_string()))?;
    let file = std::fs::File::create(&path).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    let count = hosted
        .room
        .export(format, false, BufWriter::new(file))
        .await?;
    log::info!("exported {count} messages to {}", path.display());
    Ok(Some(ExportedTo {
        path: path.display().to_string(),
        count,
    }))
}

/// Deletes the whole conversation, for everyone (the window asks first).
#[tauri::command]
pub async fn clear_history(hosted: State<'_, HostedRoom>) -> Result<()> {
    Ok(hosted.room.clear_history().await?)
}

/// Deletes any message, as the host (the window asks first). Only this
/// window can: no WebSocket frame carries the host's power.
#[tauri::command]
pub async fn delete_message(hosted: State<'_, HostedRoom>, id: u64) -> Result<()> {
    hosted.room.delete_as_host(id).await?;
    log::info!("the host deleted message {id}");
    Ok(())
}

/// Every room, and whether everyone may make rooms: the host panel's list.
#[derive(Debug, Clone, Serialize)]
pub struct Rooms {
    /// Every room, General first (no direct conversations).
    pub rooms: Vec<RoomView>,
    /// Whether everyone may make rooms.
    pub anyone_creates_rooms: bool,
}

/// The rooms, as the host panel lists them.
#[tauri::command]
pub fn rooms(hosted: State<'_, HostedRoom>) -> Rooms {
    Rooms {
        rooms: hosted.room.rooms(),
        anyone_creates_rooms: hosted.room.anyone_creates_rooms(),
    }
}

/// Makes a room, as the host; everyone is told.
#[tauri::command]
pub async fn create_room(
    hosted: State<'_, HostedRoom>,
    name: String,
    topic: Option<String>,
) -> Result<RoomView> {
    Ok(hosted.room.create_room(&name, topic.as_deref()).await?)
}

/// Renames, retopics or (un)archives a room.
#[tauri::command]
pub async fn change_room(
    hosted: State<'_, HostedRoom>,
    id: u64,
    edit: RoomEdit,
) -> Result<RoomView> {
    Ok(hosted.room.change_room(id, edit).await?)
}

/// Deletes a room with its messages and files (the window asks first).
#[tauri::command]
pub async fn delete_room(hosted: State<'_, HostedRoom>, id: u64) -> Result<()> {
    Ok(hosted.room.delete_room(id).await?)
}

/// Lets everyone make rooms, or only the host.
#[tauri::command]
pub fn set_anyone_creates_rooms(hosted: State<'_, HostedRoom>, anyone: bool) {
    hosted.room.set_anyone_creates_rooms(anyone);
}
