//! Render workers: threads that each own a [`Renderer`] on the one shared [`Gpu`], fed by a bounded
//! queue whose admission is bounded so a burst gets 503 instead of unbounded memory.
//!
//! Rendering blocks (GPU submit, `poll(Wait)`, readback), so it never runs on the async runtime:
//! handlers send a job and await a oneshot reply. A panic inside a render is caught, answered as a
//! 500, and the worker continues with a fresh renderer, so one bad scene cannot take a worker down.
//!
//! A job carries its request's [`Ticket`], so the request counts as admitted until the worker is
//! done with it even if its client left. The queue holds slots, not jobs: a handler dropped while
//! its job waits empties its slot at once (the scene is freed), and a worker skips empty slots,
//! abandoned tickets and jobs past their deadline.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::budget::Ticket;
use super::previews::Tap;
use crate::core::sync::lock;
use crate::render::{Gpu, Image, ImageKind, Look, RenderError, Renderer};
use crate::scene::camera::Intrinsics;
use crate::scene::Scene;

/// How often [`RenderPool::close`] looks whether the workers have finished.
const CLOSE_POLL: Duration = Duration::from_millis(10);

/// One render to do.
pub struct Job {
    pub scene: Scene,
    /// The look to render with: the server's ([`RenderPool::default_look`]) or the scene's own.
    pub look: Arc<Look>,
    pub intrinsics: Intrinsics,
    pub kind: ImageKind,
    /// Past this instant the answer is no longer wanted (`renderTimeoutSeconds`).
    pub deadline: Instant,
    pub ticket: Arc<Ticket>,
    pub reply: oneshot::Sender<Rendered>,
    /// Where the image is kept for the status page, unless previews are off.
    pub preview: Option<Tap>,
}

/// A worker's answer: the image, or why not, and how long the GPU work took.
pub struct Rendered {
    pub result: Result<Image, RenderError>,
    pub elapsed: Duration,
}

/// A queued job's place: emptied by the worker that takes it, or by the handler that gives up.
type Slot = Arc<Mutex<Option<Job>>>;

/// The handler's hold on its queued job: dropping it (the request ended early) drops the job, its
/// scene and its share of the ticket, if no worker has taken it yet.
pub struct Queued(Slot);

impl Drop for Queued {
    fn drop(&mut self) {
        drop(lock(&self.0).take());
    }
}

/// The queue and its workers.
pub struct RenderPool {
    /// `None` once closed; workers exit when the queue is drained and this is dropped.
    jobs: Mutex<Option<mpsc::SyncSender<Slot>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Permits for requests being processed (loading, queued, rendering or answering); a request
    /// takes one once its body has arrived and been checked.
    admission: Arc<Semaphore>,
    capacity: usize,
    load: Arc<Load>,
    /// The look of the server's `--vtk-params`.
    default_look: Arc<Look>,
}

/// Where the admitted requests are, beyond "in flight": what an autoscaler and the status page need
/// to tell a busy server (workers rendering) from an overloaded one (jobs waiting for a worker).
#[derive(Default)]
struct Load {
    /// Jobs submitted and not yet taken by a worker.
    queued: AtomicUsize,
    /// Workers rendering a job now.
    busy: AtomicUsize,
    workers: usize,
    /// Jobs the workers dropped unrendered: requester gone or deadline passed.
    skipped: AtomicU64,
}

/// Why a request was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Full,
    Closed,
}

impl RenderPool {
    /// Starts `workers` threads sharing `gpu`; at most `queue_depth` requests wait beyond those
    /// being rendered, each with at most `jobs_per_request` images (a scene API frame renders
    /// one per camera and image type, Drake's request one). `look` is the server's, which
    /// requests without their own render with.
    ///
    /// # Errors
    /// When the OS refuses to start a thread.
    pub fn start(
        gpu: Arc<Gpu>,
        look: Look,
        workers: usize,
        queue_depth: usize,
        jobs_per_request: usize,
    ) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let capacity = workers + queue_depth;
        // Every queued slot belongs to an admitted request, so the channel never holds more.
        let (sender, receiver) =
            mpsc::sync_channel::<Slot>(capacity.saturating_mul(jobs_per_request.max(1)));
        let receiver = Arc::new(Mutex::new(receiver));
        let load = Arc::new(Load {
            workers,
            ..Load::default()
        });
        let workers = (0..workers)
            .map(|index| {
                let gpu = Arc::clone(&gpu);
                let receiver = Arc::clone(&receiver);
                let load = Arc::clone(&load);
                std::thread::Builder::new()
                    .name(format!("render-{index}"))
                    .spawn(move || work(&gpu, &receiver, &load))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Self {
            jobs: Mutex::new(Some(sender)),
            workers: Mutex::new(workers),
            admission: Arc::new(Semaphore::new(capacity)),
            capacity,
            load,
            default_look: Arc::new(look),
        })
    }

    /// The look of the server's `--vtk-params`.
    pub fn default_look(&self) -> &Arc<Look> {
        &self.default_look
    }

