//! Per-request GPU data: every mesh of a scene packed into one vertex buffer and one index buffer,
//! per-mesh materials in one dynamic-offset uniform buffer, and the scene's textures. Buffers are
//! kept and grown across requests; textures live for one request. Upload says where each mesh
//! landed ([`Draw`]); the [draw list](super::draw_list) orders the draws, the
//! [scene pass](super::scene_pass) issues them.

use std::collections::HashMap;

use crate::scene::{Mesh, Scene, TextureRef};

use super::draw_list::Draw;
use super::error::RenderError;
use super::formats::COLOR_FORMAT;
use super::gpu::Gpu;
use super::scene_pass::uniforms::{FrameUniform, MaterialUniform, Vertex};
use super::scene_pass::Geometry;
use super::textures::sampler_index;

/// A grown buffer this many times larger than needed is replaced by a smaller one.
const MAX_OVERSIZE: u64 = 4;
/// Buffers are never created smaller than this, so small scenes do not reallocate.
const MIN_BUFFER_BYTES: u64 = 64 * 1024;
/// Staging and geometry buffers larger than this are freed after their request, so one huge scene
/// does not pin its memory until the next request (issue 14); smaller ones are kept for reuse.
pub(super) const MAX_RETAINED_BYTES: u64 = 64 * 1024 * 1024;

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

    /// Uploads the frame uniform and the scene, and returns where each drawn mesh landed, in
    /// scene order. `textured` is false for label and depth images, which never sample textures.
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
    ) -> Result<Vec<Draw>, RenderError> {
        self.staged_vertices.clear();
        self.staged_indices.clear();
        self.staged_materials.clear();
        self.texture_bind_groups.clear();
        let stride =
            (std::mem::size_of::<MaterialUniform>() as u32).next_multiple_of(gpu.uniform_alignment);
        check_buffer_sizes(gpu, scene, stride)?;
        // Keyed by (texture, sampler state): one bind group per pair, one texture upload per pair.
        let mut bind_group_of: HashMap<(usize, usize), usize> = HashMap::new();
        let mut draws = Vec::new();
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
            draws.push(Draw {
                mesh: mesh_index,
                indices: first_index..self.staged_indices.len() as u32,
                material_offset,
                texture,
            });
        }

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
                        layout: &gpu.scene.frame_layout,
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
        let uniform = MaterialUniform::new(&mesh.material, textured);
        let start = self.staged_materials.len();
        self.staged_materials.resize(start + stride, 0);
        self.staged_materials[start..start + std::mem::size_of::<MaterialUniform>()]
            .copy_from_slice(bytemuck::bytes_of(&uniform));
    }

    /// The last upload, as the scene pass binds it; `None` before anything was uploaded.
    pub fn geometry(&self) -> Option<Geometry<'_>> {
        match (&self.vertices.buffer, &self.indices.buffer, &self.uniforms) {
            (Some(vertices), Some(indices), Some(uniforms)) => Some(Geometry {
                vertices: vertices.slice(..self.vertex_bytes),
                indices: indices.slice(..self.index_bytes),
                uniforms,
                textures: &self.texture_bind_groups,
            }),
            _ => None,
        }
    }

    /// Releases the request's textures, and the staging and geometry buffers if they grew past
    /// [`MAX_RETAINED_BYTES`].
    pub fn end_request(&mut self) {
        self.texture_bind_groups.clear();
        if (self.staged_vertices.capacity() * std::mem::size_of::<Vertex>()) as u64
            > MAX_RETAINED_BYTES
        {
            self.staged_vertices = Vec::new();
        }
        if (self.staged_indices.capacity() * std::mem::size_of::<u32>()) as u64 > MAX_RETAINED_BYTES
        {
            self.staged_indices = Vec::new();
        }
        for buffer in [&mut self.vertices, &mut self.indices] {
            if buffer
                .buffer
                .as_ref()
                .is_some_and(|b| b.size() > MAX_RETAINED_BYTES)
            {
                buffer.buffer = None;
            }
        }
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
    Ok(gpu.textures.bind(&gpu.device, &view, texture_ref.sampler))
}
