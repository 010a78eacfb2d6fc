//! The FXAA post-pass of colour images: its pipeline, sampler and layout (created once, in
//! [`Gpu`](super::gpu::Gpu)), the per-size bind group over the scene's colour (kept with the
//! [targets](super::targets)), and the pass itself. Its shader, `fxaa.wgsl`, is VTK's FXAA.
//!
//! RenderEngineVtk anti-aliases colour with VTK's FXAA filter, so the same post-pass is both the
//! closest match and far cheaper than multisampling on a software rasteriser (lavapipe spent two
//! thirds of a 640×480 colour render on 4× MSAA).

use super::formats::COLOR_FORMAT;
use super::textures::texture_and_sampler_layout;

/// What the pass reads and writes for one image.
pub(super) struct FxaaTarget<'a> {
    /// The scene colour, bound by [`Fxaa::bind`].
    pub input: &'a wgpu::BindGroup,
    pub output: &'a wgpu::TextureView,
}

pub(super) struct Fxaa {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    /// Linear, for the edge resample, which lands between two pixels (every other fetch loads a
    /// whole pixel); clamped to the edge as those loads are.
    sampler: wgpu::Sampler,
}

impl Fxaa {
    pub fn new(device: &wgpu::Device) -> Self {
        let shader = device.create_shader_module(wgpu::include_wgsl!("fxaa.wgsl"));
        let layout = texture_and_sampler_layout(device, "fxaa input");
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("fxaa"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("fxaa"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_fullscreen"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_fxaa"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: COLOR_FORMAT,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("fxaa"),
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Self {
            pipeline,
            layout,
            sampler,
        }
    }

    /// The pass's input: the single-sample scene colour of one image size.
    pub fn bind(&self, device: &wgpu::Device, scene_colour: &wgpu::TextureView) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("fxaa input"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(scene_colour),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        })
    }

    /// Writes every pixel of the target's output, which has the bound input's size.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, target: &FxaaTarget<'_>) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("fxaa"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target.output,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, target.input, &[]);
        pass.draw(0..3, 0..1);
    }
}
