//! The render server's command-line flags and config file: its keys, their defaults (the limits
//! among them are in [`crate::core::limits`]), and how flags override the file.

use serde::{Deserialize, Serialize};

use crate::core::config::{config_key, ServerConfig};
use crate::core::{limits, server};
use crate::render::Look;
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};

/// The role's name: its log directory and its start-up log line.
pub const ROLE: &str = "render";

/// The port Drake's `RenderEngineGltfClientParams.base_url` points at by default.
pub const DEFAULT_PORT: u16 = 8000;

/// How depth images are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DepthFormat {
    /// Single-channel float32 TIFF in metres, +inf and 0 as Drake's sentinels (exact).
    #[default]
    Tiff32,
    /// Single-channel uint16 PNG in millimetres, 65535 = too far (1 mm steps, at most 65.534 m).
    Png16,
}

/// The render server's own pages, which the render endpoint may not take (beside the bootstrap's
/// [`server::BOOTSTRAP_PATHS`]).
const STATUS_PATHS: [&str; 2] = ["/", "/status.json"];

/// Command-line flags of `gltf-cloud render-server`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Path of the render endpoint, as Drake's `render_endpoint` [default: render] [config key: endpoint]
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Graphics adapter: its index in --list-adapters, or part of its name or driver, any case
    /// (e.g. 1, "RTX 4090", llvmpipe) [default: $WGPU_ADAPTER_NAME, else the fastest] [config key: adapter]
    #[arg(long, value_name = "NAME|INDEX")]
    pub adapter: Option<String>,
    /// Print the adapters --adapter chooses from (index, name, backend, device type, driver) and exit
    #[arg(long)]
    pub list_adapters: bool,
    /// Refuse to start on a software adapter (lavapipe, llvmpipe) instead of warning [config key: requireGpu]
    #[arg(long)]
    pub require_gpu: bool,
    /// Encoding of depth images [default: tiff32] [config key: depthFormat]
    #[arg(long, value_enum)]
    pub depth_format: Option<DepthFormat>,
    /// Render worker threads sharing the GPU [default: 1] [config key: renderWorkers]
    #[arg(long)]
    pub render_workers: Option<usize>,
    /// Requests that may wait for a worker before new ones get 503 [default: 32] [config key: renderQueueDepth]
    #[arg(long)]
    pub render_queue_depth: Option<usize>,
    /// Largest request body in bytes [default: 536870912 (512 MiB)] [config key: maxBodyBytes]
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Bytes the scene cache may hold, CPU and GPU together; 0 disables it [default: a quarter of physical memory] [config key: cacheBytes]
    #[arg(long)]
    pub cache_bytes: Option<u64>,
}

impl Args {
    /// Puts the flags given on the command line over the config file's values.
    pub(super) fn apply(&self, config: &mut Config, _logging: &LoggingArgs) {
        if let Some(endpoint) = &self.endpoint {
            config.endpoint.clone_from(endpoint);
        }
        if let Some(adapter) = &self.adapter {
            config.adapter = Some(adapter.clone());
        }
        config.require_gpu |= self.require_gpu;
        if let Some(format) = self.depth_format {
            config.depth_format = format;
        }
        if let Some(workers) = self.render_workers {
            config.render_workers = workers;
        }
        if let Some(depth) = self.render_queue_depth {
            config.render_queue_depth = depth;
        }
        if let Some(bytes) = self.max_body_bytes {
            config.max_body_bytes = bytes;
        }
        if let Some(bytes) = self.cache_bytes {
            config.cache_bytes = Some(bytes);
        }
    }
}

/// The render server's config file (camelCase keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The shared keys (host, port, TLS, logs), read from the same file by [`crate::roles::prepare`].
    #[serde(skip)]
    pub server: ServerConfig,
    /// Render endpoint path, without the leading slash.
    pub endpoint: String,
    /// The adapter, as `--adapter` takes it; absent: `WGPU_ADAPTER_NAME`, else the fastest.
    pub adapter: Option<String>,
    pub require_gpu: bool,
    pub depth_format: DepthFormat,
    /// Color image background, 8-bit RGB; RenderEngineVtk's default is (204, 229, 255).
    pub background: [u8; 3],
    /// The headlight's colour (linear RGB, 0–1) and intensity; RenderEngineVtk's default is white, 1.
    pub light_color: [f32; 3],
    pub light_intensity: f32,
    pub render_workers: usize,
    pub render_queue_depth: usize,
    pub max_body_bytes: usize,
    pub max_image_dimension: u32,
    pub max_triangles: usize,
    pub max_textures: usize,
    pub max_texture_pixels: u64,
    pub max_nodes: usize,
    pub max_draw_calls: usize,
    pub max_decoded_bytes: u64,
    pub max_covered_pixels: u64,
    pub max_in_flight_bytes: u64,
    /// From the body's last byte to the image; invalid values (negative, NaN) mean the default.
    pub render_timeout_seconds: f64,
    /// The scene cache's budget in bytes (CPU and GPU); `None`: [`default_cache_bytes`].
    pub cache_bytes: Option<u64>,
}

