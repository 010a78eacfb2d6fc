//! Per-request GPU data: every mesh of a scene packed into one vertex buffer and one index buffer,
//! per-mesh materials in one dynamic-offset uniform buffer, and the scene's textures. Buffers are
//! kept and grown across requests; textures live for one request.

use std::collections::HashMap;
use std::ops::Range;

use bytemuck::{Pod, Zeroable};
use glam::DVec3;

use crate::scene::{Mesh, Scene, TextureRef};

use super::gpu::{sampler_index, Gpu, COLOR_FORMAT};
use super::RenderError;

/// Mirrors `Frame` in `shaders/scene.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct FrameUniform {
    pub view_proj: [f32; 16],
    pub view_z_row: [f32; 4],
    pub light_direction: [f32; 4],
    pub light_radiance: [f32; 4],
    pub depth_range: [f32; 4],
}

/// Mirrors `Material` in `shaders/scene.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct MaterialUniform {
    pub base_color: [f32; 4],
    pub label_color: [f32; 4],
    pub textured: u32,
    /// WGSL rounds the struct's size up to its 16-byte alignment.
    pub _padding: [u32; 3],
}

/// One vertex in world coordinates; the layout the pipelines declare.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub tex_coord: [f32; 2],
}

/// A grown buffer this many times larger than needed is replaced by a smaller one.
const MAX_OVERSIZE: u64 = 4;
/// Buffers are never created smaller than this, so small scenes do not reallocate.
const MIN_BUFFER_BYTES: u64 = 64 * 1024;

