//! The host panel's commands about sharing the room and the people in it.

use hearth_server::{Person, ShareStatus};
use tauri::{AppHandle, Manager as _, State};

use crate::error::{Error, Result};
use crate::host::HostedRoom;

/// Whether the room is shared with the network, and its invite.
#[tauri::command]
pub fn share_status(hosted: State<'_, HostedRoom>) -> ShareStatus {
    hosted.sharing.status()
}

/// The host's switch: "People on this network can join" (remembered).
#[tauri::command]
pub async fn set_sharing(app: AppHandle, on: bool) -> Result<ShareStatus> {
    super::switch(&app, on, true).await
}

/// A new invite link: the old one stops working; with `remove_everyone`,
/// the people on the network are closed too.
#[tauri::command]
pub fn new_invite_link(app: AppHandle, remove_everyone: bool) -> ShareStatus {
    let status = app.state::<HostedRoom>().sharing.renew(remove_everyone);
    super::changed(&app);
    status
}

/// Who is in the room and where each connects from.
#[tauri::command]
pub fn people(hosted: State<'_, HostedRoom>) -> Vec<Person> {
    hosted.sharing.people()
}

/// Removes someone from the room (1008); their invite stops working.
#[tauri::command]
pub fn remove_person(hosted: State<'_, HostedRoom>, id: usize) -> Result<()> {
    if hosted.sharing.remove(id) {
        Ok(())
    } else {
        Err(Error::AlreadyLeft)
    }
}
