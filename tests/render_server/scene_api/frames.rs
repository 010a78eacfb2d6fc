//! `POST /v1/scenes/{id}/frames`: poses applied, every camera's images in one answer, checked by
//! value against the geometry's known place.

use super::{assert_refused, at, box_shape, camera_above, geometry, Api};
use crate::common;

use gltf_cloud::protocol::drake::decode::{ColorImage, Decoded, DepthImage};
use gltf_cloud::protocol::drake::label::{LABEL_DONT_CARE, LABEL_EMPTY};
use gltf_cloud::protocol::drake::preview;
use gltf_cloud::protocol::scene_api::frame::{
    self, AnswerImage, Encoding, FrameHeader, ImageFormat, ImageName, PoseRecord, POSE_RECORD_BYTES,
};
use gltf_cloud::protocol::scene_api::pose;
use gltf_cloud::roles::render_server::Config;
use serde_json::{json, Value};

const BACKGROUND: [u8; 4] = [204, 229, 255, 255];
const RED: [u8; 4] = [255, 0, 0, 255];

/// RenderEngineVtk's `kDoNotRender`.
const LABEL_DO_NOT_RENDER: i16 = 32765;

/// The pixel at (u, v) of a 64-wide RGBA8 image.
fn rgba(image: &AnswerImage, u: usize, v: usize) -> [u8; 4] {
    let at = (v * image.width as usize + u) * 4;
    image.data[at..at + 4].try_into().unwrap()
}

fn depth(image: &AnswerImage, u: usize, v: usize) -> f32 {
    let at = (v * image.width as usize + u) * 4;
    f32::from_le_bytes(image.data[at..at + 4].try_into().unwrap())
}

fn label(image: &AnswerImage, u: usize, v: usize) -> i16 {
    let at = (v * image.width as usize + u) * 2;
    i16::from_le_bytes(image.data[at..at + 2].try_into().unwrap())
}

/// A scene of one red 0.4 m box at `x` on the world's x axis, under [`camera_above`]: world x
/// maps to pixel column `32·x/1.8 + 31.5` on its top face.
async fn red_box_at(api: &Api, x: f64) -> String {
    api.create(json!({"geometries": [
        geometry(1, box_shape(0.4), [x, 0.0, 0.0], json!({"phong/diffuse": [1, 0, 0, 1], "label/id": 7})),
    ]}))
    .await
}

#[tokio::test]
async fn a_pose_moves_the_box_in_the_colour_image() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let scene = red_box_at(&api, -0.5).await;
    let camera = || vec![camera_above(vec![ImageName::Color])];
    // Columns 22.6 (x = −0.5) and 40.4 (x = +0.5); row 23.5.
    let (left, right, row) = (22, 40, 23);
    let first = api.images(&scene, camera(), &[], Encoding::Raw).await;
    assert_eq!(rgba(&first[0], left, row), RED);
    assert_eq!(rgba(&first[0], right, row), BACKGROUND);

    let moved = PoseRecord {
        id: 1,
        x_wg: at([0.5, 0.0, 0.0]),
    };
    let reply = api.frame(&scene, camera(), &[moved], Encoding::Raw).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let (number, second) = frame::parse_answer(&reply.body).unwrap();
    assert_eq!(number, 2);
    assert_eq!(rgba(&second[0], left, row), BACKGROUND);
    assert_eq!(rgba(&second[0], right, row), RED);
    // The pose stays: a frame without poses draws the box where the last one put it.
    let third = api.images(&scene, camera(), &[], Encoding::Raw).await;
    assert_eq!(third[0].data, second[0].data);
    assert_eq!(api.metric("scene_api_frames_total").await, 3.0);
    api.stop().await;
}

