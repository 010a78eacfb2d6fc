//! What the scene shader reads, laid out as `scene.wgsl` declares it and filled on the CPU: the
//! per-request frame (light, depth range), each draw's transforms and material, and the vertex
//! layout.

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DMat4, DVec3, DVec4};

use crate::render::image::ImageKind;
use crate::render::look::Look;
use crate::scene::camera::Intrinsics;
use crate::scene::{Instance, Material, Scene};

/// The camera's matrices, kept in f64 until they are combined with each instance's transform.
#[derive(Debug, Clone, Copy)]
pub(in crate::render) struct CameraMatrices {
    /// World → clip: Drake's projection (wgpu depth range) times the view matrix.
    pub view_proj: DMat4,
    /// Row 2 of the view matrix: its dot product with a world point is the view-space z.
    pub view_z_row: DVec4,
}

impl CameraMatrices {
    pub fn new(scene: &Scene, intrinsics: &Intrinsics) -> Self {
        let view = camera_to_world(scene).inverse();
        Self {
            view_proj: intrinsics.projection() * view,
            view_z_row: view.row(2),
        }
    }
}

fn camera_to_world(scene: &Scene) -> DMat4 {
    scene
        .camera
        .map_or(DMat4::IDENTITY, |camera| camera.camera_to_world)
}

/// Mirrors `Frame` in `scene.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct FrameUniform {
    pub light_direction: [f32; 4],
    pub light_radiance: [f32; 4],
    pub depth_range: [f32; 4],
}

impl FrameUniform {
    pub fn new(scene: &Scene, kind: ImageKind, look: &Look) -> Self {
        let optical_axis = camera_to_world(scene)
            .transform_vector3(DVec3::NEG_Z)
            .normalize_or_zero();
        let (min_depth, max_depth) = match kind {
            ImageKind::Depth {
                min_depth,
                max_depth,
            } => (min_depth, max_depth),
            _ => (0.0, f64::INFINITY),
        };
        let radiance = look.light_color.map(|c| c * look.light_intensity);
        Self {
            light_direction: optical_axis.as_vec3().extend(0.0).to_array(),
            light_radiance: [radiance[0], radiance[1], radiance[2], 1.0],
            depth_range: [min_depth as f32, max_depth as f32, 0.0, 0.0],
        }
    }
}

/// Mirrors `Draw` in `scene.wgsl`: one instance's transforms and material.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct DrawUniform {
    pub model_view_proj: [f32; 16],
    pub model_view_z: [f32; 4],
    /// Model → world for normals, as three columns padded to vec4 (WGSL's `mat3x3` layout).
    pub normal_matrix: [[f32; 4]; 3],
    pub base_color: [f32; 4],
    pub label_color: [f32; 4],
    pub textured: u32,
    pub mirrored: u32,
    /// WGSL rounds the struct's size up to its 16-byte alignment.
    pub _padding: [u32; 2],
}

impl DrawUniform {
    /// The instance's transform is combined with the camera's in f64 and rounded to f32 once,
    /// so clip coordinates and planar depth are as exact as f32 model coordinates allow.
    /// `textured`: whether a base colour texture is bound for this draw.
    pub fn new(instance: &Instance, camera: &CameraMatrices, textured: bool) -> Self {
        let material: &Material = &instance.material;
        let base_color = material.base_color;
        // round(c·255)/255: the Unorm write then produces exactly round(c·255).
        let label = |c: f32| (f64::from(c) * 255.0).round().clamp(0.0, 255.0) as f32 / 255.0;
        let model = instance.model_to_world;
        // A singular transform flattens the mesh to nothing visible; any normal will do.
        let normal_matrix = instance.normal_matrix().unwrap_or(DMat3::IDENTITY);
        let column = |c: DVec3| c.as_vec3().extend(0.0).to_array();
        Self {
            model_view_proj: (camera.view_proj * model).as_mat4().to_cols_array(),
            model_view_z: (model.transpose() * camera.view_z_row).as_vec4().to_array(),
            normal_matrix: [
                column(normal_matrix.x_axis),
                column(normal_matrix.y_axis),
                column(normal_matrix.z_axis),
            ],
            base_color,
            label_color: [
                label(base_color[0]),
                label(base_color[1]),
                label(base_color[2]),
                1.0,
            ],
            textured: u32::from(textured),
            mirrored: u32::from(instance.mirrors()),
            _padding: [0; 2],
        }
    }
}

/// One vertex in model coordinates; the layout the pipelines declare.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub tex_coord: [f32; 2],
}
