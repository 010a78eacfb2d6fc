//! What the scene shader reads, laid out as `scene.wgsl` declares it and filled on the CPU: the
//! per-request frame (lights in the world, camera position, depth range) and each draw's
//! transforms and material. The vertex layout is [`resident`](crate::render::resident)'s.

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DMat4, DVec3, DVec4};

use crate::protocol::drake::vtk_params::LightKind;
use crate::render::image::ImageKind;
use crate::render::look::{Light, LookDescription, MAX_LIGHTS, VTK_DEFAULT_DIFFUSE};
use crate::render::textures::MATERIAL_TEXTURES;
use crate::scene::camera::Intrinsics;
use crate::scene::{Instance, Material, Scene, TextureRef};

/// The camera's matrices, kept in f64 until they are combined with each instance's transform.
#[derive(Debug, Clone, Copy)]
pub(in crate::render) struct CameraMatrices {
    /// World → clip: Drake's projection (wgpu depth range) times the view matrix.
    pub view_proj: DMat4,
    /// Row 2 of the view matrix: its dot product with a world point is the view-space z.
    pub view_z_row: DVec4,
    /// The camera's position in the world.
    pub eye: DVec3,
    /// How far from the eye the near plane's rectangle reaches (its farthest corner): geometry
    /// beyond that can be cut by no clipping plane but the far one.
    pub near_reach: f64,
}

impl CameraMatrices {
    pub fn new(scene: &Scene, intrinsics: &Intrinsics) -> Self {
        let camera_to_world = camera_to_world(scene);
        let view = camera_to_world.inverse();
        let (w, h) = (f64::from(intrinsics.width), f64::from(intrinsics.height));
        let half_x = intrinsics.center_x.max(w - intrinsics.center_x) / intrinsics.focal_x;
        let half_y = intrinsics.center_y.max(h - intrinsics.center_y) / intrinsics.focal_y;
        Self {
            view_proj: intrinsics.projection() * view,
            view_z_row: view.row(2),
            eye: camera_to_world.w_axis.truncate(),
            near_reach: intrinsics.near * (1.0 + half_x * half_x + half_y * half_y).sqrt(),
        }
    }
}

fn camera_to_world(scene: &Scene) -> DMat4 {
    scene
        .camera
        .map_or(DMat4::IDENTITY, |camera| camera.camera_to_world)
}

/// Mirrors `Light` in `scene.wgsl`: one light in the world frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct LightUniform {
    pub position: [f32; 4],
    pub direction: [f32; 4],
    pub color: [f32; 4],
    pub attenuation: [f32; 4],
}

impl LightUniform {
    fn new(light: &Light, camera_to_world: DMat4) -> Self {
        let (position, direction) = light.in_world(camera_to_world);
        let positional = light.kind != LightKind::Directional;
        // VTK tests the cone only below 90° (point lights have exactly 90°).
        let cone = if positional && light.cone_angle < 90.0 {
            light.cone_angle.to_radians().cos() as f32
        } else {
            NO_CONE
        };
        let [r, g, b] = light.radiance;
        let [k0, k1, k2] = light.attenuation;
        Self {
            position: position
                .as_vec3()
                .extend(f32::from(u8::from(positional)))
                .to_array(),
            direction: direction.as_vec3().extend(cone).to_array(),
            color: [r, g, b, 1.0],
            attenuation: [k0, k1, k2, 0.0],
        }
    }
}

/// `Light::direction.w` of a light without a cone test (below any cosine).
const NO_CONE: f32 = -2.0;

/// Mirrors `Frame` in `scene.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct FrameUniform {
    pub camera_position: [f32; 4],
    pub depth_range: [f32; 4],
    /// As many as the look has (the pipeline constant `light_count`), the rest zero.
    pub lights: [LightUniform; MAX_LIGHTS],
}

