//! What request bodies hold while they are still arriving: the bytes a handler has read of a body
//! that is not complete yet, bounded per listener and per connection, apart from any role's own
//! budget for complete requests.
//!
//! A role takes its expensive admission (a render slot, its memory budget) once a request is
//! complete, so an upload that stalls holds only this, and only until the body limits of
//! [`super::body::TimedBody`] cut it. The per-connection bound is what keeps one HTTP/2
//! connection's many streams from taking the listener's whole share.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as HttpBody, Bytes, Frame, SizeHint};
use prometheus_client::metrics::gauge::Gauge;

use super::connection::ConnState;
use super::http_metrics::HttpMetrics;
use crate::core::config::{config_key, ServerConfig};

/// Bytes held by bodies still arriving on one listener, against its two limits.
pub(super) struct UploadBudget {
    limit: u64,
    per_connection: u64,
    /// What bodies still arriving hold: the `http_upload_bytes_in_flight` gauge's own count.
    used: Gauge<u64, AtomicU64>,
    metrics: Arc<HttpMetrics>,
}

/// Which limit refused an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    Listener,
    Connection,
}

impl Refusal {
    /// The `limit` label of `http_uploads_refused_total`.
    fn label(self) -> &'static str {
        match self {
            Refusal::Listener => "listener",
            Refusal::Connection => "connection",
        }
    }
}

/// Where a request's body says it was refused, so the bootstrap answers 503 in place of whatever
/// the role made of the failed body.
pub(super) type Refused = Arc<OnceLock<Refusal>>;

impl UploadBudget {
    pub fn new(limit: u64, per_connection: u64, metrics: Arc<HttpMetrics>) -> Arc<Self> {
        Arc::new(Self {
            limit,
            per_connection,
            used: metrics.upload_bytes_in_flight.clone(),
            metrics,
        })
    }

    /// The 503 for a request whose body `refusal` refused.
    pub fn refused(&self, refusal: Refusal) -> Response {
        let message = match refusal {
            Refusal::Listener => format!(
                "the server's memory for uploads in progress ({} bytes) is taken; retry shortly (config key {})\n",
                self.limit,
                config_key!(ServerConfig, max_upload_bytes)
            ),
            Refusal::Connection => format!(
                "the uploads in progress on this connection would hold more than {} bytes; retry shortly (config key {})\n",
                self.per_connection,
                config_key!(ServerConfig, max_upload_bytes_per_connection)
            ),
        };
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            message,
        )
            .into_response()
    }
}

/// Adds `bytes` to `used` unless that would pass `limit`.
fn take(used: &AtomicU64, limit: u64, bytes: u64) -> bool {
    used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
        held.checked_add(bytes).filter(|&total| total <= limit)
    })
    .is_ok()
}

fn refused_error() -> axum::BoxError {
    io::Error::other("the server's memory for uploads in progress is taken").into()
}

/// A request body as its handler reads it: counts what was read against the [`UploadBudget`]
/// until the body is complete or dropped, and fails when a limit is reached.
pub(super) struct CountedUpload<B> {
    inner: B,
    budget: Arc<UploadBudget>,
    conn: Arc<ConnState>,
    /// Bytes this body holds in the budget; `None` once it is complete and counts no more.
    held: Option<u64>,
    refused: Refused,
}

impl<B> CountedUpload<B> {
    pub fn new(
        inner: B,
        budget: Arc<UploadBudget>,
        conn: Arc<ConnState>,
        refused: Refused,
    ) -> Self {
        Self {
            inner,
            budget,
            conn,
            held: Some(0),
            refused,
        }
    }

    fn take(&mut self, bytes: u64) -> Result<(), Refusal> {
        let budget = &self.budget;
        if !take(self.conn.uploading(), budget.per_connection, bytes) {
            return Err(Refusal::Connection);
        }
        if !take(budget.used.inner(), budget.limit, bytes) {
            self.conn.uploading().fetch_sub(bytes, Ordering::AcqRel);
            return Err(Refusal::Listener);
        }
        if let Some(held) = &mut self.held {
            *held += bytes;
        }
        Ok(())
    }

    /// Gives back what the body holds; it counts no more.
    fn release(&mut self) {
        if let Some(held) = self.held.take() {
            self.conn.uploading().fetch_sub(held, Ordering::AcqRel);
            self.budget.used.inner().fetch_sub(held, Ordering::AcqRel);
        }
    }
}

impl<B> Drop for CountedUpload<B> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<B> HttpBody for CountedUpload<B>
where
    B: HttpBody<Data = Bytes, Error = axum::BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.refused.get().is_some() {
            return Poll::Ready(Some(Err(refused_error())));
        }
        let poll = Pin::new(&mut this.inner).poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) if this.held.is_some() => {
                let bytes = frame.data_ref().map_or(0, |data| data.len() as u64);
                if let Err(refusal) = this.take(bytes) {
                    this.release();
                    let _ = this.refused.set(refusal);
                    this.budget.metrics.count_refused(refusal.label());
                    return Poll::Ready(Some(Err(refused_error())));
                }
                if this.inner.is_end_stream() {
                    this.release();
                }
            }
            Poll::Ready(None | Some(Err(_))) => this.release(),
            _ => {}
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
