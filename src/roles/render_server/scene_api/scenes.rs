//! Resident scenes: the registry and `/v1/scenes[/{id}]`.
//!
//! A scene's id is 128 bits from the operating system's CSPRNG, so holding one is the only way to
//! reach the scene. The registry is bounded by `maxScenes` and, in bytes of decoded content,
//! by `maxResidentBytes` (503 beyond: both are shared by every client), and each scene by
//! `maxSceneGeometries` (413). A scene unused for
//! `sceneIdleSeconds` is dropped by the expiry task; with it go its meshes and textures and so
//! their GPU copies, which live in the meshes' own slots. A frame still rendering an expired or
//! deleted scene keeps what it took until it is answered.
//!
//! Registering and editing decode meshes and textures, which costs like a render: both run under
//! the pipeline's admission, memory ticket and deadline, after the body is read and every field
//! checked, and both change the scene all at once or not at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ring::rand::{SecureRandom, SystemRandom};

use super::build::{self, Placed};
use super::error::SceneApiError;
use super::look;
use super::resident_bytes::ResidentBytes;
use super::{read_body, SceneApi};
use crate::core::config::config_key;
use crate::core::sync::lock;
use crate::protocol::scene_api::check::{
    check_geometry, check_look, read_json, CheckedGeometry, CheckedLook,
};
use crate::protocol::scene_api::error::{FieldError, Reason};
use crate::protocol::scene_api::pose;
use crate::protocol::scene_api::scene::{
    Geometry, PatchRequest, SceneCreated, SceneRequest, SceneSummary,
};
use crate::protocol::scene_api::PREFIX;
use crate::render::Look;
use crate::roles::render_server::Config;

/// Every resident scene, by id.
pub struct Registry {
    scenes: Mutex<HashMap<String, Arc<ResidentScene>>>,
    random: SystemRandom,
    max_scenes: usize,
    /// What the scenes' geometries hold, against `maxResidentBytes`.
    resident: ResidentBytes,
    idle: Duration,
    created: AtomicU64,
    expired: AtomicU64,
}

/// A registered scene.
pub struct ResidentScene {
    pub id: String,
    /// Its own look, or the server's.
    pub look: Arc<Look>,
    pub state: Mutex<SceneState>,
    last_used: Mutex<Instant>,
}

/// What a scene holds now.
#[derive(Default)]
pub struct SceneState {
    /// By id: drawn in that order (Drake's ids grow in registration order).
    pub geometries: BTreeMap<u64, Placed>,
    /// Frames answered.
    pub frames: u64,
    /// Deleted or expired, its geometries counted out: an edit that was building meanwhile
    /// must not land.
    left: bool,
}

/// The registry's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegistryStats {
    pub scenes: usize,
    pub geometries: usize,
    /// Decoded content every scene holds, shared parts once ([`ResidentBytes`]).
    pub resident_bytes: u64,
    pub max_resident_bytes: u64,
    pub created: u64,
    pub expired: u64,
}

impl Registry {
    pub fn new(max_scenes: usize, max_resident_bytes: u64, idle: Duration) -> Self {
        Self {
            scenes: Mutex::default(),
            random: SystemRandom::new(),
            max_scenes,
            resident: ResidentBytes::new(max_resident_bytes),
            idle,
            created: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        }
    }