impl FrameUniform {
    pub fn new(scene: &Scene, kind: ImageKind, look: &LookDescription) -> Self {
        let camera_to_world = camera_to_world(scene);
        let (min_depth, max_depth) = match kind {
            ImageKind::Depth {
                min_depth,
                max_depth,
            } => (min_depth, max_depth),
            _ => (0.0, f64::INFINITY),
        };
        let mut lights = [LightUniform::zeroed(); MAX_LIGHTS];
        for (uniform, light) in lights.iter_mut().zip(&look.lights) {
            *uniform = LightUniform::new(light, camera_to_world);
        }
        Self {
            camera_position: camera_to_world
                .w_axis
                .truncate()
                .as_vec3()
                .extend(1.0)
                .to_array(),
            depth_range: [min_depth as f32, max_depth as f32, 0.0, 0.0],
            lights,
        }
    }
}

/// Mirrors `Draw` in `scene.wgsl`: one instance's transforms and material.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(in crate::render) struct DrawUniform {
    pub model_view_proj: [f32; 16],
    pub model: [f32; 16],
    pub model_view_z: [f32; 4],
    /// Model → world for normals, as three columns padded to vec4 (WGSL's `mat3x3` layout).
    pub normal_matrix: [[f32; 4]; 3],
    pub base_color: [f32; 4],
    pub label_color: [f32; 4],
    /// Metallic, roughness, normal scale, occlusion strength.
    pub pbr: [f32; 4],
    /// Emissive RGB and the alpha cutoff.
    pub emissive: [f32; 4],
    /// Per material texture kind, the two rows of its UV transform (padded to vec4).
    pub uv_transforms: [[f32; 4]; 2 * MATERIAL_TEXTURES],
    /// Bit i: material texture kind i is bound.
    pub textures: u32,
    pub mirrored: u32,
    /// WGSL rounds the struct's size up to its 16-byte alignment.
    pub _padding: [u32; 2],
}

impl DrawUniform {
    /// The instance's transform is combined with the camera's in f64 and rounded to f32 once,
    /// so clip coordinates and planar depth are as exact as f32 model coordinates allow.
    /// `textures`: the material textures bound for this draw. `default_diffuse`: the look's
    /// replacement for Drake's built-in default diffuse (colour images only).
    pub fn new(
        instance: &Instance,
        camera: &CameraMatrices,
        textures: &[Option<TextureRef>; MATERIAL_TEXTURES],
        default_diffuse: Option<[f32; 4]>,
    ) -> Self {
        let material: &Material = &instance.material;
        let base_color = match default_diffuse {
            Some(diffuse)
                if !material.from_user_gltf && material.base_color == VTK_DEFAULT_DIFFUSE =>
            {
                diffuse
            }
            _ => material.base_color,
        };
        // round(c·255)/255: the Unorm write then produces exactly round(c·255).
        let label = |c: f32| (f64::from(c) * 255.0).round().clamp(0.0, 255.0) as f32 / 255.0;
        let model = instance.model_to_world;
        // A singular transform flattens the mesh to nothing visible; any normal will do.
        let normal_matrix = instance.normal_matrix().unwrap_or(DMat3::IDENTITY);
        let column = |c: DVec3| c.as_vec3().extend(0.0).to_array();
        Self {
            model_view_proj: (camera.view_proj * model).as_mat4().to_cols_array(),
            model: model.as_mat4().to_cols_array(),
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
            pbr: [
                material.metallic,
                material.roughness,
                material.normal_scale,
                material.occlusion_strength,
            ],
            emissive: [
                material.emissive[0],
                material.emissive[1],
                material.emissive[2],
                material.alpha_cutoff.unwrap_or(0.0),
            ],
            uv_transforms: std::array::from_fn(|row| {
                let transform = textures[row / 2].map_or(TextureRef::IDENTITY, |t| t.transform);
                let [a, b, c] = transform[row % 2];
                [a, b, c, 0.0]
            }),
            textures: (0..MATERIAL_TEXTURES)
                .filter(|&kind| textures[kind].is_some())
                .fold(0, |bits, kind| bits | 1 << kind),
            mirrored: u32::from(instance.mirrors()),
            _padding: [0; 2],
        }
    }
}
