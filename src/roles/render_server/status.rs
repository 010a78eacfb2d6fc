//! `GET /`: the page operators open first (adapter, uptime, requests by type, the queue and the
//! workers, the scene cache, the scene API's scenes, frames and assets, recent render times as a
//! chart, the latest image of each type), and `GET /status.json`, its live
//! source: the page's inline script polls it every second and redraws, fetching an image only when
//! a newer one was rendered. Self-contained: no external scripts or stylesheets, so it works
//! offline and behind any proxy; its images come from [`super::previews`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

use super::error::ApiError;
use super::previews::Previews;
use super::scene_api::Figures;
use super::state::AppState;
use super::stats::RECENT;
use super::Config;
use crate::core::config::config_key;
use crate::core::html::{escape, LIVE_CHART_JS};
use crate::protocol::drake::image::ImageType;
use crate::protocol::drake::preview::{self, RESERVED_LABEL_RGB, TOO_FAR_RGB, TOO_NEAR_RGB};
use crate::scene::CacheStats;

/// `GET /`.
pub async fn page_handler(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(page(&of_state(&state)))
}

/// `GET /status.json`.
pub async fn json_handler(State(state): State<Arc<AppState>>) -> axum::Json<Value> {
    axum::Json(of_state(&state))
}

fn of_state(state: &AppState) -> Value {
    let pool = &state.pipeline.pool;
    json(
        state,
        &Queue {
            in_flight: pool.in_flight(),
            queued: pool.queued(),
            busy: pool.busy(),
            workers: pool.workers(),
            capacity: pool.capacity(),
        },
        &state.cache.stats(),
        &state.scene_api.figures(),
    )
}

/// Where the render pool stands now.
struct Queue {
    in_flight: usize,
    queued: usize,
    busy: usize,
    workers: usize,
    capacity: usize,
}

/// Everything the page shows, as `/status.json` serves it.
fn json(state: &AppState, queue: &Queue, cache: &CacheStats, scene_api: &Figures) -> Value {
    let adapter = state.pipeline.gpu.adapter();
    let uptime = state.started.elapsed();
    let stats = &state.stats;
    let endpoint = &state.pipeline.config.endpoint;
    let look = &state.look;
    let inner = stats.snapshot();
    let recent: Vec<Value> = inner
        .recent
        .iter()
        .map(|(image_type, elapsed)| {
            json!({"type": image_type.as_str(), "ms": elapsed.as_secs_f64() * 1e3})
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "endpoint": endpoint,
        "uptimeSeconds": uptime.as_secs_f64(),
        "look": {"summary": look.summary, "origin": look.origin},
        "adapter": {
            "name": adapter.name,
            "backend": adapter.backend,
            "deviceType": adapter.device_type,
            "driver": adapter.driver,
            "software": adapter.software,
        },
        "queue": {
            "inFlight": queue.in_flight,
            "queued": queue.queued,
            "workersBusy": queue.busy,
            "workers": queue.workers,
            "capacity": queue.capacity,
        },
        "cache": {
            "entries": cache.entries,
            "cpuBytes": cache.cpu_bytes,
            "gpuBytes": cache.gpu_bytes,
            "limitBytes": cache.limit_bytes,
            "hits": cache.hits,
            "misses": cache.misses,
            "evictions": cache.evictions,
        },
        "sceneApi": {
            "scenes": scene_api.scenes.scenes,
            "maxScenes": scene_api.max_scenes,
            "geometries": scene_api.scenes.geometries,
            "expired": scene_api.scenes.expired,
            "frames": scene_api.frames,
            "images": scene_api.images,
            "assets": scene_api.assets.count,
            "assetBytes": scene_api.assets.bytes,
            "assetLimitBytes": scene_api.assets.limit,
        },
        "renders": {"color": inner.color, "depth": inner.depth, "label": inner.label},
        "recent": recent,
        "previews": previews_json(state.pipeline.previews.as_deref()),
    })
}

/// The latest image of each type (`null` before the first), or `{"enabled": false}`.
fn previews_json(previews: Option<&Previews>) -> Value {
    let Some(previews) = previews else {
        return json!({"enabled": false});
    };
    let mut figures = serde_json::Map::new();
    figures.insert("enabled".to_owned(), true.into());
    for image_type in ImageType::ALL {
        let latest = previews.shown(image_type).map(|shown| {
            let mut latest = json!({
                "sequence": shown.sequence,
                "source": shown.source.describe(),
                "width": shown.width,
                "height": shown.height,
                "previewWidth": shown.preview_width,
                "previewHeight": shown.preview_height,
                "renderedAtUnixMs": shown.rendered_at_unix_ms,
                "ageSeconds": shown.age_seconds,
            });
            if image_type == ImageType::Depth {
                latest["depthRange"] = json!(shown.depth_range.map(|(near, far)| [near, far]));
            }
            latest
        });
        figures.insert(image_type.as_str().to_owned(), latest.into());
    }
    Value::Object(figures)
}