    /// 128 random bits in hex.
    fn new_id(&self) -> Result<String, SceneApiError> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes).map_err(|_| {
            SceneApiError::new(Reason::Internal, "the system's random source failed")
        })?;
        Ok(hex::encode(bytes))
    }

    /// The scene `id`, marked used.
    pub fn get(&self, id: &str) -> Result<Arc<ResidentScene>, SceneApiError> {
        let scene = (lock(&self.scenes).get(id).cloned()).ok_or_else(unknown_scene)?;
        *lock(&scene.last_used) = Instant::now();
        Ok(scene)
    }

    fn full(&self) -> SceneApiError {
        SceneApiError::new(
            Reason::Busy,
            format!(
                "the server holds its most scenes ({}); retry once one expires or is deleted \
                 (config key {})",
                self.max_scenes,
                config_key!(Config, max_scenes)
            ),
        )
    }

    fn check_room(&self) -> Result<(), SceneApiError> {
        if lock(&self.scenes).len() >= self.max_scenes {
            return Err(self.full());
        }
        Ok(())
    }

    fn insert(
        &self,
        state: SceneState,
        look: Arc<Look>,
    ) -> Result<Arc<ResidentScene>, SceneApiError> {
        let scene = Arc::new(ResidentScene {
            id: self.new_id()?,
            look,
            state: Mutex::new(state),
            last_used: Mutex::new(Instant::now()),
        });
        let mut scenes = lock(&self.scenes);
        if scenes.len() >= self.max_scenes {
            self.release(&scene);
            return Err(self.full());
        }
        scenes.insert(scene.id.clone(), Arc::clone(&scene));
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(scene)
    }

    fn remove(&self, id: &str) -> bool {
        let removed = lock(&self.scenes).remove(id);
        removed.inspect(|scene| self.release(scene)).is_some()
    }

    /// Counts `built` in against `maxResidentBytes` ([`ResidentBytes::admit`]), before it joins a
    /// scene.
    fn admit(&self, built: &[(u64, Placed)]) -> Result<(), SceneApiError> {
        (self.resident).admit(built.iter().map(|(_, placed)| &*placed.content))
    }

    /// Counts out every geometry of a scene leaving the registry.
    fn release(&self, scene: &ResidentScene) {
        let mut state = lock(&scene.state);
        state.left = true;
        (self.resident).release(state.geometries.values().map(|placed| &*placed.content));
    }

    /// Drops every scene unused for the idle time; returns how many.
    pub fn expire_idle(&self) -> usize {
        let now = Instant::now();
        let expired: Vec<Arc<ResidentScene>> = {
            let mut scenes = lock(&self.scenes);
            let idle: Vec<String> = (scenes.iter())
                .filter(|(_, scene)| now.duration_since(*lock(&scene.last_used)) >= self.idle)
                .map(|(id, _)| id.clone())
                .collect();
            idle.iter().filter_map(|id| scenes.remove(id)).collect()
        };
        for scene in &expired {
            self.release(scene);
        }
        self.expired
            .fetch_add(expired.len() as u64, Ordering::Relaxed);
        // Dropped here, outside the lock: the meshes' GPU buffers are freed with them.
        expired.len()
    }

    pub fn stats(&self) -> RegistryStats {
        let scenes: Vec<_> = lock(&self.scenes).values().cloned().collect();
        RegistryStats {
            scenes: scenes.len(),
            geometries: (scenes.iter())
                .map(|scene| lock(&scene.state).geometries.len())
                .sum(),
            resident_bytes: self.resident.total(),
            max_resident_bytes: self.resident.limit(),
            created: self.created.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
        }
    }

    fn idle_seconds(&self) -> f64 {
        self.idle.as_secs_f64()
    }
}

impl ResidentScene {
    fn summary(&self, registry: &Registry) -> SceneSummary {
        let state = lock(&self.state);
        SceneSummary {
            scene: self.id.clone(),
            geometries: state.geometries.len(),
            frames: state.frames,
            idle_expiry_seconds: registry.idle_seconds(),
        }
    }
}

/// 404 `unknown_scene`: what a client registers again on.
fn unknown_scene() -> SceneApiError {
    SceneApiError::new(
        Reason::UnknownScene,
        "this server does not know the scene (expired, deleted, a restarted server or another \
         replica); register it again",
    )
}

/// Checks each geometry, naming it `{list}[i]`, and that no id appears twice.
fn check_all(geometries: &[Geometry], list: &str) -> Result<Vec<CheckedGeometry>, SceneApiError> {
    let mut seen = HashSet::new();
    geometries
        .iter()
        .enumerate()
        .map(|(index, geometry)| {
            let path = format!("{list}[{index}]");
            let checked = check_geometry(geometry, &path)?;
            if !seen.insert(checked.id) {
                return Err(SceneApiError::field(
                    Reason::DuplicateGeometry,
                    FieldError::new(
                        format!("{path}.id"),
                        format!("geometry {} is listed twice", checked.id),
                    ),
                ));
            }
            Ok(checked)
        })
        .collect()
}

