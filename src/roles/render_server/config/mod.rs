//! The render server's command-line flags and config file: its keys, their defaults (the limits
//! among them are in [`crate::core::limits`]), and how flags override the file; and the look's
//! parameters resolved from `--vtk-params`, `vtkParams` and the deprecated look keys
//! ([`Config::look_params`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::core::auth::{self, AccessTokens};
use crate::core::config::{config_key, ServerConfig};
use crate::core::{limits, server};
use crate::protocol::drake::vtk_params::{LightParameter, Rgba, VtkParams};
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};
use crate::scene::LoadOptions;

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
/// [`server::BOOTSTRAP_PATHS`]), and the folder of the page's images.
const STATUS_PATHS: [&str; 2] = ["/", "/status.json"];
pub(super) const PREVIEW_FOLDER: &str = "/status/preview";

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
    /// The look of colour images: Drake's RenderEngineVtkParams (lights, PBR, exposure, shadows,
    /// environment map, SSAO) as YAML, as pydrake's yaml_dump_typed writes it. Replaces the config
    /// key whole when both are given [default: RenderEngineVtk's default look] [config key: vtkParams, a JSON object]
    #[arg(long, value_name = "FILE")]
    pub vtk_params: Option<PathBuf>,
    /// A glTF (.gltf) drawn into every image, like drake-blender's --blend_file: loaded once at
    /// start, in Drake's world frame (Z-up, metres), white ("don't care") in label images; files it
    /// names must lie in its folder. Repeatable; replaces the config key's list [config key: staticScene]
    #[arg(long = "scene", value_name = "FILE.gltf")]
    pub scene: Vec<PathBuf>,
    /// Access tokens, one per line: every request but the probes and /metrics must then carry one
    /// as `Authorization: Bearer <token>` (401 otherwise). $GLTF_CLOUD_ACCESS_TOKENS adds more
    /// (comma separated); tokens are never taken on the command line
    /// [default: none, open to whoever reaches it] [config key: accessTokensFile]
    #[arg(long, value_name = "FILE")]
    pub access_tokens_file: Option<PathBuf>,
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
        if self.vtk_params.is_some() {
            config.vtk_params_file.clone_from(&self.vtk_params);
        }
        if !self.scene.is_empty() {
            config.static_scene.clone_from(&self.scene);
        }
        if self.access_tokens_file.is_some() {
            config
                .access_tokens_file
                .clone_from(&self.access_tokens_file);
        }
        config.access_tokens_env = std::env::var(auth::TOKENS_ENV).ok();
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
    /// The look of colour images: Drake's `RenderEngineVtkParams`, its keys in Drake's snake_case
    /// inside this camelCase file. `--vtk-params FILE` replaces it whole.
    pub vtk_params: Option<VtkParams>,
    /// `--vtk-params FILE` (a flag only: the file is YAML, and replaces `vtkParams`).
    #[serde(skip)]
    pub vtk_params_file: Option<PathBuf>,
    /// glTF files drawn into every image (one path, or a list).
    #[serde(deserialize_with = "crate::core::config::one_or_many")]
    pub static_scene: Vec<PathBuf>,
    /// Deprecated for `vtkParams.default_clear_color`: the colour image background, 8-bit RGB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<[u8; 3]>,
    /// Deprecated for `vtkParams.lights`: the headlight's colour (0–1) and intensity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub light_color: Option<[f32; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub light_intensity: Option<f32>,
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
    /// `None`: half of `max_in_flight_bytes` (see [`Config::in_flight_bytes_per_client`]).
    pub max_in_flight_bytes_per_client: Option<u64>,
    /// From the body's last byte to the image; invalid values (negative, NaN) mean the default.
    pub render_timeout_seconds: f64,
    /// The scene cache's budget in bytes (CPU and GPU); `None`: [`default_cache_bytes`].
    pub cache_bytes: Option<u64>,
    /// The scene API's limits (docs/scene-api.md).
    pub max_scenes: usize,
    /// `None`: [`limits::RESIDENT_MEMORY_FRACTION`] of physical memory
    /// (see [`Config::max_resident_bytes`]).
    pub max_resident_bytes: Option<u64>,
    /// Invalid values (negative, NaN) mean the default.
    pub scene_idle_seconds: f64,
    pub max_scene_geometries: usize,
    pub asset_cache_bytes: u64,
    pub max_asset_bytes: u64,
    pub max_cameras_per_frame: usize,
    /// Whether `GET /` shows the latest images ([`super::previews`]): whoever may open the page
    /// sees what clients render.
    pub status_previews: bool,
    /// Tokens one of which every request must carry ([`auth`]); none here and in the
    /// environment: open to anyone who reaches the server.
    pub access_tokens_file: Option<PathBuf>,
    /// The value of [`auth::TOKENS_ENV`], read with the flags, so that servers in one test process
    /// never share tokens through the environment.
    #[serde(skip)]
    pub access_tokens_env: Option<String>,
}

