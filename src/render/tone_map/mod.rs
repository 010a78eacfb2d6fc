//! The tone-mapping pass of colour images when the look has an exposure: it reads the float
//! scene colour and writes the 8-bit image FXAA reads (`tone_map.wgsl`, VTK's generic filmic
//! curve). Without an exposure there is no such pass, and the scene renders into 8 bits directly.

use super::formats::COLOR_FORMAT;
use super::fullscreen;

/// What the pass reads and writes for one image.
pub(super) struct ToneMapTarget<'a> {
    /// The float scene colour and the exposure, bound by [`ToneMap::bind`].
    pub input: &'a wgpu::BindGroup,
    pub output: &'a wgpu::TextureView,
}

pub(super) struct ToneMap {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
}

impl ToneMap {
    pub fn new(device: &wgpu::Device) -> Self {
        let shader = fullscreen::shader(device, "tone map", include_str!("tone_map.wgsl"));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("tone map input"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: wgpu::BufferSize::new(16),
                    },
                    count: None,
                },
            ],
        });
        let pipeline = fullscreen::pipeline(
            device,
            "tone map",
            &layout,
            &shader,
            "fs_tone_map",
            COLOR_FORMAT,
            None,
        );
        Self { pipeline, layout }
    }

    /// The pass's input: the float scene colour of one image size, at `exposure`.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        scene_colour: &wgpu::TextureView,
        exposure: f32,
    ) -> wgpu::BindGroup {
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tone map exposure"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&params, 0, bytemuck::cast_slice(&[exposure, 0.0, 0.0, 0.0]));
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("tone map input"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(scene_colour),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: params.as_entire_binding(),
                },
            ],
        })
    }

    /// Writes every pixel of the target's output, which has the bound input's size.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, target: &ToneMapTarget<'_>) {
        fullscreen::draw(
            encoder,
            "tone map",
            target.output,
            wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
            &self.pipeline,
            target.input,
        );
    }
}