/// A GPU buffer reused while its capacity fits the data.
struct GrowingBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl GrowingBuffer {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Self {
            label,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            buffer: None,
        }
    }

    /// Writes `data` at offset 0; returns whether the buffer was replaced (bind groups go stale).
    fn write(&mut self, gpu: &Gpu, data: &[u8]) -> bool {
        let needed = (data.len() as u64).max(MIN_BUFFER_BYTES);
        let fits = |b: &wgpu::Buffer| b.size() >= needed && b.size() <= needed * MAX_OVERSIZE;
        let replaced = !self.buffer.as_ref().is_some_and(fits);
        if replaced {
            // Power-of-two growth, capped at the adapter's limit (callers check `needed` fits).
            let max = gpu.device.limits().max_buffer_size;
            self.buffer = Some(gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: needed.next_power_of_two().min(max.max(needed)),
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        if let Some(buffer) = &self.buffer {
            gpu.queue.write_buffer(buffer, 0, data);
        }
        replaced
    }
}

/// One draw call: a mesh's index range, its material slot and its texture.
#[derive(Debug)]
pub(super) struct Draw {
    indices: Range<u32>,
    material_offset: u32,
    /// Index into the request's texture bind groups; `None` draws with the white placeholder.
    texture: Option<usize>,
}

/// The draw calls of one request: opaque meshes in scene order, then blended ones back to front.
#[derive(Debug, Default)]
pub(super) struct Draws {
    pub opaque: Vec<Draw>,
    pub blended: Vec<Draw>,
}

impl Draws {
    pub fn is_empty(&self) -> bool {
        self.opaque.is_empty() && self.blended.is_empty()
    }
}

pub(super) struct SceneUpload {
    frame: wgpu::Buffer,
    materials: GrowingBuffer,
    vertices: GrowingBuffer,
    indices: GrowingBuffer,
    /// Frame and material uniforms; rebuilt only when the material buffer is replaced.
    uniforms: Option<wgpu::BindGroup>,
    vertex_bytes: u64,
    index_bytes: u64,
    /// CPU staging, kept so each request reuses the allocations of the last.
    staged_vertices: Vec<Vertex>,
    staged_indices: Vec<u32>,
    staged_materials: Vec<u8>,
    /// This request's textures (the bind groups keep them alive); dropped by [`Self::end_request`].
    texture_bind_groups: Vec<wgpu::BindGroup>,
}

impl SceneUpload {
    pub fn new(gpu: &Gpu) -> Self {
        Self {
            frame: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("frame uniform"),
                size: std::mem::size_of::<FrameUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            materials: GrowingBuffer::new("materials", wgpu::BufferUsages::UNIFORM),
            vertices: GrowingBuffer::new("vertices", wgpu::BufferUsages::VERTEX),
            indices: GrowingBuffer::new("indices", wgpu::BufferUsages::INDEX),
            uniforms: None,
            vertex_bytes: 0,
            index_bytes: 0,
            staged_vertices: Vec::new(),
            staged_indices: Vec::new(),
            staged_materials: Vec::new(),
            texture_bind_groups: Vec::new(),
        }
    }

    /// Uploads the scene and returns its draw calls. `textured` is false for label and depth
    /// images, which never sample textures.
    ///
    /// # Errors
    /// [`RenderError::TooLarge`] for a texture beyond the adapter's size limit,
    /// [`RenderError::SceneTooLarge`] for geometry beyond its buffer size limit;
    /// [`RenderError::Gpu`] when the scene breaks its own invariants (an index out of range).
    pub fn upload(
        &mut self,
        gpu: &Gpu,
        scene: &Scene,
        frame: &FrameUniform,
        textured: bool,
    ) -> Result<Draws, RenderError> {
        self.staged_vertices.clear();
        self.staged_indices.clear();
        self.staged_materials.clear();
        self.texture_bind_groups.clear();
        let stride =
            (std::mem::size_of::<MaterialUniform>() as u32).next_multiple_of(gpu.uniform_alignment);
        check_buffer_sizes(gpu, scene, stride)?;
        let camera_position = scene
            .camera
            .map_or(DVec3::ZERO, |c| c.camera_to_world.w_axis.truncate());
        // Keyed by (texture, sampler state): one bind group per pair, one texture upload per pair.
        let mut bind_group_of: HashMap<(usize, usize), usize> = HashMap::new();
        let mut draws = Draws::default();
        let mut blended = Vec::new();
        for (mesh_index, mesh) in scene.meshes.iter().enumerate() {
            if mesh.indices.is_empty() {
                continue;
            }
            let first_index = self.staged_indices.len() as u32;
            self.stage_geometry(mesh_index, mesh)?;
            let texture = match (&mesh.material.base_color_texture, &mesh.tex_coords) {
                (Some(texture_ref), Some(_)) if textured => {
                    let key = (texture_ref.texture, sampler_index(texture_ref.sampler));
                    Some(match bind_group_of.get(&key) {
                        Some(&index) => index,
                        None => {
                            let bind_group = upload_texture(gpu, scene, *texture_ref)?;
                            self.texture_bind_groups.push(bind_group);
                            bind_group_of.insert(key, self.texture_bind_groups.len() - 1);
                            self.texture_bind_groups.len() - 1
                        }
                    })
                }
                _ => None,
            };
            let material_offset = self.staged_materials.len() as u32;
            self.stage_material(mesh, texture.is_some(), stride as usize);
            let draw = Draw {
                indices: first_index..self.staged_indices.len() as u32,
                material_offset,
                texture,
            };
            if mesh.material.blend {
                blended.push((centre(mesh).distance(camera_position), draw));
            } else {
                draws.opaque.push(draw);
            }
        }
        // Back to front; the stable sort keeps scene order between equally distant meshes.
        blended.sort_by(|(a, _), (b, _)| b.total_cmp(a));
        draws.blended = blended.into_iter().map(|(_, draw)| draw).collect();

        gpu.queue
            .write_buffer(&self.frame, 0, bytemuck::bytes_of(frame));
        if !draws.is_empty() {
            self.vertices
                .write(gpu, bytemuck::cast_slice(&self.staged_vertices));
            self.indices
                .write(gpu, bytemuck::cast_slice(&self.staged_indices));
            if self.materials.write(gpu, &self.staged_materials) || self.uniforms.is_none() {
                self.uniforms = self.materials.buffer.as_ref().map(|materials| {
                    gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("frame and material"),
                        layout: &gpu.frame_layout,
                        entries: &[
                            wgpu::BindGroupEntry {
                                binding: 0,
                                resource: self.frame.as_entire_binding(),
                            },
                            wgpu::BindGroupEntry {
                                binding: 1,
                                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer: materials,
                                    offset: 0,
                                    size: wgpu::BufferSize::new(
                                        std::mem::size_of::<MaterialUniform>() as u64,
                                    ),
                                }),
                            },
                        ],
                    })
                });
            }
            self.vertex_bytes = std::mem::size_of_val(self.staged_vertices.as_slice()) as u64;
            self.index_bytes = std::mem::size_of_val(self.staged_indices.as_slice()) as u64;
        }
        Ok(draws)
    }

    /// Appends the mesh's vertices and its indices, rebased onto the shared vertex buffer (so no
    /// draw needs `base_vertex`, which GL backends may lack).
    fn stage_geometry(&mut self, mesh_index: usize, mesh: &Mesh) -> Result<(), RenderError> {
        let count = mesh.positions.len();
        let coords_ok = mesh.tex_coords.as_ref().is_none_or(|t| t.len() == count);
        if mesh.normals.len() != count || !coords_ok {
            return Err(RenderError::Gpu(format!(
                "mesh {mesh_index}: vertex attribute counts differ"
            )));
        }
        let base = self.staged_vertices.len() as u32;
        self.staged_vertices.extend((0..count).map(|i| Vertex {
            position: mesh.positions[i],
            normal: mesh.normals[i],
            tex_coord: mesh.tex_coords.as_ref().map_or([0.0; 2], |t| t[i]),
        }));
        for &index in &mesh.indices {
            if index as usize >= count {
                return Err(RenderError::Gpu(format!(
                    "mesh {mesh_index}: index {index} out of range"
                )));
            }
            self.staged_indices.push(base + index);
        }
        Ok(())
    }

    fn stage_material(&mut self, mesh: &Mesh, textured: bool, stride: usize) {
        let base_color = mesh.material.base_color;
        // round(c·255)/255: the Unorm write then produces exactly round(c·255).
        let label = |c: f32| (f64::from(c) * 255.0).round().clamp(0.0, 255.0) as f32 / 255.0;
        let uniform = MaterialUniform {
            base_color,
            label_color: [
                label(base_color[0]),
                label(base_color[1]),
                label(base_color[2]),
                1.0,
            ],
            textured: u32::from(textured),
            _padding: [0; 3],
        };
        let start = self.staged_materials.len();
        self.staged_materials.resize(start + stride, 0);
        self.staged_materials[start..start + std::mem::size_of::<MaterialUniform>()]
            .copy_from_slice(bytemuck::bytes_of(&uniform));
    }

    pub fn bind_geometry(&self, pass: &mut wgpu::RenderPass<'_>) {
        if let (Some(vertices), Some(indices)) = (&self.vertices.buffer, &self.indices.buffer) {
            pass.set_vertex_buffer(0, vertices.slice(..self.vertex_bytes));
            pass.set_index_buffer(indices.slice(..self.index_bytes), wgpu::IndexFormat::Uint32);
        }
    }

    pub fn draw(&self, gpu: &Gpu, pass: &mut wgpu::RenderPass<'_>, draws: &[Draw]) {
        let Some(uniforms) = &self.uniforms else {
            return;
        };
        for draw in draws {
            pass.set_bind_group(0, uniforms, &[draw.material_offset]);
            let texture = draw
                .texture
                .map_or(&gpu.untextured, |i| &self.texture_bind_groups[i]);
            pass.set_bind_group(1, texture, &[]);
            pass.draw_indexed(draw.indices.clone(), 0, 0..1);
        }
    }

    /// Releases the request's textures.
    pub fn end_request(&mut self) {
        self.texture_bind_groups.clear();
    }
}

