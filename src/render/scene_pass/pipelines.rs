//! The scene pass's pipelines (label, depth, and colour variants by shading, coverage, culling and
//! target format), and the layout of its frame and material uniforms. Created once, with the
//! [`ScenePass`](super::ScenePass).
//!
//! The shader is one WGSL module assembled from three files: `scene.wgsl` (vertex stage, materials,
//! lights, the entry points), `shadows.wgsl` (`shadow_factor`) and `environment.wgsl` (image-based
//! lighting). The last two bind the look's resources as group 2.

use std::sync::OnceLock;

use crate::render::formats::{COLOR_FORMAT, DEPTH_FORMAT, PLANAR_DEPTH_FORMAT, SCENE_FLOAT_FORMAT};
use crate::render::image::ImageKind;
use crate::render::look::MAX_LIGHTS;
use crate::render::resident::Vertex;

use super::uniforms::{DrawUniform, FrameUniform};

/// The scene shader: its own file and the effects' two.
const SCENE_WGSL: &str = concat!(
    include_str!("scene.wgsl"),
    "\n",
    include_str!("shadows.wgsl"),
    "\n",
    include_str!("environment.wgsl"),
);

/// How a colour draw is shaded and blended: what picks its pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::render) struct ColourVariant {
    /// RenderEngineVtk's PBR path rather than Phong (vtk-effects.md §3).
    pub pbr: bool,
    pub coverage: Coverage,
    /// Back faces culled: a user glTF material that is not `doubleSided` (VTK's
    /// `BackfaceCullingOn`). `Front` for mirrored instances, whose front faces arrive clockwise.
    pub cull: Option<wgpu::Face>,
    /// The scene renders into the float target that tone mapping reads (`exposure` set).
    pub float_target: bool,
    /// The look has point or spot lights (the shader's `positional_lights`).
    pub positional_lights: bool,
    /// The mesh has `COLOR_0` (the shader's `vertex_colors`).
    pub vertex_colors: bool,
    /// The look casts shadows (the shader's `cast_shadows`).
    pub shadows: bool,
    /// The look's light count, 0 to [`MAX_LIGHTS`] (the shader's `light_count`).
    pub lights: u8,
    /// The look has an environment map (the shader's `environment_lighting`).
    pub environment: bool,
    /// The draw's material binds a texture (the shader's `textured`).
    pub textured: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::render) enum Coverage {
    Opaque,
    /// alphaMode MASK: opaque where alpha reaches the cutoff, not drawn elsewhere.
    Masked,
    /// Blended over what is behind, without depth writes.
    Blended,
}

impl ColourVariant {
    /// The default look's opaque and blended draws, untextured and textured (one light: the
    /// headlight).
    const DEFAULTS: [Self; 4] = [
        Self::phong(Coverage::Opaque, false),
        Self::phong(Coverage::Blended, false),
        Self::phong(Coverage::Opaque, true),
        Self::phong(Coverage::Blended, true),
    ];

    const fn phong(coverage: Coverage, textured: bool) -> Self {
        Self {
            pbr: false,
            coverage,
            cull: None,
            float_target: false,
            positional_lights: false,
            vertex_colors: false,
            shadows: false,
            lights: 1,
            environment: false,
            textured,
        }
    }

    const COUNT: usize = 2 * 3 * 3 * 2 * 2 * 2 * 2 * 2 * 2 * (MAX_LIGHTS + 1);

    fn index(self) -> usize {
        let coverage = match self.coverage {
            Coverage::Opaque => 0,
            Coverage::Masked => 1,
            Coverage::Blended => 2,
        };
        let cull = match self.cull {
            None => 0,
            Some(wgpu::Face::Back) => 1,
            Some(wgpu::Face::Front) => 2,
        };
        let index = ((usize::from(self.pbr) * 3 + coverage) * 3 + cull) * 2;
        let index = ((index + usize::from(self.float_target)) * 2
            + usize::from(self.positional_lights))
            * 2
            + usize::from(self.vertex_colors);
        let index = index * 2 + usize::from(self.shadows);
        let index = (index * 2 + usize::from(self.environment)) * 2 + usize::from(self.textured);
        index * (MAX_LIGHTS + 1) + usize::from(self.lights).min(MAX_LIGHTS)
    }

    /// Reads neither world positions nor vertex colours, so it is drawn with the narrow vertex
    /// stage (`vs_plain`): the default look is.
    fn plain(self) -> bool {
        !(self.pbr || self.positional_lights || self.vertex_colors || self.shadows)
    }

    fn vertex_entry_point(self) -> &'static str {
        if self.plain() {
            "vs_plain"
        } else {
            "vs_main"
        }
    }

    fn fragment_entry_point(self) -> &'static str {
        match (self.pbr, self.plain(), self.coverage) {
            (false, true, Coverage::Opaque) => "fs_phong_plain_opaque",
            (false, true, Coverage::Masked) => "fs_phong_plain_masked",
            (false, true, Coverage::Blended) => "fs_phong_plain_blended",
            (false, false, Coverage::Opaque) => "fs_phong_opaque",
            (false, false, Coverage::Masked) => "fs_phong_masked",
            (false, false, Coverage::Blended) => "fs_phong_blended",
            (true, _, Coverage::Opaque) => "fs_pbr_opaque",
            (true, _, Coverage::Masked) => "fs_pbr_masked",
            (true, _, Coverage::Blended) => "fs_pbr_blended",
        }
    }
}

