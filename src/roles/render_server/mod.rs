//! The `render-server` role: Drake's glTF render protocol over HTTP, rendered on the GPU.
//!
//! Request path, in order: admission (503 when the queue is full) → multipart read ([`form`]) →
//! field validation and SHA-256 check → glTF load on a blocking thread ([`crate::scene`]) → cost
//! estimate (covered pixels) → render on a worker thread ([`pool`]) → PNG/TIFF encoding on a
//! blocking thread → the image. The async runtime only moves bytes.
//!
//! Each request's [`budget::Ticket`] holds its queue slot and its memory from admission until its
//! answer is written; from the body's last byte on, `renderTimeoutSeconds` bounds the rest. A
//! client that hangs up drops the handler, which abandons the ticket: its queued job is dropped
//! and a load in progress stops at its next allocation.

mod budget;
mod config;
mod error;
pub(crate) mod form;
mod pool;
mod status;

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::core::config::config_key;
use crate::core::limits;
use crate::core::metrics::Metrics;
use crate::core::{server, shutdown};
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::image::{metres_to_millimetres, ImageType};
use crate::render::{Gpu, GpuOptions, Image, Look};
use crate::roles::LoggingArgs;
use crate::scene::cache::KeyHasher;
use crate::scene::camera::Intrinsics;
use crate::scene::merge::{Appearance, StaticScene};
use crate::scene::{self, LoadOptions, SceneCache, SceneError};

use budget::{AbandonOnDrop, CoverageMemo, MemoryBudget, Ticket};
pub use config::{Args, Config, DepthFormat, LookParams, DEFAULT_PORT, ROLE};
use error::ApiError;
use form::{FormLimits, RenderRequest};
use pool::{Job, RenderPool};
use status::Stats;

/// Size of the pieces an answer is written in (see [`answer`]).
const ANSWER_CHUNK_BYTES: usize = 256 * 1024;

/// Entry point of the subcommand: config, logging, GPU, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, GPU, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    if args.list_adapters {
        return list_adapters().await;
    }
    if args.server.check_config {
        return super::check_config::<Config>(
            DEFAULT_PORT,
            &args.server,
            &logging,
            |c| args.apply(c, &logging),
            check_config,
        );
    }
    let (config, _log) =
        super::prepare::<Config>(ROLE, &args.server, &logging, |c| args.apply(c, &logging))?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// `--check-config`'s role checks: the endpoint, the access tokens, the look's parameters (their
/// warnings on standard error, their unknown fields refused) and the static scene, which loads
/// without a GPU. Only the adapter's limit on `shadow_map_size` waits for the start. The look
/// printed is the one the server would draw with, from `--vtk-params` when given, and the cache
/// budget is the number the default resolves to here.
fn check_config(config: &Config) -> anyhow::Result<super::Checked> {
    config.endpoint_path()?;
    config.access_tokens()?;
    let look = config.look_params()?;
    for warning in &look.warnings {
        eprintln!("warning: {warning}");
    }
    for note in &look.notes {
        eprintln!("note: {note}");
    }
    StaticScene::load(&config.static_scene, &load_options(config, true))?;
    let mut resolved = serde_json::Map::new();
    resolved.insert(
        config_key!(Config, vtk_params).to_owned(),
        serde_json::to_value(&look.params)?,
    );
    resolved.insert(
        config_key!(Config, cache_bytes).to_owned(),
        config.cache_bytes().into(),
    );
    Ok(super::Checked {
        resolved,
        unknown: look.unknown,
    })
}

/// `--list-adapters`: one line per adapter on stdout, tab-separated after the index, so a script
/// can pick the GPU for each of several servers.
async fn list_adapters() -> anyhow::Result<()> {
    let adapters = tokio::task::spawn_blocking(crate::render::list_adapters).await?;
    if adapters.is_empty() {
        anyhow::bail!("no graphics adapter found (neither Vulkan nor GL offers one)");
    }
    let mut stdout = std::io::stdout().lock();
    for (index, adapter) in adapters.iter().enumerate() {
        writeln!(stdout, "{index}\t{adapter}")?;
    }
    Ok(())
}

