//! A scene registered with its own `RenderEngineVtkParams` renders with them, beside scenes that
//! render with the server's; its environment map is an asset.

use super::{assert_refused, box_shape, camera_above, geometry, sha256, Api};
use crate::common;

use gltf_cloud::protocol::scene_api::frame::{AnswerImage, Encoding, ImageName};
use gltf_cloud::roles::render_server::Config;
use serde_json::json;

/// The top-left pixel, where nothing is drawn: the background.
fn corner(image: &AnswerImage) -> [u8; 4] {
    image.data[..4].try_into().unwrap()
}

/// An equirectangular PNG of one colour, 16×8.
fn sky(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 16, 8);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&rgb.repeat(16 * 8)).unwrap();
    }
    out
}

#[tokio::test]
async fn each_scene_renders_with_its_own_look_or_the_servers() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let geometries = json!([geometry(1, box_shape(0.4), [0.0; 3], json!({}))]);
    let plain = api.create(json!({"geometries": geometries})).await;
    let dark = api
        .create(json!({"geometries": geometries,
            "look": "default_clear_color: [0.0, 0.0, 0.0]\nlights:\n- type: directional\n  frame: camera\n  intensity: 0.5\n"}))
        .await;
    let colour = || vec![camera_above(vec![ImageName::Color])];
    let plain_image = &api.images(&plain, colour(), &[], Encoding::Raw).await[0];
    let dark_image = &api.images(&dark, colour(), &[], Encoding::Raw).await[0];
    assert_eq!(corner(plain_image), [204, 229, 255, 255]);
    assert_eq!(corner(dark_image), [0, 0, 0, 255]);
    // Drake's default diffuse lit at half intensity: half the plain scene's box.
    let at = (23 * 64 + 31) * 4;
    let (lit, half) = (plain_image.data[at], dark_image.data[at]);
    assert!(
        (i32::from(lit) - 2 * i32::from(half)).abs() <= 1,
        "{lit} vs {half}"
    );
    // The plain scene still renders with the server's look afterwards.
    let again = &api.images(&plain, colour(), &[], Encoding::Raw).await[0];
    assert_eq!(again.data, plain_image.data);
    api.stop().await;
}

#[tokio::test]
async fn an_environment_map_comes_from_an_asset() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let image = sky([255, 0, 0]);
    let look = "environment_map:\n  skybox: true\n  texture: !EquirectangularMap\n    path: /home/me/red.png\n";
    let scene =
        json!({"geometries": [], "look": look, "look_files": {"/home/me/red.png": sha256(&image)}});
    let reply = api.call("POST", "/v1/scenes", Some(scene.clone())).await;
    let refused = assert_refused(&reply, 409, "missing_assets", None);
    assert_eq!(refused["missing"], json!([sha256(&image)]));
    assert_eq!(api.put_asset(&image).await.status, 201);
    let id = api.create(scene).await;
    let images = api
        .images(
            &id,
            vec![camera_above(vec![ImageName::Color])],
            &[],
            Encoding::Raw,
        )
        .await;
    // The skybox is the red sky, where the default look draws its light blue.
    let [r, g, b, _] = corner(&images[0]);
    assert!(r > 200 && g < 60 && b < 60, "{:?}", corner(&images[0]));

    let unlisted = json!({"geometries": [], "look": look});
    let reply = api.call("POST", "/v1/scenes", Some(unlisted)).await;
    assert_refused(&reply, 400, "bad_request", Some("look_files"));
    let invalid = json!({"geometries": [], "look": "lights: [{type: sun}]"});
    let reply = api.call("POST", "/v1/scenes", Some(invalid)).await;
    assert_refused(&reply, 400, "bad_request", Some("look"));
    api.stop().await;
}

/// An environment map whose header reads but whose pixels do not fails where the renderer reads
/// this server's temporary copy of it; the 400 names the client's path, not that file.
#[tokio::test]
async fn a_broken_environment_map_is_named_as_the_client_named_it() {
    common::require_adapter!();
    let api = Api::start(Config::default()).await;
    let whole = sky([0, 0, 255]);
    // The signature and the IHDR chunk: the size reads, the image data is missing.
    let broken = whole[..33].to_vec();
    assert_eq!(api.put_asset(&broken).await.status, 201);
    let look = "environment_map:\n  skybox: true\n  texture: !EquirectangularMap\n    path: /home/me/blue.png\n";
    let scene = json!({"geometries": [], "look": look,
        "look_files": {"/home/me/blue.png": sha256(&broken)}});
    let reply = api.call("POST", "/v1/scenes", Some(scene)).await;
    let body = assert_refused(&reply, 400, "bad_request", Some("look"));
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("/home/me/blue.png"), "{message}");
    let temporary = std::env::temp_dir();
    assert!(
        !message.contains("gltf-cloud-environment")
            && !message.contains(temporary.to_str().unwrap()),
        "{message}"
    );
    api.stop().await;
}
