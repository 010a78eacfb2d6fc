//! The process-wide GPU: adapter choice, device, and everything created once (shader, layouts,
//! pipelines, samplers, a white placeholder texture, the FXAA pass).

use std::sync::Arc;

use tracing::{error, info, warn};

use crate::scene::{Filter, Sampler, Wrap};

use super::fxaa::Fxaa;
use super::upload::{FrameUniform, MaterialUniform, Vertex};
use super::RenderError;

/// How the server wants its adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuOptions {
    /// Refuse a software adapter (lavapipe/llvmpipe) instead of warning and using it.
    pub require_gpu: bool,
}

/// What the adapter is, for logs, `/healthz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A CPU rasteriser (lavapipe, llvmpipe): correct images, far lower throughput.
    pub software: bool,
}

pub(super) const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
pub(super) const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Planar depth's f32 bits: exact, and renderable where R32Float is not (GL on llvmpipe).
pub(super) const PLANAR_DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Uint;

pub(super) struct Pipelines {
    pub color_opaque: wgpu::RenderPipeline,
    pub color_blended: wgpu::RenderPipeline,
    pub label: wgpu::RenderPipeline,
    pub depth: wgpu::RenderPipeline,
}

/// One device shared by every render thread (wgpu devices and queues are `Send + Sync`).
pub struct Gpu {
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pub(super) pipelines: Pipelines,
    pub(super) frame_layout: wgpu::BindGroupLayout,
    pub(super) texture_layout: wgpu::BindGroupLayout,
    /// Every glTF sampler state, indexed by [`sampler_index`].
    samplers: Vec<wgpu::Sampler>,
    /// A 1×1 white texture bound for untextured meshes, so one shader serves both.
    pub(super) untextured: wgpu::BindGroup,
    /// Anti-aliasing of colour images, after the scene pass.
    pub(super) fxaa: Fxaa,
    pub(super) uniform_alignment: u32,
    summary: AdapterSummary,
}

impl Gpu {
    /// Picks the adapter (`WGPU_BACKEND` or Vulkan then GL, high-performance first), creates the
    /// device and everything that never changes. Blocks briefly.
    ///
    /// # Errors
    /// [`RenderError::NoAdapter`] when no backend works, [`RenderError::SoftwareAdapterRefused`]
    /// when only a CPU adapter exists and `require_gpu` is set.
    pub fn new(options: &GpuOptions) -> Result<Arc<Gpu>, RenderError> {
        pollster::block_on(Self::create(options)).map(Arc::new)
    }

    async fn create(options: &GpuOptions) -> Result<Gpu, RenderError> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends =
            wgpu::Backends::from_env().unwrap_or(wgpu::Backends::VULKAN | wgpu::Backends::GL);
        descriptor.flags = descriptor.flags.with_env();
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_owned(),
            software: info.device_type == wgpu::DeviceType::Cpu,
        };
        info!(
            adapter = %summary.name,
            backend = %summary.backend,
            device_type = %summary.device_type,
            driver = %summary.driver,
            "graphics adapter selected"
        );
        if summary.software {
            if options.require_gpu {
                return Err(RenderError::SoftwareAdapterRefused(summary.name));
            }
            warn!(adapter = %summary.name, "rendering on a software adapter: images are correct but slow");
        }
        // The adapter's own limits, so image size is bounded by what it can really do.
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gltf-cloud"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| RenderError::Gpu(format!("request_device: {e}")))?;
        // Errors outside a render's error scope must not abort the process (wgpu's default).
        device.on_uncaptured_error(Arc::new(|e| error!(error = %e, "uncaptured wgpu error")));
        // A shader or pipeline the backend rejects fails start-up, not every later render.
        let creation = device.push_error_scope(wgpu::ErrorFilter::Validation);

        let frame_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("frame and material"),
            entries: &[
                uniform_entry(0, false, std::mem::size_of::<FrameUniform>()),
                uniform_entry(1, true, std::mem::size_of::<MaterialUniform>()),
            ],
        });
        let texture_layout = texture_and_sampler_layout(&device, "base colour texture");
        let pipelines = create_pipelines(&device, &frame_layout, &texture_layout);
        let fxaa = Fxaa::new(&device);
        let samplers: Vec<wgpu::Sampler> = all_sampler_states()
            .map(|state| create_sampler(&device, state))
            .collect();
        let untextured = bind_texture(
            &device,
            &texture_layout,
            &samplers,
            &white_texture(&device, &queue),
            Sampler::default(),
        );
        if let Some(error) = creation.pop().await {
            return Err(RenderError::Gpu(format!("creating pipelines: {error}")));
        }
        Ok(Gpu {
            uniform_alignment: device.limits().min_uniform_buffer_offset_alignment,
            device,
            queue,
            pipelines,
            frame_layout,
            texture_layout,
            samplers,
            untextured,
            fxaa,
            summary,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    pub(super) fn max_texture_dimension(&self) -> u32 {
        self.device.limits().max_texture_dimension_2d
    }

    pub(super) fn texture_bind_group(
        &self,
        view: &wgpu::TextureView,
        sampler: Sampler,
    ) -> wgpu::BindGroup {
        bind_texture(
            &self.device,
            &self.texture_layout,
            &self.samplers,
            view,
            sampler,
        )
    }
}

fn bind_texture(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    samplers: &[wgpu::Sampler],
    view: &wgpu::TextureView,
    sampler: Sampler,
) -> wgpu::BindGroup {
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("base colour texture"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(view),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::Sampler(&samplers[sampler_index(sampler)]),
            },
        ],
    })
}

