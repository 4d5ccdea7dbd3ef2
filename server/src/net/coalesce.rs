//! Writes gathered until a flush, under tungstenite.
//!
//! tungstenite writes to the socket whenever its own buffer passes
//! `write_buffer_size`, and never gives that buffer's memory back: a large
//! setting keeps a burst's worth of memory on every connection that once had
//! a burst, a small one splits a burst into many system calls (with 4 KiB, a
//! burst of 1 KiB messages cost about 2.5 µs per delivery against 1.2–1.7).
//! So tungstenite hands each frame straight down (`write_buffer_size` 0), and
//! [`Coalesced`] gathers the frames until the peer's writer flushes, once per
//! batch: one system call for everything queued, and the batch's memory is
//! returned as soon as it is on the wire.
//!
//! Whatever is gathered is only sent by a flush or a shutdown. tungstenite's
//! server side writes its reply to a peer's close frame and then stops
//! without flushing, so a session ends by shutting the socket down itself
//! (`peer::hang_up`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Past this many gathered bytes, a write first sends what is gathered: a
/// batch larger than this goes out in writes of about this size (few enough
/// system calls), and a peer that does not read holds at most this much here.
const GATHER_LIMIT: usize = 16 * 1024;

/// A gathering buffer up to this size is kept for the next batch (a lone
/// message reuses it); a larger one is freed once written.
const KEPT_CAPACITY: usize = 512;

/// A socket whose writes are gathered in memory and sent on flush.
#[derive(Debug)]
pub struct Coalesced<S> {
    inner: S,
    /// Bytes written to us and not yet to `inner`.
    gathered: Vec<u8>,
    /// How much of `gathered` is already on `inner`.
    sent: usize,
}

impl<S> Coalesced<S> {
    /// Wraps `inner`; nothing is allocated until something is written.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            gathered: Vec::new(),
            sent: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> Coalesced<S> {
    /// Sends everything gathered; then lets go of a large buffer.
    fn poll_send_gathered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.gathered.len() {
            let sent =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.gathered[self.sent..]))?;
            if sent == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += sent;
        }
        self.sent = 0;
        if self.gathered.capacity() > KEPT_CAPACITY {
            self.gathered = Vec::new();
        } else {
            self.gathered.clear();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesced<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesced<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.gathered.len() + buf.len() > GATHER_LIMIT {
            ready!(this.poll_send_gathered(cx))?;
            if buf.len() > GATHER_LIMIT {
                // Nothing gathered is waiting: a frame this large goes as is.
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            }
        }
        this.gathered.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_send_gathered(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_send_gathered(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Counts the writes that reach it, and takes at most `take` bytes of each.
    #[derive(Debug, Default)]
    struct Recorder {
        writes: usize,
        bytes: Vec<u8>,
        take: Option<usize>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = self.take.map_or(buf.len(), |take| take.min(buf.len()));
            self.writes += 1;
            self.bytes.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn frames_written_before_a_flush_reach_the_socket_in_one_write() {
        let mut socket = Coalesced::new(Recorder::default());
        for frame in [&b"one"[..], b"two", b"three"] {
            socket.write_all(frame).await.unwrap();
        }
        assert_eq!(socket.inner.writes, 0, "nothing is sent before the flush");
        socket.flush().await.unwrap();
        assert_eq!(socket.inner.writes, 1);
        assert_eq!(socket.inner.bytes, b"onetwothree");
    }

    #[tokio::test]
    async fn a_partial_write_is_resumed_where_it_stopped() {
        let mut socket = Coalesced::new(Recorder {
            take: Some(4),
            ..Recorder::default()
        });
        socket.write_all(b"0123456789").await.unwrap();
        socket.flush().await.unwrap();
        assert_eq!(socket.inner.bytes, b"0123456789");
        assert_eq!(socket.inner.writes, 3);
    }

    #[tokio::test]
    async fn a_burst_s_memory_is_given_back_once_sent_and_a_small_buffer_kept() {
        let mut socket = Coalesced::new(Recorder::default());
        socket.write_all(&[7; 100]).await.unwrap();
        socket.flush().await.unwrap();
        let kept = socket.gathered.capacity();
        assert!(kept > 0 && kept <= KEPT_CAPACITY, "kept {kept}");

        for _ in 0..15 {
            socket.write_all(&[7; 1000]).await.unwrap();
        }
        assert!(socket.gathered.capacity() >= 15_000);
        socket.flush().await.unwrap();
        assert_eq!(socket.gathered.capacity(), 0);
        assert_eq!(socket.inner.bytes.len(), 15_100);
        assert_eq!(socket.inner.writes, 2);
    }

    #[tokio::test]
    async fn past_the_limit_what_is_gathered_goes_first_and_a_huge_frame_goes_as_is() {
        let mut socket = Coalesced::new(Recorder::default());
        socket.write_all(&[1; GATHER_LIMIT - 10]).await.unwrap();
        socket.write_all(&[2; 20]).await.unwrap();
        assert_eq!(socket.inner.writes, 1, "the gathered bytes went first");
        assert_eq!(socket.gathered.len(), 20);

        socket.write_all(&[3; GATHER_LIMIT + 1]).await.unwrap();
        assert_eq!(socket.inner.writes, 3);
        assert!(socket.gathered.is_empty());
        let bytes = &socket.inner.bytes;
        assert_eq!(bytes.len(), GATHER_LIMIT - 10 + 20 + GATHER_LIMIT + 1);
        assert_eq!(bytes[GATHER_LIMIT - 10], 2);
        assert_eq!(bytes[GATHER_LIMIT + 10], 3);
    }

    #[tokio::test]
    async fn a_peer_that_does_not_read_holds_back_the_flush_not_the_data() {
        // A pipe of 16 bytes the other end does not read.
        let (near, mut far) = tokio::io::duplex(16);
        let mut socket = Coalesced::new(near);
        let written = socket.write_all(&[9; 40]).now_or_never();
        assert!(written.is_some_and(|w| w.is_ok()), "taken at once");
        assert!(
            socket.flush().now_or_never().is_none(),
            "the flush waits for the peer"
        );
        let reader = tokio::spawn(async move {
            let mut got = vec![0; 40];
            far.read_exact(&mut got).await.map(|_| got)
        });
        socket.flush().await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), vec![9; 40]);
    }
}