#[tokio::test]
async fn several_cameras_and_every_image_type_come_back_in_one_answer() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let scene = red_box_at(&api, 0.0).await;
    let mut side = camera_above(vec![ImageName::Label]);
    (side.width, side.height, side.cx, side.cy) = (32, 24, 15.5, 11.5);
    side.x_wc[3] = 0.2;
    let cameras = vec![
        camera_above(vec![ImageName::Color, ImageName::Depth, ImageName::Label]),
        side,
    ];
    let images = api
        .images(&scene, cameras.clone(), &[], Encoding::Raw)
        .await;
    let summary: Vec<(usize, ImageName, u32, u32, ImageFormat, usize)> = images
        .iter()
        .map(|i| (i.camera, i.kind, i.width, i.height, i.format, i.data.len()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, ImageName::Color, 64, 48, ImageFormat::Rgba8, 64 * 48 * 4),
            (0, ImageName::Depth, 64, 48, ImageFormat::F32, 64 * 48 * 4),
            (0, ImageName::Label, 64, 48, ImageFormat::I16, 64 * 48 * 2),
            (1, ImageName::Label, 32, 24, ImageFormat::I16, 32 * 24 * 2),
        ]
    );

    // The same frame encoded: PNG colour, float TIFF depth, 16-bit PNG labels, the same values.
    let encoded = api.images(&scene, cameras, &[], Encoding::Png).await;
    let formats: Vec<ImageFormat> = encoded.iter().map(|i| i.format).collect();
    assert_eq!(
        formats,
        [
            ImageFormat::Png,
            ImageFormat::Tiff,
            ImageFormat::Png,
            ImageFormat::Png
        ]
    );
    let colour = ColorImage::decode(&encoded[0].data, 64, 48, "colour").unwrap();
    assert_eq!(colour.rgba, images[0].data);
    let depth = DepthImage::decode(&encoded[1].data, 64, 48, "depth").unwrap();
    let raw_depth: Vec<f32> = (images[1].data.chunks_exact(4))
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(depth.metres, raw_depth);
    for (encoded, raw) in encoded[2..].iter().zip(&images[2..]) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(&encoded.data))
            .read_info()
            .unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Grayscale, png::BitDepth::Sixteen)
        );
        let values: Vec<i16> = (buffer.chunks_exact(2))
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .collect();
        let raw: Vec<i16> = (raw.data.chunks_exact(2))
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(values, raw);
    }
    api.stop().await;
}

/// A box whose top face is 1.8 m from the camera reads 1.8 m in depth and its label in the label
/// image; around it depth is +inf (nothing hit) and the label kEmpty. A kDoNotRender box is drawn
/// in colour but left out of labels; one without a label is kDontCare.
#[tokio::test]
async fn depth_and_labels_read_the_geometry_by_value() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let scene = api
        .create(json!({"geometries": [
            geometry(1, box_shape(0.4), [0.0; 3], json!({"label/id": 7})),
            geometry(2, box_shape(0.4), [0.5, 0.0, 0.0], json!({"label/id": LABEL_DO_NOT_RENDER})),
            geometry(3, box_shape(0.4), [-0.5, 0.0, 0.0], json!({})),
        ]}))
        .await;
    let cameras = vec![camera_above(vec![
        ImageName::Color,
        ImageName::Depth,
        ImageName::Label,
    ])];
    let images = api.images(&scene, cameras, &[], Encoding::Raw).await;
    let (centre, row) = (31, 23);
    assert!((depth(&images[1], centre, row) - 1.8).abs() < 1e-5);
    assert_eq!(depth(&images[1], 0, 0), f32::INFINITY);
    assert_eq!(label(&images[2], centre, row), 7);
    assert_eq!(label(&images[2], 0, 0), LABEL_EMPTY);
    assert_eq!(label(&images[2], 40, row), LABEL_EMPTY);
    assert_ne!(rgba(&images[0], 40, row), BACKGROUND);
    assert_eq!(label(&images[2], 22, row), LABEL_DONT_CARE);
    let labels: std::collections::BTreeSet<i16> = (images[2].data.chunks_exact(2))
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        [7, LABEL_DONT_CARE, LABEL_EMPTY]
    );
    api.stop().await;
}

#[tokio::test]
async fn bad_frames_are_refused_and_move_nothing() {
    common::require_adapter!();
    let api = Api::start(Config {
        max_cameras_per_frame: 1,
        ..Config::default()
    })
    .await;
    let scene = red_box_at(&api, -0.5).await;
    let colour = || vec![camera_above(vec![ImageName::Color])];
    let moved = at([0.5, 0.0, 0.0]);

    let mut scaled = moved;
    scaled[0] = 2.0;
    let reply = api
        .frame(
            &scene,
            colour(),
            &[PoseRecord {
                id: 1,
                x_wg: scaled,
            }],
            Encoding::Raw,
        )
        .await;
    assert_refused(&reply, 400, "bad_request", Some("poses[0]"));

    let records = [PoseRecord { id: 1, x_wg: moved }];
    let header = FrameHeader {
        poses: 1,
        encoding: Encoding::Raw,
        cameras: colour(),
    };
    let mut short = frame::write_request(&header, &records);
    short.truncate(short.len() - POSE_RECORD_BYTES / 2);
    assert_refused(
        &api.frame_bytes(&scene, short).await,
        400,
        "bad_request",
        Some("poses"),
    );

    let stranger = [
        PoseRecord { id: 1, x_wg: moved },
        PoseRecord {
            id: 42,
            x_wg: moved,
        },
    ];
    let reply = api.frame(&scene, colour(), &stranger, Encoding::Raw).await;
    let refused = assert_refused(&reply, 400, "bad_request", Some("poses[1]"));
    assert!(refused["message"].as_str().unwrap().contains("42"));

    let mut no_range = camera_above(vec![ImageName::Depth]);
    no_range.depth_range = None;
    let reply = api.frame(&scene, vec![no_range], &[], Encoding::Raw).await;
    assert_refused(&reply, 400, "bad_request", Some("cameras[0].depth_range"));

    let two = vec![camera_above(vec![ImageName::Label]); 2];
    let reply = api.frame(&scene, two, &[], Encoding::Raw).await;
    let refused = assert_refused(&reply, 413, "too_large", Some("cameras"));
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("maxCamerasPerFrame"));

    let garbage = api
        .frame_bytes(&scene, b"GCF1\xff\xff\xff\xff".to_vec())
        .await;
    assert_refused(&garbage, 400, "bad_request", Some("body"));

    // Nothing moved, and no frame was counted.
    let images = api.images(&scene, colour(), &[], Encoding::Raw).await;
    assert_eq!(rgba(&images[0], 22, 23), RED);
    let summary: Value = serde_json::from_slice(
        &api.call("GET", &format!("/v1/scenes/{scene}"), None)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(summary["frames"], 1);
    api.stop().await;
}

