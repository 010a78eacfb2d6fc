//! The render server's own `/metrics` figures, beside the bootstrap's per-request ones: render
//! times and rejections, counted as they happen, and the adapter, the queue and workers, the memory
//! in flight and the scene cache, read when scraped from the state that counts them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;

use super::budget::MemoryBudget;
use super::pool::RenderPool;
use crate::core::metrics::{self, Durations, Figures, Registry, Unit};
use crate::render::AdapterSummary;
use crate::scene::cache::SceneCache;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Adapter {
    name: String,
    backend: String,
    device_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    image_type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ImageTypeLabel {
    image_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Rejection {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Memory {
    memory: &'static str,
}

/// The figures the render paths count as they go.
pub struct RenderMetrics {
    request_durations: Durations<RequestLabels>,
    gpu_durations: Durations<ImageTypeLabel>,
    rejections: Family<Rejection, Counter>,
    frame_durations: Histogram,
}

impl RenderMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let this = Self {
            request_durations: metrics::durations_by(),
            gpu_durations: metrics::durations_by(),
            rejections: Family::default(),
            frame_durations: metrics::durations(),
        };
        registry.register_with_unit(
            "render_request_duration",
            "Render requests from arrival to answer, by image type",
            Unit::Seconds,
            this.request_durations.clone(),
        );
        registry.register_with_unit(
            "render_gpu",
            "Time a render worker spent on one image (render and readback), by image type",
            Unit::Seconds,
            this.gpu_durations.clone(),
        );
        registry.register(
            "render_rejections",
            "Render requests not answered with an image, by reason",
            this.rejections.clone(),
        );
        registry.register_with_unit(
            "scene_api_frame_duration",
            "Scene API frames from arrival to answer (every image rendered and encoded)",
            Unit::Seconds,
            this.frame_durations.clone(),
        );
        this
    }

    /// One render request answered (`outcome` ok, rejected or failed).
    pub fn request(&self, image_type: &'static str, outcome: &'static str, elapsed: Duration) {
        self.request_durations
            .get_or_create(&RequestLabels {
                image_type,
                outcome,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// One image rendered by a worker.
    pub fn gpu(&self, image_type: &'static str, elapsed: Duration) {
        self.gpu_durations
            .get_or_create(&ImageTypeLabel { image_type })
            .observe(elapsed.as_secs_f64());
    }

    /// One render request not answered with an image (busy, bad_request or internal).
    pub fn rejected(&self, reason: &'static str) {
        self.rejections.get_or_create(&Rejection { reason }).inc();
    }

    /// One scene API frame answered.
    pub fn frame(&self, elapsed: Duration) {
        self.frame_durations.observe(elapsed.as_secs_f64());
    }
}

/// Registers the figures read when scraped (the pool, the memory, the cache) and the adapter.
pub fn register(
    registry: &mut Registry,
    adapter: &AdapterSummary,
    pool: &Arc<RenderPool>,
    memory: &Arc<MemoryBudget>,
    cache: &Arc<SceneCache>,
) {
    registry.register(
        "render_adapter",
        "The GPU adapter rendering (value 1), with its name, backend and device type as labels",
        Info::new(Adapter {
            name: adapter.name.clone(),
            backend: adapter.backend.clone(),
            device_type: adapter.device_type.clone(),
        }),
    );
    metrics::scraped(registry, pool, self::pool);
    metrics::scraped(registry, memory, self::memory);
    metrics::scraped(registry, cache, self::cache);
}

fn pool(pool: &RenderPool, figures: &mut Figures<'_>) -> fmt::Result {
    figures.gauge(
        "render_requests_in_flight",
        "Render requests admitted and not yet answered (loading, queued, rendering or answering)",
        None,
        pool.in_flight(),
    )?;
    figures.gauge(
        "render_queue_depth",
        "Render jobs waiting for a worker: the autoscaling signal (non-zero only when the workers cannot keep up)",
        None,
        pool.queued(),
    )?;
    figures.gauge(
        "render_workers_busy",
        "Render workers rendering now",
        None,
        pool.busy(),
    )?;
    figures.gauge(
        "render_workers",
        "Render worker threads",
        None,
        pool.workers(),
    )?;
    figures.counter(
        "render_jobs_skipped",
        "Render jobs dropped unrendered: requester gone or deadline passed",
        pool.skipped(),
    )
}

fn memory(memory: &MemoryBudget, figures: &mut Figures<'_>) -> fmt::Result {
    figures.gauge(
        "render_in_flight",
        "Memory held by render requests in flight, as counted against maxInFlightBytes",
        Some(Unit::Bytes),
        memory.used(),
    )
}

fn cache(cache: &SceneCache, figures: &mut Figures<'_>) -> fmt::Result {
    let stats = cache.stats();
    figures.counter(
        "render_cache_hits",
        "Meshes and textures the scene cache already held",
        stats.hits,
    )?;
    figures.counter(
        "render_cache_misses",
        "Meshes and textures decoded because the scene cache did not hold them",
        stats.misses,
    )?;
    figures.counter(
        "render_cache_evictions",
        "Entries dropped from the scene cache to stay within cacheBytes",
        stats.evictions,
    )?;
    figures.gauges(
        "render_cache",
        "Bytes the scene cache holds, by where they live (gpu: buffers and textures)",
        Some(Unit::Bytes),
        [
            (Memory { memory: "cpu" }, stats.cpu_bytes),
            (Memory { memory: "gpu" }, stats.gpu_bytes),
        ],
    )?;
    figures.gauge(
        "render_cache_limit",
        "The scene cache's budget (config key cacheBytes)",
        Some(Unit::Bytes),
        stats.limit_bytes,
    )?;
    figures.gauge(
        "render_cache_entries",
        "Meshes and textures in the scene cache",
        None,
        stats.entries,
    )
}
