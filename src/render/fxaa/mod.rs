//! The FXAA post-pass of colour images: its pipeline, sampler and layout (created once per
//! process), the per-size bind group over the scene's colour (kept with the render targets), and
//! the pass itself. Its shader, `fxaa.wgsl`, is VTK's FXAA.
//!
//! RenderEngineVtk anti-aliases colour with VTK's FXAA filter, so the same post-pass is both the
//! closest match and far cheaper than multisampling on a software rasteriser (lavapipe spent two
//! thirds of a 640×480 colour render on 4× MSAA).

use super::formats::COLOR_FORMAT;
use super::fullscreen;
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
        let shader = fullscreen::shader(device, "fxaa", include_str!("fxaa.wgsl"));
        let layout = texture_and_sampler_layout(device, "fxaa input");
        let pipeline = fullscreen::pipeline(
            device,
            "fxaa",
            &layout,
            &shader,
            "fs_fxaa",
            COLOR_FORMAT,
            None,
        );
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
        fullscreen::draw(
            encoder,
            "fxaa",
            target.output,
            wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
            &self.pipeline,
            target.input,
        );
    }
}
