//! Stopping the room: the handle a host keeps to stop it, and the signals
//! that ask a host process to.

use tokio_util::sync::CancellationToken;

/// Stops a running server from anywhere; cheap to clone.
///
/// It only asks: the run loop marks the room closing first and then tells the
/// sessions, so no session can end (and announce a departure) before the
/// room knows it is closing.
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle(pub(crate) CancellationToken);

impl ShutdownHandle {
    /// Starts a graceful shutdown; [`Server::run`] returns once it is done.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM, and logs which: the signals
/// that ask a host process (headless server or desktop app) to close the room.
pub async fn stop_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            log::error!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                log::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => log::info!("Ctrl-C received"),
        () = terminate => log::info!("SIGTERM received"),
    }
}
