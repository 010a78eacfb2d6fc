//! The CPU scene model the renderer draws, and the loader that builds it from the glTF Drake sends.
//!
//! Nothing here touches the GPU or the network: a [`Scene`] is plain data that a renderer, a test or
//! a CPU ray tracer can consume. Conventions (axes, the camera's −Z, the projection) live in
//! [`camera`], and nowhere else.

pub mod camera;
pub mod gltf;

pub use gltf::{load, load_within, LoadOptions, SceneError};

use glam::DMat4;

/// A scene ready to draw: triangle meshes already in world coordinates, their textures, and the
/// camera pose if the glTF had a camera node.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    pub meshes: Vec<Mesh>,
    /// Decoded textures, referenced by [`TextureRef::texture`].
    pub textures: Vec<Texture>,
    /// `None` when the glTF has no camera node (Drake's empty scene): only background is drawn.
    pub camera: Option<CameraNode>,
}

/// One triangle list with one material. Positions and normals are in the world frame (Drake's
/// Z-up frame, metres): node transforms are applied at load time, with the winding flipped under
/// mirroring transforms so front faces stay counter-clockwise.
#[derive(Debug, Clone, Default)]
pub struct Mesh {
    pub positions: Vec<[f32; 3]>,
    /// Unit normals, one per position; computed by area-weighted averaging when the glTF has none.
    pub normals: Vec<[f32; 3]>,
    /// `TEXCOORD_0`, one per position, when present and textures are decoded
    /// ([`LoadOptions::decode_textures`]: depth and label scenes never sample them).
    pub tex_coords: Option<Vec<[f32; 2]>>,
    /// Triangle list indices into the vertex arrays (three per triangle).
    pub indices: Vec<u32>,
    pub material: Material,
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
}

impl Default for Material {
    fn default() -> Self {
        Self {
            base_color: [1.0; 4],
            base_color_texture: None,
            blend: false,
            double_sided: false,
        }
    }
}

/// A texture reference with the sampler state it is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextureRef {
    /// Index into [`Scene::textures`].
    pub texture: usize,
    pub sampler: Sampler,
}

/// Decoded texture pixels, RGBA8, top row first (glTF's UV origin is the top-left corner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
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