/// 413 for more geometries than a scene may hold.
fn too_many(count: usize, max: usize, field: &str) -> SceneApiError {
    SceneApiError::field(
        Reason::TooLarge,
        FieldError::new(
            field,
            format!(
                "the scene would hold {count} geometries; the limit is {max} (config key {})",
                config_key!(Config, max_scene_geometries)
            ),
        ),
    )
}

/// What one registration or edit built.
struct Built {
    geometries: Vec<(u64, Placed)>,
    /// The scene's own look, when it was registered with one.
    look: Option<Look>,
}

/// Builds `geometries` (and a scene's own `look`) under the pipeline: admitted, their decoded
/// bytes on the ticket (and within `maxDecodedBytes` together), before the deadline. The bytes
/// leave the ticket once built: they then belong to the scene, which `maxScenes` and
/// `maxSceneGeometries` bound.
async fn build_under_pipeline(
    api: &Arc<SceneApi>,
    client: IpAddr,
    geometries: Vec<(String, CheckedGeometry)>,
    look: Option<CheckedLook>,
) -> Result<Built, SceneApiError> {
    let needed = (geometries.iter())
        .flat_map(|(_, geometry)| geometry.assets())
        .chain(look.iter().flat_map(CheckedLook::assets));
    let missing = api.assets.missing(needed);
    if !missing.is_empty() {
        return Err(SceneApiError::missing_assets(missing));
    }
    let pipeline = &api.pipeline;
    let admitted = pipeline.admit(client)?;
    let deadline = pipeline.deadline();
    let worker_api = Arc::clone(api);
    let ticket = Arc::clone(&admitted.ticket);
    let building = pipeline.blocking("scene building", move || {
        let pipeline = &worker_api.pipeline;
        let config = &pipeline.config;
        let built = build::build_all(
            &geometries,
            &worker_api.assets,
            &worker_api.cache,
            config,
            pipeline.loader_reserve(&ticket),
        );
        let look = look.map(|look| {
            let reserve = pipeline.loader_reserve(&ticket);
            let options = config.load_options(true);
            look::build(&look, &worker_api.assets, &pipeline.gpu, &options, reserve)
        });
        Ok((|| {
            let placed = built?.into_iter().zip(&geometries);
            let geometries = (placed.map(|(content, (_, geometry))| {
                let pose = pose::to_matrix(&geometry.pose);
                let content = Arc::new(content);
                (geometry.id, Placed { content, pose })
            }))
            .collect();
            Ok(Built {
                geometries,
                look: look.transpose()?,
            })
        })())
    });
    pipeline.within_deadline(deadline, building).await?
}

/// `POST /v1/scenes`: 201 with the new scene's id.
pub async fn create(
    State(api): State<Arc<SceneApi>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Body,
) -> Result<Response, SceneApiError> {
    let body = read_body(&api, body).await?;
    let request: SceneRequest = read_json(&body)?;
    drop(body);
    let max = api.config().max_scene_geometries;
    if request.geometries.len() > max {
        return Err(too_many(request.geometries.len(), max, "geometries"));
    }
    let checked = check_all(&request.geometries, "geometries")?;
    let look = (request.look.as_deref())
        .map(|text| check_look(text, &request.look_files))
        .transpose()?;
    api.scenes.check_room()?;
    let paths = (0..checked.len()).map(|i| format!("geometries[{i}]"));
    let built = build_under_pipeline(&api, peer.ip(), paths.zip(checked).collect(), look).await?;
    api.scenes.admit(&built.geometries)?;
    let state = SceneState {
        geometries: built.geometries.into_iter().collect(),
        frames: 0,
        left: false,
    };
    let count = state.geometries.len();
    let look = built
        .look
        .map_or_else(|| Arc::clone(api.pipeline.pool.default_look()), Arc::new);
    let scene = api.scenes.insert(state, look)?;
    tracing::debug!(scene = %scene.id, geometries = count, "scene registered");
    let created = SceneCreated {
        scene: scene.id.clone(),
        geometries: count,
        idle_expiry_seconds: api.scenes.idle_seconds(),
    };
    let location = format!("{PREFIX}/scenes/{}", scene.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(created),
    )
        .into_response())
}

