//! The skybox pipeline (`skybox.wgsl`): drawn first in the colour scene pass, where the
//! background would otherwise be the clear colour; it writes no depth, so geometry covers it.

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec3};

use crate::render::formats::DEPTH_FORMAT;
use crate::scene::camera::Intrinsics;
use crate::scene::Scene;

/// Mirrors `Sky` in `skybox.wgsl` (a mat3x3: three columns padded to vec4).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct SkyUniform {
    pixel_to_world: [[f32; 4]; 3],
}

/// Created once per look with a skybox.
pub(in crate::render) struct SkyboxPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
}

impl SkyboxPipeline {
    /// For a scene target of `colour_format`.
    pub fn new(device: &wgpu::Device, colour_format: wgpu::TextureFormat) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("skybox"),
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
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("skybox"),
            source: wgpu::ShaderSource::Wgsl(
                concat!(include_str!("direction.wgsl"), include_str!("skybox.wgsl")).into(),
            ),
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("skybox"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("skybox"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_skybox"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(false),
                depth_compare: Some(wgpu::CompareFunction::Always),
                stencil: wgpu::StencilState::default(),
                bias: wgpu::DepthBiasState::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_skybox"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: colour_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        Self { pipeline, layout }
    }
}

/// One renderer's skybox uniform (the camera's rays) and its bind group.
pub(in crate::render) struct Skybox {
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl Skybox {
    pub fn new(
        device: &wgpu::Device,
        pipeline: &SkyboxPipeline,
        equirect: &wgpu::TextureView,
        sampler: &wgpu::Sampler,
    ) -> Self {
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("skybox"),
            size: std::mem::size_of::<SkyUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("skybox"),
            layout: &pipeline.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(equirect),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(sampler),
                },
            ],
        });
        Self {
            uniform,
            bind_group,
        }
    }

    /// Writes this request's camera rays: pixel (x, y) looks along
    /// R_node · diag(1, −1, −1) · ((x − cx)/fx, (y − cy)/fy, 1) in the world, Drake's pinhole
    /// ray turned from its camera frame into the glTF camera node's.
    pub fn update(&self, queue: &wgpu::Queue, scene: &Scene, intrinsics: &Intrinsics) {
        let rotation = scene
            .camera
            .map_or(DMat3::IDENTITY, |c| DMat3::from_mat4(c.camera_to_world));
        let drake_to_node = DMat3::from_diagonal(DVec3::new(1.0, -1.0, -1.0));
        let unproject = DMat3::from_cols(
            DVec3::new(1.0 / intrinsics.focal_x, 0.0, 0.0),
            DVec3::new(0.0, 1.0 / intrinsics.focal_y, 0.0),
            DVec3::new(
                -intrinsics.center_x / intrinsics.focal_x,
                -intrinsics.center_y / intrinsics.focal_y,
                1.0,
            ),
        );
        let m = rotation * drake_to_node * unproject;
        let column = |c: DVec3| c.as_vec3().extend(0.0).to_array();
        let uniform = SkyUniform {
            pixel_to_world: [column(m.x_axis), column(m.y_axis), column(m.z_axis)],
        };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&uniform));
    }

    /// Draws the background (call first in the pass).
    pub fn draw(&self, pipeline: &SkyboxPipeline, pass: &mut wgpu::RenderPass<'_>) {
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
