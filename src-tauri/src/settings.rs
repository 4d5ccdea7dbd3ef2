//! The host's settings, kept between launches in one file of the app's
//! data folder (the store plugin's).

/// The file that keeps them.
pub const SETTINGS_FILE: &str = "settings.json";
