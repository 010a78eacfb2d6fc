//! What the render server's handlers share: the [`Pipeline`] every front door renders through,
//! what Drake's front door keeps between requests, and what the status page reports.

use std::sync::Arc;
use std::time::Instant;

use super::budget::CoverageMemo;
use super::pipeline::Pipeline;
use super::stats::Stats;
use crate::scene::SceneCache;

pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    /// Meshes and textures (with their GPU copies) across Drake's requests and clients.
    pub cache: Arc<SceneCache>,
    /// Covered-pixel counts of Drake views already admitted.
    pub coverage: Arc<CoverageMemo>,
    pub stats: Stats,
    pub started: Instant,
}
