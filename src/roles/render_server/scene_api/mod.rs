//! The scene API's front door (`docs/scene-api.md`, wire vocabulary in
//! [`crate::protocol::scene_api`]): resident scenes registered once, then rendered frame by frame
//! from the poses that changed, beside Drake's `POST /render` and through the same
//! [`Pipeline`]: the same admission, memory ticket, deadline, workers and answer.
//!
//! - [`assets`]: the content-addressed asset cache (`/v1/assets/…`);
//! - [`scenes`]: the registry (unguessable ids, idle expiry, caps) and `/v1/scenes[/{id}]`;
//! - [`build`]: a checked geometry → its meshes and materials in its own frame, once, at
//!   registration;
//! - [`coverage`]: the per-frame covered-pixel bound from per-mesh summaries;
//! - [`look`]: a scene's own `RenderEngineVtkParams` made into a look at registration;
//! - [`frames`]: `POST /v1/scenes/{id}/frames`, poses applied and every image rendered.

mod assets;
mod build;
mod coverage;
mod error;
mod frames;
mod look;
mod resident_bytes;
mod scenes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use tokio_util::sync::CancellationToken;

use super::pipeline::Pipeline;
use super::Config;
use crate::core::config::config_key;
use crate::core::metrics::{self, Registry as MetricRegistry, Unit};
use crate::protocol::scene_api::error::Reason;
use crate::protocol::scene_api::scene::{ApiInfo, Limits};
use crate::protocol::scene_api::VERSION;
use crate::scene::SceneCache;
pub use assets::AssetStats;
use assets::AssetStore;
use error::SceneApiError;
use scenes::Registry;
pub use scenes::RegistryStats;

/// What the scene API's handlers share.
pub struct SceneApi {
    pipeline: Arc<Pipeline>,
    /// The server's scene cache, shared with Drake's endpoint: decoded meshes and textures.
    cache: Arc<SceneCache>,
    assets: AssetStore,
    scenes: Registry,
    /// The static scene's clusters in the world, for the coverage bound.
    static_clusters: Vec<coverage::Cluster>,
    frames: AtomicU64,
    images: AtomicU64,
}

impl SceneApi {
    pub fn new(pipeline: Arc<Pipeline>, cache: Arc<SceneCache>) -> Self {
        let config = &pipeline.config;
        let assets = AssetStore::new(config.asset_cache_bytes, config.max_asset_bytes);
        let scenes = Registry::new(
            config.max_scenes,
            config.max_resident_bytes(),
            config.scene_idle(),
        );
        let static_clusters = build::static_clusters(&pipeline.static_scene);
        Self {
            cache,
            assets,
            scenes,
            static_clusters,
            frames: AtomicU64::new(0),
            images: AtomicU64::new(0),
            pipeline,
        }
    }

    fn config(&self) -> &Config {
        &self.pipeline.config
    }

    /// What the status page shows: scenes, frames, assets.
    pub fn figures(&self) -> Figures {
        Figures {
            scenes: self.scenes.stats(),
            max_scenes: self.config().max_scenes,
            frames: self.frames.load(Ordering::Relaxed),
            images: self.images.load(Ordering::Relaxed),
            assets: self.assets.stats(),
        }
    }
}

/// The scene API's figures at one moment.
pub struct Figures {
    pub scenes: RegistryStats,
    pub max_scenes: usize,
    pub frames: u64,
    pub images: u64,
    pub assets: AssetStats,
}

/// The routes under `/v1`, with their own error bodies for unknown paths and methods.
pub fn router(api: Arc<SceneApi>) -> Router {
    Router::new()
        .route("/v1", get(info).fallback(method_not_allowed))
        .route(
            "/v1/assets/missing",
            post(assets::missing).fallback(method_not_allowed),
        )
        .route(
            "/v1/assets/{sha256}",
            put(assets::put)
                .get(assets::get)
                .fallback(method_not_allowed),
        )
        .route(
            "/v1/scenes",
            post(scenes::create).fallback(method_not_allowed),
        )
        .route(
            "/v1/scenes/{id}",
            get(scenes::summary)
                .patch(scenes::patch)
                .delete(scenes::delete)
                .fallback(method_not_allowed),
        )
        .route(
            "/v1/scenes/{id}/frames",
            post(frames::render).fallback(method_not_allowed),
        )
        .route("/v1/{*rest}", axum::routing::any(not_found))
        .with_state(api)
}

async fn method_not_allowed() -> SceneApiError {
    SceneApiError::new(
        Reason::MethodNotAllowed,
        "this resource does not take that method (docs/scene-api.md lists each one's)",
    )
}

