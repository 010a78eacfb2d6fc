//! `GET /`: a small HTML status page for people (adapter, uptime, requests by type, the scene
//! cache, recent render times, queue). Self-contained: no scripts, no external stylesheets.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::core::html::escape;
use crate::core::sync::lock;
use crate::protocol::drake::image::ImageType;
use crate::render::AdapterSummary;
use crate::scene::CacheStats;

/// Recent renders kept for the page.
const RECENT: usize = 20;

/// Counters and recent timings of successful renders.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    color: u64,
    depth: u64,
    label: u64,
    recent: VecDeque<(ImageType, Duration)>,
}

impl Stats {
    pub fn record(&self, image_type: ImageType, elapsed: Duration) {
        let mut inner = lock(&self.inner);
        match image_type {
            ImageType::Color => inner.color += 1,
            ImageType::Depth => inner.depth += 1,
            ImageType::Label => inner.label += 1,
        }
        if inner.recent.len() == RECENT {
            inner.recent.pop_front();
        }
        inner.recent.push_back((image_type, elapsed));
    }
}

pub fn page(
    adapter: &AdapterSummary,
    uptime: Duration,
    stats: &Stats,
    in_flight: usize,
    cache: &CacheStats,
    endpoint: &str,
) -> String {
    let inner = lock(&stats.inner);
    let mut recent = String::new();
    for (image_type, elapsed) in inner.recent.iter().rev() {
        let _ = write!(
            recent,
            "<tr><td>{}</td><td>{:.1}</td></tr>",
            image_type.as_str(),
            elapsed.as_secs_f64() * 1e3
        );
    }
    if recent.is_empty() {
        recent.push_str("<tr><td colspan=2>none yet</td></tr>");
    }
    let software = if adapter.software {
        " (software: no GPU found)"
    } else {
        ""
    };
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>gltf-cloud render server</title>\
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:left}}</style></head><body>\
<h1>gltf-cloud render server</h1>\
<p>Drake glTF render protocol: <code>POST /{endpoint}</code> · version {version} · up {uptime}</p>\
<h2>Adapter</h2><table><tr><th>name</th><td>{name}{software}</td></tr><tr><th>backend</th><td>{backend}</td></tr>\
<tr><th>device type</th><td>{device_type}</td></tr><tr><th>driver</th><td>{driver}</td></tr></table>\
<h2>Requests</h2><table><tr><th>color</th><td>{color}</td></tr><tr><th>depth</th><td>{depth}</td></tr>\
<tr><th>label</th><td>{label}</td></tr><tr><th>in flight (queued or rendering)</th><td>{in_flight}</td></tr></table>\
<h2>Scene cache</h2><table><tr><th>entries</th><td>{entries}</td></tr>\
<tr><th>bytes (CPU + GPU / limit)</th><td>{cpu_mib:.1} + {gpu_mib:.1} / {limit_mib:.1} MiB</td></tr>\
<tr><th>hits / misses</th><td>{hits} / {misses}</td></tr><tr><th>evictions</th><td>{evictions}</td></tr></table>\
<h2>Recent renders</h2><table><tr><th>type</th><th>ms</th></tr>{recent}</table>\
<p><a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">health</a></p></body></html>",
        endpoint = escape(endpoint),
        version = env!("CARGO_PKG_VERSION"),
        uptime = format_uptime(uptime),
        name = escape(&adapter.name),
        backend = escape(&adapter.backend),
        device_type = escape(&adapter.device_type),
        driver = escape(&adapter.driver),
        color = inner.color,
        depth = inner.depth,
        label = inner.label,
        entries = cache.entries,
        cpu_mib = mib(cache.cpu_bytes),
        gpu_mib = mib(cache.gpu_bytes),
        limit_mib = mib(cache.limit_bytes),
        hits = cache.hits,
        misses = cache.misses,
        evictions = cache.evictions,
    )
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn format_uptime(uptime: Duration) -> String {
    let s = uptime.as_secs();
    format!("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60)
}