/// The scene pass's pipelines: label and depth, and the colour variants, each created the first
/// time it is drawn with (the default look's are created at start, so it never waits for one).
pub(super) struct Pipelines {
    /// Kept to create colour variants on first use.
    device: wgpu::Device,
    shader: wgpu::ShaderModule,
    layout: wgpu::PipelineLayout,
    /// Indexed by [`ColourVariant::index`]; on the heap, as the array is too large for the stack of
    /// the thread that creates the device.
    colour: Box<[OnceLock<wgpu::RenderPipeline>]>,
    /// By [`cull_index`]: no culling, or the hidden faces of closed meshes.
    label: [OnceLock<wgpu::RenderPipeline>; 3],
    depth: [OnceLock<wgpu::RenderPipeline>; 3],
}

/// 0 for no culling, 1 for back faces, 2 for front faces.
fn cull_index(cull: Option<wgpu::Face>) -> usize {
    match cull {
        None => 0,
        Some(wgpu::Face::Back) => 1,
        Some(wgpu::Face::Front) => 2,
    }
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
        let pipelines = Self {
            label: Default::default(),
            depth: Default::default(),
            colour: (0..ColourVariant::COUNT).map(|_| OnceLock::new()).collect(),
            device: device.clone(),
            shader,
            layout,
        };
        for variant in ColourVariant::DEFAULTS {
            pipelines.colour(variant);
        }
        for kind in [
            ImageKind::Label,
            ImageKind::Depth {
                min_depth: 0.0,
                max_depth: 0.0,
            },
        ] {
            pipelines.non_colour(kind, None);
        }
        pipelines
    }

    /// The colour pipeline of `variant`, created on first use.
    pub fn colour(&self, variant: ColourVariant) -> &wgpu::RenderPipeline {
        self.colour[variant.index()].get_or_init(|| {
            create(
                &self.device,
                &self.shader,
                &self.layout,
                &Kind::Colour(variant),
            )
        })
    }

    /// The pipeline of label or depth images culling `cull` (`None` for colour: see
    /// [`Self::colour`]), created on first use.
    pub fn non_colour(
        &self,
        kind: ImageKind,
        cull: Option<wgpu::Face>,
    ) -> Option<&wgpu::RenderPipeline> {
        let (slots, kind) = match kind {
            ImageKind::Color => return None,
            ImageKind::Label => (&self.label, Kind::Label(cull)),
            ImageKind::Depth { .. } => (&self.depth, Kind::Depth(cull)),
        };
        Some(
            slots[cull_index(cull)]
                .get_or_init(|| create(&self.device, &self.shader, &self.layout, &kind)),
        )
    }
}

enum Kind {
    Colour(ColourVariant),
    /// With the faces culled.
    Label(Option<wgpu::Face>),
    Depth(Option<wgpu::Face>),
}

fn create(
    device: &wgpu::Device,
    shader: &wgpu::ShaderModule,
    layout: &wgpu::PipelineLayout,
    kind: &Kind,
) -> wgpu::RenderPipeline {
    // Straight alpha for colour; alpha itself composites "over", so a translucent layer over
    // opaque pixels keeps alpha 1. Label and depth never blend or look at materials, and cull
    // only the faces of closed meshes that cannot be seen.
    // Label and depth read neither, so the defaults do.
    let constants = match kind {
        Kind::Colour(variant) => vec![
            (
                "positional_lights",
                f64::from(u8::from(variant.positional_lights)),
            ),
            ("vertex_colors", f64::from(u8::from(variant.vertex_colors))),
            ("cast_shadows", f64::from(u8::from(variant.shadows))),
            ("light_count", f64::from(variant.lights)),
            (
                "environment_lighting",
                f64::from(u8::from(variant.environment)),
            ),
            ("textured", f64::from(u8::from(variant.textured))),
        ],
        Kind::Label(_) | Kind::Depth(_) => Vec::new(),
    };
    let (label, vertex, fragment, format, blend, depth_write, cull_mode) = match kind {
        Kind::Colour(variant) => (
            "colour",
            variant.vertex_entry_point(),
            variant.fragment_entry_point(),
            if variant.float_target {
                SCENE_FLOAT_FORMAT
            } else {
                COLOR_FORMAT
            },
            (variant.coverage == Coverage::Blended).then_some(wgpu::BlendState::ALPHA_BLENDING),
            variant.coverage != Coverage::Blended,
            variant.cull,
        ),
        Kind::Label(cull) => (
            "label",
            "vs_plain",
            "fs_label",
            COLOR_FORMAT,
            None,
            true,
            *cull,
        ),
        Kind::Depth(cull) => (
            "depth",
            "vs_plain",
            "fs_depth",
            PLANAR_DEPTH_FORMAT,
            None,
            true,
            *cull,
        ),
    };
    let vertex_attributes =
        wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x2, 3 => Unorm8x4];
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some(vertex),
            compilation_options: Default::default(),
            buffers: &[Some(wgpu::VertexBufferLayout {
                array_stride: std::mem::size_of::<Vertex>() as u64,
                step_mode: wgpu::VertexStepMode::Vertex,
                attributes: &vertex_attributes,
            })],
        },
        // No culling but for user glTFs that ask for it (VTK draws back faces, lit two-sided,
        // and open meshes must not vanish) and for the faces of closed meshes that cannot be
        // seen (`upload::hidden_faces`).
        primitive: wgpu::PrimitiveState {
            topology: wgpu::PrimitiveTopology::TriangleList,
            front_face: wgpu::FrontFace::Ccw,
            cull_mode,
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
            module: shader,
            entry_point: Some(fragment),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                ..Default::default()
            },
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
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
