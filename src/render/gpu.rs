//! The process-wide GPU: the device ([`device`](super::device)) and everything created once on
//! it, shared by every render thread: the scene pass's and the FXAA pass's pipelines, the
//! texture layout and samplers.

use std::sync::Arc;

use super::device::{self, AdapterSummary, GpuOptions};
use super::error::RenderError;
use super::fxaa::Fxaa;
use super::scene_pass::ScenePass;
use super::shadows::ShadowPass;
use super::textures::TextureBinding;
use super::tone_map::ToneMap;

/// One device shared by every render thread (wgpu devices and queues are `Send + Sync`).
pub struct Gpu {
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pub(super) textures: TextureBinding,
    pub(super) scene: ScenePass,
    /// Anti-aliasing of colour images, after the scene pass.
    pub(super) fxaa: Fxaa,
    /// The shadow-map bake, before the scene pass of looks that cast shadows.
    pub(super) shadows: ShadowPass,
    /// Tone mapping of colour images between the scene pass and FXAA, with an exposure.
    pub(super) tone_map: ToneMap,
    pub(super) uniform_alignment: u32,
    summary: AdapterSummary,
}

impl Gpu {
    /// Picks the adapter, opens its device and creates everything that never changes. Blocks
    /// briefly.
    ///
    /// # Errors
    /// [`RenderError::NoAdapter`] when no backend works, [`RenderError::SoftwareAdapterRefused`]
    /// when only a CPU adapter exists and `require_gpu` is set.
    pub fn new(options: &GpuOptions) -> Result<Arc<Gpu>, RenderError> {
        pollster::block_on(Self::create(options)).map(Arc::new)
    }

    async fn create(options: &GpuOptions) -> Result<Gpu, RenderError> {
        let (device, queue, summary) = device::open(options).await?;
        // A shader or pipeline the backend rejects fails start-up, not every later render.
        let creation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let textures = TextureBinding::new(&device, &queue);
        let scene = ScenePass::new(&device, &textures);
        let fxaa = Fxaa::new(&device);
        let shadows = ShadowPass::new(&device);
        let tone_map = ToneMap::new(&device);
        if let Some(error) = creation.pop().await {
            return Err(RenderError::Gpu(format!("creating pipelines: {error}")));
        }
        Ok(Gpu {
            uniform_alignment: device.limits().min_uniform_buffer_offset_alignment,
            device,
            queue,
            textures,
            scene,
            fxaa,
            shadows,
            tone_map,
            summary,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The largest 2-D texture side the adapter allows: images, and the start-up check of a
    /// configured shadow map's size.
    pub fn max_texture_dimension(&self) -> u32 {
        self.device.limits().max_texture_dimension_2d
    }
}
