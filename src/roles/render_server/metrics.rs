//! The render server's own `/metrics` figures, beside the bootstrap's per-request ones: the
//! adapter, the queue and workers, the memory in flight, the scene cache. Read when scraped, from
//! weak references, so a collector never keeps the pool or the cache alive.

use std::sync::Arc;

use super::state::AppState;

pub fn register(state: &Arc<AppState>) {
    let metrics = &state.pipeline.metrics;
    let adapter = state.pipeline.gpu.adapter();
    metrics.gauge_set(
        "render_adapter_info",
        "The GPU adapter rendering (value 1), with its name, backend and device type as labels.",
        &[
            ("name", &adapter.name),
            ("backend", &adapter.backend),
            ("device_type", &adapter.device_type),
        ],
        1.0,
    );
    let pool = Arc::downgrade(&state.pipeline.pool);
    let memory = Arc::downgrade(&state.pipeline.memory);
    metrics.add_collector(move |metrics| {
        if let Some(pool) = pool.upgrade() {
            metrics.gauge_set(
                "render_requests_in_flight",
                "Render requests admitted and not yet answered (loading, queued, rendering or answering).",
                &[],
                pool.in_flight() as f64,
            );
            metrics.gauge_set(
                "render_queue_depth",
                "Render jobs waiting for a worker: the autoscaling signal (non-zero only when the workers cannot keep up).",
                &[],
                pool.queued() as f64,
            );
            metrics.gauge_set(
                "render_workers_busy",
                "Render workers rendering now.",
                &[],
                pool.busy() as f64,
            );
            metrics.gauge_set(
                "render_workers",
                "Render worker threads.",
                &[],
                pool.workers() as f64,
            );
            metrics.counter_set(
                "render_jobs_skipped_total",
                "Render jobs dropped unrendered: requester gone or deadline passed.",
                &[],
                pool.skipped() as f64,
            );
        }
        if let Some(memory) = memory.upgrade() {
            metrics.gauge_set(
                "render_in_flight_bytes",
                "Memory held by render requests in flight, as counted against maxInFlightBytes.",
                &[],
                memory.used() as f64,
            );
        }
    });
    let cache = Arc::downgrade(&state.cache);
    metrics.add_collector(move |metrics| {
        let Some(cache) = cache.upgrade() else {
            return;
        };
        let stats = cache.stats();
        metrics.counter_set(
            "render_cache_hits_total",
            "Meshes and textures the scene cache already held.",
            &[],
            stats.hits as f64,
        );
        metrics.counter_set(
            "render_cache_misses_total",
            "Meshes and textures decoded because the scene cache did not hold them.",
            &[],
            stats.misses as f64,
        );
        metrics.counter_set(
            "render_cache_evictions_total",
            "Entries dropped from the scene cache to stay within cacheBytes.",
            &[],
            stats.evictions as f64,
        );
        for (memory, bytes) in [("cpu", stats.cpu_bytes), ("gpu", stats.gpu_bytes)] {
            metrics.gauge_set(
                "render_cache_bytes",
                "Bytes the scene cache holds, by where they live (gpu: buffers and textures).",
                &[("memory", memory)],
                bytes as f64,
            );
        }
        metrics.gauge_set(
            "render_cache_limit_bytes",
            "The scene cache's budget (config key cacheBytes).",
            &[],
            stats.limit_bytes as f64,
        );
        metrics.gauge_set(
            "render_cache_entries",
            "Meshes and textures in the scene cache.",
            &[],
            stats.entries as f64,
        );
    });
}
