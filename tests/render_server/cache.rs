//! The scene cache and concurrency through the real HTTP server: hits, misses and evictions under
//! a tiny `cacheBytes`, that a changed byte can never be answered from the cache, that parallel
//! identical requests answer byte for byte what a sequential one does; and the peer-exact answers:
//! Drake ≥ 1.52's merged-glTF node shape, placeholder `scene_sha256`, RGBA labels.

use crate::common;

use base64::Engine as _;
use gltf_cloud::roles::render_client::ImageType;
use gltf_cloud::roles::render_server::Config;

use super::{assert_error, form, tabletop, Server};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn with_cache(cache_bytes: u64) -> Config {
    Config {
        cache_bytes: Some(cache_bytes),
        ..Config::default()
    }
}

async fn metric(server: &Server, name: &str) -> f64 {
    let text = common::get(server.addr, "/metrics").await.text();
    let name = format!("{}_{name}", gltf_cloud::core::metrics::PREFIX);
    common::parse_prometheus(&text)
        .into_iter()
        .find(|(sample, _)| *sample == name)
        .map_or_else(|| panic!("no {name} in {text}"), |(_, value)| value)
}

async fn image(server: &Server, image_type: ImageType, scene: Vec<u8>) -> Vec<u8> {
    let reply = server.post(&form(image_type, scene)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.body
}

/// `scene` with vertex 0 of the first POSITION accessor moved by 5 cm in x: one changed byte
/// range in one data URI, everything else as it was.
fn with_one_vertex_moved(scene: &[u8]) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(scene).unwrap();
    let position = doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]
        .as_u64()
        .unwrap() as usize;
    let view = doc["accessors"][position]["bufferView"].as_u64().unwrap() as usize;
    let buffer = doc["bufferViews"][view]["buffer"].as_u64().unwrap() as usize;
    let offset = doc["bufferViews"][view]["byteOffset"].as_u64().unwrap_or(0) as usize;
    let uri = doc["buffers"][buffer]["uri"].as_str().unwrap().to_owned();
    let (header, payload) = uri.split_once(',').unwrap();
    let mut bytes = BASE64.decode(payload).unwrap();
    let x = f32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
    bytes[offset..offset + 4].copy_from_slice(&(x + 0.05).to_le_bytes());
    doc["buffers"][buffer]["uri"] = format!("{header},{}", BASE64.encode(bytes)).into();
    serde_json::to_vec(&doc).unwrap()
}