async fn not_found() -> SceneApiError {
    SceneApiError::new(
        Reason::NotFound,
        "no such resource under /v1 (docs/scene-api.md lists them)",
    )
}

/// `GET /v1`: the version and the limits, so a client can check before it sends.
async fn info(State(api): State<Arc<SceneApi>>) -> Response {
    let config = api.config();
    axum::Json(ApiInfo {
        version: VERSION,
        limits: Limits {
            max_scenes: config.max_scenes,
            max_resident_bytes: config.max_resident_bytes(),
            scene_idle_seconds: config.scene_idle().as_secs_f64(),
            max_scene_geometries: config.max_scene_geometries,
            asset_cache_bytes: config.asset_cache_bytes,
            max_asset_bytes: config.max_asset_bytes,
            max_cameras_per_frame: config.max_cameras_per_frame,
            max_image_dimension: config.max_image_dimension,
            max_body_bytes: config.max_body_bytes,
        },
    })
    .into_response()
}

/// A request's whole body, at most `maxBodyBytes` (413 beyond), read before anything is admitted:
/// a client still sending holds no render slot.
async fn read_body(api: &SceneApi, body: Body) -> Result<Bytes, SceneApiError> {
    let limit = api.config().max_body_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        let mut too_large = false;
        while let Some(error) = cause {
            too_large |= error.is::<http_body_util::LengthLimitError>();
            cause = error.source();
        }
        if too_large {
            SceneApiError::new(
                Reason::TooLarge,
                format!(
                    "the request body exceeds the limit of {limit} bytes (config key {})",
                    config_key!(Config, max_body_bytes)
                ),
            )
        } else {
            SceneApiError::new(
                Reason::BadRequest,
                format!("the request body could not be read: {error}"),
            )
        }
    })
}

/// Expires idle scenes until `shutdown`, every tenth of `sceneIdleSeconds` (at most every
/// second), so an idle scene's memory is released within 10 % of its time after it expires.
pub fn expire_idle_scenes(api: &Arc<SceneApi>, shutdown: CancellationToken) {
    let period = (api.config().scene_idle() / 10).clamp(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(1),
    );
    let api = Arc::downgrade(api);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Some(api) = api.upgrade() else { return };
            let expired = api.scenes.expire_idle();
            if expired > 0 {
                tracing::info!(expired, "idle scenes expired");
            }
        }
    });
}

/// The scene API's `/metrics` figures, read when scraped.
pub fn register_metrics(api: &Arc<SceneApi>, registry: &mut MetricRegistry) {
    metrics::scraped(registry, api, |api, out| {
        let Figures {
            scenes,
            frames,
            images,
            assets,
            ..
        } = api.figures();
        out.gauge(
            "scene_api_scenes",
            "Resident scenes registered through the scene API",
            None,
            scenes.scenes,
        )?;
        out.gauge(
            "scene_api_geometries",
            "Geometries in all resident scenes",
            None,
            scenes.geometries,
        )?;
        out.gauge(
            "scene_api_resident",
            "Decoded meshes and textures (CPU and GPU bytes) all resident scenes hold, each shared one once",
            Some(Unit::Bytes),
            scenes.resident_bytes,
        )?;
        out.gauge(
            "scene_api_resident_limit",
            "What all resident scenes may hold together (maxResidentBytes)",
            Some(Unit::Bytes),
            scenes.max_resident_bytes,
        )?;
        out.counter(
            "scene_api_scenes_created",
            "Scenes registered since start",
            scenes.created,
        )?;
        out.counter(
            "scene_api_scene_expirations",
            "Scenes dropped after sceneIdleSeconds unused",
            scenes.expired,
        )?;
        out.counter(
            "scene_api_frames",
            "Frames answered (all of their images rendered)",
            frames,
        )?;
        out.counter("scene_api_images", "Images answered in frames", images)?;
        out.gauge(
            "scene_api_assets",
            "Assets held (mesh files, textures, environment maps)",
            None,
            assets.count,
        )?;
        out.gauge(
            "scene_api_asset",
            "Bytes of assets held, within assetCacheBytes",
            Some(Unit::Bytes),
            assets.bytes,
        )?;
        out.gauge(
            "scene_api_asset_upload",
            "Bytes of asset uploads still arriving",
            Some(Unit::Bytes),
            assets.uploading,
        )?;
        out.counter(
            "scene_api_asset_evictions",
            "Assets dropped to stay within assetCacheBytes",
            assets.evictions,
        )
    });
}
