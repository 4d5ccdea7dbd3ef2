//! The commands behind "close the room for N people?" and its setting.

use tauri::{AppHandle, Manager as _};

use super::{Quitting, WhenClosed};
use crate::error::Result;

/// What closing the window does while others are in the room.
#[tauri::command]
pub fn when_closed(app: AppHandle) -> WhenClosed {
    super::when_closed(&app)
}

/// Changes what closing the window does (the host panel's setting).
#[tauri::command]
pub fn set_when_closed(app: AppHandle, when_closed: WhenClosed) -> Result<()> {
    super::remember(&app, when_closed)
}

/// The host's answer to "close the room for N people?": keep hosting with
/// the window hidden, or close the room; remembered if asked to.
#[tauri::command]
pub fn close_choice(app: AppHandle, choice: WhenClosed, remember: bool) -> Result<()> {
    if remember && choice != WhenClosed::Ask {
        super::remember(&app, choice)?;
    }
    match choice {
        WhenClosed::Ask => {}
        WhenClosed::KeepHosting => {
            log::info!("the window is hidden; the room stays open");
            if let Some(window) = app.get_webview_window("main") {
                window.hide()?;
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
