//! Window or headless: decided before Tauri starts, because Tauri panics when
//! it cannot open a display.

/// How the app runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The room plus the chat window.
    Window,
    /// The room alone, for this reason.
    Headless(HeadlessReason),
}

/// Why there is no window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadlessReason {
    /// `--headless` or `HEARTH_HEADLESS` asked for it.
    Requested,
    /// No display could be opened; the detail says what the toolkit reported.
    NoDisplay(String),
}

impl HeadlessReason {
    /// Says in the log why there is no window.
    pub fn log(&self) {
        match self {
            HeadlessReason::Requested => log::info!("running headless, as asked"),
            HeadlessReason::NoDisplay(detail) => log::warn!(
                "no display could be opened ({detail}); hosting the room without a window"
            ),
        }
    }
}

/// Picks the mode: headless when asked, otherwise a window if a display opens.
pub fn choose(headless_flag: bool, open_display: impl FnOnce() -> Result<(), String>) -> Mode {
    if headless_flag {
        return Mode::Headless(HeadlessReason::Requested);
    }
    match open_display() {
        Ok(()) => Mode::Window,
        Err(detail) => Mode::Headless(HeadlessReason::NoDisplay(detail)),
    }
}

/// Initializes GTK on this (the main) thread, the same check Tauri would
/// otherwise fail with a panic; a later init by Tauri on this thread is a no-op.
#[cfg(target_os = "linux")]
pub fn open_display() -> Result<(), String> {
    gtk::init().map_err(|err| err.to_string())
}

/// Other systems always have a display session for a desktop app.
#[cfg(not(target_os = "linux"))]
pub fn open_display() -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_without_touching_the_display() {
        let mode = choose(true, || panic!("must not open a display"));
        assert_eq!(mode, Mode::Headless(HeadlessReason::Requested));
    }

    #[test]
    fn a_display_means_a_window() {
        assert_eq!(choose(false, || Ok(())), Mode::Window);
    }

    #[test]
    fn no_display_falls_back_to_headless_with_the_reason() {
        let mode = choose(false, || Err("Failed to initialize GTK".into()));
        assert_eq!(
            mode,
            Mode::Headless(HeadlessReason::NoDisplay("Failed to initialize GTK".into()))
        );
    }
}
