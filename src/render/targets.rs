//! Render targets, kept across requests while the image size stays the same: each image kind's
//! attachments, and the FXAA (and tone-mapping) passes' bindings of their inputs, which live and
//! die with them.

use super::formats::{COLOR_FORMAT, DEPTH_FORMAT, PLANAR_DEPTH_FORMAT, SCENE_FLOAT_FORMAT};
use super::fxaa::FxaaTarget;
use super::gpu::Gpu;
use super::image::ImageKind;
use super::scene_pass::SceneTarget;
use super::tone_map::ToneMapTarget;

struct Target {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
}

impl Target {
    /// A single-sample render attachment that is also used as `usage` says (copied from,
    /// sampled).
    fn new(
        gpu: &Gpu,
        label: &str,
        size: (u32, u32),
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
    ) -> Self {
        let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: size.0,
                height: size.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | usage,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Self { texture, view }
    }
}

/// An 8-bit colour image FXAA reads (the scene's, or the tone map's), with its binding.
struct SceneColour {
    target: Target,
    fxaa_input: wgpu::BindGroup,
}

impl SceneColour {
    fn new(gpu: &Gpu, label: &str, size: (u32, u32)) -> Self {
        let target = Target::new(
            gpu,
            label,
            size,
            COLOR_FORMAT,
            wgpu::TextureUsages::TEXTURE_BINDING,
        );
        let fxaa_input = gpu.fxaa.bind(&gpu.device, &target.view);
        Self { target, fxaa_input }
    }
}

/// With an exposure: the float scene colour, the tone map's binding of it at that exposure, and
/// the 8-bit tone-mapped image with FXAA's binding of it.
struct ToneMapped {
    exposure: f32,
    scene: Target,
    tone_map_input: wgpu::BindGroup,
    mapped: SceneColour,
}

/// What each pass of one image draws into, and the texture read back afterwards.
pub(super) struct Attachments<'a> {
    pub scene: SceneTarget<'a>,
    /// Colour images with an exposure: the tone map reads the scene's float colour and writes
    /// what FXAA reads.
    pub tone_map: Option<ToneMapTarget<'a>>,
    /// Colour images only: FXAA reads the scene's colour and writes `readable`.
    pub fxaa: Option<FxaaTarget<'a>>,
    pub readable: &'a wgpu::Texture,
}

/// The targets of one image size, each created the first time a pass needs it.
#[derive(Default)]
pub(super) struct Targets {
    size: (u32, u32),
    /// Colour and label output (label renders into it directly, FXAA writes colour into it).
    rgba: Option<Target>,
    scene_colour: Option<SceneColour>,
    tone_mapped: Option<ToneMapped>,
    /// Depth-test buffer of every pass.
    depth_test: Option<Target>,
    planar_depth: Option<Target>,
}

const READABLE: wgpu::TextureUsages = wgpu::TextureUsages::COPY_SRC;

impl Targets {
    pub fn ensure_size(&mut self, width: u32, height: u32) {
        if self.size != (width, height) {
            *self = Self {
                size: (width, height),
                ..Self::default()
            };
        }
    }

    /// `exposure`: the look's, which tone-maps colour images.
    pub fn for_kind<'a>(
        &'a mut self,
        gpu: &Gpu,
        kind: ImageKind,
        exposure: Option<f32>,
    ) -> Attachments<'a> {
        match (kind, exposure) {
            (ImageKind::Color, None) => self.color(gpu),
            (ImageKind::Color, Some(exposure)) => self.tone_mapped(gpu, exposure),
            (ImageKind::Label, _) => self.label(gpu),
            (ImageKind::Depth { .. }, _) => self.depth(gpu),
        }
    }

    fn color<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let scene = self
            .scene_colour
            .get_or_insert_with(|| SceneColour::new(gpu, "scene colour", size));
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, READABLE));
        Attachments {
            scene: SceneTarget {
                color: &scene.target.view,
                depth: depth_test(&mut self.depth_test, gpu, size),
            },
            tone_map: None,
            fxaa: Some(FxaaTarget {
                input: &scene.fxaa_input,
                output: &rgba.view,
            }),
            readable: &rgba.texture,
        }
    }

    fn tone_mapped<'a>(&'a mut self, gpu: &Gpu, exposure: f32) -> Attachments<'a> {
        let size = self.size;
        if self
            .tone_mapped
            .as_ref()
            .is_some_and(|t| t.exposure != exposure)
        {
            self.tone_mapped = None;
        }
        let tone_mapped = self.tone_mapped.get_or_insert_with(|| {
            let scene = Target::new(
                gpu,
                "scene float colour",
                size,
                SCENE_FLOAT_FORMAT,
                wgpu::TextureUsages::TEXTURE_BINDING,
            );
            let tone_map_input = gpu
                .tone_map
                .bind(&gpu.device, &gpu.queue, &scene.view, exposure);
            ToneMapped {
                exposure,
                tone_map_input,
                mapped: SceneColour::new(gpu, "tone mapped colour", size),
                scene,
            }
        });
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, READABLE));
        Attachments {
            scene: SceneTarget {
                color: &tone_mapped.scene.view,
                depth: depth_test(&mut self.depth_test, gpu, size),
            },
            tone_map: Some(ToneMapTarget {
                input: &tone_mapped.tone_map_input,
                output: &tone_mapped.mapped.target.view,
            }),
            fxaa: Some(FxaaTarget {
                input: &tone_mapped.mapped.fxaa_input,
                output: &rgba.view,
            }),
            readable: &rgba.texture,
        }
    }

    fn label<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, READABLE));
        Attachments {
            scene: SceneTarget {
                color: &rgba.view,
                depth: depth_test(&mut self.depth_test, gpu, size),
            },
            tone_map: None,
            fxaa: None,
            readable: &rgba.texture,
        }
    }

    fn depth<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let planar = self.planar_depth.get_or_insert_with(|| {
            Target::new(gpu, "planar depth", size, PLANAR_DEPTH_FORMAT, READABLE)
        });
        Attachments {
            scene: SceneTarget {
                color: &planar.view,
                depth: depth_test(&mut self.depth_test, gpu, size),
            },
            tone_map: None,
            fxaa: None,
            readable: &planar.texture,
        }
    }
}

fn depth_test<'a>(
    slot: &'a mut Option<Target>,
    gpu: &Gpu,
    size: (u32, u32),
) -> &'a wgpu::TextureView {
    &slot
        .get_or_insert_with(|| {
            Target::new(
                gpu,
                "depth test",
                size,
                DEPTH_FORMAT,
                // SSAO reads it after the scene pass.
                wgpu::TextureUsages::TEXTURE_BINDING,
            )
        })
        .view
}