    /// Admits one request, or refuses at once when the queue is full. The permit goes into the
    /// request's [`Ticket`], held from the complete, checked request to the answer's last byte (and
    /// by its job while a worker has it), so the number of scenes in memory stays bounded.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, Refused> {
        Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|e| match e {
                TryAcquireError::NoPermits => Refused::Full,
                TryAcquireError::Closed => Refused::Closed,
            })
    }

    /// Requests admitted and not finished.
    pub fn in_flight(&self) -> usize {
        self.capacity - self.admission.available_permits()
    }

    /// Jobs waiting for a worker: the figure to scale on, since it grows only when the workers
    /// cannot keep up (in-flight also counts requests loading or being answered).
    pub fn queued(&self) -> usize {
        self.load.queued.load(Ordering::Relaxed)
    }

    /// Workers rendering now.
    pub fn busy(&self) -> usize {
        self.load.busy.load(Ordering::Relaxed)
    }

    /// Worker threads.
    pub fn workers(&self) -> usize {
        self.load.workers
    }

    /// Requests admitted at most at once (workers plus queue); the next one gets 503.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Jobs dropped unrendered since start.
    pub fn skipped(&self) -> u64 {
        self.load.skipped.load(Ordering::Relaxed)
    }

    /// Queues a job for the workers; the job lives as long as the returned [`Queued`] unless a
    /// worker has taken it.
    ///
    /// # Errors
    /// [`Refused::Closed`] after [`RenderPool::close`]; [`Refused::Full`] if the queue is full,
    /// which admission makes impossible.
    pub fn submit(&self, job: Job) -> Result<Queued, Refused> {
        let slot: Slot = Arc::new(Mutex::new(Some(job)));
        let jobs = lock(&self.jobs);
        let sender = jobs.as_ref().ok_or(Refused::Closed)?;
        self.load.queued.fetch_add(1, Ordering::Relaxed);
        sender.try_send(Arc::clone(&slot)).map_err(|error| {
            self.load.queued.fetch_sub(1, Ordering::Relaxed);
            match error {
                mpsc::TrySendError::Full(_) => Refused::Full,
                mpsc::TrySendError::Disconnected(_) => Refused::Closed,
            }
        })?;
        Ok(Queued(slot))
    }

    /// Whether one more request would be admitted now: the render server's readiness.
    pub fn has_room(&self) -> bool {
        self.admission.available_permits() > 0
    }

    /// Stops admitting and joins the workers, waiting until `deadline` at most: they skip the
    /// queued jobs nobody waits for any more, and a render still running then is abandoned (its
    /// thread ends with the process) so shutdown stays within its grace period.
    pub fn close(&self, deadline: Instant) {
        self.admission.close();
        drop(lock(&self.jobs).take());
        let mut workers = std::mem::take(&mut *lock(&self.workers));
        while !workers.is_empty() && Instant::now() < deadline {
            std::thread::sleep(CLOSE_POLL);
            let (finished, running) = workers.into_iter().partition(JoinHandle::is_finished);
            workers = running;
            for worker in finished {
                if worker.join().is_err() {
                    tracing::error!("a render worker panicked outside a render");
                }
            }
        }
        if !workers.is_empty() {
            tracing::warn!(
                workers = workers.len(),
                "renders still running at the end of the grace period; abandoning them"
            );
        }
    }
}

fn work(gpu: &Arc<Gpu>, receiver: &Mutex<mpsc::Receiver<Slot>>, load: &Load) {
    let mut renderer = Renderer::new(Arc::clone(gpu));
    loop {
        // Holding the lock while waiting is fine: only idle workers contend for it.
        let slot = match lock(receiver).recv() {
            Ok(slot) => slot,
            Err(mpsc::RecvError) => return,
        };
        load.queued.fetch_sub(1, Ordering::Relaxed);
        let Some(job) = lock(&slot).take() else {
            load.skipped.fetch_add(1, Ordering::Relaxed);
            continue; // its handler gave up while it waited
        };
        if job.ticket.is_abandoned() || job.reply.is_closed() || Instant::now() >= job.deadline {
            // Its client left, shutdown answered it 503, or its deadline passed.
            load.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        load.busy.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            renderer.render(&job.scene, &job.look, &job.intrinsics, job.kind)
        }));
        // The scene and this share of the ticket go before the answer, so a request counts as
        // finished once its client has the image.
        let Job {
            scene,
            look,
            ticket,
            reply,
            preview,
            ..
        } = job;
        drop((scene, look, ticket));
        let result = result.unwrap_or_else(|_| {
            tracing::error!("render panicked; replacing the worker's renderer");
            renderer = Renderer::new(Arc::clone(gpu));
            Err(RenderError::Gpu(
                "the renderer failed unexpectedly".to_owned(),
            ))
        });
        let elapsed = started.elapsed();
        if let (Some(preview), Ok(image)) = (&preview, &result) {
            // Here, while the image is still in this core's cache, and off the runtime.
            preview.keep(image);
        }
        load.busy.fetch_sub(1, Ordering::Relaxed);
        // The requester may have gone (client disconnected); nothing to do then.
        let _ = reply.send(Rendered { result, elapsed });
    }
}