/// A number of `status` (a `/status.json` pointer) as the page's text shows it: bytes in MiB with
/// one decimal, as the script does.
fn mib(status: &Value, pointer: &str) -> String {
    let bytes = status
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

/// The page: the figures of `status` (from [`json`]) filled in, so it reads without scripts too,
/// and the script that keeps them current.
fn page(status: &Value) -> String {
    let text = |pointer: &str| match status.pointer(pointer) {
        Some(Value::String(s)) => escape(s),
        Some(other) => escape(&other.to_string()),
        None => String::new(),
    };
    let cache_bytes = format!(
        "{} + {} / {} MiB",
        mib(status, "/cache/cpuBytes"),
        mib(status, "/cache/gpuBytes"),
        mib(status, "/cache/limitBytes")
    );
    let uptime = format_uptime(
        status
            .pointer("/uptimeSeconds")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
    );
    let asset_bytes = format!(
        "{} / {} MiB",
        mib(status, "/sceneApi/assetBytes"),
        mib(status, "/sceneApi/assetLimitBytes")
    );
    let software = if status.pointer("/adapter/software") == Some(&Value::Bool(true)) {
        " (software: no GPU found)"
    } else {
        ""
    };
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>gltf-cloud render server</title>\
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:left}}\
svg{{border:1px solid #ccc;background:#fff}}figure{{display:inline-block;width:258px;margin:0 1em 1em 0;vertical-align:top;font-size:90%}}\
figure img{{width:256px;height:192px;object-fit:contain;background:#f4f4f4;border:1px solid #ccc;image-rendering:pixelated}}\
.swatch{{display:inline-block;width:1em;height:1em;border:1px solid #999;vertical-align:middle}}</style></head><body>\
<h1>gltf-cloud render server</h1>\
<p>Drake glTF render protocol: <code>POST /{endpoint}</code> · version {version} · up <span id=uptime>{uptime}</span></p>\
<h2>Look</h2><p>Colour images are drawn with: <span id=look>{look}</span> (from {look_origin}).</p>\
<h2>Adapter</h2><table><tr><th>name</th><td>{name}{software}</td></tr><tr><th>backend</th><td>{backend}</td></tr>\
<tr><th>device type</th><td>{device_type}</td></tr><tr><th>driver</th><td>{driver}</td></tr></table>\
<h2>Queue</h2><table><tr><th>in flight (loading, queued, rendering or answering)</th><td id=in-flight>{in_flight}</td></tr>\
<tr><th>waiting for a worker</th><td id=queued>{queued}</td></tr>\
<tr><th>workers rendering</th><td><span id=busy>{busy}</span> of {workers}</td></tr>\
<tr><th>admitted at most (workers + queue; then 503)</th><td>{capacity}</td></tr></table>\
<h2>Scene cache</h2><table><tr><th>entries</th><td id=cache-entries>{cache_entries}</td></tr>\
<tr><th>bytes (CPU + GPU / limit)</th><td id=cache-bytes>{cache_bytes}</td></tr>\
<tr><th>hits / misses</th><td id=cache-hits>{cache_hits} / {cache_misses}</td></tr>\
<tr><th>evictions</th><td id=cache-evictions>{cache_evictions}</td></tr></table>\
<h2>Scene API (resident scenes, <code>/v1</code>)</h2><table><tr><th>scenes (at most {max_scenes})</th><td id=scenes>{scenes}</td></tr>\
<tr><th>geometries</th><td id=geometries>{geometries}</td></tr>\
<tr><th>frames (images)</th><td><span id=frames>{frames}</span> (<span id=images>{images}</span>)</td></tr>\
<tr><th>assets (bytes / limit)</th><td><span id=assets>{assets}</span> (<span id=asset-bytes>{asset_bytes}</span>)</td></tr>\
<tr><th>scenes expired</th><td id=expired>{expired}</td></tr></table>\
<h2>Requests</h2><table><tr><th>color</th><td id=color>{color}</td></tr><tr><th>depth</th><td id=depth>{depth}</td></tr>\
<tr><th>label</th><td id=label>{label}</td></tr></table>\
<h2>Recent renders</h2><p>Request time of the last {recent} successful renders, in ms (most recent on the right; \
scale 0–<span id=scale>0</span> ms; last <span id=last>none yet</span>).</p>\
<svg id=render-times xmlns=\"http://www.w3.org/2000/svg\" width=600 height=150 viewBox=\"0 0 600 150\"></svg>\
{previews}\
<p><a href=\"/status.json\">status.json</a> · <a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">health</a></p>\
<script>{script}\n{live}</script></body></html>",
        endpoint = text("/endpoint"),
        version = text("/version"),
        look = text("/look/summary"),
        look_origin = text("/look/origin"),
        name = text("/adapter/name"),
        backend = text("/adapter/backend"),
        device_type = text("/adapter/deviceType"),
        driver = text("/adapter/driver"),
        in_flight = text("/queue/inFlight"),
        queued = text("/queue/queued"),
        busy = text("/queue/workersBusy"),
        workers = text("/queue/workers"),
        capacity = text("/queue/capacity"),
        cache_entries = text("/cache/entries"),
        cache_hits = text("/cache/hits"),
        cache_misses = text("/cache/misses"),
        cache_evictions = text("/cache/evictions"),
        max_scenes = text("/sceneApi/maxScenes"),
        scenes = text("/sceneApi/scenes"),
        geometries = text("/sceneApi/geometries"),
        frames = text("/sceneApi/frames"),
        images = text("/sceneApi/images"),
        assets = text("/sceneApi/assets"),
        asset_bytes = asset_bytes,
        expired = text("/sceneApi/expired"),
        color = text("/renders/color"),
        depth = text("/renders/depth"),
        label = text("/renders/label"),
        recent = RECENT,
        previews = previews_html(status),
        script = LIVE_CHART_JS,
        live = LIVE,
    )
}

/// `GET /status/preview/{color,depth,label}.png`: the latest image of that type, 404 with the
/// reason before the first one or when previews are off.
pub async fn preview_handler(state: State<Arc<AppState>>, image_type: ImageType) -> Response {
    let Some(previews) = &state.pipeline.previews else {
        return ApiError::NotFound(format!(
            "previews are off on this server (config key {})",
            config_key!(Config, status_previews)
        ))
        .into_response();
    };
    match previews.png(image_type).await {
        Ok(Some(png)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            png,
        )
            .into_response(),
        Ok(None) => ApiError::NotFound(format!("no {} image rendered yet", image_type.as_str()))
            .into_response(),
        Err(e) => ApiError::Internal(format!("encoding the preview stopped: {e}")).into_response(),
    }
}

/// The latest images with their captions, and what their colours mean (drawn from the colours the
/// previews use, so the legend cannot drift from them); a note instead when previews are off.
fn previews_html(status: &Value) -> String {
    if status.pointer("/previews/enabled") != Some(&Value::Bool(true)) {
        return "<h2>Latest images</h2><p id=previews-off>Previews are off on this server (config \
                key <code>statusPreviews</code>).</p>"
            .to_owned();
    }
    let swatch = |[r, g, b]: [u8; 3], name: &str| {
        format!("<span class=swatch style=\"background:rgb({r},{g},{b})\"></span> {name}")
    };
    let figures: String = (ImageType::ALL.iter())
        .map(|image_type| {
            let name = image_type.as_str();
            let latest = status.pointer(&format!("/previews/{name}"));
            let (image, caption) = match latest {
                Some(latest @ Value::Object(_)) => (
                    format!(
                        "src=\"status/preview/{name}.png?sequence={sequence}\" data-sequence={sequence}",
                        sequence = latest["sequence"]
                    ),
                    escape(&caption(latest)),
                ),
                _ => ("hidden".to_owned(), "no image yet".to_owned()),
            };
            format!(
                "<figure><img id=preview-{name} alt=\"latest {name} image\" {image}>\
                 <figcaption><b>{name}</b>: <span id=preview-{name}-caption>{caption}</span></figcaption></figure>"
            )
        })
        .collect();
    let ramp: Vec<String> = (0..=4)
        .map(|step| {
            let [r, g, b] = preview::ramp(step as f32 / 4.0);
            format!("rgb({r},{g},{b})")
        })
        .collect();
    let reserved: Vec<String> = (RESERVED_LABEL_RGB.iter())
        .map(|(_, name, rgb)| swatch(*rgb, name))
        .collect();
    format!(
        "<h2>Latest images</h2><p>The last image of each type either front door rendered, at most \
         {long_side} px on its long side, replaced as new ones arrive.</p>{figures}\
         <p>Depth: <span class=swatch style=\"width:6em;background:linear-gradient(to right,{ramp})\"></span> \
         near to far over the image's own measured range (the caption's metres); {too_near} \
         (closer than min_depth); {too_far} (past max_depth, or nothing hit).<br>\
         Labels: one colour per label; {reserved} (white is also where nothing was hit: Drake's \
         front door reads it as kDontCare, the scene API as kEmpty).</p>",
        long_side = super::previews::LONG_SIDE,
        ramp = ramp.join(","),
        too_near = swatch(TOO_NEAR_RGB, "too near"),
        too_far = swatch(TOO_FAR_RGB, "too far"),
        reserved = reserved.join(", "),
    )
}

/// One latest image's caption, as the script writes it but for the clock time: its size, who
/// asked for it, its age, and for depth the range its colours span.
fn caption(latest: &Value) -> String {
    let number = |key: &str| latest[key].as_f64().unwrap_or(0.0);
    let mut caption = format!(
        "{}×{} from {}, {:.0} s ago",
        latest["width"],
        latest["height"],
        latest["source"].as_str().unwrap_or(""),
        number("ageSeconds")
    );
    if let Some([near, far]) = latest["depthRange"].as_array().map(Vec::as_slice) {
        let metres = |v: &Value| v.as_f64().unwrap_or(0.0);
        caption.push_str(&format!(", {:.2}–{:.2} m", metres(near), metres(far)));
    }
    caption
}

/// The page's own part of the script: which figures go where.
const LIVE: &str = r##"const mib = (bytes) => (bytes / 1048576).toFixed(1);
const pad = (n) => String(n).padStart(2, "0");
gcPoll("status.json", 1000, (s) => {
  const up = Math.floor(s.uptimeSeconds);
  gcText("uptime", Math.floor(up / 3600) + "h " + pad(Math.floor(up / 60) % 60) + "m " + pad(up % 60) + "s");
  gcText("in-flight", s.queue.inFlight);
  gcText("queued", s.queue.queued);
  gcText("busy", s.queue.workersBusy);
  for (const t of ["color", "depth", "label"]) gcText(t, s.renders[t]);
  gcText("cache-entries", s.cache.entries);
  gcText("cache-bytes", mib(s.cache.cpuBytes) + " + " + mib(s.cache.gpuBytes) + " / " + mib(s.cache.limitBytes) + " MiB");
  gcText("cache-hits", s.cache.hits + " / " + s.cache.misses);
  gcText("cache-evictions", s.cache.evictions);
  for (const k of ["scenes", "geometries", "frames", "images", "assets", "expired"]) gcText(k, s.sceneApi[k]);
  gcText("asset-bytes", mib(s.sceneApi.assetBytes) + " / " + mib(s.sceneApi.assetLimitBytes) + " MiB");
  const ms = s.recent.map((r) => r.ms);
  const max = Math.max(1, ...ms) * 1.1;
  gcText("scale", max.toFixed(0));
  if (ms.length) gcText("last", ms[ms.length - 1].toFixed(1) + " ms (" + s.recent[s.recent.length - 1].type + ")");
  gcLines(document.getElementById("render-times"), [{ values: ms, color: "#1f77b4", slots: 60 }], max);
  if (s.previews.enabled) for (const t of ["color", "depth", "label"]) showPreview(t, s.previews[t]);
});
// An image is fetched only when a newer one was rendered than the one shown.
function showPreview(type, latest) {
  if (!latest) return;
  const image = document.getElementById("preview-" + type);
  if (image.dataset.sequence !== String(latest.sequence)) {
    image.dataset.sequence = latest.sequence;
    image.src = "status/preview/" + type + ".png?sequence=" + latest.sequence;
    image.hidden = false;
  }
  const range = latest.depthRange ? ", " + latest.depthRange.map((m) => m.toFixed(2)).join("–") + " m" : "";
  gcText("preview-" + type + "-caption", latest.width + "×" + latest.height + " from " + latest.source + ", " +
    new Date(latest.renderedAtUnixMs).toLocaleTimeString() + " (" + Math.round(latest.ageSeconds) + " s ago)" + range);
}"##;

/// Seconds as the page shows them, the script's way (`1h 02m 03s`).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole, positive seconds
fn format_uptime(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60)
}