/// Serves the render protocol on an already bound listener until `shutdown` is cancelled, then
/// finishes the renders in flight and stops the workers.
///
/// # Errors
/// No usable GPU adapter (or only a software one with `requireGpu`), an invalid endpoint, or a
/// start-up failure of the bootstrap.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let endpoint = config.endpoint_path()?;
    let access_tokens = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || config.access_tokens()).await??
    };
    let look_params = config.look_params()?;
    for unknown in &look_params.unknown {
        tracing::warn!("{unknown} (--check-config refuses it)");
    }
    for warning in &look_params.warnings {
        tracing::warn!(origin = %look_params.origin, "{warning}");
    }
    for note in &look_params.notes {
        tracing::info!(origin = %look_params.origin, "{note}");
    }
    let static_scene = {
        let (files, options) = (config.static_scene.clone(), load_options(&config, true));
        tokio::task::spawn_blocking(move || StaticScene::load(&files, &options)).await??
    };
    if !static_scene.is_empty() {
        let (meshes, instances, textures, triangles) = static_scene.counts();
        tracing::info!(files = ?config.static_scene, meshes, instances, textures, triangles, "static scene");
    }
    let options = GpuOptions {
        require_gpu: config.require_gpu,
        adapter: config.adapter.clone(),
    };
    let gpu = tokio::task::spawn_blocking(move || Gpu::new(&options)).await??;
    let params = &look_params.params;
    params.check_shadow_map_size(&look_params.origin, gpu.max_texture_dimension())?;
    tracing::info!(origin = %look_params.origin, "look: {}", params.summary());
    let look_shown = status::Look {
        summary: params.summary(),
        origin: look_params.origin.clone(),
    };
    let look = Look::from_params(params, &gpu)?;
    let pool = Arc::new(RenderPool::start(
        Arc::clone(&gpu),
        look,
        config.render_workers,
        config.render_queue_depth,
    )?);

    let cache_bytes = config.cache_bytes();
    tracing::info!(cache_bytes, "scene cache");
    let metrics = Arc::new(Metrics::for_role(ROLE));
    let state = Arc::new(AppState {
        cache: Arc::new(SceneCache::new(cache_bytes)),
        coverage: Arc::new(CoverageMemo::default()),
        static_scene: Arc::new(static_scene),
        config: config.clone(),
        gpu,
        pool: Arc::clone(&pool),
        memory: Arc::new(MemoryBudget::new(config.max_in_flight_bytes)),
        metrics: Arc::clone(&metrics),
        stats: Stats::default(),
        started: Instant::now(),
        look: look_shown,
    });
    register_metrics(&state);
    let app = Router::new()
        .route("/", get(status_page))
        .route("/status.json", get(status_json))
        .route(
            &endpoint,
            post(render)
                .layer(DefaultBodyLimit::max(config.max_body_bytes))
                .fallback(|| async {
                    ApiError::MethodNotAllowed("render requests are POST multipart/form-data")
                }),
        )
        .fallback({
            let endpoint = endpoint.clone();
            move |uri: axum::http::Uri| async move { ApiError::not_found(uri.path(), &endpoint) }
        })
        .with_state(Arc::clone(&state));
    tracing::info!(endpoint = %endpoint, workers = config.render_workers, queue_depth = config.render_queue_depth, "render endpoint ready");

    let queue = Arc::downgrade(&pool);
    let readiness = move || match queue.upgrade() {
        Some(pool) if pool.has_room() => Ok(()),
        Some(_) => Err("the render queue is full".to_owned()),
        None => Err("the render workers have stopped".to_owned()),
    };
    // Every route of the role, and its fallback, behind the tokens; the probes and /metrics,
    // which `serve` adds, stay open.
    let app = match access_tokens {
        Some(tokens) => {
            tracing::info!(
                tokens = tokens.count(),
                "access tokens required (Authorization: Bearer)"
            );
            tokens.protect(app)
        }
        None => app,
    };
    let served = server::serve(listener, app, &config.server, metrics, shutdown, readiness).await;
    // `serve` answered every request (503 for those cut by the grace period), so the jobs still
    // queued have no one to answer: the workers skip them, and one still rendering is left behind.
    let deadline = Instant::now() + limits::SHUTDOWN_ANSWER_TIME;
    tokio::task::spawn_blocking(move || pool.close(deadline)).await?;
    served
}

