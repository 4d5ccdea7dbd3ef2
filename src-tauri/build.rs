//! Compiles the Tauri configuration, capabilities and icons into the app.

fn main() {
    tauri_build::build();
}
