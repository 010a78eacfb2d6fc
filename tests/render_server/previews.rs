//! The status page's pictures over HTTP: `GET /status/preview/{color,depth,label}.png` before and
//! after Drake's renders, their sizes, their colours against the answers Drake got, the page and
//! `/status.json` that point at them, and `statusPreviews: false`.

use super::{assert_error, form, tabletop, Server};
use crate::common;

use gltf_cloud::protocol::drake::decode::{Decoded, DepthImage, LabelImage};
use gltf_cloud::protocol::drake::preview;
use gltf_cloud::roles::render_client::wire::Form;
use gltf_cloud::roles::render_client::{DepthRange, ImageType};
use gltf_cloud::roles::render_server::Config;
use gltf_cloud::scene::camera::Intrinsics;
use serde_json::Value;

const TYPES: [ImageType; 3] = [ImageType::Color, ImageType::Depth, ImageType::Label];

/// A 200 preview's size, colour type and pixels, checking it is a PNG nobody caches.
fn decode_png(reply: &common::Reply) -> (u32, u32, png::ColorType, Vec<u8>) {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "image/png");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let mut reader = png::Decoder::new(std::io::Cursor::new(&reply.body))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    pixels.truncate(frame.buffer_size());
    (frame.width, frame.height, frame.color_type, pixels)
}

async fn preview_of(server: &Server, image_type: ImageType) -> common::Reply {
    let path = format!("/status/preview/{}.png", image_type.as_str());
    common::get(server.addr, &path).await
}

async fn status(server: &Server) -> Value {
    serde_json::from_str(&common::get(server.addr, "/status.json").await.text()).unwrap()
}

#[tokio::test]
async fn previews_are_404_before_a_render_then_thumbnails_of_the_latest() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    for image_type in TYPES {
        let reply = preview_of(&server, image_type).await;
        assert_error(&reply, 404, &format!("no {} image", image_type.as_str()));
    }
    let before = status(&server).await;
    assert_eq!(before["previews"]["enabled"], true, "{before}");
    assert!(before["previews"]["color"].is_null(), "{before}");
    let page = common::get(server.addr, "/").await.text();
    assert!(page.contains("no image yet"), "{page}");

    // 640×480 keeps its aspect at 256 px on the long side.
    let intrinsics = Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
    for image_type in TYPES {
        let range = DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        };
        let request = Form::new(tabletop(image_type), 1, image_type, &intrinsics, range);
        assert_eq!(server.post(&request).await.status, 200);
        let (width, height, colour_type, _) = decode_png(&preview_of(&server, image_type).await);
        assert_eq!((width, height), (256, 192), "{image_type:?}");
        let expected = match image_type {
            ImageType::Color => png::ColorType::Rgba,
            ImageType::Depth | ImageType::Label => png::ColorType::Rgb,
        };
        assert_eq!(colour_type, expected, "{image_type:?}");
    }
    let after = status(&server).await;
    let mut sequences = Vec::new();
    for image_type in TYPES {
        let latest = &after["previews"][image_type.as_str()];
        assert_eq!(latest["source"], "Drake", "{after}");
        assert_eq!(
            (latest["width"].as_u64(), latest["height"].as_u64()),
            (Some(640), Some(480))
        );
        assert_eq!(latest["previewWidth"], 256, "{after}");
        assert!(latest["renderedAtUnixMs"].as_u64().unwrap() > 1_700_000_000_000);
        sequences.push(latest["sequence"].as_u64().unwrap());
    }
    assert_eq!(sequences, [1, 2, 3], "{after}");
    let page = common::get(server.addr, "/").await.text();
    assert!(
        page.contains("src=\"status/preview/label.png?sequence=3\"") && page.contains("640×480"),
        "{page}"
    );

    // A newer image replaces the one before, PNG included.
    assert_eq!(
        server
            .post(&form(ImageType::Color, tabletop(ImageType::Color)))
            .await
            .status,
        200
    );
    let (width, height, _, _) = decode_png(&preview_of(&server, ImageType::Color).await);
    assert_eq!((width, height), (64, 48));
    assert_eq!(status(&server).await["previews"]["color"]["sequence"], 4);
    server.stop().await;
}

/// Small enough to be its own thumbnail, so every preview pixel is the colour of the answer's.
#[tokio::test]
async fn depth_and_label_previews_draw_the_answers_in_the_documented_colours() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let answer = server
        .post(&form(ImageType::Depth, tabletop(ImageType::Depth)))
        .await;
    let depth = DepthImage::decode(&answer.body, 64, 48, "depth").unwrap();
    let (_, _, _, rgb) = decode_png(&preview_of(&server, ImageType::Depth).await);
    assert_eq!(rgb, preview::depth_rgb(&depth.metres));
    // The nearest and the farthest surface are the ramp's two ends.
    let pixels: Vec<&[u8]> = rgb.chunks_exact(3).collect();
    for end in [preview::ramp(0.0), preview::ramp(1.0)] {
        assert!(pixels.contains(&&end[..]), "{end:?} missing");
    }
    let (near, far) = preview::measured_range(&depth.metres).unwrap();
    let range = &status(&server).await["previews"]["depth"]["depthRange"];
    assert_eq!(range.as_array().unwrap().len(), 2);
    assert!(
        (range[0].as_f64().unwrap() - f64::from(near)).abs() < 1e-6,
        "{range}"
    );
    assert!(
        (range[1].as_f64().unwrap() - f64::from(far)).abs() < 1e-6,
        "{range}"
    );

    let answer = server
        .post(&form(ImageType::Label, tabletop(ImageType::Label)))
        .await;
    let labels = LabelImage::decode(&answer.body, 64, 48, "label").unwrap();
    let (_, _, _, rgb) = decode_png(&preview_of(&server, ImageType::Label).await);
    let expected: Vec<u8> = labels
        .labels
        .iter()
        .flat_map(|&l| preview::label_rgb(l))
        .collect();
    assert_eq!(rgb, expected);
    // The background (kDontCare) white, and the objects in hues, not greys.
    let pixels: Vec<&[u8]> = rgb.chunks_exact(3).collect();
    assert!(pixels.contains(&&[255, 255, 255][..]));
    assert!(pixels.iter().any(|p| p[0] != p[1] || p[1] != p[2]));
    server.stop().await;
}

#[tokio::test]
async fn previews_turned_off_take_nothing_and_say_so() {
    common::require_adapter!();
    let server = Server::start(Config {
        status_previews: false,
        ..Config::default()
    })
    .await;
    assert_eq!(
        server
            .post(&form(ImageType::Color, tabletop(ImageType::Color)))
            .await
            .status,
        200
    );
    let reply = preview_of(&server, ImageType::Color).await;
    assert_error(&reply, 404, "config key statusPreviews");
    assert_eq!(
        status(&server).await["previews"],
        serde_json::json!({"enabled": false})
    );
    let page = common::get(server.addr, "/").await.text();
    assert!(
        page.contains("Previews are off") && !page.contains("<img"),
        "{page}"
    );
    server.stop().await;
}