/// [`limits::CACHE_MEMORY_FRACTION`] of physical memory.
pub fn default_cache_bytes() -> u64 {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    match system.total_memory() {
        0 => limits::CACHE_BYTES_FALLBACK,
        total => (total as f64 * limits::CACHE_MEMORY_FRACTION) as u64,
    }
}

impl Default for Config {
    fn default() -> Self {
        let look = Look::default();
        let light = look.lights[0];
        Self {
            server: ServerConfig::default(),
            endpoint: "render".to_owned(),
            adapter: None,
            require_gpu: false,
            depth_format: DepthFormat::default(),
            background: look.background.map(|c| (c * 255.0).round() as u8),
            light_color: light.radiance,
            light_intensity: 1.0,
            render_workers: limits::RENDER_WORKERS,
            render_queue_depth: limits::RENDER_QUEUE_DEPTH,
            max_body_bytes: limits::MAX_BODY_BYTES,
            max_image_dimension: limits::MAX_IMAGE_DIMENSION,
            max_triangles: limits::MAX_TRIANGLES,
            max_textures: limits::MAX_TEXTURES,
            max_texture_pixels: limits::MAX_TEXTURE_PIXELS,
            max_nodes: limits::MAX_NODES,
            max_draw_calls: limits::MAX_DRAW_CALLS,
            max_decoded_bytes: limits::MAX_DECODED_BYTES,
            max_covered_pixels: limits::MAX_COVERED_PIXELS,
            max_in_flight_bytes: limits::MAX_IN_FLIGHT_BYTES,
            render_timeout_seconds: limits::RENDER_TIMEOUT.as_secs_f64(),
            cache_bytes: None,
        }
    }
}

impl Config {
    /// The scene cache's budget: the configured one, or a fraction of this machine's memory.
    pub fn cache_bytes(&self) -> u64 {
        self.cache_bytes.unwrap_or_else(default_cache_bytes)
    }

    /// `renderTimeoutSeconds` as a duration.
    pub fn render_timeout(&self) -> std::time::Duration {
        crate::core::config::seconds(self.render_timeout_seconds).unwrap_or(limits::RENDER_TIMEOUT)
    }

    /// The render endpoint as a path (`/render`).
    ///
    /// # Errors
    /// An endpoint that is empty or one of the server's own paths.
    pub fn endpoint_path(&self) -> anyhow::Result<String> {
        let endpoint = format!("/{}", self.endpoint.trim_matches('/'));
        let mut reserved = STATUS_PATHS.iter().chain(&server::BOOTSTRAP_PATHS);
        if reserved.any(|path| *path == endpoint) {
            anyhow::bail!(
                "endpoint {:?} is reserved; choose another path (config key {})",
                self.endpoint,
                config_key!(Config, endpoint)
            );
        }
        Ok(endpoint)
    }
}

impl RoleConfig for Config {
    fn server_mut(&mut self) -> &mut ServerConfig {
        &mut self.server
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::render_server::form::FormLimits;
    use crate::scene::LoadOptions;

    /// The scene loader and the form check name their limits by their own structs' fields, which
    /// must stay this config's keys.
    #[test]
    fn keys_named_in_messages_are_serde_keys() {
        let keys = crate::core::config::serde_keys::<Config>();
        for key in [
            config_key!(Config, endpoint),
            config_key!(Config, max_body_bytes),
            config_key!(Config, cache_bytes),
            config_key!(FormLimits, max_image_dimension),
            config_key!(LoadOptions, max_triangles),
            config_key!(LoadOptions, max_textures),
            config_key!(LoadOptions, max_texture_pixels),
            config_key!(LoadOptions, max_nodes),
            config_key!(LoadOptions, max_draw_calls),
            config_key!(LoadOptions, max_decoded_bytes),
            config_key!(Config, max_covered_pixels),
            config_key!(Config, max_in_flight_bytes),
            config_key!(Config, render_timeout_seconds),
        ] {
            assert!(
                keys.iter().any(|k| k == key),
                "{key} is not a key of {keys:?}"
            );
        }
    }
}
