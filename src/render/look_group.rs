//! Group 2 of the scene pipelines: a look's effects as the scene shader reads them
//! (`scene_pass/environment.wgsl` bindings 0–4, `scene_pass/shadows.wgsl` bindings 5–6). The
//! contract between the scene pass, which reads the group, and the passes that fill it (the
//! environment bake, the shadow-map bake): the layout, the uniforms' CPU mirrors, and the
//! placeholders bound where a look has no environment or casts no shadow, whose lookups give
//! "no environment" and "no shadow".

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::formats::{BAKED_FORMAT, SHADOW_MAP_FORMAT};
use super::look::MAX_LIGHTS;

/// Mirrors `Environment` in `environment.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct EnvironmentUniform {
    pub harmonics: [[f32; 4]; 9],
    pub mode: [u32; 4],
}

impl EnvironmentUniform {
    /// No environment map: every lookup returns 0.
    pub fn none() -> Self {
        Self::zeroed()
    }
}

/// Mirrors `ShadowLight` in `shadows.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct ShadowLightUniform {
    pub map_from_world: [f32; 16],
    pub params: [f32; 4],
}

/// Mirrors `Shadows` in `shadows.wgsl`: one entry per light of the look.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(super) struct ShadowsUniform {
    pub lights: [ShadowLightUniform; MAX_LIGHTS],
}

impl ShadowsUniform {
    /// No light casts: what a look without `cast_shadows` binds.
    pub fn none() -> Self {
        let mut uniform = Self::zeroed();
        for light in &mut uniform.lights {
            light.params[0] = -1.0;
        }
        uniform
    }
}

/// The layout of group 2.
pub(super) fn layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
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

/// A uniform buffer holding `uniform`, never rewritten.
pub(super) fn uniform_buffer<T: Pod>(
    device: &wgpu::Device,
    label: &str,
    uniform: &T,
) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::bytes_of(uniform),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// What group 2 binds. An environment's views left `None` are bound as placeholders.
pub(super) struct Group2<'a> {
    /// An [`EnvironmentUniform`].
    pub environment: &'a wgpu::Buffer,
    /// The irradiance cube map of an 8-bit map (HDR maps use the uniform's harmonics).
    pub irradiance: Option<&'a wgpu::TextureView>,
    pub prefiltered: Option<&'a wgpu::TextureView>,
    pub brdf_lut: Option<&'a wgpu::TextureView>,
    /// A [`ShadowsUniform`].
    pub shadows: &'a wgpu::Buffer,
    /// Every casting light's map, as layers.
    pub shadow_maps: &'a wgpu::TextureView,
}

/// Group 2 for a look without resources: no environment, no shadows.
pub(super) fn placeholder_bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
) -> wgpu::BindGroup {
    let environment = uniform_buffer(device, "environment", &EnvironmentUniform::none());
    let shadows = uniform_buffer(device, "no shadows", &ShadowsUniform::none());
    let no_maps = device
        .create_texture(&wgpu::TextureDescriptor {
            label: Some("no shadow maps"),
            size: wgpu::Extent3d {
                width: 1,
                height: 1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: SHADOW_MAP_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        })
        .create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
    let group = Group2 {
        environment: &environment,
        irradiance: None,
        prefiltered: None,
        brdf_lut: None,
        shadows: &shadows,
        shadow_maps: &no_maps,
    };
    bind_group(device, layout, &Placeholders::new(device), &group)
}

/// Textures bound where a look has none of its own, and the environment sampler.
pub(super) struct Placeholders {
    cube: wgpu::TextureView,
    table: wgpu::TextureView,
    sampler: wgpu::Sampler,
}

impl Placeholders {
    pub fn new(device: &wgpu::Device) -> Self {
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

/// Group 2 over `group`, with `placeholders` where it has no view.
pub(super) fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    placeholders: &Placeholders,
    group: &Group2<'_>,
) -> wgpu::BindGroup {
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
                resource: group.environment.as_entire_binding(),
            },
            view(1, group.irradiance.unwrap_or(&placeholders.cube)),
            view(2, group.prefiltered.unwrap_or(&placeholders.cube)),
            view(3, group.brdf_lut.unwrap_or(&placeholders.table)),
            wgpu::BindGroupEntry {
                binding: 4,
                resource: wgpu::BindingResource::Sampler(&placeholders.sampler),
            },
            wgpu::BindGroupEntry {
                binding: 5,
                resource: group.shadows.as_entire_binding(),
            },
            view(6, group.shadow_maps),
        ],
    })
}
