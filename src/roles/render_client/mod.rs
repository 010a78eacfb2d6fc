//! The `render-client` role: sends glTF scenes to a Drake-compatible render server exactly as
//! Drake's `RenderEngineGltfClient` does, and writes the decoded images; or benchmarks a server
//! (`--frames`); or runs the conformance suite against it (`--check`). Scene mode (`--scene-api`,
//! [`scene_api`]) does the last two over the render server's scene API instead.
//!
//! The library API the CLI is built on is [`RenderClient`]: `render(scene, camera, image_type)`
//! returns a decoded [`Image`] or an error worded as Drake's. The protocol types it takes and
//! returns are [`crate::protocol::drake`]'s, re-exported here.

pub mod bench;
pub mod camera;
pub mod check;
pub mod client;
mod exported;
pub mod forward;
pub mod output;
pub mod scene_api;
pub mod scenes;
pub mod wire;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use glam::DVec3;

pub use self::camera::Camera;
pub use self::client::{ClientError, ClientOptions, RenderClient};
use crate::core::auth;
use crate::core::http_client::HttpClient;
use crate::core::logging;
pub use crate::protocol::drake::camera::CameraPose;
pub use crate::protocol::drake::decode::{ColorImage, DepthImage, Image, LabelImage};
pub use crate::protocol::drake::image::{DepthRange, ImageType};
use crate::protocol::drake::intrinsics::{self, CameraError};
use crate::roles::LoggingArgs;
use crate::scene::camera::Intrinsics;

/// Seconds a request may take before the client gives up. Drake waits forever; a command-line
/// tool and a benchmark must end, and five minutes covers any single render.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 300;

/// Command-line flags of `gltf-cloud render-client`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Base URL of the render server, as Drake's `RenderEngineGltfClientParams.base_url`
    /// (trailing `/` dropped; no scheme means http://).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub server_base_url: String,
    /// Endpoint appended to the base URL, as Drake's `render_endpoint` (leading `/` dropped);
    /// the render server's `--endpoint`. `--render-endpoint` is the old spelling, kept for scripts.
    #[arg(
        long = "endpoint",
        alias = "render-endpoint",
        value_name = "PATH",
        default_value = "render"
    )]
    pub render_endpoint: String,
    /// glTF (JSON) scene files to render; benchmark mode cycles through them.
    #[arg(value_name = "SCENE.gltf")]
    pub scenes: Vec<PathBuf>,
    /// Directory to write the images into (render mode).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Image types to request, comma separated [default: color,depth,label; for a file whose name
    /// says which type Drake exported it for (`…-depth.gltf`, a `depth/` folder), that type only:
    /// Drake exports a different file per image type]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub image_type: Vec<ImageType>,

    /// Intrinsics and pose (boxed: the flags would otherwise make this the CLI's largest variant).
    #[command(flatten)]
    pub camera: Box<CameraArgs>,

    /// Reuse connections (Drake opens one per request).
    #[arg(long)]
    pub keep_alive: bool,
    /// Seconds before a request is given up (Drake never gives up).
    #[arg(long, default_value_t = DEFAULT_REQUEST_TIMEOUT_SECONDS)]
    pub timeout: u64,
    /// Extra trusted root certificate (PEM) for https:// servers, e.g. from `gltf-cloud make-cert`.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// File whose first access token is sent as `Authorization: Bearer <token>`, for a server
    /// started with access tokens; the forward mode adds it for Drake's client
    /// [default: $GLTF_CLOUD_ACCESS_TOKEN]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Benchmark mode: send this many requests, cycling through the scenes and image types (with
    /// --scene-api: this many frames).
    #[arg(long, value_name = "N", conflicts_with = "check")]
    pub frames: Option<usize>,
    /// Benchmark mode: requests (with --scene-api: frames) in flight at once (1 or more).
    #[arg(
        long,
        value_name = "C",
        default_value_t = 1,
        value_parser = at_least_one
    )]
    pub concurrency: usize,
    /// Benchmark and check modes: print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Conformance mode: run the built-in suite against the server (with --scene-api: the scene
    /// API's cases); exits non-zero on a failure.
    #[arg(long)]
    pub check: bool,
    /// Scene mode: speak the render server's scene API (/v1: the scene registered once, then only
    /// poses sent) instead of Drake's protocol. With --frames F: register a built-in scene of every
    /// shape type and benchmark F frames of moving poses over --cameras N cameras (--image-type,
    /// --width, --height, --fov-y, … set each camera). With --check: run the scene API's
    /// conformance cases. Connections are always reused
    #[arg(long, conflicts_with_all = ["scenes", "out", "camera_position"])]
    pub scene_api: bool,
    /// Scene mode: cameras in every frame, on a ring around the scene (1 or more) [default: 1]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub cameras: Option<usize>,
    /// Scene mode: how frames answer images: raw (Drake's buffers) or png (PNG, depth as TIFF)
    /// [default: raw]
    #[arg(long, value_enum)]
    pub encoding: Option<crate::protocol::scene_api::frame::Encoding>,
    /// Forward mode: listen on HOST:PORT (this machine only) in plain HTTP and forward every
    /// request to --server-base-url, e.g. an https:// server (--ca-cert): for Drake's
    /// RenderEngineGltfClient, which cannot speak TLS. Without a value, 127.0.0.1:8000, Drake's
    /// default base_url
    #[arg(
        long,
        value_name = "HOST:PORT",
        num_args = 0..=1,
        default_missing_value = "127.0.0.1:8000",
        conflicts_with_all = ["check", "frames", "out", "scenes", "scene_api"]
    )]
    pub forward: Option<String>,
}

