//! What bounds one connection in time and number: its state (busy with a request, or idle since
//! when), the registry that enforces the global and per-IP caps by closing the oldest idle
//! connection, and the socket wrapper that cuts clients who stop reading. The bodies that cut
//! clients who stop sending are in [`super::body`].
//!
//! Idleness is decided here, below HTTP, so one rule covers HTTP/1, HTTP/2 and the bytes before
//! either is recognised: a connection with no request in progress is closed after the idle
//! timeout, or after the header timeout once it has started sending something.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

use super::http_metrics::HttpMetrics;
use super::write_floor::WriteFloor;
use crate::core::sync::lock;

/// The connection time limits of [`crate::core::config::ServerConfig`], resolved once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
    pub body_stall: Duration,
    /// Bytes per second; 0 turns the rate rule off.
    pub min_body_rate: u64,
    pub tls_handshake: Duration,
    pub write: Duration,
    /// Bytes per second a client must take of its answer after `write_grace`; 0 turns it off.
    pub min_write_rate: u64,
    pub write_grace: Duration,
}

/// Why the server closed a connection, as the `reason` label of `http_connections_closed_total`.
pub(super) mod reason {
    pub const IDLE: &str = "idle";
    pub const HEADER_TIMEOUT: &str = "header_timeout";
    pub const BODY_STALLED: &str = "body_stalled";
    pub const BODY_TOO_SLOW: &str = "body_too_slow";
    pub const WRITE_TIMEOUT: &str = "write_timeout";
    pub const WRITE_TOO_SLOW: &str = "write_too_slow";
    pub const TLS_HANDSHAKE_TIMEOUT: &str = "tls_handshake_timeout";
    pub const REPLACED: &str = "replaced_by_newer";
    pub const REFUSED: &str = "refused_all_busy";
}

/// One connection's state, shared by its task, its socket wrapper and its requests.
pub(super) struct ConnState {
    id: u64,
    ip: IpAddr,
    born: Instant,
    /// Requests dispatched and not yet fully answered.
    active: AtomicUsize,
    /// Set once the connection became a WebSocket: the role owns its lifetime from then on.
    upgraded: AtomicBool,
    /// Milliseconds after `born` when the connection last became idle.
    idle_since_ms: AtomicU64,
    /// Milliseconds after `born`, plus one, of the first byte read while idle; 0 for none.
    first_byte_ms: AtomicU64,
    /// Answers waiting for their client to take their last piece, by key: when the client must
    /// have taken it by (the write floor). The connection's task enforces them, since nothing
    /// polls an answer its client does not take.
    answer_waits: Mutex<HashMap<u64, Instant>>,
    next_answer: AtomicU64,
    /// Bytes held by this connection's request bodies still arriving.
    uploading: AtomicU64,
    /// Wakes the connection's task when a request ends, a head begins or an answer starts
    /// waiting, so it re-arms its deadline.
    changed: Notify,
    close: CancellationToken,
    reason: OnceLock<&'static str>,
}

impl ConnState {
    fn new(id: u64, ip: IpAddr) -> Self {
        Self {
            id,
            ip,
            born: Instant::now(),
            active: AtomicUsize::new(0),
            upgraded: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(0),
            first_byte_ms: AtomicU64::new(0),
            answer_waits: Mutex::default(),
            next_answer: AtomicU64::new(0),
            uploading: AtomicU64::new(0),
            changed: Notify::new(),
            close: CancellationToken::new(),
            reason: OnceLock::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0 && !self.upgraded.load(Ordering::Acquire)
    }

    /// Asks the connection's task to drop the connection; the first reason given is kept.
    pub fn close_with(&self, reason: &'static str) {
        let _ = self.reason.set(reason);
        self.close.cancel();
    }

    pub fn closing(&self) -> &CancellationToken {
        &self.close
    }

    pub fn reason(&self) -> Option<&'static str> {
        self.reason.get().copied()
    }

    pub fn changed(&self) -> &Notify {
        &self.changed
    }

    pub fn mark_upgraded(&self) {
        self.upgraded.store(true, Ordering::Release);
    }

    pub fn is_upgraded(&self) -> bool {
        self.upgraded.load(Ordering::Acquire)
    }

    pub fn uploading(&self) -> &AtomicU64 {
        &self.uploading
    }

    /// A key for a new answer's [`Self::answer_waits`].
    pub fn new_answer(&self) -> u64 {
        self.next_answer.fetch_add(1, Ordering::Relaxed)
    }

