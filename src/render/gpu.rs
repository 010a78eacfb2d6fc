//! The process-wide GPU: the device ([`device`](super::device)) and everything created once on
//! it, shared by every render thread: the texture layout and samplers, and each pass's
//! pipelines. The composition's half that creates the passes (the [`Renderer`](super::Renderer)
//! runs them); no pass knows it.

use std::sync::Arc;

use super::device::{self, AdapterSummary, GpuOptions};
use super::error::RenderError;
use super::fxaa::Fxaa;
use super::scene_pass::ScenePass;
use super::shadows::ShadowPass;
use super::textures::TextureBinding;
use super::tone_map::ToneMap;

/// The name of the thread that opens the device, which the driver's own threads inherit.
const DRIVER_THREAD: &str = "gpu-driver";

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
    /// The device is opened on a thread of its own, named `gpu-driver`: threads the driver starts
    /// for the device take their name from the thread that opened it, and lavapipe's queue thread
    /// (vertex work, clipping, binning: nearly half of a depth image's CPU) would otherwise
    /// pass for one of the caller's, a tokio worker in the servers. Named, `top -H` and
    /// `make bench` tell the driver's CPU from the server's.
    ///
    /// # Errors
    /// [`RenderError::NoAdapter`] when no backend works, [`RenderError::SoftwareAdapterRefused`]
    /// when only a CPU adapter exists and `require_gpu` is set; [`RenderError::Gpu`] when the
    /// thread cannot be started.
    pub fn new(options: &GpuOptions) -> Result<Arc<Gpu>, RenderError> {
        let options = options.clone();
        std::thread::Builder::new()
            .name(DRIVER_THREAD.to_owned())
            .spawn(move || pollster::block_on(Self::create(&options)).map(Arc::new))
            .map_err(|e| RenderError::Gpu(format!("starting the device thread: {e}")))?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
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