/// The camera flags: Drake's `CameraInfo`, `ClippingRange`, `DepthRange` and the pose.
#[derive(Debug, Clone, clap::Args)]
pub struct CameraArgs {
    /// Image width in pixels.
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 480)]
    pub height: u32,
    /// Vertical field of view in radians, as Drake's `CameraInfo(w, h, fov_y)`: square pixels,
    /// principal point at the image centre (π/4 = 0.785398…).
    #[arg(long, default_value_t = std::f64::consts::FRAC_PI_4)]
    pub fov_y: f64,
    /// Focal length along x in pixels; with --focal-y --center-x --center-y, replaces --fov-y.
    #[arg(long, requires_all = ["focal_y", "center_x", "center_y"], conflicts_with = "fov_y")]
    pub focal_x: Option<f64>,
    /// Focal length along y in pixels.
    #[arg(long, requires = "focal_x")]
    pub focal_y: Option<f64>,
    /// Principal point x in pixels from the left edge.
    #[arg(long, requires = "focal_x")]
    pub center_x: Option<f64>,
    /// Principal point y in pixels from the top edge.
    #[arg(long, requires = "focal_x")]
    pub center_y: Option<f64>,
    /// Near clipping plane in metres.
    #[arg(long, default_value_t = 0.01)]
    pub near: f64,
    /// Far clipping plane in metres.
    #[arg(long, default_value_t = 10.0)]
    pub far: f64,
    /// Depth images: closer than this reads 0 (too near), in metres.
    #[arg(long, default_value_t = 0.01)]
    pub min_depth: f64,
    /// Depth images: farther than this reads +inf (too far), in metres.
    #[arg(long, default_value_t = 10.0)]
    pub max_depth: f64,
    /// Camera position X,Y,Z in the scene's world frame (Drake: Z up); overrides the scene's
    /// camera node. Needs --camera-target.
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_vector, requires = "camera_target", allow_hyphen_values = true)]
    pub camera_position: Option<DVec3>,
    /// Point the camera looks at, X,Y,Z.
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_vector, requires = "camera_position", allow_hyphen_values = true)]
    pub camera_target: Option<DVec3>,
    /// Direction that is up in the image, X,Y,Z (0,1,0 for Y-up glTF scenes).
    #[arg(long, value_name = "X,Y,Z", value_parser = parse_vector, default_value = "0,0,1", allow_hyphen_values = true)]
    pub camera_up: DVec3,
}

/// `--image-type` takes the protocol's `image_type` values.
impl clap::ValueEnum for ImageType {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("0 requests in flight would send none: give 1 or more".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_vector(text: &str) -> Result<DVec3, String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>().map_err(|e| format!("{v:?}: {e}")))
        .collect::<Result<_, _>>()?;
    match values[..] {
        [x, y, z] if values.iter().all(|v| v.is_finite()) => Ok(DVec3::new(x, y, z)),
        _ => Err("expected three finite numbers X,Y,Z".to_owned()),
    }
}