/// `GET /v1/scenes/{id}`.
pub async fn summary(
    State(api): State<Arc<SceneApi>>,
    Path(id): Path<String>,
) -> Result<axum::Json<SceneSummary>, SceneApiError> {
    let scene = api.scenes.get(&id)?;
    Ok(axum::Json(scene.summary(&api.scenes)))
}

/// `DELETE /v1/scenes/{id}`: 204, and the scene's memory is released.
pub async fn delete(
    State(api): State<Arc<SceneApi>>,
    Path(id): Path<String>,
) -> Result<StatusCode, SceneApiError> {
    if api.scenes.remove(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown_scene())
    }
}

/// Checks an edit against the scene as it is: removed ids present, added ids free (or removed in
/// the same edit), the count within the cap.
fn check_edit(
    state: &SceneState,
    remove: &[u64],
    add: &[u64],
    max: usize,
) -> Result<(), SceneApiError> {
    let mut removed = HashSet::new();
    for (index, id) in remove.iter().enumerate() {
        if !state.geometries.contains_key(id) || !removed.insert(*id) {
            return Err(FieldError::new(
                format!("remove[{index}]"),
                format!("geometry {id} is not in the scene (or is removed twice)"),
            )
            .into());
        }
    }
    for (index, id) in add.iter().enumerate() {
        if state.geometries.contains_key(id) && !removed.contains(id) {
            return Err(SceneApiError::field(
                Reason::DuplicateGeometry,
                FieldError::new(
                    format!("add[{index}].id"),
                    format!(
                        "geometry {id} is already in the scene; remove it in the same edit to \
                         change it"
                    ),
                ),
            ));
        }
    }
    let count = state.geometries.len() - removed.len() + add.len();
    if count > max {
        return Err(too_many(count, max, "add"));
    }
    Ok(())
}

/// `PATCH /v1/scenes/{id}`: removals, then additions, all or nothing.
pub async fn patch(
    State(api): State<Arc<SceneApi>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    body: Body,
) -> Result<axum::Json<SceneSummary>, SceneApiError> {
    let scene = api.scenes.get(&id)?;
    let body = read_body(&api, body).await?;
    let request: PatchRequest = read_json(&body)?;
    drop(body);
    let max = api.config().max_scene_geometries;
    if request.add.len() > max {
        return Err(too_many(request.add.len(), max, "add"));
    }
    let add = check_all(&request.add, "add")?;
    let ids: Vec<u64> = add.iter().map(|geometry| geometry.id).collect();
    check_edit(&lock(&scene.state), &request.remove, &ids, max)?;
    let paths = (0..add.len()).map(|i| format!("add[{i}]"));
    let built = build_under_pipeline(&api, peer.ip(), paths.zip(add).collect(), None)
        .await?
        .geometries;
    api.scenes.admit(&built)?;
    {
        // Checked again: another edit may have landed while this one was building.
        let mut state = lock(&scene.state);
        let checked = if state.left {
            Err(unknown_scene())
        } else {
            check_edit(&state, &request.remove, &ids, max)
        };
        if let Err(error) = checked {
            (api.scenes.resident).release(built.iter().map(|(_, placed)| &*placed.content));
            return Err(error);
        }
        let removed: Vec<Placed> = (request.remove.iter())
            .filter_map(|id| state.geometries.remove(id))
            .collect();
        (api.scenes.resident).release(removed.iter().map(|placed| &*placed.content));
        state.geometries.extend(built);
    }
    *lock(&scene.last_used) = Instant::now();
    Ok(axum::Json(scene.summary(&api.scenes)))
}
