//! The scene API over real HTTP on loopback (docs/scene-api.md): assets, scenes, frames, expiry,
//! caps and bad input, each answer checked against the contract, and the images checked by value.

mod assets; // PUT, HEAD/GET, the missing list, limits, eviction
mod frames; // poses, cameras, the three image types, encodings, depth and labels by value
mod looks; // a scene's own RenderEngineVtkParams, its environment map an asset
mod resident; // meshes shared between scenes and counted once; maxResidentBytes
mod scenes; // every shape, missing assets, bad fields, edits, delete, expiry, caps

use crate::common;

use std::time::{Duration, Instant};

use gltf_cloud::protocol::scene_api::frame::{
    self, AnswerImage, Camera, Encoding, FrameHeader, ImageName, PoseRecord,
};
use gltf_cloud::protocol::scene_api::pose::{self, Pose};
use gltf_cloud::roles::render_server::Config;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A render server and the scene API's requests.
struct Api(common::Running);

impl Api {
    async fn start(config: Config) -> Self {
        Self(common::start_render_server(config).await)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> common::Reply {
        let (content_type, bytes) = match body {
            Some(value) => (Some("application/json"), value.to_string().into_bytes()),
            None => (None, Vec::new()),
        };
        common::call(self.0.addr, method, path, content_type, bytes).await
    }

    /// `PUT /v1/assets/{sha256 of bytes}`.
    async fn put_asset(&self, bytes: &[u8]) -> common::Reply {
        let path = format!("/v1/assets/{}", sha256(bytes));
        common::call(
            self.0.addr,
            "PUT",
            &path,
            Some("application/octet-stream"),
            bytes.to_vec(),
        )
        .await
    }

    /// `POST /v1/scenes`; the scene's id, asserting 201.
    async fn create(&self, scene: Value) -> String {
        let reply = self.call("POST", "/v1/scenes", Some(scene)).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let created: Value = serde_json::from_slice(&reply.body).unwrap();
        let id = created["scene"].as_str().unwrap().to_owned();
        assert_eq!(
            reply.headers["location"].to_str().unwrap(),
            format!("/v1/scenes/{id}")
        );
        id
    }

    /// `DELETE /v1/scenes/{id}`, asserting 204.
    async fn delete(&self, scene: &str) {
        let reply = self
            .call("DELETE", &format!("/v1/scenes/{scene}"), None)
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text());
    }

    /// `POST /v1/scenes/{id}/frames` with `cameras` and `poses`.
    async fn frame(
        &self,
        scene: &str,
        cameras: Vec<Camera>,
        poses: &[PoseRecord],
        encoding: Encoding,
    ) -> common::Reply {
        let header = FrameHeader {
            poses: poses.len(),
            encoding,
            cameras,
        };
        self.frame_bytes(scene, frame::write_request(&header, poses))
            .await
    }

    async fn frame_bytes(&self, scene: &str, body: Vec<u8>) -> common::Reply {
        common::call(
            self.0.addr,
            "POST",
            &format!("/v1/scenes/{scene}/frames"),
            Some("application/octet-stream"),
            body,
        )
        .await
    }

    /// The images of a 200 frame answer.
    async fn images(
        &self,
        scene: &str,
        cameras: Vec<Camera>,
        poses: &[PoseRecord],
        encoding: Encoding,
    ) -> Vec<AnswerImage> {
        let reply = self.frame(scene, cameras, poses, encoding).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.headers["content-type"], "application/octet-stream");
        frame::parse_answer(&reply.body).unwrap().1
    }

    /// A value from `/metrics`, named without the common prefix; NaN when absent.
    async fn metric(&self, name: &str) -> f64 {
        let text = common::get(self.0.addr, "/metrics").await.text();
        let name = format!("{}_{name}", gltf_cloud::core::metrics::PREFIX);
        common::parse_prometheus(&text)
            .into_iter()
            .find(|(sample, _)| *sample == name)
            .map_or(f64::NAN, |(_, value)| value)
    }

    /// Waits (boundedly) until `metric` satisfies `ok`.
    async fn wait_for(&self, name: &str, ok: impl Fn(f64) -> bool) {
        let start = Instant::now();
        loop {
            let value = self.metric(name).await;
            if ok(value) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{name} stayed {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks a scene API error answer: status, the JSON body with `reason` (and `field` when given),
/// under 8 KiB; returns the body.
fn assert_refused(reply: &common::Reply, status: u16, reason: &str, field: Option<&str>) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert!(reply.body.len() < 8192, "{} bytes", reply.body.len());
    assert_eq!(reply.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["error"], true, "{body}");
    assert_eq!(body["code"], status, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
    body
}

/// `X_WG` translated by `p`.
fn at(p: [f64; 3]) -> Pose {
    let mut pose = pose::IDENTITY;
    (pose[3], pose[7], pose[11]) = (p[0], p[1], p[2]);
    pose
}

/// A geometry as the scene JSON carries it.
fn geometry(id: u64, shape: Value, position: [f64; 3], properties: Value) -> Value {
    json!({"id": id, "shape": shape, "X_WG": at(position), "properties": properties})
}

fn box_shape(size: f64) -> Value {
    json!({"type": "box", "width": size, "depth": size, "height": size})
}

/// A camera 2 m above the world origin looking straight down (Drake's camera frame: +X right,
/// +Y down, +Z forward, so world +x is image right), 64×48, 90° across.
fn camera_above(images: Vec<ImageName>) -> Camera {
    let x_wc = pose::from_matrix(
        &(glam::DMat4::from_translation(glam::DVec3::new(0.0, 0.0, 2.0))
            * glam::DMat4::from_rotation_x(std::f64::consts::PI)),
    );
    Camera {
        width: 64,
        height: 48,
        fx: 32.0,
        fy: 32.0,
        cx: 31.5,
        cy: 23.5,
        near: 0.01,
        far: 10.0,
        x_wc,
        images,
        depth_range: Some([0.1, 5.0]),
    }
}
