//! The scene API's JSON (docs/scene-api.md, "Resources"): a scene's geometries as Drake has them,
//! edits, summaries, the asset lists and the server's limits. The types serialize and deserialize
//! both ways, so the server and the client read and write one definition; unknown fields are
//! refused, so a misspelt property is a 400 naming it instead of a silently different picture.
//! Reading them and checking their values is [`super::check`]'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pose::Pose;

/// `POST /v1/scenes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneRequest {
    pub geometries: Vec<Geometry>,
    /// `RenderEngineVtkParams` as pydrake's `yaml_dump_typed` writes them; absent: the server's
    /// configured look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look: Option<String>,
    /// Each file path the look names (an `EquirectangularMap`'s `path`) → the asset holding it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub look_files: BTreeMap<String, String>,
}

/// `PATCH /v1/scenes/{id}`: removals first, then additions, all or nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchRequest {
    #[serde(default)]
    pub remove: Vec<u64>,
    #[serde(default)]
    pub add: Vec<Geometry>,
}

/// A geometry: Drake's shape, its perception properties and its initial pose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geometry {
    /// The client's id (pydrake: `GeometryId.get_value()`), unique within a scene.
    pub id: u64,
    pub shape: Shape,
    #[serde(rename = "X_WG")]
    pub x_wg: Pose,
    #[serde(default)]
    pub properties: Properties,
}

/// The shape types, as `shape.type` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeType {
    Box,
    Sphere,
    Cylinder,
    Capsule,
    Ellipsoid,
    HalfSpace,
    Mesh,
    Convex,
}

/// A shape as the wire carries it: its type and the parameters of that type (Drake's names, in
/// metres). Which parameters a type takes is [`super::check::check_geometry`]'s rule, so that a missing or stray
/// one is named by its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: ShapeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<MeshSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
}

/// A mesh's `scale`: one number (uniform) or one per axis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scale {
    Uniform(f64),
    PerAxis([f64; 3]),
}

/// The mesh file formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeshFormat {
    Obj,
    Gltf,
    Glb,
}

/// Drake's `MeshSource`: the main file and every file it refers to by relative path, each an
/// asset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshSource {
    pub format: MeshFormat,
    /// The main file's name, as the files it refers to were named beside it.
    pub name: String,
    pub asset: String,
    /// Relative path → asset, for the MTL, textures, glTF buffers and images.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

/// A file named by the client and held as an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetFile {
    pub asset: String,
    pub name: String,
}

/// The perception properties RenderEngineVtk reads, all optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Properties {
    /// RGBA in 0..=1.
    #[serde(
        rename = "phong/diffuse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub diffuse: Option<[f64; 4]>,
    /// A PNG or JPEG texture.
    #[serde(
        rename = "phong/diffuse_map",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub diffuse_map: Option<AssetFile>,
    /// The texture coordinates' scale `[s, t]`.
    #[serde(
        rename = "phong/diffuse_scale",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub diffuse_scale: Option<[f64; 2]>,
    /// The `RenderLabel` value; default `kDontCare`.
    #[serde(rename = "label/id", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<i64>,
}

/// `201` to `POST /v1/scenes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneCreated {
    pub scene: String,
    pub geometries: usize,
    pub idle_expiry_seconds: f64,
}

/// `GET /v1/scenes/{id}`, and `200` to `PATCH`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneSummary {
    pub scene: String,
    pub geometries: usize,
    pub frames: u64,
    pub idle_expiry_seconds: f64,
}

/// `POST /v1/assets/missing`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetList {
    pub sha256: Vec<String>,
}

/// `POST /v1/assets/missing`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingAssets {
    pub missing: Vec<String>,
}

/// `GET /v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiInfo {
    pub version: u32,
    pub limits: Limits,
}

/// The limits a server enforces, by their config keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_scenes: usize,
    pub max_resident_bytes: u64,
    pub scene_idle_seconds: f64,
    pub max_scene_geometries: usize,
    pub asset_cache_bytes: u64,
    pub max_asset_bytes: u64,
    pub max_cameras_per_frame: usize,
    pub max_image_dimension: u32,
    pub max_body_bytes: usize,
}

impl Shape {
    /// A shape of `kind` without parameters (a half space), to fill in.
    pub fn of(kind: ShapeType) -> Self {
        Self {
            kind,
            width: None,
            depth: None,
            height: None,
            radius: None,
            length: None,
            a: None,
            b: None,
            c: None,
            source: None,
            scale: None,
        }
    }
}