    /// Answer `answer` now waits for its client, which must take something by `by`; `None` when
    /// it no longer waits (the client took it, or the answer is gone).
    pub fn answer_waits(&self, answer: u64, by: Option<Instant>) {
        let mut waits = lock(&self.answer_waits);
        let Some(by) = by else {
            waits.remove(&answer);
            return;
        };
        let earliest = waits.values().min().copied();
        waits.insert(answer, by);
        if earliest.is_none_or(|earliest| by < earliest) {
            self.changed.notify_one();
        }
    }

    /// When the connection is to be closed, and under which reason: while idle, for idleness;
    /// while requests are in progress, when an answer's client falls below the write floor;
    /// never after an upgrade.
    pub fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, &'static str)> {
        if self.is_upgraded() {
            return None;
        }
        if !self.is_idle() {
            let earliest = lock(&self.answer_waits).values().min().copied();
            return earliest.map(|at| (at, reason::WRITE_TOO_SLOW));
        }
        match self.first_byte_ms.load(Ordering::Acquire) {
            0 => {
                let since = Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire));
                Some((self.born + since + timeouts.idle, reason::IDLE))
            }
            first => Some((
                self.born + Duration::from_millis(first - 1) + timeouts.header,
                reason::HEADER_TIMEOUT,
            )),
        }
    }

    fn saw_bytes(&self) {
        if self.is_idle() && self.first_byte_ms.load(Ordering::Relaxed) == 0 {
            self.first_byte_ms
                .store(self.now_ms().saturating_add(1), Ordering::Release);
            // The header deadline may come before the idle one the task sleeps until.
            self.changed.notify_one();
        }
    }
}

/// A number of things in progress (requests, connection tasks) that shutdown waits for.
#[derive(Clone)]
pub(super) struct Count(Arc<tokio::sync::watch::Sender<usize>>);

impl Count {
    pub fn new() -> Self {
        Self(Arc::new(tokio::sync::watch::channel(0).0))
    }

    pub fn get(&self) -> usize {
        *self.0.borrow()
    }

    /// Counts one more until the guard is dropped.
    pub fn enter(&self) -> Counted {
        self.0.send_modify(|n| *n += 1);
        Counted(self.clone())
    }

    /// Returns once the count is zero.
    pub async fn zero(&self) {
        let mut receiver = self.0.subscribe();
        let _ = receiver.wait_for(|&n| n == 0).await;
    }
}

/// One unit of a [`Count`], for as long as it lives.
pub(super) struct Counted(Count);

impl Drop for Counted {
    fn drop(&mut self) {
        (self.0).0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// One request in progress: it keeps its connection busy and counted until its answer is sent.
pub(super) struct RequestGuard {
    conn: Arc<ConnState>,
    _counted: Counted,
}

impl RequestGuard {
    pub fn start(conn: &Arc<ConnState>, in_flight: &Count) -> Self {
        conn.active.fetch_add(1, Ordering::AcqRel);
        Self {
            conn: Arc::clone(conn),
            _counted: in_flight.enter(),
        }
    }

    pub fn conn(&self) -> &Arc<ConnState> {
        &self.conn
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let conn = &self.conn;
        if conn.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            conn.first_byte_ms.store(0, Ordering::Release);
            conn.idle_since_ms.store(conn.now_ms(), Ordering::Release);
            conn.changed.notify_one();
        }
    }
}

/// The open connections of one listener, by age, and how many each IP address holds.
pub(super) struct Registry {
    inner: Mutex<Inner>,
    max_total: usize,
    max_per_ip: usize,
    metrics: Arc<HttpMetrics>,
}

#[derive(Default)]
struct Inner {
    /// Ascending ids are ascending ages: the first idle entry is the oldest idle connection.
    open: BTreeMap<u64, Arc<ConnState>>,
    per_ip: HashMap<IpAddr, usize>,
    next_id: u64,
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Arc<ConnState>> {
        let conn = self.open.remove(&id)?;
        if let Some(count) = self.per_ip.get_mut(&conn.ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&conn.ip);
            }
        }
        Some(conn)
    }

    /// Closes the oldest idle connection (of `ip` if given) to make room; false if none is idle.
    fn replace_oldest_idle(&mut self, ip: Option<IpAddr>, metrics: &HttpMetrics) -> bool {
        let victim = self
            .open
            .values()
            .find(|conn| conn.is_idle() && ip.is_none_or(|ip| conn.ip == ip))
            .map(|conn| conn.id);
        let Some(conn) = victim.and_then(|id| self.remove(id)) else {
            return false;
        };
        conn.close_with(reason::REPLACED);
        metrics.count_closed(reason::REPLACED);
        true
    }
}

