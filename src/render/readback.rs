//! Reading an image back: the mappable buffer it is copied into (kept across requests while it
//! is big enough and not wastefully big), row padding stripped, texels turned into an [`Image`].

use super::error::RenderError;
use super::gpu::Gpu;
use super::image::{Image, ImageKind};

/// A buffer this many times larger than the request is replaced by one of the right size, so one
/// huge image does not pin its memory for the renderer's lifetime.
const MAX_OVERSIZE: u64 = 4;

/// The mappable buffer images are copied into. Every target has 4-byte texels.
#[derive(Default)]
pub(super) struct ReadbackBuffer {
    buffer: Option<wgpu::Buffer>,
}

const BYTES_PER_TEXEL: u32 = 4;

impl ReadbackBuffer {
    /// Submits `encoder` with a copy of `texture`, the target `kind` was rendered into, and
    /// converts its texels into the image: RGBA for colour, RGB for labels, the f32 bits of
    /// planar depth for depth.
    ///
    /// # Errors
    /// [`RenderError::Gpu`] when waiting for the GPU or mapping the buffer fails.
    pub fn read_image(
        &mut self,
        gpu: &Gpu,
        encoder: wgpu::CommandEncoder,
        texture: &wgpu::Texture,
        kind: ImageKind,
        (width, height): (u32, u32),
    ) -> Result<Image, RenderError> {
        let pixels = (width * height) as usize;
        Ok(match kind {
            ImageKind::Color => {
                let mut rgba = Vec::with_capacity(pixels * 4);
                self.read(gpu, encoder, texture, width, height, |row| {
                    rgba.extend_from_slice(row)
                })?;
                Image::Color {
                    width,
                    height,
                    rgba,
                }
            }
            ImageKind::Label => {
                let mut rgb = Vec::with_capacity(pixels * 3);
                self.read(gpu, encoder, texture, width, height, |row| {
                    rgb.extend(row.chunks_exact(4).flat_map(|px| [px[0], px[1], px[2]]));
                })?;
                Image::Label { width, height, rgb }
            }
            ImageKind::Depth { .. } => {
                let mut metres = Vec::with_capacity(pixels);
                self.read(gpu, encoder, texture, width, height, |row| {
                    metres.extend(
                        row.chunks_exact(4)
                            .map(|b| f32::from_bits(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                    );
                })?;
                Image::Depth {
                    width,
                    height,
                    metres,
                }
            }
        })
    }

    /// Copies `texture` (4-byte texels) out, submits `encoder` with it, waits, and hands each
    /// row to `each_row`, top row first, without the 256-byte row padding: the caller converts
    /// straight into its output, with no intermediate copy of the image.
    fn read(
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
        if size > super::upload::MAX_RETAINED_BYTES {
            self.buffer = None; // one huge image does not pin its memory until the next request
        }
        Ok(())
    }
}
