//! Stopping the room: the handle a host keeps to stop it, and the signals
//! that ask a host process to.

use std::future::Future;

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

/// Listens, from the moment it is called, for Ctrl-C or (on Unix) SIGTERM:
/// the signals that ask a host process (headless server or desktop app) to
/// close the room. The returned future completes on the first and logs
/// which. Listening at once matters: a signal that arrives after a script
/// has learnt the address must close the room, not kill the process.
pub fn stop_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            tokio::select! {
                () = received(interrupt, "Ctrl-C") => log::info!("Ctrl-C received"),
                () = received(terminate, "SIGTERM") => log::info!("SIGTERM received"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => log::info!("Ctrl-C received"),
                Err(err) => {
                    log::error!("cannot listen for Ctrl-C: {err}");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Completes when `listener` hears its signal; never, if it could not listen.
#[cfg(unix)]
async fn received(listener: std::io::Result<tokio::signal::unix::Signal>, name: &str) {
    match listener {
        Ok(mut listener) => {
            listener.recv().await;
        }
        Err(err) => {
            log::error!("cannot listen for {name}: {err}");
            std::future::pending::<()>().await;
        }
    }
}
