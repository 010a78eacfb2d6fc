//! The render client against our own render server (`roles::render_server::run`) on port 0: every
//! image type with both intrinsics styles, the files the CLI writes, and the conformance suite.

use crate::common;

use std::io::Cursor;
use std::time::Duration;

use glam::DVec3;
use gltf_cloud::protocol::drake::label::LABEL_DONT_CARE;
use gltf_cloud::roles::render_client::scenes::{AnalyticScene, CameraBox};
use gltf_cloud::roles::render_client::{
    check, Camera, CameraPose, ClientOptions, DepthRange, Image, ImageType, RenderClient,
};
use gltf_cloud::roles::render_server::Config;
use gltf_cloud::scene::camera::Intrinsics;

/// Generous: a software adapter renders these small images in well under a second each.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A box whose front face is 1.5 m in front of the camera and fills the image centre.
fn box_scene(pose: CameraPose) -> AnalyticScene {
    AnalyticScene {
        pose,
        boxes: vec![CameraBox {
            center: DVec3::new(0.0, 0.0, 1.55),
            half_size: DVec3::new(0.3, 0.2, 0.05),
            diffuse: [0.9, 0.2, 0.1, 1.0],
            label: 42,
        }],
    }
}

#[tokio::test]
async fn every_image_type_with_both_intrinsics_styles() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    let client = RenderClient::new(&server.url(), "render", &ClientOptions::default()).unwrap();
    let pose = CameraPose::look_at(
        DVec3::new(2.0, 0.0, 0.5),
        DVec3::new(0.0, 0.0, 0.5),
        DVec3::Z,
    )
    .unwrap();
    let fov_style = Intrinsics::from_fov_y(96, 64, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
    let explicit = Intrinsics {
        width: 97,
        height: 65,
        focal_x: 70.0,
        focal_y: 90.0,
        center_x: 48.5,
        center_y: 32.5,
        near: 0.01,
        far: 10.0,
    };
    for intrinsics in [fov_style, explicit] {
        let camera = Camera {
            intrinsics,
            depth_range: DepthRange {
                min_depth: 0.01,
                max_depth: 10.0,
            },
            pose: Some(pose),
        };
        let scene = box_scene(pose);
        // The optical axis hits the box face, so the pixel at the principal point sees it.
        let centre = (intrinsics.center_y as usize) * intrinsics.width as usize
            + intrinsics.center_x as usize;
        for image_type in [ImageType::Color, ImageType::Depth, ImageType::Label] {
            let image = tokio::time::timeout(
                TEST_TIMEOUT,
                client.render(&scene.gltf(image_type), &camera, image_type),
            )
            .await
            .unwrap()
            .unwrap();
            assert_eq!(image.size(), (intrinsics.width, intrinsics.height));
            match image {
                Image::Color(color) => {
                    let (c, corner) = (&color.rgba[centre * 4..centre * 4 + 4], &color.rgba[..4]);
                    assert_ne!(c, corner, "the box must not look like background");
                    assert!(c[0] > c[1] && c[0] > c[2], "a red box looks red: {c:?}");
                }
                Image::Depth(depth) => {
                    assert!(
                        (depth.metres[centre] - 1.5).abs() < 0.001,
                        "{}",
                        depth.metres[centre]
                    );
                    assert_eq!(depth.metres[0], f32::INFINITY);
                }
                Image::Label(label) => {
                    assert_eq!(label.labels[centre], 42);
                    assert_eq!(label.labels[0], LABEL_DONT_CARE);
                }
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn conformance_suite_passes() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    let client = RenderClient::new(&server.url(), "render", &ClientOptions::default()).unwrap();
    let results = tokio::time::timeout(TEST_TIMEOUT, check::run(&client))
        .await
        .unwrap();
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    assert!(failed.is_empty(), "{}", check::table(&results));
    server.stop().await;
}

#[tokio::test]
async fn cli_writes_files_that_decode_to_the_expected_images() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let pose = CameraPose::look_at(
        DVec3::new(2.0, 0.0, 0.5),
        DVec3::new(0.0, 0.0, 0.5),
        DVec3::Z,
    )
    .unwrap();
    // Color materials: the CLI sends the same file for every type, as a user's scene would be.
    let scene_path = dir.path().join("box.gltf");
    std::fs::write(&scene_path, box_scene(pose).gltf(ImageType::Color)).unwrap();
    let out = dir.path().join("out");
    let child = tokio::process::Command::new(common::binary())
        .args([
            "client",
            "--server-base-url",
            &server.url(),
            scene_path.to_str().unwrap(),
        ])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--width",
            "80",
            "--height",
            "60",
        ])
        .args(["--camera-position", "2,0,0.5", "--camera-target", "0,0,0.5"])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(TEST_TIMEOUT, child)
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let color = png::Decoder::new(Cursor::new(
        std::fs::read(out.join("box-color.png")).unwrap(),
    ));
    let info = color.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (80, 60));
    let mut depth = tiff::decoder::Decoder::new(Cursor::new(
        std::fs::read(out.join("box-depth.tiff")).unwrap(),
    ))
    .unwrap();
    assert_eq!(depth.dimensions().unwrap(), (80, 60));
    let tiff::decoder::DecodingResult::F32(metres) = depth.read_image().unwrap() else {
        panic!("not float32")
    };
    let centre = 30 * 80 + 40;
    assert!((metres[centre] - 1.5).abs() < 0.001, "{}", metres[centre]);
    assert_eq!(metres[0], f32::INFINITY);
    assert!(out.join("box-label.png").is_file() && out.join("box-label-preview.png").is_file());
    server.stop().await;
}

/// Drake exports a file per image type: a file whose name says its type is rendered as that type
/// unless asked otherwise, asking for another type is warned about, and a Drake export under
/// another name gets a note.
#[tokio::test]
async fn cli_renders_a_named_export_as_its_own_type_and_says_so() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let depth_export = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/depth/tabletop.gltf");
    let unnamed = dir.path().join("scene.gltf");
    std::fs::copy(depth_export, &unnamed).unwrap();
    let render = |scene: String, extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let mut command = tokio::process::Command::new(common::binary());
        command
            .args(["client", "--server-base-url", &server.url(), &scene])
            .args([
                "--out",
                out.to_str().unwrap(),
                "--width",
                "32",
                "--height",
                "24",
            ])
            .args(extra)
            .kill_on_drop(true);
        async move {
            let output = tokio::time::timeout(TEST_TIMEOUT, command.output())
                .await
                .unwrap()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let mut written: Vec<String> = std::fs::read_dir(&out)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            written.sort();
            (
                written,
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };

    let (written, stderr) = render(depth_export.to_owned(), &[], "chosen").await;
    assert_eq!(
        written,
        ["tabletop-depth-preview.png", "tabletop-depth.tiff"]
    );
    assert!(
        stderr.contains("Drake's export for depth images (it lies in a folder named depth); rendering depth only"),
        "{stderr}"
    );

    let (written, stderr) = render(
        depth_export.to_owned(),
        &["--image-type", "color,depth"],
        "asked",
    )
    .await;
    assert_eq!(written.len(), 3, "{written:?}");
    assert!(
        stderr.contains("warning:") && stderr.contains("its color image"),
        "{stderr}"
    );
    assert!(!stderr.contains("its depth image"), "{stderr}");

    let (written, stderr) = render(unnamed.display().to_string(), &[], "unnamed").await;
    assert_eq!(written.len(), 5, "all three types: {written:?}");
    assert!(stderr.contains("written by Drake's exporter"), "{stderr}");
    server.stop().await;
}