fn white_texture(device: &wgpu::Device, queue: &wgpu::Queue) -> wgpu::TextureView {
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("untextured"),
        size: wgpu::Extent3d {
            width: 1,
            height: 1,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: COLOR_FORMAT,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    queue.write_texture(
        texture.as_image_copy(),
        &[255; 4],
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(4),
            rows_per_image: None,
        },
        wgpu::Extent3d {
            width: 1,
            height: 1,
            depth_or_array_layers: 1,
        },
    );
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}

fn uniform_entry(binding: u32, dynamic: bool, size: usize) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: wgpu::BufferSize::new(size as u64),
        },
        count: None,
    }
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

fn create_pipelines(
    device: &wgpu::Device,
    frame_layout: &wgpu::BindGroupLayout,
    texture_layout: &wgpu::BindGroupLayout,
) -> Pipelines {
    let shader = device.create_shader_module(wgpu::include_wgsl!("shaders/scene.wgsl"));
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("scene"),
        bind_group_layouts: &[Some(frame_layout), Some(texture_layout)],
        immediate_size: 0,
    });
    let vertex_attributes =
        wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x2];
    let pipeline = |label: &str, fragment: &str, format, blend, depth_write: bool| {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<Vertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &vertex_attributes,
                })],
            },
            // No culling: VTK draws back faces (lit two-sided), and open meshes must not vanish.
            primitive: wgpu::PrimitiveState {
                topology: wgpu::PrimitiveTopology::TriangleList,
                front_face: wgpu::FrontFace::Ccw,
                cull_mode: None,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(depth_write),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: wgpu::StencilState::default(),
                bias: wgpu::DepthBiasState::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some(fragment),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    };
    // Straight alpha for colour; alpha itself composites "over", so a translucent layer over opaque pixels keeps alpha 1.
    let over = wgpu::BlendState::ALPHA_BLENDING;
    Pipelines {
        color_opaque: pipeline("color opaque", "fs_color_opaque", COLOR_FORMAT, None, true),
        color_blended: pipeline(
            "color blended",
            "fs_color_blended",
            COLOR_FORMAT,
            Some(over),
            false,
        ),
        label: pipeline("label", "fs_label", COLOR_FORMAT, None, true),
        depth: pipeline("depth", "fs_depth", PLANAR_DEPTH_FORMAT, None, true),
    }
}

/// A fragment-stage layout of one filterable 2D texture (binding 0) and its sampler (binding 1):
/// what the scene's base colour texture and the FXAA pass's input both bind.
pub(super) fn texture_and_sampler_layout(
    device: &wgpu::Device,
    label: &str,
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                count: None,
            },
        ],
    })
}
