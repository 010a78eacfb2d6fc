//! Shadows (vtk-effects.md §5): VTK's exponential shadow maps. Before the scene pass, every opaque
//! mesh is drawn from each casting light (directional lights and spots narrower than 90°; point
//! lights never cast) into one layer of a `shadow_map_size`² map per light, cleared to the
//! background's red as VTK clears it; the scene shader's `shadow_factor` (`shadows.wgsl`) then
//! dims that light by min(1, map·exp(−80·depth)). The light cameras are fitted to the scene's
//! bounding box each request (`frustum.rs`), as VTK does per frame.

mod frustum;

use bytemuck::{Pod, Zeroable};
use glam::{DMat4, DVec3};

use crate::protocol::drake::vtk_params::LightKind;
use crate::scene::Scene;

use super::draw_list::Draw;
use super::formats::{DEPTH_FORMAT, SHADOW_MAP_FORMAT};
use super::look::Light;
use super::look_group::{ShadowLightUniform, ShadowsUniform};
use super::resident::{GpuMesh, Vertex};
use frustum::{Bounds, LightCamera};

/// Whether `light` casts a shadow (`vtkShadowMapBakerPass::LightCreatesShadow`): directional
/// lights (camera-frame ones included) and spots narrower than 90°.
pub(in crate::render) fn casts(light: &Light) -> bool {
    match light.kind {
        LightKind::Directional => true,
        LightKind::Spot => light.cone_angle < 90.0,
        LightKind::Point => false,
    }
}

/// Mirrors `Caster` in `bake.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct CasterUniform {
    model_to_light_clip: [f32; 16],
    params: [f32; 4],
}

/// What is created once: the bake pipeline and its uniform layout.
pub(in crate::render) struct ShadowPass {
    /// Indexed by [`ShadowPass::pipeline`]: both faces, back faces culled, front faces culled.
    pipelines: [wgpu::RenderPipeline; 3],
    layout: wgpu::BindGroupLayout,
}

