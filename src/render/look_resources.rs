//! The look's GPU resources, bound as group 2 of every scene pipeline (`environment.wgsl`
//! bindings 0–4, `shadows.wgsl` bindings 5–6): the environment map's baked textures, read once
//! per look and shared by every renderer ([`LookResources`]), and each renderer's own shadow maps
//! and skybox uniform ([`LookBindings`]), which change with every request. What a look lacks is
//! bound as a placeholder whose lookups give "no environment" and "no shadow". The SSAO pass
//! (not part of group 2) is kept here too, as the look's other post-scene effect.

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::protocol::drake::vtk_params::VtkParams;
use crate::scene::camera::Intrinsics;
use crate::scene::Scene;

use super::draw_list::Draw;
use super::environment::{Environment, EnvironmentUniform, Skybox, BAKED_FORMAT};
use super::error::RenderError;
use super::formats::{COLOR_FORMAT, SCENE_FLOAT_FORMAT};
use super::gpu::Gpu;
use super::look::Look;
use super::resident::GpuMesh;
use super::shadows::{self, ShadowMaps, ShadowsUniform};
use super::ssao::{Ssao, SsaoPass};

/// Group 2 of the scene pipelines.
pub(super) fn look_resources_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let fragment = wgpu::ShaderStages::FRAGMENT;
    let uniform = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: fragment,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let texture = |binding, view_dimension, sample_type| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: fragment,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension,
            multisampled: false,
        },
        count: None,
    };
    let float = wgpu::TextureSampleType::Float { filterable: true };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("look resources"),
        entries: &[
            uniform(0),
            texture(1, wgpu::TextureViewDimension::Cube, float),
            texture(2, wgpu::TextureViewDimension::Cube, float),
            texture(3, wgpu::TextureViewDimension::D2, float),
            wgpu::BindGroupLayoutEntry {
                binding: 4,
                visibility: fragment,
                ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                count: None,
            },
            uniform(5),
            texture(
                6,
                wgpu::TextureViewDimension::D2Array,
                wgpu::TextureSampleType::Uint,
            ),
        ],
    })
}

/// What a look shares between its renderers: the environment map, baked once, and the shadow
/// settings.
pub struct LookResources {
    environment: Option<Environment>,
    /// `environment.uniform`, or "no environment".
    environment_uniform: wgpu::Buffer,
    /// `cast_shadows`: the side of each light's map (`shadow_map_size`).
    shadow_map_size: Option<u32>,
    /// `ssao`: its pipelines and parameters.
    ssao: Option<SsaoPass>,
}

impl std::fmt::Debug for LookResources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookResources")
            .field("environment", &self.environment.is_some())
            .field("shadow_map_size", &self.shadow_map_size)
            .field("ssao", &self.ssao.is_some())
            .finish()
    }
}

impl LookResources {
    /// The resources `params` need; `None` when they need none (the placeholder is bound). Reads
    /// and bakes the environment map here, once.
    ///
    /// # Errors
    /// [`RenderError::Look`] for an unreadable environment map (naming its path) or a shadow map
    /// size the adapter cannot render.
    pub(super) fn new(params: &VtkParams, gpu: &Gpu) -> Result<Option<Self>, RenderError> {
        // The colour scene target the skybox and SSAO draw into: float when tone mapping follows
        // (an exposure), as `Targets` makes it.
        let colour_format = match params.exposure {
            Some(_) => SCENE_FLOAT_FORMAT,
            None => COLOR_FORMAT,
        };
        let environment = match &params.environment_map {
            Some(map) => Environment::new(map, &gpu.device, &gpu.queue, colour_format)
                .map_err(|err| RenderError::Look(err.to_string()))?,
            None => None,
        };
        let shadow_map_size = params.cast_shadows.then_some(params.shadow_map_size);
        let max = gpu.device.limits().max_texture_dimension_2d;
        if let Some(size) = shadow_map_size.filter(|&s| s == 0 || s > max) {
            return Err(RenderError::Look(format!(
                "shadow_map_size {size} is outside what the adapter renders (1..={max})"
            )));
        }
        let ssao = params
            .ssao
            .as_ref()
            .map(|ssao| SsaoPass::new(&gpu.device, ssao, colour_format));
        if environment.is_none() && shadow_map_size.is_none() && ssao.is_none() {
            return Ok(None);
        }
        let uniform = environment
            .as_ref()
            .map_or_else(EnvironmentUniform::none, |e| e.uniform);
        let environment_uniform = environment_uniform_buffer(&gpu.device, &uniform);
        Ok(Some(Self {
            environment,
            environment_uniform,
            shadow_map_size,
            ssao,
        }))
    }
}

