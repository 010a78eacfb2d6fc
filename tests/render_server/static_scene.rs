//! The server-side static scene (`--scene`, config `staticScene`) and the look's parameters at
//! start, through the real HTTP server: a static floor, read with its external `.bin`, appears in
//! colour and depth and is white (Drake's "don't care") in labels; requests in between cannot
//! change it, even with a cache so small that everything else is evicted; and start-up errors
//! name the file at fault.

use std::path::{Path, PathBuf};

use gltf_cloud::protocol::drake::decode::{ColorImage, Decoded, DepthImage};
use gltf_cloud::roles::render_client::ImageType;
use gltf_cloud::roles::render_server::{run, Config};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{form, tabletop, Server};
use crate::common;

/// The tabletop's camera (at (0.9, 0.55, 0.65), optical axis (−0.734, −0.459, −0.501), a unit
/// vector) with its meshes removed: only what the server adds is drawn.
fn camera_only(image_type: ImageType) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(&tabletop(image_type)).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    let camera = nodes
        .iter()
        .position(|node| node.get("camera").is_some())
        .unwrap();
    let root = nodes
        .iter()
        .position(|node| node["name"] == "Renderer Node")
        .unwrap();
    doc["nodes"][root]["children"] = serde_json::json!([camera]);
    serde_json::to_vec(&doc).unwrap()
}

/// Planar depth at pixel ([`CENTRE`]) on the plane z = `height`. The camera is 0.65 m up, its
/// optical axis falls 0.5005 m per metre, and its image +y (down) rises 0.8657 m per metre; the
/// pixel's centre lies one pixel below the axis (cy = 23.5 with Drake's pixel centres at +0.5),
/// at focal length 24 / tan(22.5°).
fn centre_depth(height: f64) -> f64 {
    let below_axis = (std::f64::consts::PI / 8.0).tan() / 24.0;
    (0.65 - height) / (0.500_539_064_966_064_4 + 0.865_713_950_703_636 * below_axis)
}

/// A red 10 m × 10 m floor at z = `height` (Drake's world, Z-up), its geometry in `floor.bin`
/// beside `floor.gltf` in `dir`, named by a relative URI.
fn write_floor(dir: &Path, height: f32) -> PathBuf {
    let positions =
        [[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0]].map(|[x, y]| [x, y, height]);
    let mut bin: Vec<u8> = positions
        .iter()
        .flatten()
        .flat_map(|v: &f32| v.to_le_bytes())
        .collect();
    bin.extend(
        [[0.0f32, 0.0, 1.0]; 4]
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes()),
    );
    bin.extend([0u16, 1, 2, 0, 2, 3].iter().flat_map(|i| i.to_le_bytes()));
    std::fs::write(dir.join("floor.bin"), &bin).unwrap();
    let gltf = serde_json::json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "floor"}],
        "meshes": [{"primitives": [{
            "attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1.0, 0.0, 0.0, 1.0]}}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
             "min": [-5.0, -5.0, height], "max": [5.0, 5.0, height]},
            {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"},
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 48},
            {"buffer": 0, "byteOffset": 48, "byteLength": 48},
            {"buffer": 0, "byteOffset": 96, "byteLength": 12},
        ],
        "buffers": [{"byteLength": bin.len(), "uri": "floor.bin"}],
    });
    let path = dir.join("floor.gltf");
    std::fs::write(&path, gltf.to_string()).unwrap();
    path
}

