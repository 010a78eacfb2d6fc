//! `--scene-api --check`: the scene API's conformance cases (docs/render-client.md, "Scene mode"),
//! each judged against docs/scene-api.md and reported as the Drake check's rows are
//! ([`crate::roles::render_client::check::CaseResult`], the same table).
//!
//! [`resources`] judges assets, scenes, edits and refusals; [`images`] the frames, by value,
//! against the built-in scene ([`super::builtin`]) seen from straight above, where each
//! geometry's label and the planar depth of its top follow from its place alone. The cases run in
//! order on one scene: a case that needs an earlier one's scene says so when it is missing.

mod images;
mod resources;

use glam::{DMat4, DVec3};
use ring::rand::{SecureRandom, SystemRandom};

use super::builtin::Placed;
use super::client::{SceneApiClient, SceneApiError};
use crate::protocol::scene_api::error::ErrorBody;
use crate::protocol::scene_api::frame::{Camera, ImageName};
use crate::protocol::scene_api::pose;
use crate::roles::render_client::check::CaseResult;
use crate::roles::render_client::wire::Answer;

/// Height of the camera above the floor, looking straight down.
const CAMERA_HEIGHT: f64 = 2.5;
/// The check camera: an odd size, so a server that rounds or pads a row is caught.
const WIDTH: u32 = 97;
const HEIGHT: u32 = 73;
const FOCAL: f64 = 40.0;

/// What a case found: passed or not, and why in a few words.
type Outcome = Result<String, String>;

/// What the cases share as they run: the client and the scene the earlier cases registered.
struct Suite<'a> {
    client: &'a SceneApiClient,
    random: SystemRandom,
    /// The built-in scene's id on the server, once `scene-every-shape` created it.
    scene: Option<String>,
    placed: Vec<Placed>,
}

impl Suite<'_> {
    /// `n` random bytes, so that every run's assets and ids are new to the server.
    fn nonce(&self, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        // A failed system random source leaves zeros: the cases then still run, less fresh.
        let _ = self.random.fill(&mut bytes);
        bytes
    }

    fn scene(&self) -> Result<&str, String> {
        self.scene
            .as_deref()
            .ok_or_else(|| "no scene to use: scene-every-shape could not create it".to_owned())
    }
}

/// The camera straight above the scene's middle: its +X is the world's +x, its +Y the world's −y.
fn camera_above(images: &[ImageName], depth_range: [f64; 2]) -> Camera {
    let x_wc = pose::from_matrix(
        &(DMat4::from_translation(DVec3::new(0.0, 0.0, CAMERA_HEIGHT))
            * DMat4::from_rotation_x(std::f64::consts::PI)),
    );
    Camera {
        width: WIDTH,
        height: HEIGHT,
        fx: FOCAL,
        fy: FOCAL,
        cx: 48.0,
        cy: 36.0,
        near: 0.01,
        far: 10.0,
        x_wc,
        images: images.to_vec(),
        depth_range: images.contains(&ImageName::Depth).then_some(depth_range),
    }
}

/// The same camera, looking straight up into the empty sky.
fn camera_up(images: &[ImageName], depth_range: [f64; 2]) -> Camera {
    Camera {
        x_wc: pose::from_matrix(&DMat4::from_translation(DVec3::new(
            0.0,
            0.0,
            CAMERA_HEIGHT,
        ))),
        ..camera_above(images, depth_range)
    }
}

/// The pixel of [`camera_above`] that sees the world point `p`, and its planar depth.
fn pixel_of(p: DVec3) -> (usize, f64) {
    let depth = CAMERA_HEIGHT - p.z;
    let u = FOCAL * p.x / depth + 48.0;
    let v = FOCAL * -p.y / depth + 36.0;
    let (i, j) = (u.round() as usize, v.round() as usize);
    (j * WIDTH as usize + i, depth)
}

/// Judges a refusal: `status`, this API's JSON error body (under 8 KiB) with `reason`, and the
/// `field` when one is named.
fn refused(answer: &Answer, status: u16, reason: &str, field: Option<&str>) -> Outcome {
    let body = ErrorBody::parse(&answer.body);
    let text = String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]).into_owned();
    let Some(body) = body else {
        return Err(format!(
            "HTTP {} without the API's error body: {text:?}",
            answer.status
        ));
    };
    let got_reason = serde_json::to_value(body.reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if answer.status != status || got_reason != reason {
        return Err(format!(
            "expected {status} {reason}, got {} {got_reason}: {}",
            answer.status, body.message
        ));
    }
    if answer.body.len() >= 8192 {
        return Err(format!(
            "error body of {} bytes (≥ 8 KiB)",
            answer.body.len()
        ));
    }
    if let Some(field) = field {
        if body.field.as_deref() != Some(field) {
            return Err(format!(
                "{status} {reason} names field {:?}, expected {field:?}",
                body.field
            ));
        }
    }
    Ok(format!("{status} {reason}"))
}

fn failed(error: &SceneApiError) -> String {
    error.to_string()
}

/// Runs every case in order against `client`'s server and deletes what it registered.
pub async fn run(client: &SceneApiClient) -> Vec<CaseResult> {
    let mut suite = Suite {
        client,
        random: SystemRandom::new(),
        scene: None,
        placed: Vec::new(),
    };
    let mut results = Vec::new();
    let mut record = |name: &'static str, outcome: Outcome| {
        let (passed, detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        results.push(CaseResult {
            name,
            passed,
            measured: "-".to_owned(),
            detail,
        });
    };
    record("api-version", resources::api_version(&suite).await);
    record("asset-upload", resources::asset_upload(&suite).await);
    record(
        "asset-hash-mismatch",
        resources::asset_hash_mismatch(&suite).await,
    );
    record(
        "scene-missing-asset",
        resources::missing_asset(&suite).await,
    );
    record(
        "scene-every-shape",
        resources::every_shape(&mut suite).await,
    );
    record("frame-raw-layouts", images::raw_layouts(&suite).await);
    record("depth-values", images::depth_values(&suite).await);
    record(
        "depth-range-sentinels",
        images::depth_sentinels(&suite).await,
    );
    record("labels-as-sent", images::labels_as_sent(&suite).await);
    record("frame-png", images::png_matches_raw(&suite).await);
    record("pose-moves", images::pose_moves(&mut suite).await);
    record("patch-edit", images::patch_edit(&mut suite).await);
    record(
        "patch-duplicate-id",
        resources::patch_duplicate(&suite).await,
    );
    record("bad-scene-field", resources::bad_scene_fields(&suite).await);
    record("bad-frame-field", images::bad_frame_fields(&suite).await);
    record("unknown-scene", resources::unknown_scene(&suite).await);
    record("delete-scene", resources::delete_scene(&suite).await);
    results
}