fn environment_uniform_buffer(device: &wgpu::Device, uniform: &EnvironmentUniform) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("environment"),
        contents: bytemuck::bytes_of(uniform),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// Group 2 for a look without resources: no environment, no shadows.
pub(super) fn placeholder_bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
) -> wgpu::BindGroup {
    let placeholders = Placeholders::new(device);
    let environment = environment_uniform_buffer(device, &EnvironmentUniform::none());
    let shadows = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("no shadows"),
        contents: bytemuck::bytes_of(&ShadowsUniform::none()),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let maps = ShadowMaps::new(device, 1, 1);
    bind_group(
        device,
        layout,
        &placeholders,
        &environment,
        None,
        &shadows,
        &maps.maps_view,
    )
}

/// Textures bound where a look has none of its own, and the environment sampler.
struct Placeholders {
    cube: wgpu::TextureView,
    table: wgpu::TextureView,
    sampler: wgpu::Sampler,
}

impl Placeholders {
    fn new(device: &wgpu::Device) -> Self {
        let texture = |label, layers| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width: 1,
                    height: 1,
                    depth_or_array_layers: layers,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: BAKED_FORMAT,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            })
        };
        Self {
            cube: texture("no environment cube", 6).create_view(&wgpu::TextureViewDescriptor {
                dimension: Some(wgpu::TextureViewDimension::Cube),
                ..Default::default()
            }),
            table: texture("no BRDF table", 1).create_view(&Default::default()),
            // Cube maps ignore the address mode; the BRDF table clamps at N·V = 1.
            sampler: device.create_sampler(&wgpu::SamplerDescriptor {
                label: Some("environment"),
                mag_filter: wgpu::FilterMode::Linear,
                min_filter: wgpu::FilterMode::Linear,
                mipmap_filter: wgpu::MipmapFilterMode::Linear,
                ..Default::default()
            }),
        }
    }
}

fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    placeholders: &Placeholders,
    environment_uniform: &wgpu::Buffer,
    environment: Option<&Environment>,
    shadows_uniform: &wgpu::Buffer,
    shadow_maps: &wgpu::TextureView,
) -> wgpu::BindGroup {
    let irradiance = environment
        .and_then(Environment::irradiance)
        .unwrap_or(&placeholders.cube);
    let prefiltered = environment.map_or(&placeholders.cube, Environment::prefiltered);
    let table = environment.map_or(&placeholders.table, Environment::brdf_lut);
    let view = |binding, view| wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::TextureView(view),
    };
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("look resources"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: environment_uniform.as_entire_binding(),
            },
            view(1, irradiance),
            view(2, prefiltered),
            view(3, table),
            wgpu::BindGroupEntry {
                binding: 4,
                resource: wgpu::BindingResource::Sampler(&placeholders.sampler),
            },
            wgpu::BindGroupEntry {
                binding: 5,
                resource: shadows_uniform.as_entire_binding(),
            },
            view(6, shadow_maps),
        ],
    })
}

/// One renderer's group 2 over its look's resources, with its own shadow maps and skybox
/// uniform (both rewritten every colour request).
pub(super) struct LookBindings {
    bind_group: wgpu::BindGroup,
    shadows: ShadowMaps,
    /// Whether the look casts shadows (otherwise `shadows` is the 1×1 placeholder, never baked).
    cast_shadows: bool,
    skybox: Option<Skybox>,
    ssao: Option<Ssao>,
    resources: Arc<LookResources>,
}

