//! What the scene shader reads, laid out as `scene.wgsl` declares it and filled on the CPU: the
//! per-request frame (camera and light), each mesh's material, and the vertex layout.

use bytemuck::{Pod, Zeroable};
use glam::{DMat4, DVec3};

use crate::render::image::ImageKind;
use crate::render::look::Look;
use crate::scene::camera::Intrinsics;
use crate::scene::{Material, Scene};

/// Mirrors `Frame` in `scene.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct FrameUniform {
    pub view_proj: [f32; 16],
    pub view_z_row: [f32; 4],
    pub light_direction: [f32; 4],
    pub light_radiance: [f32; 4],
    pub depth_range: [f32; 4],
}

impl FrameUniform {
    /// Camera matrices in f64 then rounded once to f32, so the planar depth the shader computes
    /// is as exact as f32 world coordinates allow.
    pub fn new(scene: &Scene, intrinsics: &Intrinsics, kind: ImageKind, look: &Look) -> Self {
        let camera_to_world = scene
            .camera
            .map_or(DMat4::IDENTITY, |camera| camera.camera_to_world);
        let view = camera_to_world.inverse();
        let optical_axis = camera_to_world
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
            view_proj: (intrinsics.projection() * view).as_mat4().to_cols_array(),
            view_z_row: view.row(2).as_vec4().to_array(),
            light_direction: optical_axis.as_vec3().extend(0.0).to_array(),
            light_radiance: [radiance[0], radiance[1], radiance[2], 1.0],
            depth_range: [min_depth as f32, max_depth as f32, 0.0, 0.0],
        }
    }
}

/// Mirrors `Material` in `scene.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct MaterialUniform {
    pub base_color: [f32; 4],
    pub label_color: [f32; 4],
    pub textured: u32,
    /// WGSL rounds the struct's size up to its 16-byte alignment.
    pub _padding: [u32; 3],
}

impl MaterialUniform {
    /// `textured`: whether a base colour texture is bound for this mesh.
    pub fn new(material: &Material, textured: bool) -> Self {
        let base_color = material.base_color;
        // round(c·255)/255: the Unorm write then produces exactly round(c·255).
        let label = |c: f32| (f64::from(c) * 255.0).round().clamp(0.0, 255.0) as f32 / 255.0;
        Self {
            base_color,
            label_color: [
                label(base_color[0]),
                label(base_color[1]),
                label(base_color[2]),
                1.0,
            ],
            textured: u32::from(textured),
            _padding: [0; 3],
        }
    }
}

/// One vertex in world coordinates; the layout the pipelines declare.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub tex_coord: [f32; 2],
}
