//! Render targets and the readback buffer, kept across requests: targets while the image size
//! stays the same, the readback buffer while it is big enough (and not wastefully big).

use super::gpu::{Gpu, COLOR_FORMAT, DEPTH_FORMAT, PLANAR_DEPTH_FORMAT};
use super::RenderError;

/// A buffer this many times larger than the request is replaced by one of the right size, so one
/// huge image does not pin its memory for the renderer's lifetime.
const MAX_OVERSIZE: u64 = 4;

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

/// The colour scene pass's aliased output and the FXAA pass's binding of it.
struct SceneColour {
    target: Target,
    fxaa_input: wgpu::BindGroup,
}

/// Views a pass draws into and the texture read back afterwards.
pub(super) struct Attachments<'a> {
    pub color: &'a wgpu::TextureView,
    pub depth: &'a wgpu::TextureView,
    /// Colour images only: FXAA reads `color` and writes the view of `readable`.
    pub anti_alias: Option<AntiAlias<'a>>,
    pub readable: &'a wgpu::Texture,
}

pub(super) struct AntiAlias<'a> {
    pub input: &'a wgpu::BindGroup,
    pub output: &'a wgpu::TextureView,
}

/// The targets of one image size, each created the first time a pass needs it.
#[derive(Default)]
pub(super) struct Targets {
    size: (u32, u32),
    /// Colour and label output (label renders into it directly, FXAA writes colour into it).
    rgba: Option<Target>,
    scene_colour: Option<SceneColour>,
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

    pub fn color<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let scene = self.scene_colour.get_or_insert_with(|| {
            let target = Target::new(
                gpu,
                "scene colour",
                size,
                COLOR_FORMAT,
                wgpu::TextureUsages::TEXTURE_BINDING,
            );
            let fxaa_input = gpu.fxaa.bind(&gpu.device, &target.view);
            SceneColour { target, fxaa_input }
        });
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, READABLE));
        Attachments {
            color: &scene.target.view,
            depth: depth_test(&mut self.depth_test, gpu, size),
            anti_alias: Some(AntiAlias {
                input: &scene.fxaa_input,
                output: &rgba.view,
            }),
            readable: &rgba.texture,
        }
    }

    pub fn label<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, READABLE));
        Attachments {
            color: &rgba.view,
            depth: depth_test(&mut self.depth_test, gpu, size),
            anti_alias: None,
            readable: &rgba.texture,
        }
    }

    pub fn depth<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let planar = self.planar_depth.get_or_insert_with(|| {
            Target::new(gpu, "planar depth", size, PLANAR_DEPTH_FORMAT, READABLE)
        });
        Attachments {
            color: &planar.view,
            depth: depth_test(&mut self.depth_test, gpu, size),
            anti_alias: None,
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
                wgpu::TextureUsages::empty(),
            )
        })
        .view
}

/// The mappable buffer images are copied into. Every target has 4-byte texels.
#[derive(Default)]
pub(super) struct ReadbackBuffer {
    buffer: Option<wgpu::Buffer>,
}

const BYTES_PER_TEXEL: u32 = 4;

impl ReadbackBuffer {
    /// Copies `texture` (4-byte texels) out, submits `encoder` with it, waits, and hands each
    /// row to `each_row`, top row first, without the 256-byte row padding: the caller converts
    /// straight into its output, with no intermediate copy of the image.
    pub fn read(
        &mut self,
        gpu: &Gpu,
        mut encoder: wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        width: u32,
        height: u32,
        mut each_row: impl FnMut(&[u8]),
    ) -> Result<(), RenderError> {
        let row_bytes = width * BYTES_PER_TEXEL;
        let padded_row_bytes = row_bytes.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let size = u64::from(padded_row_bytes) * u64::from(height);
        let buffer = match self.buffer.take() {
            Some(buffer) if buffer.size() >= size && buffer.size() <= size * MAX_OVERSIZE => buffer,
            _ => gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size,
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            }),
        };
        let buffer = self.buffer.insert(buffer);
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row_bytes),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        let submission = gpu.queue.submit([encoder.finish()]);
        let slice = buffer.slice(..size);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            // The receiver outlives the poll below; a failed send only means it already returned.
            let _ = sender.send(result);
        });
        gpu.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: None,
            })
            .map_err(|e| RenderError::Gpu(format!("waiting for the GPU: {e}")))?;
        receiver
            .recv()
            .map_err(|_| RenderError::Gpu("readback callback never ran".to_owned()))?
            .map_err(|e| RenderError::Gpu(format!("mapping the readback buffer: {e}")))?;
        {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| RenderError::Gpu(format!("reading the readback buffer: {e}")))?;
            for row in mapped.chunks_exact(padded_row_bytes as usize) {
                each_row(&row[..row_bytes as usize]);
            }
        }
        buffer.unmap();
        Ok(())
    }
}