/// [`limits::CACHE_MEMORY_FRACTION`] of physical memory.
pub fn default_cache_bytes() -> u64 {
    fraction_of_memory(limits::CACHE_MEMORY_FRACTION)
}

/// `fraction` of physical memory ([`limits::CACHE_BYTES_FALLBACK`] where it cannot be read).
fn fraction_of_memory(fraction: f64) -> u64 {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    match system.total_memory() {
        0 => limits::CACHE_BYTES_FALLBACK,
        total => (total as f64 * fraction) as u64,
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            endpoint: "render".to_owned(),
            adapter: None,
            require_gpu: false,
            depth_format: DepthFormat::default(),
            vtk_params: None,
            vtk_params_file: None,
            static_scene: Vec::new(),
            background: None,
            light_color: None,
            light_intensity: None,
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
            max_in_flight_bytes_per_client: None,
            render_timeout_seconds: limits::RENDER_TIMEOUT.as_secs_f64(),
            cache_bytes: None,
            max_scenes: limits::MAX_SCENES,
            max_resident_bytes: None,
            scene_idle_seconds: limits::SCENE_IDLE.as_secs_f64(),
            max_scene_geometries: limits::MAX_SCENE_GEOMETRIES,
            asset_cache_bytes: limits::ASSET_CACHE_BYTES,
            max_asset_bytes: limits::MAX_ASSET_BYTES,
            max_cameras_per_frame: limits::MAX_CAMERAS_PER_FRAME,
            status_previews: true,
            access_tokens_file: None,
            access_tokens_env: None,
        }
    }
}

/// The look's parameters as configured, and what to tell the operator about them.
#[derive(Debug, Clone, PartialEq)]
pub struct LookParams {
    pub params: VtkParams,
    /// Where they came from, for messages: the file, the config key, or the defaults.
    pub origin: String,
    /// Fields of the `--vtk-params` file this version does not read, each with the field it likely
    /// meant: warnings at start, refused by `--check-config`.
    pub unknown: Vec<String>,
    /// Deprecated keys, settings that do not do what they seem.
    pub warnings: Vec<String>,
    /// Fields accepted for compatibility that mean nothing here (`backend`, `gltf_extensions`).
    pub notes: Vec<String>,
}

impl Config {
    /// The scene cache's budget: the configured one, or a fraction of this machine's memory.
    pub fn cache_bytes(&self) -> u64 {
        self.cache_bytes.unwrap_or_else(default_cache_bytes)
    }

    /// What every resident scene may hold together: the configured bytes, or
    /// [`limits::RESIDENT_MEMORY_FRACTION`] of this machine's memory.
    pub fn max_resident_bytes(&self) -> u64 {
        (self.max_resident_bytes)
            .unwrap_or_else(|| fraction_of_memory(limits::RESIDENT_MEMORY_FRACTION))
    }

    /// The access tokens of `accessTokensFile` and the environment, `None` when there are none.
    ///
    /// # Errors
    /// An unreadable file, or a token too short or with characters a header cannot carry.
    pub fn access_tokens(&self) -> Result<Option<AccessTokens>, auth::TokenError> {
        AccessTokens::from_sources(
            self.access_tokens_file.as_deref(),
            self.access_tokens_env.as_deref(),
        )
    }

    /// What one client address's requests may hold together: the configured share, or
    /// [`limits::IN_FLIGHT_SHARE_PER_CLIENT`] of `maxInFlightBytes`.
    pub fn in_flight_bytes_per_client(&self) -> u64 {
        let share = self.max_in_flight_bytes as f64 * limits::IN_FLIGHT_SHARE_PER_CLIENT;
        self.max_in_flight_bytes_per_client.unwrap_or(share as u64)
    }

    /// `renderTimeoutSeconds` as a duration.
    pub fn render_timeout(&self) -> std::time::Duration {
        crate::core::config::seconds(self.render_timeout_seconds).unwrap_or(limits::RENDER_TIMEOUT)
    }

    /// `sceneIdleSeconds` as a duration.
    pub fn scene_idle(&self) -> std::time::Duration {
        crate::core::config::seconds(self.scene_idle_seconds).unwrap_or(limits::SCENE_IDLE)
    }

    /// The loader's limits; textures are decoded for colour images only.
    pub fn load_options(&self, decode_textures: bool) -> LoadOptions {
        LoadOptions {
            max_triangles: self.max_triangles,
            max_textures: self.max_textures,
            max_texture_pixels: self.max_texture_pixels,
            max_nodes: self.max_nodes,
            max_draw_calls: self.max_draw_calls,
            max_decoded_bytes: self.max_decoded_bytes,
            decode_textures,
        }
    }

