//! The lenient glTF loader: the JSON Drake's `RenderEngineGltfClient` sends → a [`Scene`] of
//! model-space meshes placed by instances, reusing what a [`SceneCache`] already holds.
//!
//! # Why not the `gltf` crate
//! `gltf-json` deserializes into owned `String`s and typed `Vec`s: Drake's empty scene
//! (`"nodes":null`, drake-gltf-protocol §3.3) is a hard error there, and a fix-up pass would have
//! to rebuild the document as a `serde_json::Value`, copying tens of MB of base64. So `json.rs` is a
//! small serde model of only the fields drawn, where `null` reads as empty and `uri`s borrow from
//! the request body; `target` on image bufferViews (§3.2) is simply never looked at.
//!
//! # Order of work
//! [`load`] runs these steps in order; each file below does one of them.
//! 1. Parse (`json.rs`); refuse `extensionsRequired` entries that would change geometry we cannot
//!    decode. Errors are [`SceneError`] (`error.rs`).
//! 2. In colour scenes, count the textures the materials reference against the limit
//!    (`materials.rs`), before any image is decoded.
//! 3. Check the node and draw-call counts (`budget.rs`), then walk `scenes[scene]` depth-first with an explicit stack (no recursion: a malicious depth
//!    cannot overflow the stack), each node visited once, so cycles and shared subtrees are errors
//!    instead of infinite or exponential work (`nodes.rs`).
//! 4. Per mesh primitive (`primitives.rs`): check the limits from the accessor counts *before*
//!    reading, each accessor's count against the bytes sent and the arrays' size against
//!    `maxDecodedBytes` (`budget.rs`); key the mesh by the hash of its accessors' layout and data
//!    URIs' text (`buffers.rs`) and take it from the cache, or read it, validate indices and
//!    compute normals in model space (`normals.rs`); check its world coordinates stay finite; then
//!    its material (`materials.rs`). Buffers are base64-decoded once, on first use and only on a
//!    miss; images are decoded once (`images.rs`), only in color scenes, after their header passed
//!    the pixel limit, and cached by the same kind of key.
//!
//! Everything is deterministic: output order is traversal order, and no hash map is iterated.

mod budget;
mod buffers;
mod error;
pub(crate) mod images;
mod json;
mod materials;
mod nodes;
mod normals;
mod primitives;
#[cfg(test)]
mod tests;

pub use error::SceneError;
/// What marks a user glTF (and VTK's own root) in a document; the mesh-file reader marks one.
pub(crate) use nodes::{MERGER_GENERATOR, VTK_ROOT};

use std::collections::HashMap;

use super::cache::{ContentKey, KeyHasher, SceneCache};
use super::Scene;
use crate::core::limits;
use crate::core::quote::quote;
use budget::Spending;
use buffers::Buffers;

/// What the loader may allocate and do; the render server fills it from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Config key `maxTriangles`. Vertices are bounded at three per allowed triangle too, so a
    /// mesh instanced by many nodes cannot multiply a small file into gigabytes.
    pub max_triangles: usize,
    /// Config key `maxTextures`: distinct images the materials reference.
    pub max_textures: usize,
    /// Config key `maxTexturePixels`, summed over the decoded textures.
    pub max_texture_pixels: u64,
    /// Config key `maxNodes`: entries of the glTF's `nodes`.
    pub max_nodes: usize,
    /// Config key `maxDrawCalls`: mesh primitives placed by nodes.
    pub max_draw_calls: usize,
    /// Config key `maxDecodedBytes`: what loading may allocate, estimated before each allocation.
    pub max_decoded_bytes: u64,
    /// false for depth/label images: skip decoding textures (they are never sampled there).
    /// `TEXCOORD_0` is not read either, and materials carry no texture.
    pub decode_textures: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_triangles: limits::MAX_TRIANGLES,
            max_textures: limits::MAX_TEXTURES,
            max_texture_pixels: limits::MAX_TEXTURE_PIXELS,
            max_nodes: limits::MAX_NODES,
            max_draw_calls: limits::MAX_DRAW_CALLS,
            max_decoded_bytes: limits::MAX_DECODED_BYTES,
            decode_textures: true,
        }
    }
}

