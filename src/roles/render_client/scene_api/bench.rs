//! Scene mode's benchmark: the built-in scene registered once, then F frames, C in flight, each
//! moving every geometry and asking N cameras for their images; summarised per frame and per
//! image, with the bytes a frame sends beside the bytes Drake's client sends for one image.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use glam::DVec3;
use serde::Serialize;

use super::builtin::{self, Placed};
use super::client::{asset_name, SceneApiClient, SceneApiError};
use crate::protocol::drake::camera::CameraPose;
use crate::protocol::drake::image::DepthRange;
use crate::protocol::scene_api::frame::{Camera, Encoding, FrameHeader, ImageName, PoseRecord};
use crate::protocol::scene_api::pose::Pose;
use crate::protocol::scene_api::scene::SceneRequest;
use crate::roles::render_client::bench::percentile;
use crate::roles::render_client::wire::{new_boundary, Form};
use crate::scene::camera::Intrinsics;

/// What the benchmark sends.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub frames: usize,
    pub cameras: usize,
    /// Frames in flight at once (1 or more).
    pub concurrency: usize,
    pub images: Vec<ImageName>,
    pub encoding: Encoding,
    pub intrinsics: Intrinsics,
    pub depth_range: DepthRange,
    /// Draws a progress bar on standard error.
    pub progress: bool,
}

/// Minimum, median, 90th percentile and maximum, in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<Duration>) -> Self {
        values.sort_unstable();
        Self {
            min: percentile(&values, 0.0),
            p50: percentile(&values, 0.5),
            p90: percentile(&values, 0.9),
            max: percentile(&values, 1.0),
        }
    }
}

/// What `--scene-api --frames` prints (and `--json` prints as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SceneBenchReport {
    /// Frames sent.
    pub frames: usize,
    pub cameras: usize,
    pub concurrency: usize,
    /// Images each frame asks for: cameras × image types.
    pub images_per_frame: usize,
    /// Geometries in the scene, and the poses each frame sends (all but the half space).
    pub geometries: usize,
    pub poses_per_frame: usize,
    /// Frames whose answer held every image asked for, at its size.
    pub succeeded: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    /// Registering the scene: the asset check and upload, then `POST /v1/scenes`.
    pub setup_ms: f64,
    /// Each frame's round trip.
    pub frame_latency_ms: Spread,
    /// Each frame's round trip divided by its images: what one image costs.
    pub image_latency_ms: Spread,
    pub frames_per_second: f64,
    pub images_per_second: f64,
    pub elapsed_seconds: f64,
    /// A frame's request body (every frame of a run has the same size).
    pub request_bytes_per_frame: usize,
    /// The mean answer body of the successful frames.
    pub answer_bytes_per_frame: usize,
    /// The request Drake's client sends for one image of the same scene: the multipart body
    /// around the whole scene's glTF, re-sent for every image of every camera.
    pub drake_request_bytes_per_image: usize,
}

impl std::fmt::Display for SceneBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "frames {}  cameras {}  images/frame {}  concurrency {}  ok {}  errors {}",
            self.frames,
            self.cameras,
            self.images_per_frame,
            self.concurrency,
            self.succeeded,
            self.errors
        )?;
        writeln!(
            f,
            "scene: {} geometries registered in {:.1} ms; {} poses sent per frame",
            self.geometries, self.setup_ms, self.poses_per_frame
        )?;
        for (what, s) in [
            ("frame", self.frame_latency_ms),
            ("image", self.image_latency_ms),
        ] {
            writeln!(
                f,
                "{what} latency  min {:.1} ms  median {:.1} ms  p90 {:.1} ms  max {:.1} ms",
                s.min, s.p50, s.p90, s.max
            )?;
        }
        writeln!(
            f,
            "{:.2} frames/s  {:.2} images/s over {:.2} s",
            self.frames_per_second, self.images_per_second, self.elapsed_seconds
        )?;
        let per_image = self.request_bytes_per_frame as f64 / self.images_per_frame.max(1) as f64;
        write!(
            f,
            "sent {} B per frame ({:.0} B per image), received {} B per frame; Drake's client \
             sends {} B per image of this scene ({:.0}× more per image)",
            self.request_bytes_per_frame,
            per_image,
            self.answer_bytes_per_frame,
            self.drake_request_bytes_per_image,
            self.drake_request_bytes_per_image as f64 / per_image.max(1.0)
        )?;
        if let Some(error) = &self.first_error {
            write!(f, "\nfirst error: {error}")?;
        }
        Ok(())
    }
}

