//! Per-request GPU data: the frame uniform, each instance's transforms and material in one
//! dynamic-offset uniform buffer (kept and grown across requests), and the texture bind groups.
//! Meshes and textures themselves are [resident](super::resident): uploaded once per content.
//! Upload says what each instance draws ([`Draw`]); the [draw list](super::draw_list) orders the
//! draws, the [scene pass](super::scene_pass) issues them.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use glam::DMat3;

use crate::scene::closure::Closure;
use crate::scene::{Instance, Material, Mesh, Scene, Texture, TextureRef};

use super::draw_list::Draw;
use super::error::RenderError;
use super::gpu::Gpu;
use super::look::LookDescription;
use super::resident::{self, GpuMesh};
use super::scene_pass::uniforms::{CameraMatrices, DrawUniform, FrameUniform};
use super::textures::{sampler_index, MATERIAL_TEXTURES};

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
    draws: GrowingBuffer,
    /// Frame and draw uniforms; rebuilt only when the draw buffer is replaced.
    uniforms: Option<wgpu::BindGroup>,
    /// CPU staging, kept so each request reuses the allocation of the last.
    staged_draws: Vec<u8>,
    /// This request's material bind groups (handles into `materials`); dropped by
    /// [`Self::end_request`].
    texture_bind_groups: Vec<wgpu::BindGroup>,
    /// Material bind groups kept across requests while their textures live, like the resident
    /// textures they bind: a scene drawn again binds them without creating any.
    materials: HashMap<MaterialKey, MaterialGroup>,
}

/// Which texture (by the address of its `Arc`) and sampler state each material texture kind
/// binds. The group's `Weak`s keep those allocations, so an address cannot be reused while the
/// entry exists.
type MaterialKey = [Option<(usize, usize)>; MATERIAL_TEXTURES];

struct MaterialGroup {
    textures: Vec<Weak<Texture>>,
    bind_group: wgpu::BindGroup,
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
            draws: GrowingBuffer::new("draws", wgpu::BufferUsages::UNIFORM),
            uniforms: None,
            staged_draws: Vec::new(),
            texture_bind_groups: Vec::new(),
            materials: HashMap::new(),
        }
    }

    /// Uploads the frame uniform and each instance's draw uniform, makes the meshes and (for
    /// colour) textures resident, and returns the draws in scene order with the resident meshes
    /// they use. `colour` is the look for colour images: only they sample textures and take the
    /// look's material overrides.
    ///
    /// # Errors
    /// [`RenderError::TooLarge`] for a texture beyond the adapter's size limit,
    /// [`RenderError::SceneTooLarge`] for geometry beyond its buffer size limit;
    /// [`RenderError::Gpu`] when the scene breaks its own invariants (an index out of range).
    pub fn upload<'s>(
        &mut self,
        gpu: &Gpu,
        scene: &'s Scene,
        frame: &FrameUniform,
        camera: &CameraMatrices,
        colour: Option<&LookDescription>,
    ) -> Result<(Vec<Draw>, Vec<Option<&'s GpuMesh>>), RenderError> {
        self.staged_draws.clear();
        self.texture_bind_groups.clear();
        let stride =
            (std::mem::size_of::<DrawUniform>() as u32).next_multiple_of(gpu.uniform_alignment);
        let uniform_bytes = scene.instances.len() as u64 * u64::from(stride);
        let max = gpu.device.limits().max_buffer_size.min(u64::from(u32::MAX));
        if uniform_bytes > max {
            return Err(RenderError::SceneTooLarge {
                bytes: uniform_bytes,
                max,
            });
        }
        let mut meshes: Vec<Option<&'s GpuMesh>> = vec![None; scene.meshes.len()];
        // Keyed by each texture kind's (texture, sampler state): one bind group per material's
        // combination.
        let mut bind_group_of: HashMap<MaterialKey, usize> = HashMap::new();
        // Groups of textures the scene cache has let go would pin their GPU memory.
        self.materials
            .retain(|_, group| group.textures.iter().all(|t| t.strong_count() > 0));
        let mut draws = Vec::new();
        for (instance_index, instance) in scene.instances.iter().enumerate() {
            let Some(mesh) = scene.meshes.get(instance.mesh) else {
                return Err(RenderError::Gpu(format!(
                    "mesh {} does not exist",
                    instance.mesh
                )));
            };
            if mesh.indices.is_empty() {
                continue;
            }
            if meshes[instance.mesh].is_none() {
                meshes[instance.mesh] = Some(resident::mesh(&gpu.device, instance.mesh, mesh)?);
            }
            let textures = match (colour, &mesh.tex_coords) {
                (Some(_), Some(_)) => material_textures(&instance.material),
                _ => [None; MATERIAL_TEXTURES],
            };
            let texture = if textures.iter().any(Option::is_some) {
                let key = material_key(scene, &textures)?;
                Some(match bind_group_of.get(&key) {
                    Some(&index) => index,
                    None => {
                        let group = match self.materials.entry(key) {
                            Entry::Occupied(entry) => entry.into_mut(),
                            Entry::Vacant(entry) => {
                                entry.insert(bind_textures(gpu, scene, textures)?)
                            }
                        };
                        self.texture_bind_groups.push(group.bind_group.clone());
                        bind_group_of.insert(key, self.texture_bind_groups.len() - 1);
                        self.texture_bind_groups.len() - 1
                    }
                })
            } else {
                None
            };
            let uniform_offset = self.staged_draws.len() as u32;
            let default_diffuse = colour.and_then(|look| look.default_diffuse);
            let uniform = DrawUniform::new(instance, camera, &textures, default_diffuse);
            self.staged_draws
                .resize(uniform_offset as usize + stride as usize, 0);
            self.staged_draws[uniform_offset as usize..][..std::mem::size_of::<DrawUniform>()]
                .copy_from_slice(bytemuck::bytes_of(&uniform));
            draws.push(Draw {
                mesh: instance.mesh,
                instance: instance_index,
                indices: 0..mesh.indices.len() as u32,
                uniform_offset,
                texture,
                cull: cull_face(instance),
                hidden: hidden_faces(instance, mesh, meshes[instance.mesh], camera),
                masked: instance.material.alpha_cutoff.is_some(),
                vertex_colors: colour.is_some() && mesh.colors.is_some(),
            });
        }

        gpu.queue
            .write_buffer(&self.frame, 0, bytemuck::bytes_of(frame));
        if !draws.is_empty()
            && (self.draws.write(gpu, &self.staged_draws) || self.uniforms.is_none())
        {
            self.uniforms = self.draws.buffer.as_ref().map(|draws| {
                gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("frame and draw"),
                    layout: &gpu.scene.frame_layout,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: self.frame.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: draws,
                                offset: 0,
                                size: wgpu::BufferSize::new(
                                    std::mem::size_of::<DrawUniform>() as u64
                                ),
                            }),
                        },
                    ],
                })
            });
        }
        Ok((draws, meshes))
    }

    /// The uniforms and textures of the last upload, as the scene pass binds them; `None`
    /// before anything was uploaded.
    pub fn bindings(&self) -> Option<(&wgpu::BindGroup, &[wgpu::BindGroup])> {
        self.uniforms
            .as_ref()
            .map(|uniforms| (uniforms, self.texture_bind_groups.as_slice()))
    }

    /// Releases the request's texture bind groups.
    pub fn end_request(&mut self) {
        self.texture_bind_groups.clear();
    }
}

