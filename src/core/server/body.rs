//! Request and response bodies of the bootstrap: a request body that cuts clients who stop
//! sending or send too slowly, and a response body that keeps its request counted as in flight
//! until the answer is written and cuts clients who take it too slowly.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Buf, Bytes, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::connection::{reason, ConnState, RequestGuard, Timeouts};
use super::http_metrics::HttpMetrics;
use super::write_floor::WriteFloor;
use crate::core::sync::lock;

/// A request body that fails, and closes its connection, when the client sends nothing for the
/// stall timeout or sends slower than the minimum rate. Only time the server spends waiting for
/// the body counts: a handler busy elsewhere does not make its client slow.
pub(super) struct TimedBody<B> {
    inner: B,
    conn: Arc<ConnState>,
    timeouts: Timeouts,
    metrics: Arc<HttpMetrics>,
    received: u64,
    /// Time spent waiting in earlier stretches.
    waited: Duration,
    /// Start of the current stretch of waiting.
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    pub fn new(
        inner: B,
        conn: Arc<ConnState>,
        timeouts: Timeouts,
        metrics: Arc<HttpMetrics>,
    ) -> Self {
        Self {
            inner,
            conn,
            timeouts,
            metrics,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
        }
    }

    /// When the current stretch of waiting must end, and the rule that ends it.
    fn deadline(&self, since: Instant) -> (Instant, &'static str) {
        let stall = self.timeouts.body_stall;
        if self.timeouts.min_body_rate == 0 {
            return (since + stall, reason::BODY_STALLED);
        }
        // The rate rule: received ≥ rate × (waited − stall), with `waited` growing from now on.
        let earned =
            stall.as_secs_f64() + self.received as f64 / self.timeouts.min_body_rate as f64;
        let left = Duration::try_from_secs_f64(earned - self.waited.as_secs_f64())
            .unwrap_or(Duration::ZERO);
        if left < stall {
            (since + left, reason::BODY_TOO_SLOW)
        } else {
            (since + stall, reason::BODY_STALLED)
        }
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(since) = this.waiting_since.take() {
                    this.waited += since.elapsed();
                }
                if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
                    this.received += data.map_or(0, |d| d.len() as u64);
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let (deadline, why) = this.deadline(since);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if this.conn.reason().is_none() {
                    this.metrics.count_closed(why);
                    tracing::info!(
                        received_bytes = this.received,
                        reason = why,
                        "request body too slow; connection closed"
                    );
                }
                this.conn.close_with(why);
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request body stalled",
                )
                .into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted in flight until it has been sent (or dropped),
/// and meters how fast its client takes it against the write floor.
///
/// The time from handing HTTP a piece to HTTP asking for the next is time spent waiting for the
/// client: for HTTP/1 (plain or TLS) a full socket, for HTTP/2 also a stream or connection window
/// the client does not open. HTTP stops asking while it waits, so this body cannot cut its client
/// itself: it tells its connection by when the client must take something
/// ([`ConnState::answer_waits`]), and the connection's task closes the connection at that instant,
/// which drops this body and the memory it holds.
pub(super) struct GuardedBody {
    inner: axum::body::Body,
    floor: Option<WriteFloor>,
    /// This answer's key among its connection's answers.
    key: u64,
    /// Bytes of the piece handed out last, taken by the client once HTTP asks for the next.
    handed: usize,
    conn: Arc<ConnState>,
    _guard: RequestGuard,
}

impl GuardedBody {
    pub fn new(inner: axum::body::Body, guard: RequestGuard, timeouts: &Timeouts) -> Self {
        let conn = Arc::clone(guard.conn());
        Self {
            inner,
            floor: WriteFloor::new(timeouts.min_write_rate, timeouts.write_grace),
            key: conn.new_answer(),
            handed: 0,
            conn,
            _guard: guard,
        }
    }
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(floor) = this.floor.as_mut() else {
            return Pin::new(&mut this.inner).poll_frame(cx);
        };
        let now = Instant::now();
        if this.handed > 0 {
            floor.took(std::mem::take(&mut this.handed), now);
            this.conn.answer_waits(this.key, None);
        }
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &poll {
            this.handed = frame.data_ref().map_or(0, Buf::remaining);
            if this.handed > 0 {
                this.conn.answer_waits(this.key, Some(floor.waiting(now)));
            }
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for GuardedBody {
    fn drop(&mut self) {
        self.conn.answer_waits(self.key, None);
    }
}

/// Where a request body that its handler dropped unread comes back to, so that [`drain`] can read
/// the rest before the answer goes out.
pub(super) type Leftover<B> = Arc<Mutex<Option<B>>>;

/// A request body that, when dropped before its end, hands itself to its [`Leftover`] slot.
pub(super) struct ReturnedBody<B: HttpBody> {
    inner: Option<B>,
    leftover: Leftover<B>,
}

impl<B: HttpBody> ReturnedBody<B> {
    pub fn new(inner: B, leftover: Leftover<B>) -> Self {
        Self {
            inner: Some(inner),
            leftover,
        }
    }
}

impl<B: HttpBody> Drop for ReturnedBody<B> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take().filter(|body| !body.is_end_stream()) {
            *lock(&self.leftover) = Some(inner);
        }
    }
}

impl<B: HttpBody + Unpin> HttpBody for ReturnedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

/// Reads and discards what is left of a request body its handler answered without reading (a
/// 404, a 503 from a full queue, a 400 on the first field), up to `max` bytes.
///
/// An HTTP/1 client sends its whole body before it reads the answer; closing the connection with
/// unread bytes in the socket makes the kernel send a reset, and curl (Drake's client) then reports
/// "Failed sending data to the peer, HTTP Code 0" instead of the status and message we wrote. A
/// body declared larger than `max` is not read: the connection closes as before. Slow senders are
/// still cut by the [`TimedBody`] inside.
pub(super) async fn drain<B>(mut body: B, max: u64)
where
    B: HttpBody + Unpin,
{
    if body.size_hint().lower() > max {
        return;
    }
    let mut read = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, |data| data.remaining() as u64);
        if read > max {
            return;
        }
    }
}
