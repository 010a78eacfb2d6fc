//! GPU copies of meshes and textures, made once per content and kept on the scene's own entries
//! ([`GpuSlot`](crate::scene::GpuSlot)): a mesh or texture the
//! [scene cache](crate::scene::cache) still holds is drawn again without any upload, and its GPU
//! bytes count against the same `cacheBytes` budget and are freed with it.
//!
//! Each mesh gets its own vertex buffer ([`Vertex`]: model-space positions, normals, texture
//! coordinates, colours) and index buffer; instances share them and differ only in their
//! per-draw uniform. Every pass that draws meshes reads them with the [`Vertex`] layout.

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::scene::closure::{self, Closure};
use crate::scene::{Mesh, Texture};

use super::error::RenderError;
use super::textures;

/// One vertex in model coordinates; the layout the pipelines declare.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub tex_coord: [f32; 2],
    /// `COLOR_0` in 8 bits, white without one.
    pub color: [u8; 4],
}

/// A mesh's buffers on the GPU, and whether it bounds a solid (found once, with the upload).
pub(super) struct GpuMesh {
    pub vertices: wgpu::Buffer,
    pub indices: wgpu::Buffer,
    pub closure: Closure,
}

/// A base colour texture on the GPU.
pub(super) struct GpuTexture {
    pub view: wgpu::TextureView,
}

/// `mesh`'s buffers, uploaded on first use.
///
/// # Errors
/// [`RenderError::SceneTooLarge`] for a mesh beyond the adapter's buffer size limit;
/// [`RenderError::Gpu`] when the mesh breaks its own invariants (an index out of range).
pub(super) fn mesh<'m>(
    device: &wgpu::Device,
    index: usize,
    mesh: &'m Mesh,
) -> Result<&'m GpuMesh, RenderError> {
    if let Some(resident) = mesh.gpu.get::<GpuMesh>() {
        return Ok(resident);
    }
    check_mesh(device, index, mesh)?;
    mesh.gpu
        .get_or_upload(|| upload_mesh(device, mesh))
        .ok_or_else(|| RenderError::Gpu(format!("mesh {index}: uploaded as another type")))
}

/// Checks, before staging anything, that the mesh is consistent and fits the adapter's buffers.
fn check_mesh(device: &wgpu::Device, index: usize, mesh: &Mesh) -> Result<(), RenderError> {
    let count = mesh.positions.len();
    let coords_ok = mesh.tex_coords.as_ref().is_none_or(|t| t.len() == count)
        && mesh.colors.as_ref().is_none_or(|c| c.len() == count);
    if mesh.normals.len() != count || !coords_ok {
        return Err(RenderError::Gpu(format!(
            "mesh {index}: vertex attribute counts differ"
        )));
    }
    if let Some(&bad) = mesh.indices.iter().find(|&&i| i as usize >= count) {
        return Err(RenderError::Gpu(format!(
            "mesh {index}: index {bad} out of range"
        )));
    }
    let largest = (count * std::mem::size_of::<Vertex>()).max(mesh.indices.len() * 4) as u64;
    let max = device.limits().max_buffer_size;
    if largest > max {
        return Err(RenderError::SceneTooLarge {
            bytes: largest,
            max,
        });
    }
    Ok(())
}

/// Vertices interleaved per this many, then copied into the buffer's mapped memory.
const VERTICES_PER_CHUNK: usize = 4096;

/// The vertices are interleaved a chunk at a time straight into the buffer's mapped memory: no
/// interleaved copy of the whole mesh exists beside the mesh and wgpu's own staging (24 MiB on
/// the 1.5 M-triangle bench scene).
fn upload_mesh(device: &wgpu::Device, mesh: &Mesh) -> (GpuMesh, u64) {
    let stride = std::mem::size_of::<Vertex>();
    let vertices = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("mesh vertices"),
        size: (mesh.positions.len() * stride) as u64,
        usage: wgpu::BufferUsages::VERTEX,
        mapped_at_creation: true,
    });
    {
        let mut mapped = vertices
            .slice(..)
            .get_mapped_range_mut()
            .expect("UNWRAP: a buffer mapped at creation is mapped whole until unmapped");
        let mut chunk = Vec::with_capacity(VERTICES_PER_CHUNK);
        for start in (0..mesh.positions.len()).step_by(VERTICES_PER_CHUNK) {
            let end = (start + VERTICES_PER_CHUNK).min(mesh.positions.len());
            chunk.clear();
            chunk.extend((start..end).map(|i| Vertex {
                position: mesh.positions[i],
                normal: mesh.normals[i],
                tex_coord: mesh.tex_coords.as_ref().map_or([0.0; 2], |t| t[i]),
                color: mesh.colors.as_ref().map_or([255; 4], |c| {
                    c[i].map(|channel| (channel.clamp(0.0, 1.0) * 255.0).round() as u8)
                }),
            }));
            mapped
                .slice(start * stride..end * stride)
                .copy_from_slice(bytemuck::cast_slice(&chunk));
        }
    }
    vertices.unmap();
    let indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("mesh indices"),
        contents: bytemuck::cast_slice(&mesh.indices),
        usage: wgpu::BufferUsages::INDEX,
    });
    let bytes = vertices.size() + indices.size();
    let closure = closure::closure(mesh);
    (
        GpuMesh {
            vertices,
            indices,
            closure,
        },
        bytes,
    )
}

/// `texture` on the GPU, uploaded on first use.
///
/// # Errors
/// [`RenderError::TooLarge`] for a texture beyond the adapter's size limit; [`RenderError::Gpu`]
/// when its pixel count does not match its size.
pub(super) fn texture<'t>(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    index: usize,
    texture: &'t Texture,
) -> Result<&'t GpuTexture, RenderError> {
    if let Some(resident) = texture.gpu.get::<GpuTexture>() {
        return Ok(resident);
    }
    let (width, height) = (texture.width, texture.height);
    let max = device.limits().max_texture_dimension_2d;
    if width == 0 || height == 0 || width > max || height > max {
        return Err(RenderError::TooLarge { width, height, max });
    }
    if texture.rgba.len() as u64 != u64::from(width) * u64::from(height) * 4 {
        return Err(RenderError::Gpu(format!(
            "texture {index} has the wrong byte count"
        )));
    }
    texture
        .gpu
        .get_or_upload(|| upload_texture(device, queue, texture))
        .ok_or_else(|| RenderError::Gpu(format!("texture {index}: uploaded as another type")))
}

fn upload_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &Texture,
) -> (GpuTexture, u64) {
    let view = textures::sampled_rgba8(
        device,
        queue,
        "base colour texture",
        texture.width,
        texture.height,
        &texture.rgba,
    );
    (GpuTexture { view }, texture.rgba.len() as u64)
}
