//! The CPU scene model the renderer draws, and the loader that builds it from the glTF Drake sends.
//!
//! Nothing here touches the GPU or the network: a [`Scene`] is plain data that a renderer, a test or
//! a CPU ray tracer can consume. [`cache`] keeps what loading produced across requests. Conventions
//! (axes, the camera's −Z, the projection) live in [`camera`], and nowhere else.

pub mod appearance;
pub mod cache;
pub mod camera;
pub mod closure;
pub mod gltf;
pub mod merge;
pub mod mesh_file;
pub mod obj;
pub mod shapes;

pub use cache::{CacheStats, ContentKey, GpuSlot, SceneCache};
pub use gltf::{load, load_within, LoadOptions, SceneError};

use std::sync::Arc;

use glam::{DMat3, DMat4, DVec3};

/// A scene ready to draw: model-space meshes, the instances that place them in the world, their
/// textures, and the camera pose if the glTF had a camera node.
///
/// Meshes are not flattened to world coordinates: a mesh is shared content (the same `Arc` a
/// [`SceneCache`] keeps across requests), and a moved object is the same mesh with a new
/// [`Instance::model_to_world`], so nothing about it is decoded or uploaded again.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// Distinct meshes, in order of first use.
    pub meshes: Vec<Arc<Mesh>>,
    /// What is drawn, in traversal order: a mesh, where, with which material.
    pub instances: Vec<Instance>,
    /// Decoded textures, referenced by [`TextureRef::texture`].
    pub textures: Vec<Arc<Texture>>,
    /// `None` when the glTF has no camera node (Drake's empty scene): only background is drawn.
    pub camera: Option<CameraNode>,
    /// The scene holds content Drake merged from a user `.gltf` mesh (drake-gltf-protocol §3.6),
    /// which switches RenderEngineVtk to PBR shading for every object (vtk-effects.md §3).
    pub user_gltf: bool,
}

/// One drawn glTF primitive: a mesh placed by its node's world transform.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Index into [`Scene::meshes`].
    pub mesh: usize,
    /// The node's world matrix (Drake's Z-up world frame, metres).
    pub model_to_world: DMat4,
    pub material: Material,
}

impl Instance {
    /// Whether the transform mirrors: counter-clockwise faces then appear clockwise, and the
    /// renderer swaps which side is front (what flipping the winding at load time used to do).
    pub fn mirrors(&self) -> bool {
        DMat3::from_mat4(self.model_to_world).determinant() < 0.0
    }

    /// The matrix that moves model-space normals into the world frame: the inverse transpose of
    /// the linear part, which keeps them perpendicular to surfaces under non-uniform scale.
    /// `None` when that part is singular (the mesh is flattened to a plane or less).
    pub fn normal_matrix(&self) -> Option<DMat3> {
        let linear = DMat3::from_mat4(self.model_to_world);
        let determinant = linear.determinant();
        (determinant != 0.0 && determinant.is_finite()).then(|| linear.inverse().transpose())
    }

    /// `mesh`'s positions in the world frame, rounded to f32 as a world-space vertex buffer would
    /// hold them.
    pub fn world_positions<'m>(&self, mesh: &'m Mesh) -> impl Iterator<Item = [f32; 3]> + 'm {
        let model_to_world = self.model_to_world;
        mesh.positions.iter().map(move |p| {
            model_to_world
                .transform_point3(DVec3::from(p.map(f64::from)))
                .as_vec3()
                .to_array()
        })
    }
}