/// A material's textures in binding order: base colour, metallic-roughness, normal, occlusion,
/// emissive.
pub(super) fn material_textures(material: &Material) -> [Option<TextureRef>; MATERIAL_TEXTURES] {
    [
        material.base_color_texture,
        material.metallic_roughness_texture,
        material.normal_texture,
        material.occlusion_texture,
        material.emissive_texture,
    ]
}

/// `scene.textures[index]`, which the scene promises exists.
fn scene_texture(scene: &Scene, index: usize) -> Result<&Arc<Texture>, RenderError> {
    scene
        .textures
        .get(index)
        .ok_or_else(|| RenderError::Gpu(format!("texture {index} does not exist")))
}

fn material_key(
    scene: &Scene,
    textures: &[Option<TextureRef>; MATERIAL_TEXTURES],
) -> Result<MaterialKey, RenderError> {
    let mut key = [None; MATERIAL_TEXTURES];
    for (slot, texture_ref) in key.iter_mut().zip(textures) {
        if let Some(texture_ref) = texture_ref {
            let texture = scene_texture(scene, texture_ref.texture)?;
            *slot = Some((
                Arc::as_ptr(texture) as usize,
                sampler_index(texture_ref.sampler),
            ));
        }
    }
    Ok(key)
}

/// The material's textures made resident and bound together.
fn bind_textures(
    gpu: &Gpu,
    scene: &Scene,
    textures: [Option<TextureRef>; MATERIAL_TEXTURES],
) -> Result<MaterialGroup, RenderError> {
    let mut resident = [None; MATERIAL_TEXTURES];
    let mut alive = Vec::new();
    for (slot, texture_ref) in resident.iter_mut().zip(textures) {
        let Some(texture_ref) = texture_ref else {
            continue;
        };
        let texture = scene_texture(scene, texture_ref.texture)?;
        alive.push(Arc::downgrade(texture));
        *slot = Some((
            &resident::texture(&gpu.device, &gpu.queue, texture_ref.texture, texture)?.view,
            texture_ref.sampler,
        ));
    }
    Ok(MaterialGroup {
        textures: alive,
        bind_group: gpu.textures.bind(&gpu.device, resident),
    })
}

/// The faces of a closed mesh that the camera cannot see, which the draw may skip (every image
/// type): those wound away from the camera, when the material is opaque (through a translucent
/// or cut-out surface the inside shows) and no part of the instance comes near enough to the
/// camera for the near plane to cut it open (its bounding sphere, around the model origin,
/// stays beyond the near plane's reach). Mirroring turns the winding around.
fn hidden_faces(
    instance: &Instance,
    mesh: &Mesh,
    resident: Option<&GpuMesh>,
    camera: &CameraMatrices,
) -> Option<wgpu::Face> {
    let material = &instance.material;
    if material.blend || material.alpha_cutoff.is_some() {
        return None;
    }
    let outward = match resident?.closure {
        Closure::Open => return None,
        Closure::Outward => true,
        Closure::Inward => false,
    };
    let linear = DMat3::from_mat4(instance.model_to_world);
    let scale = [linear.x_axis, linear.y_axis, linear.z_axis]
        .iter()
        .map(|axis| axis.length())
        .fold(0.0, f64::max);
    let radius = f64::from(mesh.extent) * 3f64.sqrt() * scale;
    let centre = instance.model_to_world.w_axis.truncate();
    if centre.distance(camera.eye) <= radius + camera.near_reach {
        return None;
    }
    Some(if outward == instance.mirrors() {
        wgpu::Face::Front
    } else {
        wgpu::Face::Back
    })
}

/// The faces a draw culls: back faces of user glTF materials that are not `doubleSided`, which
/// arrive as front faces when the instance mirrors.
fn cull_face(instance: &Instance) -> Option<wgpu::Face> {
    let material = &instance.material;
    (material.from_user_gltf && !material.double_sided).then(|| {
        if instance.mirrors() {
            wgpu::Face::Front
        } else {
            wgpu::Face::Back
        }
    })
}
