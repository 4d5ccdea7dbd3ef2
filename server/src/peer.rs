//! One WebSocket connection: reads the peer's frames into the room, writes
//! the room's frames out, keeps the heartbeat, and closes with the right code.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt as _;
use tokio::time::{sleep_until, timeout, timeout_at, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::web::Socket;

use crate::config::{Config, RateLimit};
use crate::limits::{ClientSlot, MessageRate};
use crate::protocol::{
    decode_text, ClientMessage, ErrorCode, PeerId, ProtocolError, ServerMessage,
};
use crate::room::{
    Action, Closing, ConnectedFrom, Drained, Eviction, Laggards, Outbox, Pending, Refused, Room,
};
use crate::share::GuestConnection;

/// A peer's address in log lines: `127.0.0.1:50000`, or `unknown address`.
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub Option<SocketAddr>);

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("unknown address"),
        }
    }
}

/// Most messages of one peer on their way through the store at once. More
/// than one, so a burst reaches the store (and everyone's sockets) in
/// batches; bounded, so a peer cannot queue without limit.
const MAX_IN_FLIGHT: usize = 64;

/// Each connection's budget of typing hints: clients send one every few
/// seconds while someone types.
const TYPING_RATE: RateLimit = RateLimit {
    per_second: 1,
    burst: 3,
};

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

/// Holds what a session must keep alive until it ends: its slot under the
/// client cap and its place among the tasks shutdown waits for. Dropping it
/// frees both.
#[derive(Debug)]
pub struct SessionGuards {
    _slot: ClientSlot,
    _guest: Option<GuestConnection>,
    _task: TaskTrackerToken,
}