impl LookBindings {
    /// Whether the look casts shadows: the scene shader then reads the maps.
    pub fn casts_shadows(&self) -> bool {
        self.cast_shadows
    }

    /// `None` for a look without resources: the scene pass binds its placeholder.
    pub fn new(gpu: &Gpu, look: &Look) -> Option<Self> {
        let resources = Arc::clone(look.resources.as_ref()?);
        let device = &gpu.device;
        let casting = look.lights.iter().filter(|l| shadows::casts(l)).count() as u32;
        let shadows = match resources.shadow_map_size {
            Some(size) => ShadowMaps::new(device, size, casting),
            None => ShadowMaps::new(device, 1, 1),
        };
        gpu.queue.write_buffer(
            &shadows.uniform,
            0,
            bytemuck::bytes_of(&ShadowsUniform::none()),
        );
        let environment = resources.environment.as_ref();
        let bind_group = bind_group(
            device,
            &gpu.scene.look_layout,
            &Placeholders::new(device),
            &resources.environment_uniform,
            environment,
            &shadows.uniform,
            &shadows.maps_view,
        );
        Some(Self {
            bind_group,
            cast_shadows: resources.shadow_map_size.is_some(),
            skybox: environment.and_then(|e| e.skybox_for_renderer(device)),
            ssao: resources
                .ssao
                .as_ref()
                .map(|pass| Ssao::new(device, &gpu.queue, pass)),
            shadows,
            resources,
        })
    }

    /// Group 2 of the scene pipelines.
    pub fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }

    /// Whether a pass after the scene pass reads its depth buffer (SSAO), which must then be
    /// stored rather than discarded.
    pub fn reads_depth(&self) -> bool {
        self.ssao.is_some()
    }

    /// Shadow maps: bakes each casting light's map for this request (colour images of a look
    /// with `cast_shadows` only).
    pub fn encode_shadow_maps(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        scene: &Scene,
        look: &Look,
        opaque: &[Draw],
        meshes: &[Option<&GpuMesh>],
    ) {
        let (true, Some(camera)) = (self.cast_shadows, scene.camera) else {
            return;
        };
        let lights: Vec<_> = look
            .lights
            .iter()
            .map(|light| {
                let (position, direction) = light.in_world(camera.camera_to_world);
                (*light, position, direction)
            })
            .collect();
        self.shadows.encode(
            &gpu.device,
            &gpu.queue,
            &gpu.shadows,
            encoder,
            scene,
            &lights,
            opaque,
            meshes,
            look.background[0] as f32,
        );
    }

    /// SSAO over the scene pass's `colour` from its `depth` (colour images of a look with `ssao`).
    pub fn encode_ssao(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        intrinsics: &Intrinsics,
        colour: &wgpu::TextureView,
        depth: &wgpu::TextureView,
    ) {
        let (Some(ssao), Some(pass)) = (self.ssao.as_mut(), self.resources.ssao.as_ref()) else {
            return;
        };
        ssao.encode(
            &gpu.device,
            &gpu.queue,
            pass,
            encoder,
            intrinsics,
            colour,
            depth,
        );
    }

    /// The skybox, with this request's camera rays written; `None` without one.
    pub fn skybox(
        &self,
        gpu: &Gpu,
        scene: &Scene,
        intrinsics: &Intrinsics,
    ) -> Option<SkyboxDraw<'_>> {
        let skybox = self.skybox.as_ref()?;
        let pipeline = self.resources.environment.as_ref()?.skybox.as_ref()?;
        skybox.update(&gpu.queue, scene, intrinsics);
        Some(SkyboxDraw { skybox, pipeline })
    }
}

/// What the scene pass needs to draw the skybox.
pub(super) struct SkyboxDraw<'a> {
    skybox: &'a Skybox,
    pipeline: &'a super::environment::SkyboxPipeline,
}

impl SkyboxDraw<'_> {
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        self.skybox.draw(self.pipeline, pass);
    }
}
