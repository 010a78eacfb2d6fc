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
    fn new(
        gpu: &Gpu,
        label: &str,
        size: (u32, u32),
        format: wgpu::TextureFormat,
        samples: u32,
        readable: bool,
    ) -> Self {
        let mut usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if readable {
            usage |= wgpu::TextureUsages::COPY_SRC;
        }
        let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: size.0,
                height: size.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: samples,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Self { texture, view }
    }
}

/// Views a pass draws into and the single-sample texture read back afterwards.
pub(super) struct Attachments<'a> {
    pub color: &'a wgpu::TextureView,
    pub resolve: Option<&'a wgpu::TextureView>,
    pub depth: &'a wgpu::TextureView,
    pub readable: &'a wgpu::Texture,
}

/// The targets of one image size, each created the first time a pass needs it.
#[derive(Default)]
pub(super) struct Targets {
    size: (u32, u32),
    /// Colour and label output (label renders into it directly, colour resolves into it).
    rgba: Option<Target>,
    multisampled_color: Option<Target>,
    multisampled_depth: Option<Target>,
    /// Depth-test buffer of the single-sample passes (label, depth).
    depth_test: Option<Target>,
    planar_depth: Option<Target>,
}

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
        let samples = gpu.color_samples;
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, 1, true));
        if samples == 1 {
            let depth = self.depth_test.get_or_insert_with(|| {
                Target::new(gpu, "depth test", size, DEPTH_FORMAT, 1, false)
            });
            return Attachments {
                color: &rgba.view,
                resolve: None,
                depth: &depth.view,
                readable: &rgba.texture,
            };
        }
        let color = self.multisampled_color.get_or_insert_with(|| {
            Target::new(
                gpu,
                "multisampled colour",
                size,
                COLOR_FORMAT,
                samples,
                false,
            )
        });
        let depth = self.multisampled_depth.get_or_insert_with(|| {
            Target::new(
                gpu,
                "multisampled depth",
                size,
                DEPTH_FORMAT,
                samples,
                false,
            )
        });
        Attachments {
            color: &color.view,
            resolve: Some(&rgba.view),
            depth: &depth.view,
            readable: &rgba.texture,
        }
    }

    pub fn label<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let rgba = self
            .rgba
            .get_or_insert_with(|| Target::new(gpu, "rgba", size, COLOR_FORMAT, 1, true));
        let depth = self
            .depth_test
            .get_or_insert_with(|| Target::new(gpu, "depth test", size, DEPTH_FORMAT, 1, false));
        Attachments {
            color: &rgba.view,
            resolve: None,
            depth: &depth.view,
            readable: &rgba.texture,
        }
    }

    pub fn depth<'a>(&'a mut self, gpu: &Gpu) -> Attachments<'a> {
        let size = self.size;
        let planar = self.planar_depth.get_or_insert_with(|| {
            Target::new(gpu, "planar depth", size, PLANAR_DEPTH_FORMAT, 1, true)
        });
        let depth = self
            .depth_test
            .get_or_insert_with(|| Target::new(gpu, "depth test", size, DEPTH_FORMAT, 1, false));
        Attachments {
            color: &planar.view,
            resolve: None,
            depth: &depth.view,
            readable: &planar.texture,
        }
    }
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