/// N cameras on a ring 3 m around the scene, 2 m up, all looking at its middle.
pub fn ring_cameras(
    count: usize,
    intrinsics: &Intrinsics,
    depth_range: DepthRange,
    images: &[ImageName],
) -> Vec<Camera> {
    (0..count)
        .map(|k| {
            let angle = std::f64::consts::TAU * k as f64 / count.max(1) as f64;
            let position = DVec3::new(3.0 * angle.cos(), 3.0 * angle.sin(), 2.0);
            let pose = CameraPose::look_at(position, DVec3::new(0.0, 0.0, 0.2), DVec3::Z)
                .unwrap_or(CameraPose {
                    rotation: glam::DMat3::IDENTITY,
                    position,
                });
            frame_camera(intrinsics, depth_range, &pose, images)
        })
        .collect()
}

/// A frame's camera from the render client's camera description.
pub fn frame_camera(
    k: &Intrinsics,
    depth_range: DepthRange,
    pose: &CameraPose,
    images: &[ImageName],
) -> Camera {
    Camera {
        width: k.width,
        height: k.height,
        fx: k.focal_x,
        fy: k.focal_y,
        cx: k.center_x,
        cy: k.center_y,
        near: k.near,
        far: k.far,
        x_wc: camera_pose(pose),
        images: images.to_vec(),
        depth_range: images
            .contains(&ImageName::Depth)
            .then_some([depth_range.min_depth, depth_range.max_depth]),
    }
}

/// `X_WC` as the scene API carries it.
pub fn camera_pose(pose: &CameraPose) -> Pose {
    let (r, p) = (pose.rotation, pose.position);
    [
        r.x_axis.x, r.y_axis.x, r.z_axis.x, p.x, r.x_axis.y, r.y_axis.y, r.z_axis.y, p.y,
        r.x_axis.z, r.y_axis.z, r.z_axis.z, p.z,
    ]
}

/// Whether an answer holds every image asked for, at its size, in the order asked.
fn complete(
    header: &FrameHeader,
    images: &[crate::protocol::scene_api::frame::AnswerImage],
) -> Result<(), String> {
    let expected: Vec<(usize, ImageName, u32, u32)> = header
        .cameras
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.images.iter().map(move |&t| (i, t, c.width, c.height)))
        .collect();
    let got: Vec<(usize, ImageName, u32, u32)> = images
        .iter()
        .map(|i| (i.camera, i.kind, i.width, i.height))
        .collect();
    if got == expected {
        Ok(())
    } else {
        Err(format!("asked for {expected:?}, answered {got:?}"))
    }
}

