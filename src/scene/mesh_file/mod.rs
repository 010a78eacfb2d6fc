//! Drake `Mesh` and `Convex` files read as RenderEngineVtk reads them, from bytes: the main file
//! and, through a resolver, every file it names by relative path (an OBJ's MTL libraries and
//! `map_Kd` images, a glTF's buffers and images, the `<stem>.png` Drake looks for beside an
//! OBJ). Nothing here touches the disk or the network.
//!
//! - OBJ ([`render_meshes`]): Drake's `LoadRenderMeshesFromObj`, one [`MeshPart`] per material.
//! - glTF / GLB ([`gltf_file`]): the existing loader, the file's external files inlined, every
//!   node placed in G through Drake's y-up → z-up turn, every material the file's own (and the
//!   whole scene turns to PBR, as RenderEngineVtk does once a glTF is registered). Note:
//!   RenderEngineVtk 1.51.1 accepts `.obj` and `.gltf` only; it ignores a `.glb` `Mesh` (with a
//!   warning) and its `Convex` refuses one. GLB is read here for clients that want it; a client
//!   matching RenderEngineVtk sends no GLB.
//! - Convex ([`load_convex`]): the hull of every vertex of the file (OBJ: every `v` line, used or
//!   not; glTF: every primitive of the scene's nodes), see [`super::shapes::convex_hull`].
//!
//! A mesh's scale is not applied: meshes are in G before scale, so one file at several scales is
//! one set of GPU buffers. Drake scales in G's axes (after the glTF turn), so a part is placed by
//! `X_WG · diag(scale) · part_to_geometry`. The loader's limits apply ([`LoadOptions`]: triangles,
//! textures, texture pixels, decoded bytes), counted over the whole file.

mod gltf_file;
mod render_meshes;

use std::collections::HashMap;
use std::sync::Arc;

use glam::DMat4;

use super::cache::Derived;
use super::gltf::images;
use super::{LoadOptions, Material, Mesh, SceneError, Texture};
use crate::core::config::config_key;

/// A mesh file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshFormat {
    Obj,
    Gltf,
    Glb,
}

/// A mesh file and the files it names.
pub struct MeshFileSource<'a> {
    pub format: MeshFormat,
    /// The main file's name (its stem finds the legacy `<stem>.png`); also names it in errors.
    pub name: &'a str,
    pub main: &'a [u8],
    /// The bytes of a file the main file names by relative path, as the file writes the name;
    /// `None` when the client sent no such file.
    pub resolve: &'a dyn Fn(&str) -> Option<Arc<[u8]>>,
}

/// What a mesh file draws: its parts, each a mesh in its own frame and how it is coloured.
#[derive(Debug, Default)]
pub struct MeshFile {
    pub parts: Vec<MeshPart>,
    /// A glTF file: RenderEngineVtk then draws every geometry of the scene with PBR.
    pub user_gltf: bool,
}

/// One mesh of a file with one material.
#[derive(Debug, Clone)]
pub struct MeshPart {
    pub mesh: Arc<Mesh>,
    /// Places the part in G before the geometry's scale: identity for OBJ, the node's transform
    /// turned from y-up to z-up for glTF.
    pub part_to_geometry: DMat4,
    pub material: PartMaterial,
}

/// What the file says about a part's material ([`super::appearance::resolve_material`] turns
/// it, with the geometry's properties, into the material drawn).
#[derive(Debug, Clone)]
pub enum PartMaterial {
    /// OBJ faces without an MTL material: the geometry's properties decide.
    FromProperties {
        /// Every corner of the part's faces has a texture coordinate (Drake's `UvState::kFull`):
        /// only then is a texture applied.
        full_tex_coords: bool,
        /// `<stem>.png` beside the OBJ, when the client sent it.
        sibling_png: Option<Arc<Texture>>,
    },
    /// An MTL material: `Kd` with `d` as RGBA, and the `map_Kd` image when it was sent and the
    /// part has full texture coordinates.
    Mtl {
        diffuse: [f64; 4],
        texture: Option<Arc<Texture>>,
    },
    /// A glTF material, its texture indices into `textures` (boxed: the other variants are small).
    Gltf {
        material: Box<Material>,
        textures: Vec<Arc<Texture>>,
    },
}

impl MeshFile {
    /// The textures its parts' materials hold.
    pub fn textures(&self) -> impl Iterator<Item = &Arc<Texture>> {
        self.parts.iter().flat_map(|part| {
            let textures: &[Arc<Texture>] = match &part.material {
                PartMaterial::FromProperties { sibling_png, .. } => sibling_png.as_slice(),
                PartMaterial::Mtl { texture, .. } => texture.as_slice(),
                PartMaterial::Gltf { textures, .. } => textures,
            };
            textures.iter()
        })
    }
}

/// A mesh file read once is kept in the scene cache, shared by every scene that draws it.
impl Derived for MeshFile {
    fn cpu_bytes(&self) -> u64 {
        let meshes: u64 = self.parts.iter().map(|part| part.mesh.cpu_bytes()).sum();
        meshes + self.textures().map(|t| t.rgba.len() as u64).sum::<u64>()
    }

    fn gpu_bytes(&self) -> u64 {
        let meshes: u64 = self.parts.iter().map(|part| part.mesh.gpu.bytes()).sum();
        meshes + self.textures().map(|t| t.gpu.bytes()).sum::<u64>()
    }

