//! The `render-server` role: Drake's glTF render protocol over HTTP, rendered on the GPU.
//!
//! Request path, in order: admission (503 when the queue is full) → multipart read ([`form`]) →
//! field validation and SHA-256 check → glTF load on a blocking thread ([`crate::scene`]) → render
//! on a worker thread ([`pool`]) → PNG/TIFF encoding on a blocking thread → the image. The async
//! runtime only moves bytes.

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
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::core::config::ServerConfig;
use crate::core::limits;
use crate::core::metrics::Metrics;
use crate::core::{server, shutdown};
use crate::render::{encode, Gpu, GpuOptions, Image, Look};
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};
use crate::scene::camera::Intrinsics;
use crate::scene::{self, LoadOptions};

use error::ApiError;
use form::{FormLimits, ImageType, RenderRequest};
use pool::{Job, Refused, RenderPool};
use status::Stats;

/// The port Drake's `RenderEngineGltfClientParams.base_url` points at by default.
pub const DEFAULT_PORT: u16 = 8000;

/// Seconds a client is told to wait when the queue is full: about one software render of a large scene.
const RETRY_AFTER_S: u32 = 1;

/// How depth images are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DepthFormat {
    /// Single-channel float32 TIFF in metres, +inf and 0 as Drake's sentinels (exact).
    #[default]
    Tiff32,
    /// Single-channel uint16 PNG in millimetres, 65535 = too far (1 mm steps, at most 65.534 m).
    Png16,
}

/// Command-line flags of `gltf-cloud render-server`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Path of the render endpoint, as Drake's `render_endpoint` [default: render] [config key: endpoint]
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Refuse to start on a software adapter (lavapipe, llvmpipe) instead of warning [config key: requireGpu]
    #[arg(long)]
    pub require_gpu: bool,
    /// Encoding of depth images [default: tiff32] [config key: depthFormat]
    #[arg(long, value_enum)]
    pub depth_format: Option<DepthFormat>,
    /// Render worker threads sharing the GPU [default: 1] [config key: renderWorkers]
    #[arg(long)]
    pub render_workers: Option<usize>,
    /// Requests that may wait for a worker before new ones get 503 [default: 32] [config key: renderQueueDepth]
    #[arg(long)]
    pub render_queue_depth: Option<usize>,
    /// Largest request body in bytes [default: 536870912 (512 MiB)] [config key: maxBodyBytes]
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
}

/// The render server's config file (camelCase keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The shared keys (host, port, TLS, logs), read from the same file by [`super::prepare`].
    #[serde(skip)]
    pub server: ServerConfig,
    /// Render endpoint path, without the leading slash.
    pub endpoint: String,
    pub require_gpu: bool,
    pub depth_format: DepthFormat,
    /// Color image background, 8-bit RGB; RenderEngineVtk's default is (204, 229, 255).
    pub background: [u8; 3],
    /// The headlight's colour (linear RGB, 0–1) and intensity; RenderEngineVtk's default is white, 1.
    pub light_color: [f32; 3],
    pub light_intensity: f32,
    pub render_workers: usize,
    pub render_queue_depth: usize,
    pub max_body_bytes: usize,
    pub max_image_dimension: u32,
    pub max_triangles: usize,
    pub max_textures: usize,
    pub max_texture_pixels: u64,
}

impl Default for Config {
    fn default() -> Self {
        let look = Look::default();
        Self {
            server: ServerConfig::default(),
            endpoint: "render".to_owned(),
            require_gpu: false,
            depth_format: DepthFormat::default(),
            background: look.background,
            light_color: look.light_color,
            light_intensity: look.light_intensity,
            render_workers: limits::RENDER_WORKERS,
            render_queue_depth: limits::RENDER_QUEUE_DEPTH,
            max_body_bytes: limits::MAX_BODY_BYTES,
            max_image_dimension: limits::MAX_IMAGE_DIMENSION,
            max_triangles: limits::MAX_TRIANGLES,
            max_textures: limits::MAX_TEXTURES,
            max_texture_pixels: limits::MAX_TEXTURE_PIXELS,
        }
    }
}

