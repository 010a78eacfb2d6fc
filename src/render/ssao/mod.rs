//! Screen-space ambient occlusion (vtk-effects.md §7, `vtkSSAOPass`): after the scene pass, each
//! pixel's occlusion is estimated from the depth buffer with VTK's kernel (`kernel.rs`), radius,
//! bias, intensity scale and shift, stored as R8 like VTK, then (3×3 blurred with VTK's weights
//! when `blur`) multiplied into the colour image through the blend state, before tone mapping.
//! The background (depth 1) keeps AO 1, so it is unchanged.
//!
//! Not VTK's, and so not pixel-exact (the doc checked SSAO only qualitatively): normals are
//! reconstructed from depth (VTK renders a normal buffer); the kernel is rotated per pixel by
//! interleaved gradient noise (VTK tiles a blue-noise JPEG); sample depths come from the full
//! resolution depth (VTK reads a mipmapped half-float position buffer); translucent surfaces are
//! darkened with the opaque ones behind them (VTK applies AO before drawing them).

mod kernel;

use bytemuck::{Pod, Zeroable};

use crate::protocol::drake::vtk_params::SsaoParameter;
use crate::render::fullscreen;
use crate::scene::camera::Intrinsics;

/// VTK clamps the kernel size to 1..=1000 (`SetKernelSize`); the uniform holds 1000.
const MAX_SAMPLES: u32 = 1000;

/// VTK stores AO as R8.
const OCCLUSION_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R8Unorm;

/// Mirrors the fixed part of `Ssao` in `ssao.wgsl`; the kernel follows it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct SsaoFrame {
    focal_center: [f32; 4],
    depth_radius_bias: [f32; 4],
    intensity_count_blur: [f32; 4],
}

/// What is created once per look with SSAO: the two pipelines, for the scene target's format.
pub(in crate::render) struct SsaoPass {
    layout: wgpu::BindGroupLayout,
    occlusion: wgpu::RenderPipeline,
    combine: wgpu::RenderPipeline,
    parameters: SsaoParameter,
}

impl SsaoPass {
    pub fn new(
        device: &wgpu::Device,
        parameters: &SsaoParameter,
        colour_format: wgpu::TextureFormat,
    ) -> Self {
        let texture = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ssao"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture(1),
                texture(2),
            ],
        });
        let shader = fullscreen::shader(device, "ssao", include_str!("ssao.wgsl"));
        let pipeline = |label, entry, format, blend| {
            fullscreen::pipeline(device, label, &layout, &shader, entry, format, blend)
        };
        // colour × AO, alpha kept.
        let multiply = wgpu::BlendState {
            color: wgpu::BlendComponent {
                src_factor: wgpu::BlendFactor::Dst,
                dst_factor: wgpu::BlendFactor::Zero,
                operation: wgpu::BlendOperation::Add,
            },
            alpha: wgpu::BlendComponent {
                src_factor: wgpu::BlendFactor::Zero,
                dst_factor: wgpu::BlendFactor::One,
                operation: wgpu::BlendOperation::Add,
            },
        };
        Self {
            occlusion: pipeline("ssao occlusion", "fs_occlusion", OCCLUSION_FORMAT, None),
            combine: pipeline("ssao combine", "fs_combine", colour_format, Some(multiply)),
            layout,
            parameters: parameters.clone(),
        }
    }
}

/// One renderer's SSAO state: the uniform (kernel written once) and the AO target of the
/// current image size.
pub(in crate::render) struct Ssao {
    uniform: wgpu::Buffer,
    occlusion: Option<((u32, u32), wgpu::TextureView)>,
}

impl Ssao {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, pass: &SsaoPass) -> Self {
        let samples = kernel::kernel(pass.parameters.sample_count.clamp(1, MAX_SAMPLES));
        let frame_size = std::mem::size_of::<SsaoFrame>() as u64;
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("ssao"),
            size: frame_size + u64::from(MAX_SAMPLES) * 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&uniform, frame_size, bytemuck::cast_slice(&samples));
        Self {
            uniform,
            occlusion: None,
        }
    }

    /// Records the occlusion and combine passes over `colour` (the scene pass's target, loaded
    /// and multiplied) from `depth` (its depth buffer, stored by the scene pass).
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pass: &SsaoPass,
        encoder: &mut wgpu::CommandEncoder,
        intrinsics: &Intrinsics,
        colour: &wgpu::TextureView,
        depth: &wgpu::TextureView,
    ) {
        let p = &pass.parameters;
        // Depth d of view z (−z forward): d = (A·z + B)/(−z), A = f/(n − f), B = n·f/(n − f),
        // so z = −B/(d + A).
        let (n, f) = (intrinsics.near, intrinsics.far);
        let frame = SsaoFrame {
            focal_center: [
                intrinsics.focal_x as f32,
                intrinsics.focal_y as f32,
                intrinsics.center_x as f32,
                intrinsics.center_y as f32,
            ],
            depth_radius_bias: [
                (f / (n - f)) as f32,
                (n * f / (n - f)) as f32,
                p.radius as f32,
                p.bias as f32,
            ],
            intensity_count_blur: [
                p.intensity_scale as f32,
                p.intensity_shift as f32,
                p.sample_count.clamp(1, MAX_SAMPLES) as f32,
                f32::from(u8::from(p.blur)),
            ],
        };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&frame));
        let size = (intrinsics.width, intrinsics.height);
        if self.occlusion.as_ref().is_none_or(|(s, _)| *s != size) {
            let texture = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("ssao occlusion"),
                size: wgpu::Extent3d {
                    width: size.0,
                    height: size.1,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: OCCLUSION_FORMAT,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                    | wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            });
            self.occlusion = Some((size, texture.create_view(&Default::default())));
        }
        let Some((_, occlusion)) = &self.occlusion else {
            return;
        };
        // The targets behind `colour` and `depth` may be new: bind them afresh (cheap).
        let bind = |ao: &wgpu::TextureView| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("ssao"),
                layout: &pass.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(depth),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(ao),
                    },
                ],
            })
        };
        // The occlusion pass does not read binding 2; the depth view stands in for it.
        let occlusion_inputs = bind(depth);
        let combine_inputs = bind(occlusion);
        fullscreen::draw(
            encoder,
            "ssao occlusion",
            occlusion,
            wgpu::LoadOp::Clear(wgpu::Color::WHITE),
            &pass.occlusion,
            &occlusion_inputs,
        );
        fullscreen::draw(
            encoder,
            "ssao combine",
            colour,
            wgpu::LoadOp::Load,
            &pass.combine,
            &combine_inputs,
        );
    }
}
