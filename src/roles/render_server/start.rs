//! The role's start-up: the subcommand's `main` (config, `--check-config`, `--list-adapters`),
//! `run` (the look, the static scene, the GPU, the workers, the shared state, the scene API's
//! expiry task), and the router, the one place that says which front door answers which path.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::budget::{CoverageMemo, MemoryBudget};
use super::config::PREVIEW_FOLDER;
use super::error::ApiError;
use super::pipeline::Pipeline;
use super::pool::RenderPool;
use super::scene_api::{self, SceneApi};
use super::state::{ActiveLook, AppState};
use super::stats::Stats;
use super::{drake, metrics, status, Args, Config, DEFAULT_PORT, ROLE};
use crate::core::config::config_key;
use crate::core::limits;
use crate::core::{server, shutdown};
use crate::protocol::drake::image::ImageType;
use crate::render::{Gpu, GpuOptions, Look};
use crate::roles::LoggingArgs;
use crate::scene::merge::StaticScene;
use crate::scene::SceneCache;

/// Entry point of the subcommand: config, logging, GPU, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, GPU, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    if args.list_adapters {
        return list_adapters().await;
    }
    if args.server.check_config {
        return crate::roles::check_config::<Config>(
            DEFAULT_PORT,
            &args.server,
            &logging,
            |c| args.apply(c, &logging),
            check_config,
        );
    }
    let (config, _log) =
        crate::roles::prepare::<Config>(ROLE, &args.server, &logging, |c| args.apply(c, &logging))?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// `--check-config`'s role checks: the endpoint, the access tokens, the look's parameters (their
/// warnings on standard error, their unknown fields refused) and the static scene, which loads
/// without a GPU. Only the adapter's limit on `shadow_map_size` waits for the start. The look
/// printed is the one the server would draw with, from `--vtk-params` when given, and the cache
/// budget is the number the default resolves to here.
fn check_config(config: &Config) -> anyhow::Result<crate::roles::Checked> {
    config.endpoint_path()?;
    config.access_tokens()?;
    let look = config.look_params()?;
    for warning in &look.warnings {
        eprintln!("warning: {warning}");
    }
    for note in &look.notes {
        eprintln!("note: {note}");
    }
    StaticScene::load(&config.static_scene, &config.load_options(true))?;
    let mut resolved = serde_json::Map::new();
    resolved.insert(
        config_key!(Config, vtk_params).to_owned(),
        serde_json::to_value(&look.params)?,
    );
    resolved.insert(
        config_key!(Config, cache_bytes).to_owned(),
        config.cache_bytes().into(),
    );
    resolved.insert(
        config_key!(Config, max_resident_bytes).to_owned(),
        config.max_resident_bytes().into(),
    );
    Ok(crate::roles::Checked {
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
        let (files, options) = (config.static_scene.clone(), config.load_options(true));
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
    let look_shown = ActiveLook {
        summary: params.summary(),
        origin: look_params.origin.clone(),
    };
    let look = Look::from_params(params, &gpu)?;
    let pool = Arc::new(RenderPool::start(
        Arc::clone(&gpu),
        look,
        config.render_workers,
        config.render_queue_depth,
        config
            .max_cameras_per_frame
            .saturating_mul(ImageType::ALL.len()),
    )?);

    let cache_bytes = config.cache_bytes();
    tracing::info!(cache_bytes, "scene cache");
    let mut registry = crate::core::metrics::registry(ROLE);
    let pipeline = Arc::new(Pipeline {
        config: config.clone(),
        gpu,
        pool: Arc::clone(&pool),
        memory: Arc::new(MemoryBudget::new(
            config.max_in_flight_bytes,
            config.in_flight_bytes_per_client(),
        )),
        static_scene: Arc::new(static_scene),
        metrics: metrics::RenderMetrics::register(&mut registry),
        previews: config.status_previews.then(Arc::default),
    });
    let cache = Arc::new(SceneCache::new(cache_bytes));
    let scene_api = Arc::new(SceneApi::new(Arc::clone(&pipeline), Arc::clone(&cache)));
    scene_api::expire_idle_scenes(&scene_api, shutdown.clone());
    scene_api::register_metrics(&scene_api, &mut registry);
    let state = Arc::new(AppState {
        scene_api: Arc::clone(&scene_api),
        pipeline,
        cache,
        coverage: Arc::new(CoverageMemo::default()),
        stats: Stats::default(),
        started: Instant::now(),
        look: look_shown,
    });
    metrics::register(
        &mut registry,
        state.pipeline.gpu.adapter(),
        &state.pipeline.pool,
        &state.pipeline.memory,
        &state.cache,
    );
    let app = router(&endpoint, &config, state).merge(scene_api::router(scene_api));
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
    let served = server::serve(listener, app, &config.server, registry, shutdown, readiness).await;
    // `serve` answered every request (503 for those cut by the grace period), so the jobs still
    // queued have no one to answer: the workers skip them, and one still rendering is left behind.
    let deadline = Instant::now() + limits::SHUTDOWN_ANSWER_TIME;
    tokio::task::spawn_blocking(move || pool.close(deadline)).await?;
    served
}

/// Which front door answers which path (the scene API's, under `/v1`, are merged beside);
/// the status pages; 404 for the rest.
fn router(endpoint: &str, config: &Config, state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/", get(status::page_handler))
        .route("/status.json", get(status::json_handler));
    for image_type in ImageType::ALL {
        router = router.route(
            &format!("{PREVIEW_FOLDER}/{}.png", image_type.as_str()),
            get(move |state| status::preview_handler(state, image_type)),
        );
    }
    router
        .route(
            endpoint,
            post(drake::render)
                .layer(DefaultBodyLimit::max(config.max_body_bytes))
                .fallback(|| async {
                    ApiError::MethodNotAllowed("render requests are POST multipart/form-data")
                }),
        )
        .fallback({
            let endpoint = endpoint.to_owned();
            move |uri: axum::http::Uri| async move { ApiError::not_found(uri.path(), &endpoint) }
        })
        .with_state(state)
}