    fn gpu_bytes_once_drawn(&self) -> u64 {
        let meshes: u64 = self.parts.iter().map(|part| part.mesh.gpu_bytes()).sum();
        meshes + self.textures().map(|t| t.rgba.len() as u64).sum::<u64>()
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

/// Reads a mesh file within the limits of `options`.
///
/// # Errors
/// A [`SceneError`] naming the file and what is wrong with it (Drake's reasons where Drake
/// refuses: no faces, no normals, a face without normals), or the limit it would exceed.
pub fn load_mesh_file(
    source: &MeshFileSource,
    options: &LoadOptions,
) -> Result<MeshFile, SceneError> {
    load_mesh_file_within(source, options, &mut |_| Ok(()))
}

/// [`load_mesh_file`], offering every large allocation to `reserve` first (its size in bytes),
/// as [`super::load_within`] does: the caller's memory budget or cancellation can stop it.
///
/// # Errors
/// As [`load_mesh_file`], and whatever `reserve` returns.
pub fn load_mesh_file_within(
    source: &MeshFileSource,
    options: &LoadOptions,
    reserve: &mut dyn FnMut(u64) -> Result<(), SceneError>,
) -> Result<MeshFile, SceneError> {
    let mut budget = Budget::new(options, reserve);
    match source.format {
        MeshFormat::Obj => render_meshes::load(source, &mut budget),
        MeshFormat::Gltf | MeshFormat::Glb => gltf_file::load(source, &mut budget),
    }
}

/// The mesh RenderEngineVtk draws for a `Convex` of this file: the hull of its vertices in G,
/// before scale (scaling the hull is hulling the scaled vertices).
///
/// # Errors
/// As [`load_mesh_file`], and Drake's reasons a hull cannot be made (fewer than three vertices,
/// all coincident or on one line).
pub fn load_convex(source: &MeshFileSource, options: &LoadOptions) -> Result<Mesh, SceneError> {
    let mut reserve = |_| Ok(());
    let mut budget = Budget::new(options, &mut reserve);
    let vertices = match source.format {
        MeshFormat::Obj => render_meshes::vertices(source, &mut budget)?,
        MeshFormat::Gltf | MeshFormat::Glb => gltf_file::vertices(source, &mut budget)?,
    };
    super::shapes::convex_hull(&vertices).map_err(|reason| SceneError::invalid(source.name, reason))
}

/// Bytes a decoded texel costs while decoding (the RGBA8 copy and the decoder's own rows).
const BYTES_PER_TEXEL: u64 = 8;

/// What one file's load may still spend, and the textures it decoded (by name, once each).
struct Budget<'o> {
    options: &'o LoadOptions,
    reserve: &'o mut dyn FnMut(u64) -> Result<(), SceneError>,
    charged: u64,
    texture_pixels: u64,
    textures: HashMap<String, Option<Arc<Texture>>>,
}

impl<'o> Budget<'o> {
    fn new(
        options: &'o LoadOptions,
        reserve: &'o mut dyn FnMut(u64) -> Result<(), SceneError>,
    ) -> Self {
        Self {
            options,
            reserve,
            charged: 0,
            texture_pixels: 0,
            textures: HashMap::new(),
        }
    }

    /// Refuses a file over `maxTriangles`, counted so far.
    fn triangles(&self, total: u64) -> Result<(), SceneError> {
        SceneError::check_limit(
            "triangles",
            total,
            self.options.max_triangles as u64,
            config_key!(LoadOptions, max_triangles),
        )
    }

    /// Brings what this load holds up to `total` bytes (estimated), within `maxDecodedBytes` and
    /// the caller's budget.
    fn hold(&mut self, total: u64) -> Result<(), SceneError> {
        if total <= self.charged {
            return Ok(());
        }
        SceneError::check_limit(
            "bytes once decoded (estimated)",
            total,
            self.options.max_decoded_bytes,
            config_key!(LoadOptions, max_decoded_bytes),
        )?;
        (self.reserve)(total - self.charged)?;
        self.charged = total;
        Ok(())
    }

    /// Adds `bytes` to what this load holds.
    fn charge(&mut self, bytes: u64) -> Result<(), SceneError> {
        self.hold(self.charged.saturating_add(bytes))
    }

    /// The image named `name` by the file, decoded once; `None` when it was not sent or
    /// textures are not decoded for this load (depth and label only). A file that is not a PNG
    /// or JPEG, or breaks a limit, is an error.
    fn texture(
        &mut self,
        name: &str,
        resolve: &dyn Fn(&str) -> Option<Arc<[u8]>>,
    ) -> Result<Option<Arc<Texture>>, SceneError> {
        if !self.options.decode_textures {
            return Ok(None);
        }
        if let Some(known) = self.textures.get(name) {
            return Ok(known.clone());
        }
        let Some(bytes) = resolve(name) else {
            self.textures.insert(name.to_owned(), None);
            return Ok(None);
        };
        let count = self.textures.values().flatten().count() as u64 + 1;
        SceneError::check_limit(
            "textures",
            count,
            self.options.max_textures as u64,
            config_key!(LoadOptions, max_textures),
        )?;
        let (max_pixels, used) = (self.options.max_texture_pixels, self.texture_pixels);
        let mut pixels = 0;
        let texture = images::decode_rgba8(&bytes, name, |width, height| {
            pixels = u64::from(width) * u64::from(height);
            SceneError::check_limit(
                "texture pixels",
                used.saturating_add(pixels),
                max_pixels,
                config_key!(LoadOptions, max_texture_pixels),
            )?;
            self.charge(pixels.saturating_mul(BYTES_PER_TEXEL))
        })?;
        self.texture_pixels += pixels;
        let texture = Arc::new(texture);
        self.textures.insert(name.to_owned(), Some(texture.clone()));
        Ok(Some(texture))
    }
}

#[cfg(test)]
mod tests;
