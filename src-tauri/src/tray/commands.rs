//! The tray's command: its menu as the host sees it.

use tauri::State;

use super::Tray;

/// The tray menu's items as the host sees them (separators as `---`).
#[tauri::command]
pub fn tray_menu(tray: State<'_, Tray>) -> Vec<String> {
    tray.items()
}
