//! One WebSocket connection: reads the peer's frames into the room, writes
//! the room's frames out, keeps the heartbeat, and closes with the right code.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use crate::net::Socket;

use crate::config::Config;
use crate::limits::MessageRate;
use crate::model::ConnectedFrom;
use crate::net::Arrival;
use crate::room::{Closing, Eviction, Outbox, Room};

mod end;
mod reader;
mod writer;

use end::SessionEnd;
use reader::read_frames;
use writer::{hang_up, write_frames};

/// How long a closing peer gets to take its last frames and the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What a peer's session needs from the server; cheap to clone.
#[derive(Debug, Clone)]
pub struct PeerContext {
    /// The room the peer joins.
    pub room: Arc<Room>,
    /// Limits and timings.
    pub config: Arc<Config>,
    /// The room-wide message budget, shared by every peer.
    pub room_rate: Arc<MessageRate>,
    /// The room-wide budget of typing hints: separate, so hints never cost
    /// anyone a message.
    pub room_typing_rate: Arc<MessageRate>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
}

/// Runs one peer's session from upgrade to close.
pub async fn serve(socket: Socket, arrival: Arrival, ctx: PeerContext) {
    let Arrival {
        addr,
        from,
        sharing,
    } = arrival;
    let outbox = Arc::new(Outbox::new(ctx.config.send_queue_bytes));
    let id = ctx.room.connect(outbox.clone(), from);
    match from {
        ConnectedFrom::ThisComputer => log::info!("peer {id} connected from {}", addr),
        ConnectedFrom::Network { .. } => {
            log::info!("peer {id} connected from the network, {}", addr);
        }
    }

    let (sink, mut stream) = socket.split();
    // The writer gets its own task. Were it polled together with the reader,
    // every outgoing frame would also poll the socket for input, and
    // tungstenite clears its whole read buffer on each read attempt.
    let mut writer = tokio::spawn(write_frames(
        sink,
        outbox.clone(),
        ctx.config.ping_interval,
        ctx.config.write_timeout,
    ));
    let mut writer_ended = None;
    let end = tokio::select! {
        // Eviction first: a writer that evicts its peer (a write it does not
        // take) ends at the same moment, and the eviction is the reason.
        biased;
        reason = outbox.evicted() => SessionEnd::Evicted(reason),
        () = ctx.shutdown.cancelled() => SessionEnd::ServerShutdown,
        () = until_cancelled(sharing.as_ref()) => SessionEnd::Evicted(Eviction::SharingStopped),
        end = read_frames(&mut stream, id, &ctx, &outbox) => end,
        ended = &mut writer => {
            writer_ended = Some(ended);
            SessionEnd::Gone
        }
    };
    let name = ctx.room.name_of(id).unwrap_or_default();
    // Counted before the room lets the peer go, so whoever sees it gone
    // (the host panel, `/healthz`, a test) also sees why.
    match end {
        SessionEnd::Evicted(reason) => ctx.room.record_eviction(reason),
        SessionEnd::NeverJoined => ctx.room.record_join_timeout(),
        _ => {}
    }
    ctx.room.disconnect(id);
    match end {
        SessionEnd::Evicted(reason @ (Eviction::RemovedByHost | Eviction::SharingStopped)) => {
            log::info!(
                "peer {id} name={name} from {} disconnected: {}",
                addr,
                reason.close_frame().1
            );
        }
        SessionEnd::Evicted(reason) => {
            log::warn!(
                "peer {id} name={name} from {} disconnected: {}",
                addr,
                reason.close_frame().1
            );
        }
        SessionEnd::NeverJoined => {
            log::info!("peer {id} from {} disconnected: did not join in time", addr);
        }
        _ => log::info!("peer {id} name={name} from {} disconnected: {end:?}", addr),
    }
    outbox.close(Closing {
        frame: end.close_frame(),
        flush_queue: end == SessionEnd::ServerShutdown,
    });
    let grace = Instant::now() + CLOSE_GRACE;
    let ended = match writer_ended {
        Some(ended) => Some(ended),
        None => timeout_at(grace, &mut writer).await.ok(),
    };
    match ended {
        Some(Ok(Some(sink))) => hang_up(stream, sink, grace).await,
        // Evicted for not reading: nothing more is waited for.
        Some(Ok(None)) => {}
        Some(Err(err)) => log::warn!("peer {id}'s writer failed: {err}"),
        None => {
            log::debug!("peer {id} did not take its close frame in time");
            writer.abort();
        }
    }
}

/// Completes when `token` is cancelled; never without one.
async fn until_cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}
