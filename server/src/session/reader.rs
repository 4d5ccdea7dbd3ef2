//! The reading half of a session: frames in, through the rate limits, into
//! the room; and the backpressure that holds a sender while others catch up.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::SplitStream;
use futures::StreamExt;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;

use super::end::{classify_read_error, SessionEnd};
use super::PeerContext;
use crate::net::Socket;

use crate::action::Action;
use crate::config::RateLimit;
use crate::limits::MessageRate;
use crate::model::{PeerId, GENERAL};
use crate::protocol::{decode_text, ClientMessage, ErrorCode, ProtocolError, ServerMessage};
use crate::room::{Eviction, Laggards, Outbox, Pending, Refused};

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

/// Reads frames until the peer leaves, errs or falls silent.
pub(super) async fn read_frames(
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
        let typing = matches!(request, ClientMessage::Typing { .. });
        let joined = join_deadline.is_none();
        let outcome = match allowed(&request, joined, &rate, &typing_rate, ctx) {
            Ok(()) => apply(request, id, ctx, outbox, &mut in_flight).await,
            Err(refused) => Err(refused),
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

/// Whether the budgets allow `request` now: the peer's own, and the room's
/// that everyone shares. Typing hints have budgets of their own. Joining
/// and paging through the people list reach nobody else's screen one by
/// one: the room-wide ceiling on what everyone receives is not theirs to
/// use up (a crowd arriving at once would otherwise wait at 100 a second).
/// A `hello` from someone already in is a rename, which everyone sees: it
/// pays like one.
fn allowed(
    request: &ClientMessage,
    joined: bool,
    rate: &MessageRate,
    typing_rate: &MessageRate,
    ctx: &PeerContext,
) -> Result<(), Refused> {
    if matches!(request, ClientMessage::Typing { .. }) {
        return if typing_rate.allow() && ctx.room_typing_rate.allow() {
            Ok(())
        } else {
            Err(Refused::RateLimited)
        };
    }
    let own_budget_only = match request {
        ClientMessage::Hello { .. } => !joined,
        ClientMessage::People { .. } | ClientMessage::Read { .. } => true,
        _ => false,
    };
    if !rate.allow() {
        Err(Refused::RateLimited)
    } else if !own_budget_only && !ctx.room_rate.allow() {
        ctx.room.record_room_rate_limited();
        Err(Refused::RoomBusy)
    } else {
        Ok(())
    }
}

/// Completes at `at`, or never when there is no deadline.
pub(super) async fn deadline(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The outcome of the peer's oldest message in flight, with the message;
/// never completes while none is. Cancel-safe: the message stays queued
/// until it completes.
pub(super) async fn oldest(
    in_flight: &mut VecDeque<Pending>,
) -> (Result<Laggards, Refused>, Option<Pending>) {
    let Some(pending) = in_flight.front_mut() else {
        return std::future::pending().await;
    };
    let outcome = pending.await;
    (outcome, in_flight.pop_front())
}

/// What the peer hears of a message once it is through the store: nothing
/// when it went out (but the peer waits for the laggards), why not when not.
pub(super) async fn settle(
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
pub(super) async fn apply(
    request: ClientMessage,
    id: PeerId,
    ctx: &PeerContext,
    outbox: &Outbox,
    in_flight: &mut VecDeque<Pending>,
) -> Result<Laggards, Refused> {
    let room = &ctx.room;
    let nobody_waits = |done: Result<(), Refused>| done.map(|()| Vec::new());
    let action = match request {
        ClientMessage::Hello { name, key } => return room.join(id, &name, key.as_deref()),
        ClientMessage::Rename { name } => return room.rename(id, &name),
        // Hints, reads and conversations reach nobody else's queue in
        // bulk: nobody to wait for.
        ClientMessage::Typing { room: at } => {
            return nobody_waits(room.typing(id, at.unwrap_or(GENERAL)))
        }
        ClientMessage::History {
            room: at,
            before,
            after,
            limit,
        } => {
            let at = at.unwrap_or(GENERAL);
            return nobody_waits(room.history_page(id, at, before, after, limit).await);
        }
        ClientMessage::Search {
            query,
            room: at,
            limit,
        } => return nobody_waits(room.search(id, query, at, limit).await),
        ClientMessage::People { after } => return room.people_after(id, after),
        ClientMessage::JoinRoom { room: at } => return nobody_waits(room.join_room(id, at).await),
        ClientMessage::LeaveRoom { room: at } => {
            return nobody_waits(room.leave_room(id, at).await)
        }
        ClientMessage::CreateRoom { name, topic } => {
            let made = room.create_room_as(id, &name, topic.as_deref()).await;
            return nobody_waits(made);
        }
        ClientMessage::Direct { uid } => return nobody_waits(room.direct(id, &uid).await),
        ClientMessage::Read { room: at, id: read } => {
            return nobody_waits(room.mark_read(id, at.unwrap_or(GENERAL), read))
        }
        ClientMessage::Say(say) => Action::Say(say),
        ClientMessage::Edit(edit) => Action::Edit(edit),
        ClientMessage::Delete(delete) => Action::Delete(delete),
        ClientMessage::React(react) => Action::React(react),
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
pub(super) async fn wait_for(laggards: Laggards, grace: Duration) {
    for outbox in laggards {
        let Some(since) = outbox.oldest_since() else {
            continue;
        };
        if timeout_at(since + grace, outbox.caught_up()).await.is_err() {
            outbox.evict(Eviction::Stalled);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
