//! Counting panics, so `/healthz` can say whether any task of the server
//! has panicked: a tool reads the count instead of searching the log.

use std::sync::atomic::{AtomicU64, Ordering};

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts every panic in this process from now on, keeping the existing
/// hook (which prints the message). Binaries call it once at start.
pub fn count_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::Relaxed);
        report(info);
    }));
}

/// Panics counted since [`count_panics`].
pub fn panics() -> u64 {
    PANICS.load(Ordering::Relaxed)
}
