//! What closing the window does. The window is not the room: while other
//! people are in it, closing the window by reflex must not end the chat for
//! all of them, so the host is asked (or their remembered answer is used).
//! Quitting from the tray, logging out and SIGTERM never ask.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};
use tauri_plugin_store::StoreExt as _;

use crate::error::{Error, Result};
use crate::host::HostedRoom;
use crate::settings::SETTINGS_FILE;

pub mod commands;

/// The key of [`WhenClosed`] in it.
const WHEN_CLOSED_KEY: &str = "when_closed";

/// What the host wants closing the window to do while others are in the
/// room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenClosed {
    /// Ask each time.
    #[default]
    Ask,
    /// Hide the window; the room and the tray stay.
    KeepHosting,
    /// Close the room for everyone.
    CloseRoom,
}

/// What to do about one request to close the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// Let the window close, which quits Hearth and closes the room (1001).
    Quit,
    /// Hide the window and keep hosting.
    Hide,
    /// Ask the host, telling them how many others are connected.
    Ask {
        /// Connections other than the window's own.
        others: usize,
    },
}

/// The decision: quitting never asks, nobody else connected means nobody
/// to keep the room for, and otherwise the host's setting.
pub fn decide(quitting: bool, others: usize, when_closed: WhenClosed) -> CloseAction {
    if quitting || others == 0 {
        return CloseAction::Quit;
    }
    match when_closed {
        WhenClosed::Ask => CloseAction::Ask { others },
        WhenClosed::KeepHosting => CloseAction::Hide,
        WhenClosed::CloseRoom => CloseAction::Quit,
    }
}

/// Set once Hearth is quitting on purpose (tray, signal), so the window's
/// closing does not ask.
#[derive(Debug, Default)]
pub struct Quitting(AtomicBool);

impl Quitting {
    /// Marks Hearth as quitting.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether Hearth is quitting.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a request to close the window does: see [`decide`].
pub fn on_window_event(window: &tauri::Window, event: &tauri::WindowEvent) {
    let tauri::WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let others = app
        .state::<HostedRoom>()
        .room
        .stats()
        .connections
        .saturating_sub(1);
    let quitting = app.state::<Quitting>().is_set();
    match decide(quitting, others, when_closed(app)) {
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

/// The host's remembered setting; [`WhenClosed::Ask`] until they choose.
pub fn when_closed<R: Runtime>(app: &AppHandle<R>) -> WhenClosed {
    app.store(SETTINGS_FILE)
        .ok()
        .and_then(|store| store.get(WHEN_CLOSED_KEY))
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default()
}

/// Remembers the host's setting.
pub fn remember<R: Runtime>(app: &AppHandle<R>, when_closed: WhenClosed) -> Result<()> {
    let store = app.store(SETTINGS_FILE).map_err(|source| Error::Settings {
        action: "open",
        source: Box::new(source),
    })?;
    // A unit variant always serializes.
    store.set(WHEN_CLOSED_KEY, serde_json::json!(when_closed));
    store.save().map_err(|source| Error::Settings {
        action: "save",
        source: Box::new(source),
    })?;
    log::info!("closing the window will now: {when_closed:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_or_quitting_closes_at_once() {
        for when in [
            WhenClosed::Ask,
            WhenClosed::KeepHosting,
            WhenClosed::CloseRoom,
        ] {
            assert_eq!(decide(false, 0, when), CloseAction::Quit, "{when:?}");
            assert_eq!(decide(true, 5, when), CloseAction::Quit, "{when:?}");
        }
    }

    #[test]
    fn with_others_connected_the_setting_decides() {
        assert_eq!(
            decide(false, 3, WhenClosed::Ask),
            CloseAction::Ask { others: 3 }
        );
        assert_eq!(decide(false, 1, WhenClosed::KeepHosting), CloseAction::Hide);
        assert_eq!(decide(false, 1, WhenClosed::CloseRoom), CloseAction::Quit);
    }

    #[test]
    fn the_setting_reads_as_the_page_writes_it() {
        assert_eq!(
            serde_json::from_str::<WhenClosed>("\"keep_hosting\"").ok(),
            Some(WhenClosed::KeepHosting)
        );
        assert_eq!(
            serde_json::to_string(&WhenClosed::CloseRoom)
                .ok()
                .as_deref(),
            Some("\"close_room\"")
        );
    }
}
