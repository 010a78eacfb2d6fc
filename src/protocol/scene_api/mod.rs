//! The scene API's wire vocabulary (`docs/scene-api.md`): resident scenes on the render server,
//! registered once, then sent only the poses that changed. The render server speaks it, and so do
//! the render client and (in Python) `gltf_cloud`; what both sides must agree on is here once.
//!
//! - [`scene`]: the JSON of scenes, geometries, edits, asset lists and the server's limits;
//! - [`check`]: reading that JSON and checking its values, naming a bad field by its path;
//! - [`frame`]: the binary frame request (`GCF1`) and its answer (`GCI1`), parsed and written;
//! - [`pose`]: a `RigidTransform` as 12 float64 and the rotation check;
//! - [`error`]: the error body (Drake's, plus `reason`, `field`, `missing`) and the reasons.

pub mod check;
pub mod error;
pub mod frame;
pub mod pose;
pub mod scene;

/// The version this server speaks, and the prefix of every path.
pub const VERSION: u32 = 1;
/// The prefix of every path of this version.
pub const PREFIX: &str = "/v1";

/// The header a scene-API client sends with one key of its own on every request. Servers ignore
/// it; a proxy in front of several replicas hashes on it, so that a client's requests reach the
/// replica holding its scenes (docs/deploy.md, "Several render servers").
pub const AFFINITY_HEADER: &str = "Gltf-Cloud-Affinity";