async fn body(server: &Server, image_type: ImageType, scene: Vec<u8>) -> Vec<u8> {
    let reply = server.post(&form(image_type, scene)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.body
}

async fn color(server: &Server, scene: Vec<u8>) -> ColorImage {
    ColorImage::decode(
        &body(server, ImageType::Color, scene).await,
        64,
        48,
        "color",
    )
    .unwrap()
}

async fn depth(server: &Server, scene: Vec<u8>) -> DepthImage {
    DepthImage::decode(
        &body(server, ImageType::Depth, scene).await,
        64,
        48,
        "depth",
    )
    .unwrap()
}

/// Label answers as RGB pixels (white is "don't care").
async fn label_rgb(server: &Server, scene: Vec<u8>) -> Vec<[u8; 3]> {
    let image = ColorImage::decode(
        &body(server, ImageType::Label, scene).await,
        64,
        48,
        "label",
    )
    .unwrap();
    image
        .rgba
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

const CENTRE: usize = 24 * 64 + 32;

#[tokio::test]
async fn a_static_floor_is_drawn_in_color_and_depth_and_white_in_labels() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let floor = write_floor(dir.path(), 0.02);
    let plain = Server::start(Config::default()).await;
    let server = Server::start(Config {
        static_scene: vec![floor],
        ..Config::default()
    })
    .await;

    // Colour: background without the floor; the red floor, headlit at 60°, with it.
    let without = color(&plain, camera_only(ImageType::Color)).await;
    assert_eq!(without.rgba[CENTRE * 4..CENTRE * 4 + 3], [204, 229, 255]);
    let with = color(&server, camera_only(ImageType::Color)).await;
    let [r, g, b] = [0, 1, 2].map(|c| with.rgba[CENTRE * 4 + c]);
    // Lambert: 255 × cos(60°) of the red base colour = 127.6 (measured 128, 0, 0).
    assert!(
        (127..=129).contains(&r) && g == 0 && b == 0,
        "floor {r},{g},{b}"
    );

    // Depth: +inf without, the floor's planar distance with it.
    assert!(depth(&plain, camera_only(ImageType::Depth)).await.metres[CENTRE].is_infinite());
    let metres = f64::from(depth(&server, camera_only(ImageType::Depth)).await.metres[CENTRE]);
    assert!((metres - centre_depth(0.02)).abs() < 1e-3, "depth {metres}");

    // Labels: the floor (2 cm up) hides the table top (at −1 cm) and is white itself; the
    // objects standing on the table keep their labels, and no new colour appears.
    let labels_without = label_rgb(&plain, tabletop(ImageType::Label)).await;
    let labels_with = label_rgb(&server, tabletop(ImageType::Label)).await;
    const WHITE: [u8; 3] = [255; 3];
    let labelled = |pixels: &[[u8; 3]]| pixels.iter().filter(|p| **p != WHITE).count();
    assert!(labelled(&labels_with) < labelled(&labels_without));
    assert!(
        labelled(&labels_with) > 0,
        "the objects above the floor keep labels"
    );
    assert!(labels_with
        .iter()
        .all(|p| *p == WHITE || labels_without.contains(p)));
    assert!(label_rgb(&server, camera_only(ImageType::Label))
        .await
        .iter()
        .all(|p| *p == WHITE));
    plain.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn requests_cannot_alter_the_static_scene_even_when_the_cache_evicts_everything() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let floor = write_floor(dir.path(), 0.0);
    let server = Server::start(Config {
        static_scene: vec![floor.clone()],
        cache_bytes: Some(1),
        ..Config::default()
    })
    .await;
    let before = body(&server, ImageType::Color, camera_only(ImageType::Color)).await;
    let floor_pixel =
        &ColorImage::decode(&before, 64, 48, "color").unwrap().rgba[CENTRE * 4..][..3];
    assert!(
        floor_pixel[0] > 100 && floor_pixel[1] < 10,
        "{floor_pixel:?}"
    );
    // A request that sends the floor's own geometry as its scene, recoloured, then others.
    let mut copy: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&floor).unwrap()).unwrap();
    let camera =
        serde_json::from_slice::<serde_json::Value>(&camera_only(ImageType::Color)).unwrap();
    copy["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"] =
        serde_json::json!([0, 1, 0, 1]);
    let bin = std::fs::read(dir.path().join("floor.bin")).unwrap();
    use base64::Engine as _;
    copy["buffers"][0]["uri"] = format!(
        "data:application/octet-stream;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bin)
    )
    .into();
    copy["cameras"] = camera["cameras"].clone();
    copy["nodes"]
        .as_array_mut()
        .unwrap()
        .push(camera["nodes"][5].clone());
    copy["scenes"][0]["nodes"] = serde_json::json!([0, 1]);
    body(
        &server,
        ImageType::Color,
        serde_json::to_vec(&copy).unwrap(),
    )
    .await;
    for image_type in [ImageType::Color, ImageType::Depth, ImageType::Label] {
        body(&server, image_type, tabletop(image_type)).await;
    }
    let after = body(&server, ImageType::Color, camera_only(ImageType::Color)).await;
    assert_eq!(
        before, after,
        "the static floor answers byte for byte as before"
    );
    server.stop().await;
}

/// Starts `config` and returns the start-up error.
async fn start_error(config: Config) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = run(listener, config, CancellationToken::new())
        .await
        .expect_err("the server must refuse to start");
    format!("{error:#}")
}

#[tokio::test]
async fn start_up_errors_name_the_file_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.gltf");
    std::fs::write(&broken, "{\"asset\": [").unwrap();
    let error = start_error(Config {
        static_scene: vec![broken.clone()],
        ..Config::default()
    })
    .await;
    assert!(
        error.contains(&format!(
            "static scene {}: invalid glTF JSON",
            broken.display()
        )),
        "{error}"
    );

    let params = dir.path().join("params.yaml");
    std::fs::write(&params, "lights:\n- type: spotlight\n  intensity: 1.0\n").unwrap();
    let error = start_error(Config {
        vtk_params_file: Some(params.clone()),
        ..Config::default()
    })
    .await;
    assert!(
        error.contains(&format!(
            "{}, line 2 column 9: lights[0].type: unknown variant `spotlight`",
            params.display()
        )),
        "{error}"
    );

    std::fs::write(
        &params,
        "environment_map:\n  texture: !EquirectangularMap\n    path: /no/such/sky.hdr\n",
    )
    .unwrap();
    let error = start_error(Config {
        vtk_params_file: Some(params),
        ..Config::default()
    })
    .await;
    assert!(
        error.contains("environment_map.texture.path: cannot read /no/such/sky.hdr"),
        "{error}"
    );
}