/// One triangle list in model space (the glTF primitive's own coordinates).
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// What the mesh was derived from: equal keys, equal meshes.
    pub key: ContentKey,
    pub positions: Vec<[f32; 3]>,
    /// Unit normals in model space, one per position; computed by area-weighted averaging when
    /// the glTF has none. The renderer moves them with [`Instance::normal_matrix`].
    pub normals: Vec<[f32; 3]>,
    /// `TEXCOORD_0`, one per position, when present.
    pub tex_coords: Option<Vec<[f32; 2]>>,
    /// `COLOR_0` as linear RGBA (alpha 1 for VEC3), one per position, when present: it
    /// replaces the base colour factor's RGB, as RenderEngineVtk's scalar colouring does.
    pub colors: Option<Vec<[f32; 4]>>,
    /// Counter-clockwise triangle list indices into the vertex arrays (three per triangle).
    pub indices: Vec<u32>,
    /// The largest absolute coordinate, to bound world coordinates without transforming them.
    pub extent: f32,
    /// The renderer's vertex and index buffers for this mesh, once uploaded.
    pub gpu: GpuSlot,
}

impl Mesh {
    /// A mesh keyed by its own content (tests and generated scenes; the loader keys meshes by
    /// their source bytes instead, before reading them).
    pub fn new(
        positions: Vec<[f32; 3]>,
        normals: Vec<[f32; 3]>,
        tex_coords: Option<Vec<[f32; 2]>>,
        indices: Vec<u32>,
    ) -> Self {
        let mut hasher = cache::KeyHasher::new("mesh content");
        hasher
            .bytes(bytemuck::cast_slice(&positions))
            .bytes(bytemuck::cast_slice(&normals))
            .bytes(bytemuck::cast_slice(tex_coords.as_deref().unwrap_or(&[])))
            .number(u64::from(tex_coords.is_some()))
            .bytes(bytemuck::cast_slice(&indices));
        Self::keyed(hasher.finish(), positions, normals, tex_coords, indices)
    }

    pub(crate) fn keyed(
        key: ContentKey,
        positions: Vec<[f32; 3]>,
        normals: Vec<[f32; 3]>,
        tex_coords: Option<Vec<[f32; 2]>>,
        indices: Vec<u32>,
    ) -> Self {
        let extent = positions
            .iter()
            .flatten()
            .fold(0.0_f32, |max, c| max.max(c.abs()));
        Self {
            key,
            positions,
            normals,
            tex_coords,
            colors: None,
            indices,
            extent,
            gpu: GpuSlot::default(),
        }
    }

    /// Bytes of its GPU copy: interleaved vertices (position, normal, texture coordinate, 8-bit
    /// colour) and 32-bit indices.
    pub fn gpu_bytes(&self) -> u64 {
        (self.positions.len() * 36 + self.indices.len() * 4) as u64
    }

    /// Bytes held on the CPU, as the cache counts them.
    pub fn cpu_bytes(&self) -> u64 {
        let vertex = std::mem::size_of::<[f32; 3]>() * 2
            + self
                .tex_coords
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<[f32; 2]>())
            + self
                .colors
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<[f32; 4]>());
        (self.positions.len() * vertex + self.indices.len() * 4) as u64
    }
}

/// The material subset Drake's glTF uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// `pbrMetallicRoughness.baseColorFactor`, linear RGBA. In label scenes this *is* the label colour.
    pub base_color: [f32; 4],
    /// `baseColorTexture`, multiplied with `base_color`.
    pub base_color_texture: Option<TextureRef>,
    /// Alpha below 1 (or `alphaMode: BLEND`) is drawn blended: Drake writes no `alphaMode`, but
    /// RenderEngineVtk blends.
    pub blend: bool,
    pub double_sided: bool,
    /// Content from a user glTF (not exported by VTK): back faces are culled unless
    /// `double_sided`, and Drake's default diffuse is never recognised in it.
    pub from_user_gltf: bool,
    /// PBR metalness and roughness: the glTF factors (default 1) for user content, VTK's
    /// defaults (0 and 0.5) for VTK's, whose exported factors RenderEngineVtk never reads.
    pub metallic: f32,
    pub roughness: f32,
    /// `emissiveFactor`, linear RGB (PBR only).
    pub emissive: [f32; 3],
    /// `alphaMode: MASK`'s `alphaCutoff` (default 0.5): fragments below it are not drawn.
    pub alpha_cutoff: Option<f32>,
    /// `metallicRoughnessTexture`: G scales roughness, B metalness (PBR only).
    pub metallic_roughness_texture: Option<TextureRef>,
    /// `normalTexture` and its `scale` (PBR only).
    pub normal_texture: Option<TextureRef>,
    pub normal_scale: f32,
    /// `occlusionTexture` (R) and its `strength` (PBR only).
    pub occlusion_texture: Option<TextureRef>,
    pub occlusion_strength: f32,
    /// `emissiveTexture`, sRGB, multiplying `emissive` (PBR only).
    pub emissive_texture: Option<TextureRef>,
}

