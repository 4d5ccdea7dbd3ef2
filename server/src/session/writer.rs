//! The writing half of a session: the peer's outbox out to its socket,
//! coalesced, with the heartbeat, the write timeout and the close.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::SinkExt;
use tokio::io::AsyncWriteExt as _;
use tokio::time::{timeout, timeout_at, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::net::Socket;

use crate::room::{Drained, Eviction, Outbox};

/// Writes queued frames, coalesced: everything queued is fed, then flushed
/// once. Sends a ping every `ping_interval`. When the session closes, sends
/// what it is told to and the close frame. A write that the peer does not
/// take within `write_timeout` (its socket stays full: it is not reading)
/// evicts the peer, so a client that joins and never reads cannot keep its
/// `welcome`, or anything else, in server memory. Returns the sink for the
/// session to hang up with, or nothing when the peer was dropped for not
/// reading.
pub(super) async fn write_frames(
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

/// Ends the connection: sends what is still gathered (the reply to a peer's
/// close frame is written last, and tungstenite's server side stops without
/// flushing it), then closes the TCP stream, all by `grace`.
pub(super) async fn hang_up(
    stream: SplitStream<Socket>,
    sink: SplitSink<Socket, Message>,
    grace: Instant,
) {
    // Both halves come from the same `split`, so they always fit.
    let Ok(mut socket) = stream.reunite(sink) else {
        return;
    };
    let _ = timeout_at(grace, socket.get_mut().shutdown()).await;
}