impl CameraArgs {
    /// The camera the flags describe, validated as Drake's `CameraInfo`, `ClippingRange` and
    /// `DepthRange` would.
    ///
    /// # Errors
    /// Values Drake would refuse.
    pub fn camera(&self) -> anyhow::Result<Camera> {
        let intrinsics = match (self.focal_x, self.focal_y, self.center_x, self.center_y) {
            (Some(focal_x), Some(focal_y), Some(center_x), Some(center_y)) => Intrinsics {
                width: self.width,
                height: self.height,
                focal_x,
                focal_y,
                center_x,
                center_y,
                near: self.near,
                far: self.far,
            },
            _ => {
                anyhow::ensure!(
                    self.fov_y > 0.0 && self.fov_y < std::f64::consts::PI,
                    "--fov-y must be in (0, π)"
                );
                Intrinsics::from_fov_y(self.width, self.height, self.fov_y, self.near, self.far)
            }
        };
        // Drake's rules, worded with the flags that set each value.
        let depth_range = DepthRange {
            min_depth: self.min_depth,
            max_depth: self.max_depth,
        };
        intrinsics::check(&intrinsics)
            .and_then(|()| intrinsics::check_depth_range(&depth_range))
            .map_err(|e| {
                anyhow::anyhow!(match e {
                    CameraError::Size => "--width and --height must be positive",
                    CameraError::Focal => "focal lengths must be positive and finite",
                    CameraError::PrincipalPoint => "the principal point must lie inside the image",
                    CameraError::Clipping { .. } => "need 0 < --near < --far",
                    CameraError::DepthRange { .. } => "need 0 < --min-depth < --max-depth",
                })
            })?;
        let pose = match (self.camera_position, self.camera_target) {
            (Some(position), Some(target)) => {
                Some(CameraPose::look_at(position, target, self.camera_up)?)
            }
            _ => None,
        };
        Ok(Camera {
            intrinsics,
            depth_range,
            pose,
        })
    }
}

impl Args {
    fn options(&self) -> anyhow::Result<ClientOptions> {
        Ok(ClientOptions {
            keep_alive: self.keep_alive,
            timeout: Some(Duration::from_secs(self.timeout)),
            ca_cert: self.ca_cert.clone(),
            token: auth::client_token(self.token_file.as_deref())?,
        })
    }

    fn client(&self) -> anyhow::Result<RenderClient> {
        Ok(RenderClient::new(
            &self.server_base_url,
            &self.render_endpoint,
            &self.options()?,
        )?)
    }
}

/// Entry point of the subcommand.
///
/// # Errors
/// Bad flags, unreadable scenes, a failed render (Drake's message), a benchmark with errors, or a
/// failed conformance case.
pub async fn main(args: Args, logging_args: LoggingArgs) -> anyhow::Result<()> {
    let _log = logging::init(
        "render-client",
        logging_args.format.log_format,
        logging_args.log_dir.as_deref(),
    )?;
    // Checked here: clap counts a flag's implicit `false` as given, so `requires` cannot say it.
    anyhow::ensure!(
        args.scene_api || (args.cameras.is_none() && args.encoding.is_none()),
        "--cameras and --encoding are scene mode's: add --scene-api"
    );
    if let Some(listen) = &args.forward {
        return run_forward(&args, listen).await;
    }
    if args.scene_api {
        return run_scene_api(&args).await;
    }
    let client = args.client()?;
    if args.check {
        return run_check(&client, args.json).await;
    }
    let camera = args.camera.camera()?;
    anyhow::ensure!(
        !args.scenes.is_empty(),
        "give at least one SCENE.gltf (or --check)"
    );
    let scenes = args
        .scenes
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let (types, notes) = exported::image_types(path, &bytes, &args.image_type);
            for note in notes {
                eprintln!("{note}");
            }
            Ok(Scene { path, bytes, types })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    match args.frames {
        Some(frames) => run_bench(&client, &scenes, &camera, &args, frames).await,
        None => {
            let out = args.out.as_deref().context("render mode needs --out DIR")?;
            render_all(&client, &scenes, &camera, out).await
        }
    }
}