struct AppState {
    config: Config,
    /// Meshes and textures (with their GPU copies) across requests and clients.
    cache: Arc<SceneCache>,
    /// Covered-pixel counts of views already admitted.
    coverage: Arc<CoverageMemo>,
    /// Drawn into every image; its GPU copies stay resident, outside the cache.
    static_scene: Arc<StaticScene>,
    gpu: Arc<Gpu>,
    pool: Arc<RenderPool>,
    memory: Arc<MemoryBudget>,
    metrics: Arc<Metrics>,
    stats: Stats,
    started: Instant,
    /// The look, for `GET /`.
    look: status::Look,
}

fn register_metrics(state: &Arc<AppState>) {
    let adapter = state.gpu.adapter();
    state.metrics.gauge_set(
        "render_adapter_info",
        "The GPU adapter rendering (value 1), with its name, backend and device type as labels.",
        &[
            ("name", &adapter.name),
            ("backend", &adapter.backend),
            ("device_type", &adapter.device_type),
        ],
        1.0,
    );
    let pool = Arc::downgrade(&state.pool);
    let memory = Arc::downgrade(&state.memory);
    state.metrics.add_collector(move |metrics| {
        if let Some(pool) = pool.upgrade() {
            metrics.gauge_set(
                "render_requests_in_flight",
                "Render requests admitted and not yet answered (reading, queued or rendering).",
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
    state.metrics.add_collector(move |metrics| {
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

fn status(state: &AppState) -> serde_json::Value {
    let pool = &state.pool;
    status::json(
        state.gpu.adapter(),
        state.started.elapsed(),
        &state.stats,
        &status::Queue {
            in_flight: pool.in_flight(),
            queued: pool.queued(),
            busy: pool.busy(),
            workers: pool.workers(),
            capacity: pool.capacity(),
        },
        &state.cache.stats(),
        &state.config.endpoint,
        &state.look,
    )
}

async fn status_page(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(status::page(&status(&state)))
}

async fn status_json(State(state): State<Arc<AppState>>) -> axum::Json<serde_json::Value> {
    axum::Json(status(&state))
}

/// `POST /<endpoint>`: one image per request.
async fn render(
    State(state): State<Arc<AppState>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let started = Instant::now();
    let mut image_type = None;
    let result = render_inner(&state, multipart, &mut image_type).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) if e.status().is_client_error() => "rejected",
        Err(_) => "failed",
    };
    let elapsed = started.elapsed();
    state.metrics.observe_seconds(
        "render_request_duration_seconds",
        "Render requests from arrival to answer, by image type.",
        &[
            (
                "image_type",
                image_type.map_or("unknown", ImageType::as_str),
            ),
            ("outcome", outcome),
        ],
        elapsed.as_secs_f64(),
    );
    match result {
        Ok(response) => {
            if let Some(image_type) = image_type {
                state.stats.record(image_type, elapsed);
            }
            response
        }
        Err(error) => {
            let reason = if error.status().as_u16() == 503 {
                "busy"
            } else if error.status().is_client_error() {
                "bad_request"
            } else {
                "internal"
            };
            state.metrics.counter_add(
                "render_rejections_total",
                "Render requests not answered with an image, by reason.",
                &[("reason", reason)],
                1.0,
            );
            error.into_response()
        }
    }
}

/// One render request; sets `image_type` as soon as the form names it, so a failure after that
/// point is counted under its type.
async fn render_inner(
    state: &AppState,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    image_type: &mut Option<ImageType>,
) -> Result<Response, ApiError> {
    let ticket = Arc::new(Ticket::new(state.pool.admit()?, Arc::clone(&state.memory)));
    // Dropped with this future: when the client hangs up, or when the request ends.
    let _abandon = AbandonOnDrop(Arc::clone(&ticket));
    let multipart = multipart?;
    let reading = Instant::now();
    let form = form::read(multipart, state.config.max_body_bytes).await?;
    let request = form.into_request(FormLimits {
        max_image_dimension: state.config.max_image_dimension,
    })?;
    let requested = request.image_type;
    *image_type = Some(requested);
    tracing::debug!(
        image_type = requested.as_str(),
        width = request.intrinsics.width,
        height = request.intrinsics.height,
        scene_bytes = request.scene.len(),
        "render request"
    );
    let body_bytes = request.scene.len() as u64;
    ticket
        .reserve(body_bytes)
        .map_err(|_| ApiError::Unavailable(over_memory_budget(state)))?;
    let read_ms = reading.elapsed().as_secs_f64() * 1e3;

    let timeout = state.config.render_timeout();
    let deadline = Instant::now() + timeout;
    let rendering = render_request(state, request, ticket, deadline, read_ms);
    tokio::time::timeout_at(deadline.into(), rendering)
        .await
        .unwrap_or_else(|_| Err(timed_out(timeout)))
}

/// The request from its loaded body to the answer, every stage under `deadline`.
async fn render_request(
    state: &AppState,
    request: RenderRequest,
    ticket: Arc<Ticket>,
    deadline: Instant,
    read_ms: f64,
) -> Result<Response, ApiError> {
    let kind = request.kind;
    let requested = request.image_type;
    let body_bytes = request.scene.len() as u64;
    let options = load_options(&state.config, requested == ImageType::Color);
    let max_covered_pixels = state.config.max_covered_pixels;
    let over_budget = over_memory_budget(state);
    let loader_ticket = Arc::clone(&ticket);
    let reserve = move |bytes| {
        if loader_ticket.is_abandoned() {
            return Err(SceneError::Refused("the request was abandoned".to_owned()));
        }
        loader_ticket
            .reserve(bytes)
            .map_err(|_| SceneError::Refused(over_budget.clone()))
    };
    let loading = Instant::now();
    let cache = Arc::clone(&state.cache);
    let static_scene = Arc::clone(&state.static_scene);
    let coverage = Arc::clone(&state.coverage);
    let (scene, intrinsics) = tokio::task::spawn_blocking(move || {
        prepare(
            request,
            &options,
            &cache,
            &coverage,
            &static_scene,
            max_covered_pixels,
            reserve,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(format!("scene loading stopped: {e}")))??;
    // The body was dropped with the request once loaded.
    ticket.release(body_bytes);
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let triangles: usize = (scene.instances.iter())
        .map(|instance| scene.meshes[instance.mesh].indices.len() / 3)
        .sum();

    // The image as read back, then encoded (at most as large again).
    let image_bytes = u64::from(intrinsics.width) * u64::from(intrinsics.height) * 4 * 2;
    ticket
        .reserve(image_bytes)
        .map_err(|_| ApiError::Unavailable(over_memory_budget(state)))?;
    let (reply, rendered) = oneshot::channel();
    let _queued = state.pool.submit(Job {
        scene,
        intrinsics,
        kind,
        deadline,
        ticket: Arc::clone(&ticket),
        reply,
    })?;
    let rendered = rendered.await.map_err(|_| {
        if Instant::now() >= deadline {
            timed_out(state.config.render_timeout())
        } else {
            ApiError::Internal("the render worker stopped".to_owned())
        }
    })?;
    state.metrics.observe_seconds(
        "render_gpu_seconds",
        "Time a render worker spent on one image (render and readback), by image type.",
        &[("image_type", requested.as_str())],
        rendered.elapsed.as_secs_f64(),
    );
    let image = rendered.result?;

    let depth_format = state.config.depth_format;
    let encoding = Instant::now();
    let (bytes, content_type) =
        tokio::task::spawn_blocking(move || encode_image(&image, depth_format))
            .await
            .map_err(|e| ApiError::Internal(format!("encoding stopped: {e}")))?;
    tracing::debug!(
        image_type = requested.as_str(),
        triangles,
        read_ms,
        load_ms,
        render_ms = rendered.elapsed.as_secs_f64() * 1e3,
        encode_ms = encoding.elapsed().as_secs_f64() * 1e3,
        bytes = bytes.len(),
        "rendered"
    );
    Ok(answer(Bytes::from(bytes), content_type, ticket))
}

/// The image as the answer's body, in chunks that each hold the ticket: hyper asks for the next
/// chunk only once the previous ones are written, so admission and memory cover the write up to
/// its last chunk, and a client that stops reading keeps its request counted.
fn answer(bytes: Bytes, content_type: &'static str, ticket: Arc<Ticket>) -> Response {
    let length = bytes.len();
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

/// The 503 for a request the memory budget has no room for.
fn over_memory_budget(state: &AppState) -> String {
    format!(
        "the server's memory for requests in flight ({} bytes) is taken; retry shortly \
         (config key {})",
        state.memory.limit(),
        config_key!(Config, max_in_flight_bytes)
    )
}

/// The 503 for a request past its deadline.
fn timed_out(timeout: std::time::Duration) -> ApiError {
    ApiError::Unavailable(format!(
        "the render did not finish within {} s (config key {})",
        timeout.as_secs_f64(),
        config_key!(Config, render_timeout_seconds)
    ))
}

/// The loader's limits from the config; textures are decoded for colour images only.
fn load_options(config: &Config, decode_textures: bool) -> LoadOptions {
    LoadOptions {
        max_triangles: config.max_triangles,
        max_textures: config.max_textures,
        max_texture_pixels: config.max_texture_pixels,
        max_nodes: config.max_nodes,
        max_draw_calls: config.max_draw_calls,
        max_decoded_bytes: config.max_decoded_bytes,
        decode_textures,
    }
}

/// Loads the scene, merges the static scene into it (white in labels, untextured in depth),
/// resolves what the form left to the glTF (a near plane sent as 0), and refuses an image that
/// would cost more than `maxCoveredPixels` to rasterize, the static scene included.
fn prepare(
    request: RenderRequest,
    options: &LoadOptions,
    cache: &SceneCache,
    coverage: &CoverageMemo,
    static_scene: &StaticScene,
    max_covered_pixels: u64,
    mut reserve: impl FnMut(u64) -> Result<(), SceneError>,
) -> Result<(scene::Scene, Intrinsics), ApiError> {
    // A document seen before is rebuilt from the cache without parsing it (see `SceneCache::scene`).
    let document = KeyHasher::document(&request.scene_digest, options);
    let mut scene = match cache.scene(&document) {
        Some(scene) => scene,
        None => {
            let scene = scene::load_within(&request.scene, options, Some(cache), &mut reserve)?;
            cache.keep_scene(document, &scene);
            scene
        }
    };
    let appearance = match request.image_type {
        ImageType::Color => Appearance::Materials,
        ImageType::Depth | ImageType::Label => Appearance::White,
    };
    static_scene.merge_into(&mut scene, appearance);
    let mut intrinsics = request.intrinsics;
    if intrinsics.near == 0.0 {
        intrinsics.near = scene.camera.map_or(0.0, |camera| camera.znear);
        if intrinsics.near <= 0.0 || intrinsics.near >= intrinsics.far {
            return Err(ApiError::BadRequest(
                "near: 0 was sent and the glTF camera has no usable znear".to_owned(),
            ));
        }
    }
    let covered = coverage.covered(&document, &intrinsics, || {
        budget::covered_pixels(&scene, &intrinsics, max_covered_pixels)
    });
    if covered > max_covered_pixels {
        return Err(ApiError::BadRequest(format!(
            "the image would cover more than {max_covered_pixels} pixels (at least {covered}, \
             summed over the triangles); the limit is {max_covered_pixels} (config key {})",
            config_key!(Config, max_covered_pixels)
        )));
    }
    Ok((scene, intrinsics))
}

/// The answer for a rendered image (protocol §2.2), with its content type.
fn encode_image(image: &Image, depth_format: DepthFormat) -> (Vec<u8>, &'static str) {
    match image {
        Image::Color {
            width,
            height,
            rgba,
        } => (
            encode::png_rgba8(*width, *height, rgba, Deflate::Fast),
            "image/png",
        ),
        Image::Label { width, height, rgb } => (
            encode::png_label(*width, *height, rgb, Deflate::Fast),
            "image/png",
        ),
        Image::Depth {
            width,
            height,
            metres,
        } => match depth_format {
            DepthFormat::Tiff32 => (encode::tiff_f32(*width, *height, metres), "image/tiff"),
            DepthFormat::Png16 => (
                encode::png_gray16(
                    *width,
                    *height,
                    &metres_to_millimetres(metres),
                    Deflate::Fast,
                ),
                "image/png",
            ),
        },
    }
}
