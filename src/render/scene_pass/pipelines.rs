//! The scene pass's pipelines, one per image kind (colour has an opaque and a blended one), and
//! the layout of its frame and material uniforms. Created once, in [`Gpu`](crate::render::gpu::Gpu).
//!
//! The shader is one WGSL module assembled from three files: `scene.wgsl` (vertex stage, materials,
//! lights, the entry points), `shadows.wgsl` (`shadow_factor`) and `environment.wgsl` (image-based
//! lighting). The last two bind the look's resources as group 2.

use crate::render::formats::{COLOR_FORMAT, DEPTH_FORMAT, PLANAR_DEPTH_FORMAT};
use crate::render::image::ImageKind;

use super::uniforms::{DrawUniform, FrameUniform, Vertex};

/// The scene shader: its own file and the effects' two.
const SCENE_WGSL: &str = concat!(
    include_str!("scene.wgsl"),
    "\n",
    include_str!("shadows.wgsl"),
    "\n",
    include_str!("environment.wgsl"),
);

pub(super) struct Pipelines {
    color_opaque: wgpu::RenderPipeline,
    color_blended: wgpu::RenderPipeline,
    label: wgpu::RenderPipeline,
    depth: wgpu::RenderPipeline,
}

impl Pipelines {
    pub fn new(
        device: &wgpu::Device,
        frame_layout: &wgpu::BindGroupLayout,
        texture_layout: &wgpu::BindGroupLayout,
        look_layout: &wgpu::BindGroupLayout,
    ) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("scene"),
            source: wgpu::ShaderSource::Wgsl(SCENE_WGSL.into()),
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("scene"),
            bind_group_layouts: &[Some(frame_layout), Some(texture_layout), Some(look_layout)],
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
        Self {
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

    /// The pipelines `kind` draws opaque and blended meshes with: only colour blends.
    pub fn for_kind(&self, kind: ImageKind) -> (&wgpu::RenderPipeline, &wgpu::RenderPipeline) {
        match kind {
            ImageKind::Color => (&self.color_opaque, &self.color_blended),
            ImageKind::Label => (&self.label, &self.label),
            ImageKind::Depth { .. } => (&self.depth, &self.depth),
        }
    }
}

/// Group 0: the frame uniform, and each mesh's material at a dynamic offset.
pub(super) fn frame_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("frame and material"),
        entries: &[
            uniform_entry(0, false, std::mem::size_of::<FrameUniform>()),
            uniform_entry(1, true, std::mem::size_of::<DrawUniform>()),
        ],
    })
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