impl SessionGuards {
    /// Guards for a session holding `slot` (and, for a guest on the
    /// network, its place under their caps), tracked by `task`.
    pub fn new(slot: ClientSlot, guest: Option<GuestConnection>, task: TaskTrackerToken) -> Self {
        Self {
            _slot: slot,
            _guest: guest,
            _task: task,
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    /// The peer sent a close frame.
    ClientClosed,
    /// The socket broke or the peer vanished.
    Gone,
    /// Nothing heard for three ping intervals.
    Silent,
    /// A frame over the size limit.
    TooBig,
    /// A text frame that was not UTF-8.
    InvalidUtf8,
    /// Connected but never joined within the join timeout.
    NeverJoined,
    /// The server dropped a slow peer.
    Evicted(Eviction),
    /// The server is shutting down.
    ServerShutdown,
}

impl SessionEnd {
    /// The close frame to send, if the peer can still hear one.
    fn close_frame(self) -> Option<(u16, &'static str)> {
        match self {
            SessionEnd::ClientClosed | SessionEnd::Gone => None,
            SessionEnd::Silent => Some((1001, "no heartbeat")),
            SessionEnd::TooBig => Some((1009, "message too big")),
            SessionEnd::InvalidUtf8 => Some((1007, "invalid UTF-8")),
            SessionEnd::NeverJoined => Some((1008, "did not join in time")),
            SessionEnd::Evicted(reason) => Some(reason.close_frame()),
            SessionEnd::ServerShutdown => Some((1001, "going away")),
        }
    }
}

/// Where a session's connection came in.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The remote address, when known.
    pub addr: Option<SocketAddr>,
    /// This computer, or a guest on the network (and their pass).
    pub from: ConnectedFrom,
    /// For a guest on the network: cancelled when the host stops sharing.
    pub sharing: Option<CancellationToken>,
}

/// Runs one peer's session from upgrade to close.
pub async fn serve(socket: Socket, arrival: Arrival, ctx: PeerContext, guards: SessionGuards) {
    let Arrival {
        addr,
        from,
        sharing,
    } = arrival;
    let outbox = Arc::new(Outbox::new(ctx.config.send_queue_bytes));
    let id = ctx.room.connect(outbox.clone(), from);
    match from {
        ConnectedFrom::ThisComputer => log::info!("peer {id} connected from {}", Remote(addr)),
        ConnectedFrom::Network { .. } => {
            log::info!("peer {id} connected from the network, {}", Remote(addr));
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
                Remote(addr),
                reason.close_frame().1
            );
        }
        SessionEnd::Evicted(reason) => {
            log::warn!(
                "peer {id} name={name} from {} disconnected: {}",
                Remote(addr),
                reason.close_frame().1
            );
        }
        SessionEnd::NeverJoined => {
            log::info!(
                "peer {id} from {} disconnected: did not join in time",
                Remote(addr)
            );
        }
        _ => log::info!(
            "peer {id} name={name} from {} disconnected: {end:?}",
            Remote(addr)
        ),
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
    drop(guards);
}

/// Ends the connection: sends what is still gathered (the reply to a peer's
/// close frame is written last, and tungstenite's server side stops without
/// flushing it), then closes the TCP stream, all by `grace`.
async fn hang_up(stream: SplitStream<Socket>, sink: SplitSink<Socket, Message>, grace: Instant) {
    // Both halves come from the same `split`, so they always fit.
    let Ok(mut socket) = stream.reunite(sink) else {
        return;
    };
    let _ = timeout_at(grace, socket.get_mut().shutdown()).await;
}

/// Reads frames until the peer leaves, errs or falls silent.
async fn read_frames(
    stream: &mut SplitStream<Socket>,
    id: PeerId,
    ctx: &PeerContext,
    outbox: &Outbox,
) -> SessionEnd {
    let rate = MessageRate::new(ctx.config.rate_limit);
    // Typing hints have a small budget of their own: a page that says it is
    // typing before each message must not use up the budget of the message.
    let typing_rate = MessageRate::new(ctx.config.rate_limit.map(|_| TYPING_RATE));
    let silence = ctx.config.ping_interval.saturating_mul(3);
    // A connection holds a slot under the client cap: one that never joins
    // (answering pings is enough to stay open) must not hold it for good.
    let mut join_deadline = Some(Instant::now() + ctx.config.join_timeout);
    // This peer's messages not yet stored and sent, oldest first.
    let mut in_flight: VecDeque<Pending> = VecDeque::new();
    loop {
        let next = timeout(silence, stream.next());
        let frame = tokio::select! {
            // Outcomes first: a refusal reaches the peer at once, and a
            // sent message's laggards hold the peer back before it says more.
            biased;
            (outcome, done) = oldest(&mut in_flight) => {
                settle(outcome, id, ctx, outbox).await;
                // Holds the message's share of the in-flight budget until
                // the laggards are waited for.
                drop(done);
                continue;
            }
            read = next, if in_flight.len() < MAX_IN_FLIGHT => match read {
                Err(_) => return SessionEnd::Silent,
                Ok(None) => return SessionEnd::Gone,
                Ok(Some(Err(err))) => return classify_read_error(&err),
                Ok(Some(Ok(frame))) => frame,
            },
            () = deadline(join_deadline) => return SessionEnd::NeverJoined,
        };
        // Any frame, pongs included, proves the peer is alive.
        if frame.is_close() {
            return SessionEnd::ClientClosed;
        }
        if frame.is_ping() || frame.is_pong() {
            continue;
        }
        let Message::Text(text) = &frame else {
            outbox.push(ServerMessage::error(
                ErrorCode::BinaryUnsupported,
                ProtocolError::Binary.to_string(),
            ));
            continue;
        };
        let request = match decode_text(text) {
            Ok(request) => request,
            Err(err) => {
                log::debug!("peer {id} sent a bad frame: {err}");
                outbox.push(ServerMessage::error(err.code(), err.to_string()));
                continue;
            }
        };
        let typing = matches!(request, ClientMessage::Typing {});
        // Joining and paging through the people list reach nobody else's
        // screen one by one: the room-wide ceiling on what everyone
        // receives is not theirs to use up (a crowd arriving at once would
        // otherwise wait at 100 a second). A `hello` from someone already
        // in is a rename, which everyone sees: it pays like one.
        let joined = join_deadline.is_none();
        let own_budget_only = match request {
            ClientMessage::Hello { .. } => !joined,
            ClientMessage::People { .. } => true,
            _ => false,
        };
        let outcome = if typing {
            if typing_rate.allow() && ctx.room_typing_rate.allow() {
                apply(request, id, ctx, outbox, &mut in_flight).await
            } else {
                Err(Refused::RateLimited)
            }
        } else if !rate.allow() {
            Err(Refused::RateLimited)
        } else if !own_budget_only && !ctx.room_rate.allow() {
            ctx.room.record_room_rate_limited();
            Err(Refused::RoomBusy)
        } else {
            apply(request, id, ctx, outbox, &mut in_flight).await
        };
        match outcome {
            Ok(laggards) => {
                // Every request the room accepts leaves the peer joined
                // (`say` joins under a default name).
                join_deadline = None;
                wait_for(laggards, ctx.config.stall_grace).await;
            }
            // Typing hints are best-effort: over a limit, drop them quietly.
            Err(Refused::RateLimited | Refused::RoomBusy) if typing => {}
            Err(refused) => {
                log::debug!("peer {id}: refused: {refused}");
                outbox.push(ServerMessage::error(refused.code(), refused.to_string()));
            }
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

/// Completes at `at`, or never when there is no deadline.
async fn deadline(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The outcome of the peer's oldest message in flight, with the message;
/// never completes while none is. Cancel-safe: the message stays queued
/// until it completes.
async fn oldest(in_flight: &mut VecDeque<Pending>) -> (Result<Laggards, Refused>, Option<Pending>) {
    let Some(pending) = in_flight.front_mut() else {
        return std::future::pending().await;
    };
    let outcome = pending.await;
    (outcome, in_flight.pop_front())
}

/// What the peer hears of a message once it is through the store: nothing
/// when it went out (but the peer waits for the laggards), why not when not.
async fn settle(
    outcome: Result<Laggards, Refused>,
    id: PeerId,
    ctx: &PeerContext,
    outbox: &Outbox,
) {
    match outcome {
        Ok(laggards) => wait_for(laggards, ctx.config.stall_grace).await,
        Err(refused) => {
            log::debug!("peer {id}: refused: {refused}");
            outbox.push(ServerMessage::error(refused.code(), refused.to_string()));
        }
    }
}

/// Applies one request to the room. A `say` is queued for the store and
/// joins `in_flight`; its outcome is handled when it completes.
async fn apply(
    request: ClientMessage,
    id: PeerId,
    ctx: &PeerContext,
    outbox: &Outbox,
    in_flight: &mut VecDeque<Pending>,
) -> Result<Laggards, Refused> {
    let room = &ctx.room;
    let action = match request {
        ClientMessage::Hello { name, key } => return room.join(id, &name, key.as_deref()),
        ClientMessage::Rename { name } => return room.rename(id, &name),
        ClientMessage::Typing {} => return room.typing(id),
        ClientMessage::History {
            before,
            after,
            limit,
        } => return room.history_page(id, before, after, limit).await,
        ClientMessage::Search { query, limit } => return room.search(id, query, limit).await,
        ClientMessage::People { after } => return room.people_after(id, after),
        ClientMessage::Say {
            text,
            reply_to,
            files,
        } => Action::Say {
            text,
            reply_to,
            files,
        },
        ClientMessage::Edit { id, text } => Action::Edit { id, text },
        ClientMessage::Delete { id } => Action::Delete { id },
        ClientMessage::React { id, emoji } => Action::React { id, emoji },
    };
    // Everything else changes the conversation: it goes through the store.
    let share = match room.try_reserve(action.weight()) {
        Some(share) => share,
        None => {
            // The room's budget is spoken for: settle this peer's own
            // changes first, so it holds none while it waits.
            while !in_flight.is_empty() {
                let (outcome, done) = oldest(in_flight).await;
                settle(outcome, id, ctx, outbox).await;
                drop(done);
            }
            room.reserve(action.weight()).await?
        }
    };
    let (laggards, pending) = room.queue(id, action, share)?;
    in_flight.extend(pending);
    Ok(laggards)
}

/// Backpressure with a deadline: the sender waits (and so stops reading its
/// socket) while some peers catch up. A peer whose oldest queued frame has
/// waited longer than `grace` is evicted, so peers that never read cannot hold
/// the room back, and several of them stalled at once are dropped together.
async fn wait_for(laggards: Laggards, grace: Duration) {
    for outbox in laggards {
        let Some(since) = outbox.oldest_since() else {
            continue;
        };
        if timeout_at(since + grace, outbox.caught_up()).await.is_err() {
            outbox.evict(Eviction::Stalled);
        }
    }
}

/// Writes queued frames, coalesced: everything queued is fed, then flushed
/// once. Sends a ping every `ping_interval`. When the session closes, sends
/// what it is told to and the close frame. A write that the peer does not
/// take within `write_timeout` (its socket stays full: it is not reading)
/// evicts the peer, so a client that joins and never reads cannot keep its
/// `welcome`, or anything else, in server memory. Returns the sink for the
/// session to hang up with, or nothing when the peer was dropped for not
/// reading.
async fn write_frames(
    mut sink: SplitSink<Socket, Message>,
    outbox: Arc<Outbox>,
    ping_interval: Duration,
    write_timeout: Duration,
) -> Option<SplitSink<Socket, Message>> {
    let mut batch = Vec::new();
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = outbox.ready() => {}
            _ = ping.tick() => {
                let ping = sink.send(Message::Ping(bytes::Bytes::new()));
                match within(write_timeout, ping).await {
                    Written::Done => continue,
                    undone => return give_up(undone, sink, &outbox).await,
                }
            }
        }
        match outbox.drain_into(&mut batch) {
            Drained::Open => {
                let write = async {
                    feed_all(&mut sink, &mut batch).await?;
                    sink.flush().await
                };
                match within(write_timeout, write).await {
                    Written::Done => {}
                    undone => return give_up(undone, sink, &outbox).await,
                }
            }
            Drained::Closing(closing) => {
                if !closing.flush_queue {
                    batch.clear();
                }
                if feed_all(&mut sink, &mut batch).await.is_ok() {
                    if let Some((code, reason)) = closing.frame {
                        let _ = sink
                            .feed(Message::Close(Some(CloseFrame {
                                code: CloseCode::from(code),
                                reason: reason.into(),
                            })))
                            .await;
                    }
                    // Flushes, and completes the closing handshake if the
                    // peer started it.
                    let _ = sink.close().await;
                }
                return Some(sink);
            }
        }
    }
}

/// How one write to the peer went.
enum Written {
    Done,
    /// The socket failed.
    Failed,
    /// The peer did not take it in time: it is not reading.
    NotTaken,
}

/// Runs one write with the write timeout.
async fn within(
    limit: Duration,
    write: impl std::future::Future<Output = Result<(), tungstenite::Error>>,
) -> Written {
    match timeout(limit, write).await {
        Ok(Ok(())) => Written::Done,
        Ok(Err(_)) => Written::Failed,
        Err(_) => Written::NotTaken,
    }
}

/// Ends the writer after a write that did not go through. A peer that did
/// not take it is evicted and gets no more waiting. After a failed send, if
/// the peer has started the closing handshake, tungstenite refuses new
/// frames but still owes the peer its close reply, which closing the sink
/// sends (RFC 6455 §5.5.1); on a broken socket this fails at once. The sink
/// goes back to the session to hang up with.
async fn give_up(
    undone: Written,
    mut sink: SplitSink<Socket, Message>,
    outbox: &Outbox,
) -> Option<SplitSink<Socket, Message>> {
    if matches!(undone, Written::NotTaken) {
        outbox.evict(Eviction::Stalled);
        return None;
    }
    let _ = sink.close().await;
    Some(sink)
}

async fn feed_all(
    sink: &mut SplitSink<Socket, Message>,
    batch: &mut Vec<Message>,
) -> Result<(), tungstenite::Error> {
    for frame in batch.drain(..) {
        sink.feed(frame).await?;
    }
    Ok(())
}

fn classify_read_error(err: &tungstenite::Error) -> SessionEnd {
    match err {
        tungstenite::Error::Capacity(_) => SessionEnd::TooBig,
        tungstenite::Error::Utf8(_) => SessionEnd::InvalidUtf8,
        _ => SessionEnd::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox over half its budget (so a sender waits for it).
    fn lagging_outbox() -> Arc<Outbox> {
        let outbox = Arc::new(Outbox::new(100));
        assert_eq!(
            outbox.push(Message::text("x".repeat(60))),
            crate::room::Push::Lagging
        );
        outbox
    }

    #[tokio::test(start_paused = true)]
    async fn a_laggard_whose_oldest_frame_outlives_the_grace_is_evicted_as_stalled() {
        let outbox = lagging_outbox();
        let started = Instant::now();
        wait_for(vec![outbox.clone()], Duration::from_secs(2)).await;
        assert_eq!(outbox.eviction(), Some(Eviction::Stalled));
        assert!(started.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_laggard_that_catches_up_within_the_grace_stays() {
        let outbox = lagging_outbox();
        let drainer = tokio::spawn({
            let outbox = outbox.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                outbox.drain_into(&mut Vec::new());
            }
        });
        wait_for(vec![outbox.clone()], Duration::from_secs(2)).await;
        assert_eq!(outbox.eviction(), None);
        drainer.await.expect("drainer");
    }
}