    /// The render endpoint as a path (`/render`).
    ///
    /// # Errors
    /// An endpoint that is empty or one of the server's own paths.
    pub fn endpoint_path(&self) -> anyhow::Result<String> {
        let endpoint = format!("/{}", self.endpoint.trim_matches('/'));
        let mut reserved = STATUS_PATHS.iter().chain(&server::BOOTSTRAP_PATHS);
        let scene_api = crate::protocol::scene_api::PREFIX;
        let under =
            |folder: &str| endpoint == folder || endpoint.starts_with(&format!("{folder}/"));
        if reserved.any(|path| *path == endpoint) || under(scene_api) || under(PREVIEW_FOLDER) {
            anyhow::bail!(
                "endpoint {:?} is reserved; choose another path (config key {})",
                self.endpoint,
                config_key!(Config, endpoint)
            );
        }
        Ok(endpoint)
    }

    /// The look's parameters: from `--vtk-params FILE`, else the `vtkParams` key, else the
    /// deprecated `background`/`lightColor`/`lightIntensity` keys put into RenderEngineVtk's
    /// defaults (their only meaning: the clear colour and the one default light), else the
    /// defaults. Validated, and the environment map's image checked to exist.
    ///
    /// # Errors
    /// An unreadable or invalid params file (file, line, field), an invalid `vtkParams` value, a
    /// missing environment image, or a deprecated key beside `vtkParams`/`--vtk-params`: two ways
    /// to set one thing are refused rather than ranked.
    pub fn look_params(&self) -> anyhow::Result<LookParams> {
        let key = config_key!(Config, vtk_params);
        let deprecated: Vec<&str> = [
            (self.background.is_some(), config_key!(Config, background)),
            (self.light_color.is_some(), config_key!(Config, light_color)),
            (
                self.light_intensity.is_some(),
                config_key!(Config, light_intensity),
            ),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        let given = self.vtk_params_file.is_some() || self.vtk_params.is_some();
        let mut warnings = Vec::new();
        let mut unknown = Vec::new();
        let (params, origin) = match (&self.vtk_params_file, &self.vtk_params) {
            (Some(file), key_value) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    anyhow::anyhow!("cannot read --vtk-params file {}: {e}", file.display())
                })?;
                let (params, unknown_fields) = VtkParams::from_yaml(&text, file)?;
                unknown = unknown_fields;
                if key_value.is_some() {
                    warnings.push(format!(
                        "config key {key} ignored: --vtk-params {} replaces it",
                        file.display()
                    ));
                }
                (params, file.display().to_string())
            }
            (None, Some(params)) => {
                let origin = format!("config key {key}");
                params.validate(&origin)?;
                (params.clone(), origin)
            }
            (None, None) => (self.deprecated_look(), "defaults".to_owned()),
        };
        if !deprecated.is_empty() {
            if given {
                anyhow::bail!(
                    "config keys {} are deprecated and cannot be combined with {origin}: set \
                     default_clear_color and lights there instead",
                    deprecated.join(", ")
                );
            }
            warnings.push(format!(
                "config keys {} are deprecated: they set vtkParams.default_clear_color and \
                 vtkParams.lights; move them there",
                deprecated.join(", ")
            ));
        }
        params.check_environment_map(&origin)?;
        warnings.extend(params.warnings());
        Ok(LookParams {
            notes: params.not_applicable(),
            params,
            origin,
            unknown,
            warnings,
        })
    }

    /// RenderEngineVtk's defaults with the deprecated keys put in: `background` is the clear
    /// colour; `lightColor`/`lightIntensity` are the one default light's.
    fn deprecated_look(&self) -> VtkParams {
        let mut params = VtkParams::default();
        if let Some(background) = self.background {
            params.default_clear_color = background.map(|c| f64::from(c) / 255.0);
        }
        if self.light_color.is_some() || self.light_intensity.is_some() {
            let default = LightParameter::default();
            let [r, g, b] = self.light_color.map_or(
                [
                    default.color.rgba[0],
                    default.color.rgba[1],
                    default.color.rgba[2],
                ],
                |c| c.map(f64::from),
            );
            params.lights = vec![LightParameter {
                color: Rgba {
                    rgba: [r, g, b, 1.0],
                },
                intensity: self.light_intensity.map_or(default.intensity, f64::from),
                ..default
            }];
        }
        params
    }
}

impl RoleConfig for Config {
    fn server_mut(&mut self) -> &mut ServerConfig {
        &mut self.server
    }
}

#[cfg(test)]
mod tests;