/// Checks, before staging anything, that each packed buffer fits the adapter's largest buffer.
fn check_buffer_sizes(gpu: &Gpu, scene: &Scene, material_stride: u32) -> Result<(), RenderError> {
    let drawn = || scene.meshes.iter().filter(|mesh| !mesh.indices.is_empty());
    let vertex_count: u64 = drawn().map(|mesh| mesh.positions.len() as u64).sum();
    let index_count: u64 = drawn().map(|mesh| mesh.indices.len() as u64).sum();
    let largest = [
        vertex_count * std::mem::size_of::<Vertex>() as u64,
        index_count * std::mem::size_of::<u32>() as u64,
        drawn().count() as u64 * u64::from(material_stride),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let max = gpu.device.limits().max_buffer_size;
    // Vertex indices are u32, and byte offsets into the material buffer are u32 too.
    if largest > max || vertex_count > u64::from(u32::MAX) || largest > u64::from(u32::MAX) {
        return Err(RenderError::SceneTooLarge {
            bytes: largest,
            max: max.min(u64::from(u32::MAX)),
        });
    }
    Ok(())
}

fn centre(mesh: &Mesh) -> DVec3 {
    let (min, max) = mesh.positions.iter().fold(
        (DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)),
        |(min, max), p| {
            let p = DVec3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            (min.min(p), max.max(p))
        },
    );
    (min + max) / 2.0
}

fn upload_texture(
    gpu: &Gpu,
    scene: &Scene,
    texture_ref: TextureRef,
) -> Result<wgpu::BindGroup, RenderError> {
    let Some(texture) = scene.textures.get(texture_ref.texture) else {
        return Err(RenderError::Gpu(format!(
            "texture {} does not exist",
            texture_ref.texture
        )));
    };
    let (width, height) = (texture.width, texture.height);
    let max = gpu.max_texture_dimension();
    if width == 0 || height == 0 || width > max || height > max {
        return Err(RenderError::TooLarge { width, height, max });
    }
    if texture.rgba.len() as u64 != u64::from(width) * u64::from(height) * 4 {
        return Err(RenderError::Gpu(format!(
            "texture {} has the wrong byte count",
            texture_ref.texture
        )));
    }
    let size = wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    };
    let gpu_texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("base colour texture"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        // Unorm, not sRGB: RenderEngineVtk samples texture bytes without gamma decoding.
        format: COLOR_FORMAT,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    gpu.queue.write_texture(
        gpu_texture.as_image_copy(),
        &texture.rgba,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width * 4),
            rows_per_image: Some(height),
        },
        size,
    );
    let view = gpu_texture.create_view(&wgpu::TextureViewDescriptor::default());
    Ok(gpu.texture_bind_group(&view, texture_ref.sampler))
}