/// Registers the built-in scene, runs the frames, deletes the scene.
///
/// # Errors
/// Registering the scene failed (the frames' own failures are counted in the report).
pub async fn run(
    client: &SceneApiClient,
    options: &BenchOptions,
) -> Result<SceneBenchReport, SceneApiError> {
    let setup = Instant::now();
    let obj = builtin::cube_obj();
    let scene: Vec<Placed> = builtin::scene(&asset_name(&obj));
    client.upload_missing(&[obj]).await?;
    let created = client
        .create_scene(&SceneRequest {
            geometries: scene.iter().map(|p| p.geometry.clone()).collect(),
            look: None,
            look_files: Default::default(),
        })
        .await?;
    let setup_ms = setup.elapsed().as_secs_f64() * 1000.0;
    let cameras = ring_cameras(
        options.cameras,
        &options.intrinsics,
        options.depth_range,
        &options.images,
    );
    let moving: Vec<&Placed> = scene
        .iter()
        .filter(|p| p.geometry.id != builtin::FLOOR_ID)
        .collect();
    let header = FrameHeader {
        poses: moving.len(),
        encoding: options.encoding,
        cameras,
    };
    let images_per_frame = options.cameras * options.images.len();

    let bar = if options.progress {
        indicatif::ProgressBar::new(options.frames as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let outcomes: Vec<Result<(Duration, usize, usize), String>> = stream::iter(0..options.frames)
        .map(|n| {
            let poses: Vec<PoseRecord> = moving
                .iter()
                .map(|p| PoseRecord {
                    id: p.geometry.id,
                    x_wg: builtin::moving_pose(p, n),
                })
                .collect();
            let (header, bar, id) = (&header, &bar, &created.scene);
            async move {
                let sent = Instant::now();
                let result = match client.frame(id, header, &poses).await {
                    Ok(answer) => complete(header, &answer.images)
                        .map(|()| (sent.elapsed(), answer.sent_bytes, answer.received_bytes)),
                    Err(e) => Err(e.to_string()),
                };
                bar.inc(1);
                result
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    // Best effort: the server expires an idle scene anyway.
    let _ = client.delete_scene(&created.scene).await;

    let done: Vec<(Duration, usize, usize)> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().copied())
        .collect();
    let latencies: Vec<Duration> = done.iter().map(|d| d.0).collect();
    let per_image: Vec<Duration> = latencies
        .iter()
        .map(|d| *d / u32::try_from(images_per_frame.max(1)).unwrap_or(u32::MAX))
        .collect();
    let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
    let drake_form = Form::new(
        builtin::drake_gltf(&scene),
        1,
        options
            .images
            .first()
            .copied()
            .unwrap_or(ImageName::Color)
            .image_type(),
        &options.intrinsics,
        options.depth_range,
    );
    Ok(SceneBenchReport {
        frames: options.frames,
        cameras: options.cameras,
        concurrency: options.concurrency.max(1),
        images_per_frame,
        geometries: created.geometries,
        poses_per_frame: moving.len(),
        succeeded: done.len(),
        errors: options.frames - done.len(),
        first_error: outcomes.iter().find_map(|o| o.as_ref().err().cloned()),
        setup_ms,
        frame_latency_ms: Spread::of(latencies),
        image_latency_ms: Spread::of(per_image),
        frames_per_second: done.len() as f64 / seconds,
        images_per_second: (done.len() * images_per_frame) as f64 / seconds,
        elapsed_seconds: elapsed.as_secs_f64(),
        request_bytes_per_frame: done.iter().map(|d| d.1).max().unwrap_or(0),
        answer_bytes_per_frame: done.iter().map(|d| d.2).sum::<usize>() / done.len().max(1),
        drake_request_bytes_per_image: drake_form.multipart_body(&new_boundary()).len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_cameras_look_at_the_scene_and_ask_depth_range_only_with_depth() {
        let k = Intrinsics::from_fov_y(64, 48, 0.8, 0.01, 10.0);
        let range = DepthRange {
            min_depth: 0.1,
            max_depth: 8.0,
        };
        let cameras = ring_cameras(3, &k, range, &[ImageName::Color, ImageName::Depth]);
        assert_eq!(cameras.len(), 3);
        for camera in &cameras {
            assert_eq!(
                crate::protocol::scene_api::pose::check(&camera.x_wc),
                Ok(())
            );
            assert_eq!(camera.depth_range, Some([0.1, 8.0]));
            // The optical axis (third column of R) points from the camera towards the middle.
            let p = DVec3::new(camera.x_wc[3], camera.x_wc[7], camera.x_wc[11]);
            let z = DVec3::new(camera.x_wc[2], camera.x_wc[6], camera.x_wc[10]);
            assert!(z.dot((DVec3::new(0.0, 0.0, 0.2) - p).normalize()) > 0.999);
        }
        let colour_only = ring_cameras(1, &k, range, &[ImageName::Color]);
        assert_eq!(colour_only[0].depth_range, None);
    }
}
