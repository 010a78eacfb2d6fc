//! Choosing the adapter and opening its device: which backend, which of several GPUs, whether a
//! software rasteriser is acceptable, and the log line that says what was chosen and why.
//!
//! Vulkan is enumerated first and GL only when Vulkan has no adapter at all: creating a GL
//! instance probes EGL, which on a headless host logs an error (`failed to load driver`) that
//! operators rightly read as a fault, and a Vulkan adapter (lavapipe included) is always the
//! better choice anyway. `WGPU_BACKEND` still restricts the search to the backends it names.

use std::sync::Arc;

use tracing::{error, info, warn};

use super::error::RenderError;

/// The environment variable wgpu's own examples read to pick an adapter by name; honoured as the
/// default of `--adapter` so a host can pin its GPU without touching the config.
pub const ADAPTER_ENV: &str = "WGPU_ADAPTER_NAME";

/// How the server wants its adapter.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Refuse a software adapter (lavapipe/llvmpipe) instead of warning and using it.
    pub require_gpu: bool,
    /// Which adapter: its index in [`list_adapters`] or part of its name or driver (any case).
    /// `None` takes [`ADAPTER_ENV`], else the fastest kind of device (discrete GPU first). Vulkan
    /// ignores `CUDA_VISIBLE_DEVICES`, so this is how one server per GPU is set up.
    pub adapter: Option<String>,
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

impl AdapterSummary {
    fn new(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_owned(),
            software: info.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

impl std::fmt::Display for AdapterSummary {
    /// One line of `--list-adapters` after the index: name, backend, device type, driver.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\t{}\t{}\t{}",
            self.name, self.backend, self.device_type, self.driver
        )
    }
}

/// The adapters the server can choose from, in the order `--adapter INDEX` counts them: Vulkan's,
/// or GL's when Vulkan has none (or those of the backends `WGPU_BACKEND` names).
pub fn list_adapters() -> Vec<AdapterSummary> {
    pollster::block_on(candidates())
        .iter()
        .map(|adapter| AdapterSummary::new(&adapter.get_info()))
        .collect()
}

async fn candidates() -> Vec<wgpu::Adapter> {
    if let Some(backends) = wgpu::Backends::from_env() {
        return enumerate(backends).await;
    }
    let vulkan = enumerate(wgpu::Backends::VULKAN).await;
    if !vulkan.is_empty() {
        return vulkan;
    }
    info!("no Vulkan adapter; trying GL");
    enumerate(wgpu::Backends::GL).await
}

async fn enumerate(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = backends;
    descriptor.flags = descriptor.flags.with_env();
    wgpu::Instance::new(descriptor)
        .enumerate_adapters(backends)
        .await
}

/// Picks one of `adapters` as `options` ask, with the reason for the log.
fn choose(
    adapters: Vec<wgpu::Adapter>,
    options: &GpuOptions,
) -> Result<(wgpu::Adapter, String), RenderError> {
    let summaries: Vec<AdapterSummary> = adapters
        .iter()
        .map(|adapter| AdapterSummary::new(&adapter.get_info()))
        .collect();
    if adapters.is_empty() {
        return Err(RenderError::NoAdapter(
            "neither Vulkan nor GL offers one (is a Vulkan driver, e.g. Mesa's lavapipe, installed?)"
                .to_owned(),
        ));
    }
    let (wanted, source) = match &options.adapter {
        Some(wanted) => (
            Some(wanted.clone()),
            "--adapter (config key adapter)".to_owned(),
        ),
        None => match std::env::var(ADAPTER_ENV) {
            Ok(wanted) if !wanted.trim().is_empty() => (Some(wanted), ADAPTER_ENV.to_owned()),
            _ => (None, String::new()),
        },
    };
    let index = match &wanted {
        Some(wanted) => pick(&summaries, wanted.trim()).ok_or_else(|| {
            let available = summaries
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{i}: {} ({}, {})", s.name, s.backend, s.device_type))
                .collect::<Vec<_>>()
                .join("; ");
            RenderError::NoAdapter(format!(
                "{source} asks for {:?}, which matches no adapter (an index, or part of a name or driver); available: {available}",
                crate::core::quote::quote(wanted)
            ))
        })?,
        None => fastest(&adapters),
    };
    let reason = match wanted {
        Some(wanted) => format!("{source} = {wanted}"),
        None => format!(
            "the fastest kind of device among {} adapter(s); --adapter picks another",
            adapters.len()
        ),
    };
    let adapter = adapters
        .into_iter()
        .nth(index)
        .ok_or_else(|| RenderError::NoAdapter("adapter list changed".to_owned()))?;
    Ok((adapter, reason))
}

/// An index into the list, or the first adapter whose name or driver contains `wanted`, any case.
fn pick(summaries: &[AdapterSummary], wanted: &str) -> Option<usize> {
    if let Ok(index) = wanted.parse::<usize>() {
        return (index < summaries.len()).then_some(index);
    }
    let wanted = wanted.to_lowercase();
    summaries.iter().position(|s| {
        s.name.to_lowercase().contains(&wanted) || s.driver.to_lowercase().contains(&wanted)
    })
}

/// What `PowerPreference::HighPerformance` means, made explicit so the choice is the same list
/// `--list-adapters` shows: discrete, then integrated, virtual, other, and software last.
fn fastest(adapters: &[wgpu::Adapter]) -> usize {
    let rank = |adapter: &wgpu::Adapter| match adapter.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    (0..adapters.len())
        .min_by_key(|&i| rank(&adapters[i]))
        .unwrap_or(0)
}

/// Picks the adapter ([`GpuOptions::adapter`], else [`ADAPTER_ENV`], else the fastest) and opens
/// its device with the adapter's own limits.
///
/// # Errors
/// [`RenderError::NoAdapter`] when no backend works or none matches the one asked for,
/// [`RenderError::SoftwareAdapterRefused`] when the chosen adapter is a CPU one and `require_gpu`
/// is set, [`RenderError::Gpu`] when the device cannot be opened.
pub(super) async fn open(
    options: &GpuOptions,
) -> Result<(wgpu::Device, wgpu::Queue, AdapterSummary), RenderError> {
    let (adapter, reason) = choose(candidates().await, options)?;
    let summary = AdapterSummary::new(&adapter.get_info());
    info!(
        adapter = %summary.name,
        backend = %summary.backend,
        device_type = %summary.device_type,
        driver = %summary.driver,
        reason = %reason,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, driver: &str) -> AdapterSummary {
        AdapterSummary {
            name: name.to_owned(),
            backend: "Vulkan".to_owned(),
            device_type: "DiscreteGpu".to_owned(),
            driver: driver.to_owned(),
            software: false,
        }
    }

    #[test]
    fn adapter_is_picked_by_index_or_part_of_name_or_driver() {
        let list = [
            summary("NVIDIA GeForce RTX 4090", "NVIDIA 550.54"),
            summary("llvmpipe (LLVM 15.0.6, 256 bits)", "llvmpipe Mesa 22.3.6"),
        ];
        assert_eq!(pick(&list, "1"), Some(1));
        assert_eq!(
            pick(&list, "2"),
            None,
            "an index past the list matches no name either"
        );
        assert_eq!(pick(&list, "rtx 4090"), Some(0));
        assert_eq!(pick(&list, "LLVMPIPE"), Some(1));
        assert_eq!(pick(&list, "mesa"), Some(1), "the driver counts too");
        assert_eq!(pick(&list, "radeon"), None);
    }
}
