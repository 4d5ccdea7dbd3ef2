//! What a Tauri command can fail with: one error type, sent to the window
//! as its message (the host panel shows it as it is).

use std::path::PathBuf;

use serde::{Serialize, Serializer};

/// Why a command of the window failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The room keeps nothing on disk.
    #[error("this room is ephemeral: nothing is kept on disk")]
    Ephemeral,
    /// The file manager could not open a folder.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The folder.
        path: PathBuf,
        /// What the opener said.
        source: Box<tauri_plugin_opener::Error>,
    },
    /// The save dialog's choice is not a place to write.
    #[error("cannot save there: {0}")]
    SaveHere(String),
    /// A file or folder could not be made.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The logs folder has no place on this system.
    #[error("cannot find the logs folder: {0}")]
    NoLogsFolder(Box<tauri::Error>),
    /// The settings could not be read or kept.
    #[error("cannot {action} the settings: {source}")]
    Settings {
        /// "open" or "save".
        action: &'static str,
        /// What the store said.
        source: Box<tauri_plugin_store::Error>,
    },
    /// The conversation could not be written out.
    #[error(transparent)]
    Export(#[from] hearth_server::ExportError),
    /// The room's storage failed.
    #[error(transparent)]
    Storage(#[from] hearth_server::StorageError),
    /// The room refused (a message already gone, the store unavailable).
    #[error(transparent)]
    Refused(#[from] hearth_server::Refused),
    /// Sharing could not start.
    #[error(transparent)]
    Share(#[from] hearth_server::ShareError),
    /// The person is no longer in the room.
    #[error("that person has already left")]
    AlreadyLeft,
    /// The window could not do what was asked.
    #[error(transparent)]
    Window(Box<tauri::Error>),
}

// Tauri's errors are large; boxed, every command's `Result` stays small.
impl From<tauri::Error> for Error {
    fn from(err: tauri::Error) -> Self {
        Error::Window(Box::new(err))
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// What a command returns.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_gets_the_message() {
        let json = serde_json::to_string(&Error::AlreadyLeft).expect("serializes");
        assert_eq!(json, "\"that person has already left\"");
    }
}
