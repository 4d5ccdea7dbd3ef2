//! Settings that make the window's WebKit lighter, with nothing a chat page
//! needs taken away (see docs/performance.md, "The desktop app's
//! footprint").

/// Applies them to the window's web view.
pub fn lighten(window: &tauri::WebviewWindow) {
    #[cfg(target_os = "linux")]
    if let Err(err) = window.with_webview(|platform| linux::lighten(&platform.inner())) {
        log::warn!("cannot tune the web view: {err}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt as _, WebContextExt as _, WebView,
        WebViewExt as _,
    };

    pub fn lighten(view: &WebView) {
        if let Some(settings) = view.settings() {
            // A page of text and small pictures draws fine on the CPU; GPU
            // compositing would load the GL stack (Mesa and its LLVM) into
            // the web process and keep layer buffers: about 100 MB.
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
        if let Some(context) = view.context() {
            // One page, served from inside the app: no cache of other
            // pages or resources to keep for going back and forth.
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    }
}