#[tokio::test]
async fn repeated_scenes_hit_and_a_tiny_budget_evicts_without_changing_answers() {
    common::require_adapter!();
    let uncached = Server::start(with_cache(0)).await;
    let reference = image(&uncached, ImageType::Color, tabletop(ImageType::Color)).await;
    assert_eq!(metric(&uncached, "render_cache_entries").await, 0.0);
    uncached.stop().await;

    let server = Server::start(with_cache(1 << 30)).await;
    assert_eq!(
        image(&server, ImageType::Color, tabletop(ImageType::Color)).await,
        reference
    );
    let misses = metric(&server, "render_cache_misses_total").await;
    assert!(misses > 0.0);
    assert_eq!(metric(&server, "render_cache_hits_total").await, 0.0);
    assert_eq!(
        image(&server, ImageType::Color, tabletop(ImageType::Color)).await,
        reference
    );
    assert_eq!(metric(&server, "render_cache_hits_total").await, misses);
    assert_eq!(metric(&server, "render_cache_misses_total").await, misses);
    assert!(metric(&server, r#"render_cache_bytes{memory="cpu"}"#).await > 0.0);
    assert!(metric(&server, r#"render_cache_bytes{memory="gpu"}"#).await > 0.0);
    let page = common::get(server.addr, "/").await.text();
    assert!(page.contains("Scene cache"), "{page}");
    let whole = metric(&server, r#"render_cache_bytes{memory="cpu"}"#).await
        + metric(&server, r#"render_cache_bytes{memory="gpu"}"#).await;
    server.stop().await;

    // Room for this scene only: another scene evicts it, and it is loaded again, unchanged.
    let tiny = Server::start(with_cache(whole as u64)).await;
    let other = || {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gltf");
        std::fs::read(format!("{dir}/box_sphere-color.gltf")).unwrap()
    };
    for _ in 0..2 {
        assert_eq!(
            image(&tiny, ImageType::Color, tabletop(ImageType::Color)).await,
            reference
        );
        image(&tiny, ImageType::Color, other()).await;
    }
    assert!(metric(&tiny, "render_cache_evictions_total").await > 0.0);
    assert_eq!(metric(&tiny, "render_cache_hits_total").await, 0.0);
    let held = metric(&tiny, r#"render_cache_bytes{memory="cpu"}"#).await
        + metric(&tiny, r#"render_cache_bytes{memory="gpu"}"#).await;
    assert!(held <= whole, "{held} bytes held of {whole}");
    tiny.stop().await;
}

/// A stale render is impossible by construction: one moved vertex is a different key.
#[tokio::test]
async fn a_moved_vertex_is_never_answered_from_the_cache() {
    common::require_adapter!();
    let original = tabletop(ImageType::Depth);
    let moved = with_one_vertex_moved(&original);
    let uncached = Server::start(with_cache(0)).await;
    let moved_reference = image(&uncached, ImageType::Depth, moved.clone()).await;
    uncached.stop().await;

    let server = Server::start(with_cache(1 << 30)).await;
    let first = image(&server, ImageType::Depth, original.clone()).await;
    let second = image(&server, ImageType::Depth, moved).await;
    assert_ne!(first, second, "the moved vertex must show");
    assert_eq!(second, moved_reference);
    assert_eq!(image(&server, ImageType::Depth, original).await, first);
    server.stop().await;
}

#[tokio::test]
async fn parallel_identical_requests_answer_what_a_sequential_one_does() {
    common::require_adapter!();
    let server = Server::start(Config {
        render_workers: 3,
        ..with_cache(1 << 30)
    })
    .await;
    for image_type in [ImageType::Color, ImageType::Depth, ImageType::Label] {
        let sequential = image(&server, image_type, tabletop(image_type)).await;
        let answers = futures_util::future::join_all(
            (0..6).map(|_| image(&server, image_type, tabletop(image_type))),
        )
        .await;
        for answer in answers {
            assert!(answer == sequential, "{image_type:?} differs");
        }
    }
    server.stop().await;
}

/// The same merged user glTF as Drake ≤ 1.51 (root matrices premultiplied) and ≥ 1.52 (a named
/// wrapper node over the file's own roots, one image for two textures) writes it.
#[tokio::test]
async fn drake_152_wrapper_nodes_render_as_the_151_shape_does() {
    common::require_adapter!();
    let fixture = |name: &str| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gltf");
        std::fs::read(format!("{dir}/{name}")).unwrap()
    };
    let server = Server::start(Config::default()).await;
    let old = image(&server, ImageType::Color, fixture("merged151-color.gltf")).await;
    let new = image(&server, ImageType::Color, fixture("merged152-color.gltf")).await;
    let without = image(&server, ImageType::Color, fixture("textured-color.gltf")).await;
    assert!(old == new, "the two node shapes render differently");
    assert!(new != without, "the merged quads are drawn");
    server.stop().await;
}

#[tokio::test]
async fn a_placeholder_sha_is_ignored_and_a_wrong_hash_still_refused() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let mut placeholder = form(ImageType::Label, tabletop(ImageType::Label));
    placeholder
        .fields
        .insert("scene_sha256".into(), "placeholder".into());
    assert_eq!(server.post(&placeholder).await.status, 200);
    let mut wrong = form(ImageType::Label, tabletop(ImageType::Label));
    wrong.fields.insert("scene_sha256".into(), "f".repeat(64));
    assert_error(&server.post(&wrong).await, 400, "scene_sha256");
    server.stop().await;
}

#[tokio::test]
async fn labels_are_rgba8_pngs_with_opaque_alpha() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let body = image(&server, ImageType::Label, tabletop(ImageType::Label)).await;
    let mut reader = png::Decoder::new(std::io::Cursor::new(body))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (frame.color_type, frame.bit_depth),
        (png::ColorType::Rgba, png::BitDepth::Eight)
    );
    let rgba = &pixels[..frame.buffer_size()];
    assert!(rgba.chunks_exact(4).all(|p| p[3] == 255));
    // Background white (Drake's kDontCare) and at least one label colour.
    assert!(rgba.chunks_exact(4).any(|p| p[..3] == [255, 255, 255]));
    assert!(rgba
        .chunks_exact(4)
        .any(|p| p[2] == 0 && p[..2] != [255, 255]));
    server.stop().await;
}