impl Registry {
    pub fn new(max_total: usize, max_per_ip: usize, metrics: Arc<HttpMetrics>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::default(),
            max_total: max_total.max(1),
            max_per_ip: max_per_ip.max(1),
            metrics,
        })
    }

    /// A slot for a new connection from `ip`, closing the oldest idle connection when a cap is
    /// reached; `None` when the cap is reached and every connection under it is busy.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut inner = lock(&self.inner);
        let from_ip = inner.per_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.max_per_ip && !inner.replace_oldest_idle(Some(ip), &self.metrics) {
            return None;
        }
        if inner.open.len() >= self.max_total && !inner.replace_oldest_idle(None, &self.metrics) {
            return None;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let conn = Arc::new(ConnState::new(id, ip));
        inner.open.insert(id, Arc::clone(&conn));
        *inner.per_ip.entry(ip).or_insert(0) += 1;
        drop(inner);
        Some(Slot {
            registry: Arc::clone(self),
            conn,
        })
    }
}

/// A connection's place in the [`Registry`], given back when the socket is dropped (which, for
/// a WebSocket, is when the WebSocket ends, not when HTTP hands the socket over).
pub(super) struct Slot {
    registry: Arc<Registry>,
    conn: Arc<ConnState>,
}

impl Slot {
    pub fn conn(&self) -> &Arc<ConnState> {
        &self.conn
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.registry.inner).remove(self.conn.id);
    }
}

/// Counts a connection in `http_connections_in_flight` for exactly as long as its socket lives.
struct ConnectionGauge(Gauge);

impl ConnectionGauge {
    fn open(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The socket of one connection: notes bytes read while idle (for the header timeout), fails a
/// write the client has not let through for the write timeout, or (before any upgrade) more
/// slowly than the write floor, and holds the connection's slot and gauge for as long as the
/// socket lives.
///
/// The floor here covers what HTTP has already taken from an answer (the last pieces in hyper's
/// buffer, an answer sent as one piece); the answer's own meter ([`super::body::GuardedBody`])
/// covers what is still in the answer, including an HTTP/2 stream its client never opens a
/// window for, which leaves the socket writable.
pub(super) struct TimedIo<S> {
    inner: S,
    conn: Arc<ConnState>,
    write_timeout: Duration,
    floor: Option<WriteFloor>,
    /// Start of the write waiting now, if one is.
    stalled_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
    metrics: Arc<HttpMetrics>,
    _slot: Slot,
    _gauge: ConnectionGauge,
}

impl<S> TimedIo<S> {
    pub fn new(inner: S, slot: Slot, timeouts: &Timeouts, metrics: Arc<HttpMetrics>) -> Self {
        Self {
            inner,
            conn: Arc::clone(slot.conn()),
            write_timeout: timeouts.write,
            floor: WriteFloor::new(timeouts.min_write_rate, timeouts.write_grace),
            stalled_since: None,
            timer: None,
            _gauge: ConnectionGauge::open(metrics.connections_in_flight.clone()),
            metrics,
            _slot: slot,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Called when a write could not proceed: fails it once the client has read nothing for the
    /// write timeout, or has fallen below the write floor.
    fn stalled(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let now = Instant::now();
        let since = *self.stalled_since.get_or_insert(now);
        let mut deadline = (since + self.write_timeout, reason::WRITE_TIMEOUT);
        if let Some(floor) = self.floor.as_mut().filter(|_| !self.conn.is_upgraded()) {
            let by = floor.waiting(now);
            if by < deadline.0 {
                deadline = (by, reason::WRITE_TOO_SLOW);
            }
        }
        let (at, why) = deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        if timer.as_mut().poll(cx).is_pending() {
            return Ok(());
        }
        self.stalled_since = None;
        if self.conn.reason().is_none() {
            self.metrics.count_closed(why);
            cut_log(why, self.write_timeout);
        }
        self.conn.close_with(why);
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading",
        ))
    }

    fn progressed<T>(
        &mut self,
        poll: Poll<io::Result<T>>,
        written: impl FnOnce(&T) -> usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending => match self.stalled(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            ready => {
                self.stalled_since = None;
                if let Some(floor) = &mut self.floor {
                    let bytes = match &ready {
                        Poll::Ready(Ok(value)) => written(value),
                        _ => 0,
                    };
                    floor.took(bytes, Instant::now());
                }
                ready
            }
        }
    }
}

/// The info line for a connection cut because its client did not take what was written.
pub(super) fn cut_log(why: &str, write_timeout: Duration) {
    if why == reason::WRITE_TOO_SLOW {
        tracing::info!(
            "client took its answer more slowly than minWriteBytesPerSecond; connection closed"
        );
    } else {
        tracing::info!(
            timeout_s = write_timeout.as_secs_f64(),
            "client read nothing for the write timeout; connection closed"
        );
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.saw_bytes();
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progressed(poll, |&n| n, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progressed(poll, |&n| n, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.progressed(poll, |()| 0, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.progressed(poll, |()| 0, cx)
    }
}