/// `--forward`: serves until SIGINT/SIGTERM.
async fn run_forward(args: &Args, listen: &str) -> anyhow::Result<()> {
    let addr = forward::listen_addr(listen)?;
    let tls = crate::core::tls::client_connector(args.ca_cert.as_deref()).context("--ca-cert")?;
    let forwarder = forward::Forwarder::new(
        &args.server_base_url,
        HttpClient::new(tls),
        Duration::from_secs(args.timeout),
        auth::client_token(args.token_file.as_deref())?,
    )?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    forward::run(listener, forwarder, crate::core::shutdown::on_signals()?).await
}

/// `--scene-api`: the scene API's checks or benchmark.
async fn run_scene_api(args: &Args) -> anyhow::Result<()> {
    let client = scene_api::SceneApiClient::new(&args.server_base_url, &args.options()?)?;
    if args.check {
        return scene_api::run_check(&client, args.json).await;
    }
    let frames = args
        .frames
        .context("scene mode needs --frames F (benchmark) or --check")?;
    let camera = args.camera.camera()?;
    let types = if args.image_type.is_empty() {
        ImageType::ALL.to_vec()
    } else {
        args.image_type.clone()
    };
    let options = scene_api::bench::BenchOptions {
        frames,
        cameras: args.cameras.unwrap_or(1),
        concurrency: args.concurrency,
        images: types.into_iter().map(Into::into).collect(),
        encoding: args.encoding.unwrap_or_default(),
        intrinsics: camera.intrinsics,
        depth_range: camera.depth_range,
        progress: std::io::stderr().is_terminal(),
    };
    scene_api::run_bench(&client, &options, args.json).await
}

/// A scene file as read, with the image types to render it as.
struct Scene<'a> {
    path: &'a PathBuf,
    bytes: Vec<u8>,
    types: Vec<ImageType>,
}

async fn run_check(client: &RenderClient, json: bool) -> anyhow::Result<()> {
    // One line for a server that cannot be reached, instead of every case failing alike.
    client
        .probe()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}; no case was run", client.url()))?;
    let results = check::run(client).await;
    check::report(&results, json, client.url(), "conformance")
}

async fn run_bench(
    client: &RenderClient,
    scenes: &[Scene<'_>],
    camera: &Camera,
    args: &Args,
    frames: usize,
) -> anyhow::Result<()> {
    let mut jobs = Vec::new();
    for scene in scenes {
        let prepared = Arc::new(
            camera
                .write_into(&scene.bytes)
                .with_context(|| scene.path.display().to_string())?,
        );
        for &image_type in &scene.types {
            jobs.push(bench::Job {
                scene: Arc::clone(&prepared),
                image_type,
            });
        }
    }
    let progress = std::io::stderr().is_terminal();
    let report = bench::run(client, &jobs, camera, frames, args.concurrency, progress).await;
    if args.json {
        writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&report)?
        )?;
    } else {
        writeln!(std::io::stdout(), "{report}")?;
    }
    anyhow::ensure!(
        report.errors == 0,
        "{} of {} requests failed",
        report.errors,
        report.count
    );
    Ok(())
}

async fn render_all(
    client: &RenderClient,
    scenes: &[Scene<'_>],
    camera: &Camera,
    out: &Path,
) -> anyhow::Result<()> {
    // Every scene is checked before anything is written, so bad input leaves no output behind.
    let prepared = scenes
        .iter()
        .map(|scene| {
            let stem = scene
                .path
                .file_stem()
                .map_or_else(|| "scene".into(), |s| s.to_string_lossy());
            let gltf = camera
                .write_into(&scene.bytes)
                .with_context(|| scene.path.display().to_string())?;
            Ok((stem, gltf, &scene.types))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (stem, gltf, types) in prepared {
        for &image_type in types {
            let image = client
                .render_prepared(gltf.clone(), camera, image_type)
                .await?;
            for written in output::write_image(out, &stem, &image)? {
                writeln!(std::io::stdout(), "{}", written.display())?;
            }
        }
    }
    Ok(())
}
