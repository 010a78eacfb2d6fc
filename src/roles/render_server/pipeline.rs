//! The render pipeline every front door shares: admission, the request's memory ticket, the
//! deadline, the worker pool, blocking work off the runtime, and the chunked answer that holds the
//! ticket. A front door (Drake's multipart form in [`super::drake`]) reads and checks its own
//! request, builds the scene it wants drawn, and hands views of it to [`Pipeline::render`]; how it
//! encodes the images is its own wire format, run through [`Pipeline::blocking`].
//!
//! Order, for every front door: the request read and checked → admission ([`Pipeline::admit`],
//! 503 when the queue is full; never while a body is still arriving, so a stalled upload holds no
//! slot) → memory for what the request holds ([`Pipeline::reserve`]) → from then on the deadline
//! ([`Pipeline::within_deadline`]) → render on a worker → encode → [`answer`]. A client that hangs
//! up drops its handler, which abandons the ticket ([`Admitted`]): its queued jobs are dropped and
//! a load in progress stops at its next allocation.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::budget::{AbandonOnDrop, MemoryBudget, Ticket};
use super::error::ApiError;
use super::metrics::RenderMetrics;
use super::pool::{Job, RenderPool};
use super::previews::{Previews, Source, Tap};
use super::Config;
use crate::core::config::config_key;
use crate::render::{Gpu, Image, ImageKind, Look};
use crate::scene::camera::Intrinsics;
use crate::scene::merge::StaticScene;
use crate::scene::{Scene, SceneError};

/// Size of the pieces an answer is written in (see [`answer`]).
const ANSWER_CHUNK_BYTES: usize = 256 * 1024;

/// What every front door renders through, created once at start.
pub struct Pipeline {
    pub config: Config,
    pub gpu: Arc<Gpu>,
    pub pool: Arc<RenderPool>,
    /// The memory every request in flight holds together (`maxInFlightBytes`).
    pub memory: Arc<MemoryBudget>,
    /// Drawn into every image; its GPU copies stay resident, outside the cache.
    pub static_scene: Arc<StaticScene>,
    pub metrics: RenderMetrics,
    /// The latest image of each type, for the status page; `None` when `statusPreviews` is off.
    pub previews: Option<Arc<Previews>>,
}

/// An admitted request's ticket, abandoned when this is dropped before the request finished (the
/// client hung up, or the deadline passed), so the workers skip what it queued.
pub struct Admitted {
    pub ticket: Arc<Ticket>,
    _abandon: AbandonOnDrop,
}

/// One image to render: the scene as this image sees it (its camera, its materials for the image
/// type), the look it is drawn with, the intrinsics and the kind, and who asked for it.
pub struct View {
    pub scene: Scene,
    /// The server's look ([`RenderPool::default_look`]), or a resident scene's own.
    pub look: Arc<Look>,
    pub intrinsics: Intrinsics,
    pub kind: ImageKind,
    pub source: Source,
}

/// A rendered image and how long the worker spent on it.
pub struct RenderedImage {
    pub image: Image,
    pub elapsed: Duration,
}

impl Pipeline {
    /// Takes a render slot for a request from `client`, whose memory counts against that
    /// address's share, or refuses at once (503) when the queue is full.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when every slot is taken or the server is stopping.
    pub fn admit(&self, client: IpAddr) -> Result<Admitted, ApiError> {
        let permit = self.pool.admit()?;
        let ticket = Arc::new(Ticket::new(permit, Arc::clone(&self.memory), client));
        Ok(Admitted {
            _abandon: AbandonOnDrop(Arc::clone(&ticket)),
            ticket,
        })
    }

    /// Takes `bytes` more of the in-flight memory for `ticket`'s request.
    ///
    /// # Errors
    /// 503 naming `maxInFlightBytes`, or `maxInFlightBytesPerClient`, when they do not fit.
    pub fn reserve(&self, ticket: &Ticket, bytes: u64) -> Result<(), ApiError> {
        ticket
            .reserve(bytes)
            .map_err(|over| ApiError::Unavailable(over.message()))
    }

