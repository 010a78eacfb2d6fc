//! Choosing the adapter and opening its device: which backend, whether a software rasteriser is
//! acceptable, and the log line that says what was chosen.

use std::sync::Arc;

use tracing::{error, info, warn};

use super::error::RenderError;

/// How the server wants its adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuOptions {
    /// Refuse a software adapter (lavapipe/llvmpipe) instead of warning and using it.
    pub require_gpu: bool,
}

/// What the adapter is, for logs, `/healthz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A CPU rasteriser (lavapipe, llvmpipe): correct images, far lower throughput.
    pub software: bool,
}

/// Picks the adapter (`WGPU_BACKEND` or Vulkan then GL, high-performance first) and opens its
/// device with the adapter's own limits.
///
/// # Errors
/// [`RenderError::NoAdapter`] when no backend works, [`RenderError::SoftwareAdapterRefused`]
/// when only a CPU adapter exists and `require_gpu` is set, [`RenderError::Gpu`] when the device
/// cannot be opened.
pub(super) async fn open(
    options: &GpuOptions,
) -> Result<(wgpu::Device, wgpu::Queue, AdapterSummary), RenderError> {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends =
        wgpu::Backends::from_env().unwrap_or(wgpu::Backends::VULKAN | wgpu::Backends::GL);
    descriptor.flags = descriptor.flags.with_env();
    let instance = wgpu::Instance::new(descriptor);
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        })
        .await
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
    let info = adapter.get_info();
    let summary = AdapterSummary {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_owned(),
        software: info.device_type == wgpu::DeviceType::Cpu,
    };
    info!(
        adapter = %summary.name,
        backend = %summary.backend,
        device_type = %summary.device_type,
        driver = %summary.driver,
        "graphics adapter selected"
    );
    if summary.software {
        if options.require_gpu {
            return Err(RenderError::SoftwareAdapterRefused(summary.name));
        }
        warn!(adapter = %summary.name, "rendering on a software adapter: images are correct but slow");
    }
    // The adapter's own limits, so image size is bounded by what it can really do.
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("gltf-cloud"),
            required_limits: adapter.limits(),
            ..Default::default()
        })
        .await
        .map_err(|e| RenderError::Gpu(format!("request_device: {e}")))?;
    // Errors outside a render's error scope must not abort the process (wgpu's default).
    device.on_uncaptured_error(Arc::new(|e| error!(error = %e, "uncaptured wgpu error")));
    Ok((device, queue, summary))
}