impl RoleConfig for Config {
    fn server_mut(&mut self) -> &mut ServerConfig {
        &mut self.server
    }
}

impl Args {
    fn apply(&self, config: &mut Config) {
        if let Some(endpoint) = &self.endpoint {
            config.endpoint.clone_from(endpoint);
        }
        config.require_gpu |= self.require_gpu;
        if let Some(format) = self.depth_format {
            config.depth_format = format;
        }
        if let Some(workers) = self.render_workers {
            config.render_workers = workers;
        }
        if let Some(depth) = self.render_queue_depth {
            config.render_queue_depth = depth;
        }
        if let Some(bytes) = self.max_body_bytes {
            config.max_body_bytes = bytes;
        }
    }
}

/// Entry point of the subcommand: config, logging, GPU, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, GPU, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    let (config, _log) =
        super::prepare::<Config>("render", &args.server, &logging, |c| args.apply(c))?;
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
            "endpoint {:?} is reserved; choose another path (config key endpoint)",
            config.endpoint
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

    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(AppState {
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
                    ApiError::method_not_allowed("render requests are POST multipart/form-data")
                }),
        )
        .fallback(|| async {
            ApiError::not_found("no such path; render requests go to POST /<endpoint>")
        })
        .with_state(Arc::clone(&state));
    tracing::info!(endpoint = %endpoint, workers = config.render_workers, queue_depth = config.render_queue_depth, "render endpoint ready");

    let served = server::serve(listener, app, &config.server, metrics, shutdown).await;
    tokio::task::spawn_blocking(move || pool.close()).await?;
    served
}

struct AppState {
    config: Config,
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
}

async fn status_page(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(status::page(
        state.gpu.adapter(),
        state.started.elapsed(),
        &state.stats,
        state.pool.in_flight(),
        &state.config.endpoint,
    ))
}