/// An image bounded above `maxCoveredPixels` is refused before it is rendered, naming the key,
/// and its poses are not applied.
#[tokio::test]
async fn the_covered_pixel_bound_refuses_before_rendering() {
    common::require_adapter!();
    let api = Api::start(Config {
        max_covered_pixels: 100,
        ..Config::default()
    })
    .await;
    let scene = red_box_at(&api, -0.5).await;
    let moved = [PoseRecord {
        id: 1,
        x_wg: pose::IDENTITY,
    }];
    let reply = api
        .frame(
            &scene,
            vec![camera_above(vec![ImageName::Label])],
            &moved,
            Encoding::Raw,
        )
        .await;
    let refused = assert_refused(&reply, 413, "too_large", Some("cameras[0]"));
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("maxCoveredPixels"));
    let rendered = api
        .metric(r#"render_gpu_seconds_count{image_type="label"}"#)
        .await;
    assert!(rendered.is_nan(), "rendered anyway: {rendered}");
    api.stop().await;
}

/// A frame of the most cameras, each with all three images, on a server with one worker and no
/// queue: one admitted request whose 48 images all wait for the one worker, answered together.
#[tokio::test]
async fn the_largest_frame_fits_one_admitted_request() {
    common::require_adapter!();
    let api = Api::start(Config {
        render_workers: 1,
        render_queue_depth: 0,
        ..Config::default()
    })
    .await;
    let scene = red_box_at(&api, 0.0).await;
    let mut camera = camera_above(vec![ImageName::Color, ImageName::Depth, ImageName::Label]);
    (camera.width, camera.height, camera.cx, camera.cy) = (8, 6, 3.5, 2.5);
    let cameras = vec![camera; 16];
    let images = api.images(&scene, cameras, &[], Encoding::Raw).await;
    assert_eq!(images.len(), 48);
    assert!(images
        .iter()
        .enumerate()
        .all(|(i, image)| image.camera == i / 3));
    assert_eq!(api.metric("scene_api_images_total").await, 48.0);
    api.stop().await;
}

/// A frame's images become the status page's previews, their camera named (never the scene's id),
/// in the preview colours: label 7's hue over the white background, the box top the depth ramp's
/// near end over nothing hit (black).
#[tokio::test]
async fn a_frames_images_become_the_status_pages_previews() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let scene = red_box_at(&api, 0.0).await;
    let images = vec![ImageName::Color, ImageName::Depth, ImageName::Label];
    api.images(&scene, vec![camera_above(images)], &[], Encoding::Raw)
        .await;
    let status: Value =
        serde_json::from_slice(&api.call("GET", "/status.json", None).await.body).unwrap();
    for name in ["color", "depth", "label"] {
        assert_eq!(
            status["previews"][name]["source"], "scene API, camera 0",
            "{status}"
        );
    }
    assert!(!status.to_string().contains(&scene), "{status}");
    let rgb_at = |reply: common::Reply, u: usize, v: usize| -> [u8; 3] {
        assert_eq!(reply.status, 200, "{}", reply.text());
        let mut reader = png::Decoder::new(std::io::Cursor::new(reply.body))
            .read_info()
            .unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!((info.width, info.color_type), (64, png::ColorType::Rgb));
        let at = (v * 64 + u) * 3;
        buffer[at..at + 3].try_into().unwrap()
    };
    let label = || api.call("GET", "/status/preview/label.png", None);
    assert_eq!(rgb_at(label().await, 31, 23), preview::label_rgb(7));
    assert_eq!(rgb_at(label().await, 0, 0), [255, 255, 255]);
    let depth = || api.call("GET", "/status/preview/depth.png", None);
    assert_eq!(rgb_at(depth().await, 31, 23), preview::ramp(0.0));
    assert_eq!(rgb_at(depth().await, 0, 0), preview::TOO_FAR_RGB);
    api.stop().await;
}
