//! The tray icon: the room stays reachable while its window is hidden.

use hearth_server::RoomStats;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_clipboard_manager::ClipboardExt as _;

use crate::closing::Quitting;

pub mod commands;

const OPEN: &str = "open";
const COPY_ADDRESS: &str = "copy-address";
const PEOPLE: &str = "people";
const SHARE: &str = "share";
const QUIT: &str = "quit";

/// The tray's menu, kept to update its people count and to read it back.
#[derive(Clone)]
pub struct Tray {
    menu: Menu<Wry>,
    people: MenuItem<Wry>,
    share: CheckMenuItem<Wry>,
}

impl Tray {
    /// Puts the icon in the tray, with its menu for the room at `address`;
    /// its sharing switch calls `on_share`.
    pub fn install(
        app: &AppHandle,
        address: &str,
        on_share: impl Fn(&AppHandle) + Send + Sync + 'static,
    ) -> tauri::Result<Self> {
        let open = MenuItem::with_id(app, OPEN, "Open Hearth", true, None::<&str>)?;
        let copy = MenuItem::with_id(
            app,
            COPY_ADDRESS,
            format!("Copy room address ({address})"),
            true,
            None::<&str>,
        )?;
        let people = MenuItem::with_id(app, PEOPLE, people_text(0), false, None::<&str>)?;
        let share = CheckMenuItem::with_id(app, SHARE, SHARE_TEXT, true, false, None::<&str>)?;
        let separator = PredefinedMenuItem::separator(app)?;
        let quit = MenuItem::with_id(
            app,
            QUIT,
            "Quit Hearth (closes the room)",
            true,
            None::<&str>,
        )?;
        let menu = Menu::with_items(app, &[&open, &copy, &people, &share, &separator, &quit])?;
        let address = address.to_owned();
        let mut tray = TrayIconBuilder::with_id("main")
            .tooltip("Hearth")
            .menu(&menu)
            .on_menu_event(move |app, event| match event.id().as_ref() {
                OPEN => show_window(app),
                COPY_ADDRESS => {
                    if let Err(err) = app.clipboard().write_text(address.clone()) {
                        log::warn!("cannot copy the room address: {err}");
                    }
                }
                SHARE => on_share(app),
                QUIT => {
                    log::info!("quitting from the tray");
                    app.state::<Quitting>().set();
                    app.exit(0);
                }
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            tray = tray.icon(icon.clone());
        }
        tray.build(app)?;
        Ok(Self {
            menu,
            people,
            share,
        })
    }

    /// Shows whether the room is shared (a click toggles the check mark
    /// before anything happens, so it is always set from the real state).
    pub fn show_sharing(&self, on: bool) {
        if let Err(err) = self.share.set_checked(on) {
            log::debug!("cannot update the tray: {err}");
        }
    }

    /// Shows who is in the room.
    pub fn show(&self, stats: &RoomStats) {
        if let Err(err) = self.people.set_text(people_text(stats.people)) {
            log::debug!("cannot update the tray: {err}");
        }
    }

    /// The menu's items, as the host sees them (separators as `---`).
    pub fn items(&self) -> Vec<String> {
        self.menu
            .items()
            .unwrap_or_default()
            .iter()
            .map(|item| {
                if let Some(item) = item.as_menuitem() {
                    item.text().unwrap_or_default()
                } else if let Some(check) = item.as_check_menuitem() {
                    let mark = if check.is_checked().unwrap_or(false) {
                        "[x]"
                    } else {
                        "[ ]"
                    };
                    format!("{mark} {}", check.text().unwrap_or_default())
                } else {
                    "---".to_owned()
                }
            })
            .collect()
    }
}

/// The tray's sharing switch.
const SHARE_TEXT: &str = "Share on network";

/// "1 person in the room", "3 people in the room".
fn people_text(people: usize) -> String {
    match people {
        1 => "1 person in the room".to_owned(),
        n => format!("{n} people in the room"),
    }
}

/// Brings the window back: shown, restored and focused.
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_count_reads_well() {
        assert_eq!(super::people_text(0), "0 people in the room");
        assert_eq!(super::people_text(1), "1 person in the room");
        assert_eq!(super::people_text(12), "12 people in the room");
    }
}
