//! What the render server's handlers share: the [`Pipeline`] every front door renders through,
//! what Drake's front door keeps between requests, and what the status page reports (the scene
//! API's figures among them).

use std::sync::Arc;
use std::time::Instant;

use super::budget::CoverageMemo;
use super::pipeline::Pipeline;
use super::scene_api::SceneApi;
use super::stats::Stats;
use crate::scene::SceneCache;

pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    /// The scene API's assets and scenes, for the status page.
    pub scene_api: Arc<SceneApi>,
    /// Meshes and textures (with their GPU copies) across Drake's requests and clients.
    pub cache: Arc<SceneCache>,
    /// Covered-pixel counts of Drake views already admitted.
    pub coverage: Arc<CoverageMemo>,
    pub stats: Stats,
    pub started: Instant,
    /// The server's look, for `GET /`.
    pub look: super::status::Look,
}
