//! The `render-server` role: Drake's glTF render protocol over HTTP, rendered on the GPU.
//!
//! Request path, in order: admission (503 when the queue is full) → multipart read ([`form`]) →
//! field validation and SHA-256 check → glTF load on a blocking thread ([`crate::scene`]) → render
//! on a worker thread ([`pool`]) → PNG/TIFF encoding on a blocking thread → the image. The async
//! runtime only moves bytes.

mod config;
mod error;
mod form;
mod pool;
mod status;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::core::config::config_key;
use crate::core::metrics::Metrics;
use crate::core::{server, shutdown};
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::image::{metres_to_millimetres, ImageType};
use crate::render::{Gpu, GpuOptions, Image, Look};
use crate::roles::LoggingArgs;
use crate::scene::camera::Intrinsics;
use crate::scene::{self, LoadOptions, SceneCache};

pub use config::{Args, Config, DepthFormat, DEFAULT_PORT, ROLE};
use error::ApiError;
use form::{FormLimits, RenderRequest};
use pool::{Job, RenderPool};
use status::Stats;

/// Entry point of the subcommand: config, logging, GPU, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, GPU, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    let (config, _log) =
        super::prepare::<Config>(ROLE, &args.server, &logging, |c| args.apply(c, &logging))?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
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
    let endpoint = format!("/{}", config.endpoint.trim_matches('/'));
    if endpoint == "/" || endpoint == "/healthz" || endpoint == "/metrics" {
        anyhow::bail!(
            "endpoint {:?} is reserved; choose another path (config key {})",
            config.endpoint,
            config_key!(Config, endpoint)
        );
    }
    let options = GpuOptions {
        require_gpu: config.require_gpu,
    };
    let gpu = tokio::task::spawn_blocking(move || Gpu::new(&options)).await??;
    let look = Look {
        background: config.background,
        light_color: config.light_color,
        light_intensity: config.light_intensity,
    };
    let pool = Arc::new(RenderPool::start(
        Arc::clone(&gpu),
        look,
        config.render_workers,
        config.render_queue_depth,
    )?);

    let cache_bytes = config.cache_bytes();
    tracing::info!(cache_bytes, "scene cache");
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(AppState {
        cache: Arc::new(SceneCache::new(cache_bytes)),
        config: config.clone(),
        gpu,
        pool: Arc::clone(&pool),
        metrics: Arc::clone(&metrics),
        stats: Stats::default(),
        started: Instant::now(),
    });
    register_metrics(&state);
    let app = Router::new()
        .route("/", get(status_page))
        .route(
            &endpoint,
            post(render)
                .layer(DefaultBodyLimit::max(config.max_body_bytes))
                .fallback(|| async {
                    ApiError::MethodNotAllowed("render requests are POST multipart/form-data")
                }),
        )
        .fallback(|| async {
            ApiError::NotFound("no such path; render requests go to POST /<endpoint>")
        })
        .with_state(Arc::clone(&state));
    tracing::info!(endpoint = %endpoint, workers = config.render_workers, queue_depth = config.render_queue_depth, "render endpoint ready");

    let served = server::serve(listener, app, &config.server, metrics, shutdown).await;
    tokio::task::spawn_blocking(move || pool.close()).await?;
    served
}

struct AppState {
    config: Config,
    /// Meshes and textures (with their GPU copies) across requests and clients.
    cache: Arc<SceneCache>,
    gpu: Arc<Gpu>,
    pool: Arc<RenderPool>,
    metrics: Arc<Metrics>,
    stats: Stats,
    started: Instant,
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
    state.metrics.add_collector(move |metrics| {
        if let Some(pool) = pool.upgrade() {
            metrics.gauge_set(
                "render_requests_in_flight",
                "Render requests admitted and not yet answered (reading, queued or rendering).",
                &[],
                pool.in_flight() as f64,
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

async fn status_page(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(status::page(
        state.gpu.adapter(),
        state.started.elapsed(),
        &state.stats,
        state.pool.in_flight(),
        &state.cache.stats(),
        &state.config.endpoint,
    ))
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
    let _permit = state.pool.admit()?;
    let multipart = multipart?;
    let reading = Instant::now();
    let form = form::read(multipart, state.config.max_body_bytes).await?;
    let request = form.into_request(FormLimits {
        max_image_dimension: state.config.max_image_dimension,
    })?;
    let kind = request.kind;
    let requested = request.image_type;
    *image_type = Some(requested);
    tracing::debug!(
        image_type = requested.as_str(),
        width = request.intrinsics.width,
        height = request.intrinsics.height,
        scene_bytes = request.scene.len(),
        "render request"
    );

    let options = LoadOptions {
        max_triangles: state.config.max_triangles,
        max_textures: state.config.max_textures,
        max_texture_pixels: state.config.max_texture_pixels,
        decode_textures: requested == ImageType::Color,
    };
    let read_ms = reading.elapsed().as_secs_f64() * 1e3;
    let loading = Instant::now();
    let cache = Arc::clone(&state.cache);
    let (scene, intrinsics) =
        tokio::task::spawn_blocking(move || prepare(request, &options, &cache))
            .await
            .map_err(|e| ApiError::Internal(format!("scene loading stopped: {e}")))??;
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let triangles: usize = (scene.instances.iter())
        .map(|instance| scene.meshes[instance.mesh].indices.len() / 3)
        .sum();

    let (reply, rendered) = oneshot::channel();
    state.pool.submit(Job {
        scene,
        intrinsics,
        kind,
        reply,
    })?;
    let rendered = rendered
        .await
        .map_err(|_| ApiError::Internal("the render worker stopped".to_owned()))?;
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
    let mut response = bytes.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// Loads the scene and resolves what the form left to the glTF: a near plane sent as 0.
fn prepare(
    request: RenderRequest,
    options: &LoadOptions,
    cache: &SceneCache,
) -> Result<(scene::Scene, Intrinsics), ApiError> {
    let scene = scene::load_cached(&request.scene, options, Some(cache))?;
    let mut intrinsics = request.intrinsics;
    if intrinsics.near == 0.0 {
        intrinsics.near = scene.camera.map_or(0.0, |camera| camera.znear);
        if intrinsics.near <= 0.0 || intrinsics.near >= intrinsics.far {
            return Err(ApiError::BadRequest(
                "near: 0 was sent and the glTF camera has no usable znear".to_owned(),
            ));
        }
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