    /// What a loader offers each allocation to: refused once the request is abandoned (its
    /// client left) or when the memory budget has no room, so a load stops mid-way.
    pub fn loader_reserve(
        &self,
        ticket: &Arc<Ticket>,
    ) -> impl FnMut(u64) -> Result<(), SceneError> + Send + 'static {
        let ticket = Arc::clone(ticket);
        move |bytes| {
            if ticket.is_abandoned() {
                return Err(SceneError::Refused("the request was abandoned".to_owned()));
            }
            ticket
                .reserve(bytes)
                .map_err(|over| SceneError::Refused(over.message()))
        }
    }

    /// The instant by which a request whose body has just been read must be answered.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.config.render_timeout()
    }

    /// Runs `work` until `deadline`, answering 503 past it.
    ///
    /// # Errors
    /// `work`'s own, or the deadline's 503 naming `renderTimeoutSeconds`.
    pub async fn within_deadline<T, E: From<ApiError>>(
        &self,
        deadline: Instant,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| Err(self.timed_out().into()))
    }

    /// The 503 for a request past its deadline.
    fn timed_out(&self) -> ApiError {
        ApiError::Unavailable(format!(
            "the render did not finish within {} s (config key {})",
            self.config.render_timeout().as_secs_f64(),
            config_key!(Config, render_timeout_seconds)
        ))
    }

    /// Runs `work` on a blocking thread (loading, encoding: never on the runtime); `what` names
    /// the stage in the 500 if that thread panics.
    ///
    /// # Errors
    /// `work`'s own, or a 500 when it panicked.
    pub async fn blocking<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::Internal(format!("{what} stopped: {e}")))?
    }

    /// Renders one view on a worker, its image's memory (read back, then encoded: at most as large
    /// again) taken from the ticket first. The job holds the ticket, so the request counts as in
    /// flight until the worker is done with it even if its client left.
    ///
    /// # Errors
    /// 503 when the memory budget has no room or the deadline passed in the queue; the render's
    /// own error (400 for a size the adapter cannot render, 500 for a GPU failure).
    pub async fn render(
        &self,
        view: View,
        ticket: &Arc<Ticket>,
        deadline: Instant,
    ) -> Result<RenderedImage, ApiError> {
        let View {
            scene,
            look,
            intrinsics,
            kind,
            source,
        } = view;
        let image_bytes = u64::from(intrinsics.width) * u64::from(intrinsics.height) * 4 * 2;
        self.reserve(ticket, image_bytes)?;
        let (reply, rendered) = oneshot::channel();
        let _queued = self.pool.submit(Job {
            scene,
            look,
            intrinsics,
            kind,
            deadline,
            ticket: Arc::clone(ticket),
            reply,
            preview: (self.previews.as_ref()).map(|previews| Tap {
                previews: Arc::clone(previews),
                source,
            }),
        })?;
        let rendered = rendered.await.map_err(|_| {
            if Instant::now() >= deadline {
                self.timed_out()
            } else {
                ApiError::Internal("the render worker stopped".to_owned())
            }
        })?;
        self.metrics.gpu(kind_name(kind), rendered.elapsed);
        Ok(RenderedImage {
            image: rendered.result?,
            elapsed: rendered.elapsed,
        })
    }
}

/// The image type as metrics label it (Drake's `image_type` values).
fn kind_name(kind: ImageKind) -> &'static str {
    match kind {
        ImageKind::Color => "color",
        ImageKind::Depth { .. } => "depth",
        ImageKind::Label => "label",
    }
}

/// The encoded answer as the response body, in chunks that each hold the ticket: hyper asks for
/// the next chunk only once the previous ones are written, so admission and memory cover the write
/// up to its last chunk, and a client that stops reading keeps its request counted.
pub fn answer(bytes: Bytes, content_type: &'static str, ticket: Arc<Ticket>) -> Response {
    let length = bytes.len();
    // An answer waiting for its client (perhaps one that reads slowly) holds only itself.
    ticket.hold_only(length as u64);
    let mut ticket = Some(ticket);
    let chunks = (0..length).step_by(ANSWER_CHUNK_BYTES).map(move |start| {
        let end = (start + ANSWER_CHUNK_BYTES).min(length);
        if end == length {
            // Handed over with the last chunk: the request is done when its client can have it all.
            drop(ticket.take());
        }
        Ok::<_, Infallible>(bytes.slice(start..end))
    });
    let mut response = Body::from_stream(futures_util::stream::iter(chunks)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Set, so the answer stays length-delimited instead of chunked.
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}