/// `POST /<endpoint>`: one image per request.
async fn render(
    State(state): State<Arc<AppState>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let started = Instant::now();
    let result = render_inner(&state, multipart).await;
    let (image_type, outcome) = match &result {
        Ok((image_type, _)) => (Some(*image_type), "ok"),
        Err((image_type, e)) if e.status.is_client_error() => (*image_type, "rejected"),
        Err((image_type, _)) => (*image_type, "failed"),
    };
    let image_type = image_type.map_or("unknown", ImageType::as_str);
    let elapsed = started.elapsed();
    state.metrics.observe_seconds(
        "render_request_duration_seconds",
        "Render requests from arrival to answer, by image type.",
        &[("image_type", image_type), ("outcome", outcome)],
        elapsed.as_secs_f64(),
    );
    match result {
        Ok((image_type, response)) => {
            state.stats.record(image_type, elapsed);
            response
        }
        Err((_, error)) => {
            let reason = if error.status.as_u16() == 503 {
                "busy"
            } else if error.status.is_client_error() {
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

type Failure = (Option<ImageType>, ApiError);

async fn render_inner(
    state: &AppState,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(ImageType, Response), Failure> {
    let _permit = state.pool.admit().map_err(|refused| {
        let error = match refused {
            Refused::Full => {
                ApiError::busy("the render queue is full; retry shortly", RETRY_AFTER_S)
            }
            Refused::Closed => ApiError::busy("the server is shutting down", RETRY_AFTER_S),
        };
        (None, error)
    })?;
    let multipart = multipart.map_err(|e| {
        (
            None,
            ApiError::bad_request(format!(
                "expected a multipart/form-data body: {}",
                e.body_text()
            )),
        )
    })?;
    let reading = Instant::now();
    let form = form::read(multipart, state.config.max_body_bytes)
        .await
        .map_err(|e| (None, e))?;
    let request = form
        .into_request(FormLimits {
            max_image_dimension: state.config.max_image_dimension,
        })
        .map_err(|e| (None, e))?;
    let kind = request.kind;
    let image_type = ImageType::of(kind);
    let fail = |e: ApiError| (Some(image_type), e);
    tracing::debug!(
        image_type = image_type.as_str(),
        width = request.intrinsics.width,
        height = request.intrinsics.height,
        scene_bytes = request.scene.len(),
        "render request"
    );

    let options = LoadOptions {
        max_triangles: state.config.max_triangles,
        max_textures: state.config.max_textures,
        max_texture_pixels: state.config.max_texture_pixels,
        decode_textures: image_type == ImageType::Color,
    };
    let read_ms = reading.elapsed().as_secs_f64() * 1e3;
    let loading = Instant::now();
    let (scene, intrinsics) = tokio::task::spawn_blocking(move || prepare(request, &options))
        .await
        .map_err(|e| fail(ApiError::internal(format!("scene loading stopped: {e}"))))?
        .map_err(fail)?;
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let triangles: usize = (scene.instances.iter())
        .map(|instance| scene.meshes[instance.mesh].indices.len() / 3)
        .sum();

    let (reply, rendered) = oneshot::channel();
    state
        .pool
        .submit(Job {
            scene,
            intrinsics,
            kind,
            reply,
        })
        .map_err(|_| fail(ApiError::busy("the server is shutting down", RETRY_AFTER_S)))?;
    let rendered = rendered
        .await
        .map_err(|_| fail(ApiError::internal("the render worker stopped")))?;
    state.metrics.observe_seconds(
        "render_gpu_seconds",
        "Time a render worker spent on one image (render and readback), by image type.",
        &[("image_type", image_type.as_str())],
        rendered.elapsed.as_secs_f64(),
    );
    let image = rendered.result.map_err(|e| {
        if e.is_client_fault() {
            fail(ApiError::bad_request(e.to_string()))
        } else {
            tracing::error!(cause = %e, "render failed");
            fail(ApiError::internal(format!("rendering failed: {e}")))
        }
    })?;

    let depth_format = state.config.depth_format;
    let encoding = Instant::now();
    let (bytes, content_type) =
        tokio::task::spawn_blocking(move || encode_image(&image, depth_format))
            .await
            .map_err(|e| fail(ApiError::internal(format!("encoding stopped: {e}"))))?;
    tracing::debug!(
        image_type = image_type.as_str(),
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
    Ok((image_type, response))
}

/// Loads the scene and resolves what the form left to the glTF: a near plane sent as 0.
fn prepare(
    request: RenderRequest,
    options: &LoadOptions,
) -> Result<(scene::Scene, Intrinsics), ApiError> {
    let scene =
        scene::load(&request.scene, options).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut intrinsics = request.intrinsics;
    if intrinsics.near == 0.0 {
        intrinsics.near = scene.camera.map_or(0.0, |camera| camera.znear);
        if intrinsics.near <= 0.0 || intrinsics.near >= intrinsics.far {
            return Err(ApiError::bad_request(
                "near: 0 was sent and the glTF camera has no usable znear",
            ));
        }
    }
    Ok((scene, intrinsics))
}

fn encode_image(image: &Image, depth_format: DepthFormat) -> (Vec<u8>, &'static str) {
    match image {
        Image::Color {
            width,
            height,
            rgba,
        } => (encode::png_rgba8(*width, *height, rgba), "image/png"),
        Image::Label { width, height, rgb } => {
            (encode::png_rgb8(*width, *height, rgb), "image/png")
        }
        Image::Depth {
            width,
            height,
            metres,
        } => match depth_format {
            DepthFormat::Tiff32 => (encode::tiff_f32(*width, *height, metres), "image/tiff"),
            DepthFormat::Png16 => (
                encode::png_gray16(*width, *height, &encode::depth_to_millimetres(metres)),
                "image/png",
            ),
        },
    }
}