impl ShadowPass {
    pub fn new(device: &wgpu::Device) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("shadow caster"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(
                        std::mem::size_of::<CasterUniform>() as u64
                    ),
                },
                count: None,
            }],
        });
        let shader = device.create_shader_module(wgpu::include_wgsl!("bake.wgsl"));
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("shadow bake"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = |cull_mode| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some("shadow bake"),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module: &shader,
                    entry_point: Some("vs_shadow"),
                    compilation_options: Default::default(),
                    buffers: &[Some(wgpu::VertexBufferLayout {
                        array_stride: std::mem::size_of::<Vertex>() as u64,
                        step_mode: wgpu::VertexStepMode::Vertex,
                        attributes: &wgpu::vertex_attr_array![0 => Float32x3],
                    })],
                },
                // The light's frame (vx, vup, dir) looks along +(vx × vup), where a GL camera
                // looks along −(x × y): the light sees every triangle mirrored, so
                // counter-clockwise model faces towards it arrive clockwise.
                primitive: wgpu::PrimitiveState {
                    front_face: wgpu::FrontFace::Cw,
                    cull_mode,
                    ..Default::default()
                },
                depth_stencil: Some(wgpu::DepthStencilState {
                    format: DEPTH_FORMAT,
                    depth_write_enabled: Some(true),
                    depth_compare: Some(wgpu::CompareFunction::Less),
                    stencil: wgpu::StencilState::default(),
                    bias: wgpu::DepthBiasState::default(),
                }),
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module: &shader,
                    entry_point: Some("fs_shadow"),
                    compilation_options: Default::default(),
                    targets: &[Some(wgpu::ColorTargetState {
                        format: SHADOW_MAP_FORMAT,
                        blend: None,
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        // The faces a draw culls in the colour pass are culled in the bake too: VTK's
        // BackfaceCullingOn actor is culled in every pass, so a single-sided glTF mesh casts only
        // from the faces wound towards the light.
        Self {
            pipelines: [None, Some(wgpu::Face::Back), Some(wgpu::Face::Front)].map(pipeline),
            layout,
        }
    }

    fn pipeline(&self, cull: Option<wgpu::Face>) -> &wgpu::RenderPipeline {
        match cull {
            None => &self.pipelines[0],
            Some(wgpu::Face::Back) => &self.pipelines[1],
            Some(wgpu::Face::Front) => &self.pipelines[2],
        }
    }
}

/// One renderer's shadow maps (one layer per casting light of its look), the depth buffer they
/// are drawn with, the casters' uniforms and the receivers' uniform.
pub(in crate::render) struct ShadowMaps {
    /// All layers, as the scene shader reads them.
    pub maps_view: wgpu::TextureView,
    layer_views: Vec<wgpu::TextureView>,
    depth: wgpu::TextureView,
    /// `ShadowsUniform`, bound by the scene pass.
    pub uniform: wgpu::Buffer,
    casters: Option<(wgpu::Buffer, wgpu::BindGroup)>,
    stride: u64,
    staging: Vec<u8>,
}

impl ShadowMaps {
    /// Maps of `size`² for `layers` casting lights (at least one layer, so the scene shader
    /// always has something bound).
    pub fn new(device: &wgpu::Device, size: u32, layers: u32) -> Self {
        let layers = layers.max(1);
        let texture = |label, format, layers, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width: size,
                    height: size,
                    depth_or_array_layers: layers,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let maps = texture(
            "shadow maps",
            SHADOW_MAP_FORMAT,
            layers,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
        );
        let maps_view = maps.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let layer_views = (0..layers)
            .map(|layer| {
                maps.create_view(&wgpu::TextureViewDescriptor {
                    dimension: Some(wgpu::TextureViewDimension::D2),
                    base_array_layer: layer,
                    array_layer_count: Some(1),
                    ..Default::default()
                })
            })
            .collect();
        let depth = texture(
            "shadow depth",
            DEPTH_FORMAT,
            1,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        )
        .create_view(&wgpu::TextureViewDescriptor::default());
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("shadows"),
            size: std::mem::size_of::<ShadowsUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let alignment = u64::from(device.limits().min_uniform_buffer_offset_alignment);
        Self {
            maps_view,
            layer_views,
            depth,
            uniform,
            casters: None,
            stride: (std::mem::size_of::<CasterUniform>() as u64).next_multiple_of(alignment),
            staging: Vec::new(),
        }
    }

    /// Bakes the maps of this request's casting lights and writes the receivers' uniform.
    /// `lights` are the look's lights in the world (position, direction) for this camera;
    /// `background_red` is what VTK clears the maps to.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pass: &ShadowPass,
        encoder: &mut wgpu::CommandEncoder,
        scene: &Scene,
        lights: &[(Light, DVec3, DVec3)],
        opaque: &[Draw],
        meshes: &[Option<&GpuMesh>],
        background_red: f32,
    ) {
        let mut receivers = ShadowsUniform::none();
        let bounds = scene_bounds(scene);
        let mut cameras = Vec::new();
        for (index, (light, position, direction)) in lights.iter().enumerate() {
            let Some(bounds) = bounds.filter(|_| casts(light) && direction.length() > 0.0) else {
                continue;
            };
            let camera = match light.kind {
                LightKind::Spot => {
                    LightCamera::spot(*position, *direction, light.cone_angle, &bounds)
                }
                _ => LightCamera::directional(*direction, &bounds),
            };
            let layer = cameras.len();
            if layer >= self.layer_views.len() {
                break; // sized for the look's casting lights, so never
            }
            // Clip → map: u = (x/w + 1)/2, v = (1 − y/w)/2 (row 0 at the top, y up).
            let to_map = DMat4::from_cols_array(&[
                0.5, 0.0, 0.0, 0.0, //
                0.0, -0.5, 0.0, 0.0, //
                0.0, 0.0, 1.0, 0.0, //
                0.5, 0.5, 0.0, 1.0,
            ]);
            receivers.lights[index] = ShadowLightUniform {
                map_from_world: (to_map * camera.view_proj).as_mat4().to_cols_array(),
                params: [
                    layer as f32,
                    f32::from(u8::from(camera.parallel)),
                    camera.near as f32,
                    camera.far as f32,
                ],
            };
            cameras.push(camera);
        }
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&receivers));
        if cameras.is_empty() {
            return;
        }
        self.write_casters(device, queue, pass, scene, &cameras, opaque);
        let Some((_, bind_group)) = &self.casters else {
            return;
        };
        let clear = f64::from(background_red.to_bits());
        for (layer, _) in cameras.iter().enumerate() {
            let mut render = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("shadow map"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &self.layer_views[layer],
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: clear,
                            g: 0.0,
                            b: 0.0,
                            a: 0.0,
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &self.depth,
                    depth_ops: Some(wgpu::Operations {
                        load: wgpu::LoadOp::Clear(1.0),
                        store: wgpu::StoreOp::Discard,
                    }),
                    stencil_ops: None,
                }),
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            for (i, draw) in opaque.iter().enumerate() {
                let Some(Some(mesh)) = meshes.get(draw.mesh) else {
                    continue;
                };
                render.set_pipeline(pass.pipeline(draw.cull));
                let entry = (layer * opaque.len() + i) as u64 * self.stride;
                render.set_bind_group(0, bind_group, &[entry as u32]);
                render.set_vertex_buffer(0, mesh.vertices.slice(..));
                render.set_index_buffer(mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
                render.draw_indexed(draw.indices.clone(), 0, 0..1);
            }
        }
    }

    /// One uniform per (light, opaque draw): the light's clip transform times the instance's,
    /// combined in f64.
    fn write_casters(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pass: &ShadowPass,
        scene: &Scene,
        cameras: &[LightCamera],
        opaque: &[Draw],
    ) {
        let count = (cameras.len() * opaque.len()) as u64;
        let needed = (count * self.stride).max(self.stride);
        self.staging.clear();
        self.staging.resize(needed as usize, 0);
        for (layer, camera) in cameras.iter().enumerate() {
            let params = [
                f32::from(u8::from(camera.parallel)),
                camera.near as f32,
                camera.far as f32,
                0.0,
            ];
            for (i, draw) in opaque.iter().enumerate() {
                let model = scene.instances[draw.instance].model_to_world;
                let uniform = CasterUniform {
                    model_to_light_clip: (camera.view_proj * model).as_mat4().to_cols_array(),
                    params,
                };
                let offset = ((layer * opaque.len() + i) as u64 * self.stride) as usize;
                self.staging[offset..offset + std::mem::size_of::<CasterUniform>()]
                    .copy_from_slice(bytemuck::bytes_of(&uniform));
            }
        }
        if self.casters.as_ref().is_none_or(|(b, _)| b.size() < needed) {
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("shadow casters"),
                size: needed.next_power_of_two(),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("shadow casters"),
                layout: &pass.layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &buffer,
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<CasterUniform>() as u64),
                    }),
                }],
            });
            self.casters = Some((buffer, bind_group));
        }
        if let Some((buffer, _)) = &self.casters {
            queue.write_buffer(buffer, 0, &self.staging);
        }
    }
}

/// VTK's scene box: the union of every prop's transformed bounds (translucent ones included,
/// though only opaque ones cast).
fn scene_bounds(scene: &Scene) -> Option<Bounds> {
    Bounds::union(scene.instances.iter().filter_map(|instance| {
        let mesh = scene.meshes.get(instance.mesh)?;
        let mut positions = mesh.positions.iter().map(|p| DVec3::from(p.map(f64::from)));
        let first = positions.next()?;
        let (min, max) = positions.fold((first, first), |(lo, hi), p| (lo.min(p), hi.max(p)));
        Some(Bounds { min, max }.transformed(&instance.model_to_world))
    }))
}