impl KeyHasher {
    /// The key of a whole document: its digest (the body's SHA-256, computed while it was read)
    /// and every option that changes what loading it produces. Here rather than in the cache, so
    /// the cache knows nothing of the loader.
    pub fn document(digest: &[u8; 32], options: &LoadOptions) -> ContentKey {
        let mut hasher = Self::new("gltf document");
        hasher
            .bytes(digest)
            .number(options.max_triangles as u64)
            .number(options.max_textures as u64)
            .number(options.max_texture_pixels)
            .number(options.max_nodes as u64)
            .number(options.max_draw_calls as u64)
            .number(options.max_decoded_bytes)
            .number(u64::from(options.decode_textures));
        hasher.finish()
    }
}

/// `extensionsRequired` entries that only change looks (or that the accessor reader already
/// handles, like quantized attributes): drawing without them is close enough, refusing is not.
fn is_tolerated_extension(name: &str) -> bool {
    name.starts_with("KHR_materials_")
        || matches!(
            name,
            "KHR_texture_transform" | "KHR_lights_punctual" | "KHR_mesh_quantization"
        )
}

/// Builds the scene to draw from glTF JSON bytes.
///
/// # Errors
/// Any [`SceneError`]: malformed or unsupported content, an external URI, or a limit in `options`.
pub fn load(gltf_json: &[u8], options: &LoadOptions) -> Result<Scene, SceneError> {
    load_within(gltf_json, options, None, &mut |_| Ok(()))
}

/// [`load`], taking meshes and textures whose source bytes are in `cache` from it instead of
/// decoding them (and keeping what it decodes there), with every large allocation first offered
/// to `reserve` (its size in bytes, as estimated for `maxDecodedBytes`): the caller's shared
/// memory budget, or its cancellation, can stop a load before it allocates.
///
/// # Errors
/// As [`load`], and whatever `reserve` returns. Limits are checked on cached content too: the
/// answer never depends on the cache.
pub fn load_within(
    gltf_json: &[u8],
    options: &LoadOptions,
    cache: Option<&SceneCache>,
    reserve: &mut dyn FnMut(u64) -> Result<(), SceneError>,
) -> Result<Scene, SceneError> {
    let root = parse(gltf_json)?;
    let mut loader = Loader {
        root: &root,
        options,
        cache,
        buffers: Buffers::new(&root),
        scene: Scene::default(),
        mesh_slots: HashMap::new(),
        scene_textures: vec![None; root.images.len()],
        texture_pixels: 0,
        triangles: 0,
        vertices: 0,
        document_bytes: gltf_json.len(),
        spending: Spending {
            charged: 0,
            limit: options.max_decoded_bytes,
            reserve,
        },
    };
    if options.decode_textures {
        loader.check_texture_count()?;
    }
    loader.check_node_counts()?;
    loader.walk_nodes()?;
    Ok(loader.scene)
}

/// The document, unless it is binary, not glTF JSON, or requires an extension we cannot honour.
fn parse(gltf_json: &[u8]) -> Result<json::Root<'_>, SceneError> {
    if gltf_json.starts_with(b"glTF") {
        return Err(SceneError::Json(
            "binary glTF (.glb) is not accepted; Drake sends glTF JSON".to_owned(),
        ));
    }
    let root: json::Root = serde_json::from_slice(gltf_json).map_err(|err| {
        // serde_json quotes offending strings whole: shorten the message, keep the position.
        let position = format!(" at line {} column {}", err.line(), err.column());
        let text = err.to_string();
        let message = text.strip_suffix(&position).unwrap_or(&text);
        SceneError::Json(format!("{}{position}", quote(message)))
    })?;
    if let Some(name) = root
        .extensions_required
        .iter()
        .find(|name| !is_tolerated_extension(name))
    {
        return Err(SceneError::UnsupportedExtension(quote(name)));
    }
    Ok(root)
}

/// The state the steps share: the document, the scene built so far and what the limits have
/// counted.
struct Loader<'j, 'a> {
    root: &'j json::Root<'a>,
    options: &'j LoadOptions,
    cache: Option<&'j SceneCache>,
    buffers: Buffers<'j, 'a>,
    scene: Scene,
    /// Mesh key → its index in `scene.meshes`, so content used twice is listed once.
    mesh_slots: HashMap<ContentKey, usize>,
    /// `images[i]` → its index in `scene.textures`, once decoded.
    scene_textures: Vec<Option<usize>>,
    texture_pixels: u64,
    triangles: usize,
    vertices: usize,
    /// The document's size: the most elements an accessor without data may claim.
    document_bytes: usize,
    spending: Spending<'j>,
}
