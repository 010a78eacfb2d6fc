//! How textures are bound: the material layout (a texture and sampler per glTF texture kind), the
//! texture-and-sampler layout FXAA's input uses, one `wgpu::Sampler` per glTF sampler state, and
//! the white texture bound where a material has none. Created once per process.

use crate::scene::{Filter, Sampler, Wrap};

use super::formats::COLOR_FORMAT;

/// The glTF texture kinds a material binds, in binding order (texture 2i, sampler 2i + 1) and in
/// the order of the draw uniform's texture bits and UV transforms.
pub(super) const MATERIAL_TEXTURES: usize = 5;

/// The material layout and every glTF sampler state a texture may be read with.
pub(super) struct TextureBinding {
    pub layout: wgpu::BindGroupLayout,
    /// Every glTF sampler state, indexed by [`sampler_index`].
    samplers: Vec<wgpu::Sampler>,
    /// Bound in place of every texture a material lacks.
    white: wgpu::TextureView,
}

impl TextureBinding {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        let entries: Vec<_> = (0..MATERIAL_TEXTURES as u32)
            .flat_map(|kind| texture_and_sampler_entries(2 * kind))
            .collect();
        Self {
            layout: device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("material textures"),
                entries: &entries,
            }),
            samplers: all_sampler_states()
                .map(|state| create_sampler(device, state))
                .collect(),
            white: white_texture(device, queue),
        }
    }

    /// A material's textures (base colour, metallic-roughness, normal, occlusion, emissive),
    /// white where `None`.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        textures: [Option<(&wgpu::TextureView, Sampler)>; MATERIAL_TEXTURES],
    ) -> wgpu::BindGroup {
        let entries: Vec<_> = (0u32..)
            .zip(textures)
            .flat_map(|(kind, texture)| {
                let (view, sampler) = texture.unwrap_or((&self.white, Sampler::default()));
                [
                    wgpu::BindGroupEntry {
                        binding: 2 * kind,
                        resource: wgpu::BindingResource::TextureView(view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2 * kind + 1,
                        resource: wgpu::BindingResource::Sampler(
                            &self.samplers[sampler_index(sampler)],
                        ),
                    },
                ]
            })
            .collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("material textures"),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// White everywhere, bound for untextured materials so one shader serves both.
    pub fn untextured(&self, device: &wgpu::Device) -> wgpu::BindGroup {
        self.bind(device, [None; MATERIAL_TEXTURES])
    }
}

fn white_texture(device: &wgpu::Device, queue: &wgpu::Queue) -> wgpu::TextureView {
    sampled_rgba8(device, queue, "untextured", 1, 1, &[255; 4])
}

/// A texture the scene pass samples, holding `rgba` (`width` × `height` RGBA8).
pub fn sampled_rgba8(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    width: u32,
    height: u32,
    rgba: &[u8],
) -> wgpu::TextureView {
    let size = wgpu::Extent3d {
        width,
        height,
        depth_or_array_layers: 1,
    };
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        // Unorm, not sRGB: RenderEngineVtk samples texture bytes without gamma decoding.
        format: COLOR_FORMAT,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    queue.write_texture(
        texture.as_image_copy(),
        rgba,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width * 4),
            rows_per_image: Some(height),
        },
        size,
    );
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}

const FILTERS: [Filter; 2] = [Filter::Nearest, Filter::Linear];
const WRAPS: [Wrap; 3] = [Wrap::Repeat, Wrap::ClampToEdge, Wrap::MirroredRepeat];

/// Every combination of glTF sampler state, in [`sampler_index`] order.
fn all_sampler_states() -> impl Iterator<Item = Sampler> {
    FILTERS.into_iter().flat_map(|mag_filter| {
        FILTERS.into_iter().flat_map(move |min_filter| {
            WRAPS.into_iter().flat_map(move |wrap_s| {
                WRAPS.into_iter().map(move |wrap_t| Sampler {
                    mag_filter,
                    min_filter,
                    wrap_s,
                    wrap_t,
                })
            })
        })
    })
}

pub(super) fn sampler_index(sampler: Sampler) -> usize {
    let filter = |f| FILTERS.iter().position(|&x| x == f).unwrap_or(0);
    let wrap = |w| WRAPS.iter().position(|&x| x == w).unwrap_or(0);
    ((filter(sampler.mag_filter) * FILTERS.len() + filter(sampler.min_filter)) * WRAPS.len()
        + wrap(sampler.wrap_s))
        * WRAPS.len()
        + wrap(sampler.wrap_t)
}

fn create_sampler(device: &wgpu::Device, state: Sampler) -> wgpu::Sampler {
    let filter = |f| match f {
        Filter::Nearest => wgpu::FilterMode::Nearest,
        Filter::Linear => wgpu::FilterMode::Linear,
    };
    let address = |w| match w {
        Wrap::Repeat => wgpu::AddressMode::Repeat,
        Wrap::ClampToEdge => wgpu::AddressMode::ClampToEdge,
        Wrap::MirroredRepeat => wgpu::AddressMode::MirrorRepeat,
    };
    device.create_sampler(&wgpu::SamplerDescriptor {
        label: Some("glTF sampler"),
        address_mode_u: address(state.wrap_s),
        address_mode_v: address(state.wrap_t),
        mag_filter: filter(state.mag_filter),
        min_filter: filter(state.min_filter),
        ..Default::default()
    })
}

/// A fragment-stage layout of one filterable 2D texture (binding 0) and its sampler (binding 1):
/// what the FXAA pass's input binds.
pub(super) fn texture_and_sampler_layout(
    device: &wgpu::Device,
    label: &str,
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &texture_and_sampler_entries(0),
    })
}

/// A filterable 2D texture at `binding` and its sampler at `binding + 1`, for the fragment stage.
fn texture_and_sampler_entries(binding: u32) -> [wgpu::BindGroupLayoutEntry; 2] {
    [
        wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        },
        wgpu::BindGroupLayoutEntry {
            binding: binding + 1,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
            count: None,
        },
    ]
}
