//! The host's switch for sharing the room with the network: remembered
//! between launches, mirrored in the tray, and told to the window.

use hearth_server::ShareStatus;
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};
use tauri_plugin_store::StoreExt as _;

use crate::error::Result;
use crate::host::HostedRoom;
use crate::settings::SETTINGS_FILE;
use crate::tray::Tray;

pub mod commands;

/// The key, in the settings file, of whether the room is shared.
const SHARE_KEY: &str = "share_on_network";

/// Whether the host left the room shared last time.
pub fn remembered<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.store(SETTINGS_FILE)
        .ok()
        .and_then(|store| store.get(SHARE_KEY))
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

fn remember<R: Runtime>(app: &AppHandle<R>, on: bool) {
    let saved = app.store(SETTINGS_FILE).and_then(|store| {
        store.set(SHARE_KEY, on);
        store.save()
    });
    if let Err(err) = saved {
        log::warn!("cannot remember the sharing setting: {err}");
    }
}

/// Turns sharing on or off, as the host asked (and remembers it when
/// `remember_choice`); then tells the tray and the window. An error says
/// why sharing could not start.
pub async fn switch(app: &AppHandle, on: bool, remember_choice: bool) -> Result<ShareStatus> {
    let sharing = app.state::<HostedRoom>().sharing.clone();
    let outcome = if on {
        sharing.start().await.map_err(Into::into)
    } else {
        Ok(sharing.stop().await)
    };
    if remember_choice && outcome.is_ok() {
        remember(app, on);
    }
    changed(app);
    outcome
}

/// Tells the tray and the window what sharing is now.
pub fn changed(app: &AppHandle) {
    let status = app.state::<HostedRoom>().sharing.status();
    if let Some(tray) = app.try_state::<Tray>() {
        tray.show_sharing(status.on);
    }
    if let Err(err) = app.emit("share-changed", &status) {
        log::debug!("cannot tell the window about sharing: {err}");
    }
}

/// Flips sharing, as the tray's switch does.
pub fn toggle(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let on = !app.state::<HostedRoom>().sharing.is_on();
        if let Err(err) = switch(&app, on, true).await {
            log::warn!("cannot share the room: {err}");
        }
    });
}

/// Shares the room at launch if the host left it shared (or `--share` asks).
pub fn init(app: &AppHandle, asked: bool) {
    if !asked && !remembered(app) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(err) = switch(&app, true, false).await {
            log::warn!("the room is not shared: {err}");
        }
    });
}