impl Default for Material {
    fn default() -> Self {
        Self {
            base_color: [1.0; 4],
            base_color_texture: None,
            blend: false,
            double_sided: false,
            from_user_gltf: false,
            metallic: 0.0,
            roughness: 0.5,
            emissive: [0.0; 3],
            alpha_cutoff: None,
            metallic_roughness_texture: None,
            normal_texture: None,
            normal_scale: 1.0,
            occlusion_texture: None,
            occlusion_strength: 1.0,
            emissive_texture: None,
        }
    }
}

/// A texture reference with the sampler state it is read with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextureRef {
    /// Index into [`Scene::textures`].
    pub texture: usize,
    pub sampler: Sampler,
    /// `KHR_texture_transform`: uv' = M · (u, v, 1), M as two rows (identity without one).
    pub transform: [[f32; 3]; 2],
}

impl TextureRef {
    /// No transform.
    pub const IDENTITY: [[f32; 3]; 2] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];

    /// `texture` read with `sampler`, untransformed.
    pub fn new(texture: usize, sampler: Sampler) -> Self {
        Self {
            texture,
            sampler,
            transform: Self::IDENTITY,
        }
    }
}

/// Decoded texture pixels, RGBA8, top row first (glTF's UV origin is the top-left corner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    /// The renderer's GPU texture, once uploaded.
    pub gpu: GpuSlot,
}

impl Texture {
    pub fn new(width: u32, height: u32, rgba: Vec<u8>) -> Self {
        Self {
            width,
            height,
            rgba,
            gpu: GpuSlot::default(),
        }
    }
}

/// glTF sampler state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sampler {
    pub mag_filter: Filter,
    pub min_filter: Filter,
    pub wrap_s: Wrap,
    pub wrap_t: Wrap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    Nearest,
    #[default]
    Linear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Wrap {
    #[default]
    Repeat,
    ClampToEdge,
    MirroredRepeat,
}

/// The camera node of the glTF.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraNode {
    /// The node's world matrix: glTF/OpenGL camera convention (looks down local −Z, +Y up).
    /// The view matrix is its inverse.
    pub camera_to_world: DMat4,
    /// `cameras[i].perspective.znear`, full precision; used when the form's near rounds to 0.
    pub znear: f64,
    /// `cameras[i].perspective.zfar` when present.
    pub zfar: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(model_to_world: DMat4) -> Instance {
        Instance {
            mesh: 0,
            model_to_world,
            material: Material::default(),
        }
    }

    /// Under a non-uniform scale the inverse transpose keeps a 45° normal perpendicular to the
    /// stretched surface; a mirror is reported, a singular transform has no normal matrix.
    #[test]
    fn normal_matrix_and_mirroring_follow_the_transform() {
        let stretch = instance(DMat4::from_scale(DVec3::new(2.0, 1.0, 1.0)));
        let normal = stretch.normal_matrix().unwrap() * DVec3::new(1.0, 1.0, 0.0);
        // The surface x + y = c becomes x/2 + y = c: normal ∝ (0.5, 1, 0).
        assert!(normal
            .normalize()
            .abs_diff_eq(DVec3::new(0.5, 1.0, 0.0).normalize(), 1e-12));
        assert!(!stretch.mirrors());
        assert!(instance(DMat4::from_scale(DVec3::new(1.0, 1.0, -1.0))).mirrors());
        assert!(instance(DMat4::from_scale(DVec3::new(1.0, 0.0, 1.0)))
            .normal_matrix()
            .is_none());
    }
}
