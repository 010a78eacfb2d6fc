//! Hostile requests against the render server's per-request budget (issue 14): each is tiny or
//! abandoned and used to cost seconds to hours, or gigabytes. Each must now be refused fast with
//! the config key that bounds it, or dropped, and leave the server answering promptly.

use super::{assert_error, Server};
use crate::common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use gltf_cloud::roles::render_client::wire::Form;
use gltf_cloud::roles::render_client::{DepthRange, ImageType};
use gltf_cloud::roles::render_server::Config;
use gltf_cloud::scene::camera::Intrinsics;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A refusal that costs nothing comes back within this, even on a loaded 2-core machine.
const FAST: Duration = Duration::from_secs(5);

/// An 8×8 baseline JPEG (solid red, made with pillow), hex.
const RED_JPEG_HEX: [&str; 14] = [
    "ffd8ffe000104a46494600010100000100010000ffdb0043000201010101010201010102020202020403020202020504",
    "040304060506060605060606070908060709070606080b08090a0a0a0a0a06080b0c0b0a0c090a0a0affdb0043010202",
    "02020202050303050a0706070a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
    "0a0a0a0a0a0a0a0a0a0a0a0a0a0affc00011080008000803012200021101031101ffc4001f0000010501010101010100",
    "000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411051221",
    "31410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a",
    "434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a9293949596979899",
    "9aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1",
    "f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a0bffc400b51100",
    "020102040403040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f015",
    "6272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a63646566676869",
    "6a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4",
    "c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00f8",
    "be8a28afe533fdfc3fffd9",
];

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A glTF with a camera at the origin looking down −Z, one mesh node, and `buffer` as its only
/// buffer; the caller fills accessors, bufferViews, meshes, materials.
fn document(buffer: &[u8], mut parts: Value) -> Vec<u8> {
    parts["asset"] = json!({"version": "2.0"});
    parts["cameras"] =
        json!([{"type": "perspective", "perspective": {"yfov": 0.8, "znear": 0.01, "zfar": 10.0}}]);
    parts["buffers"] = json!([{
        "byteLength": buffer.len(),
        "uri": format!("data:application/octet-stream;base64,{}", base64(buffer)),
    }]);
    if parts.get("nodes").is_none() {
        parts["nodes"] = json!([{"camera": 0}, {"mesh": 0}]);
    }
    serde_json::to_vec(&parts).unwrap()
}

/// One triangle 1 m ahead; its three f32 positions are the buffer's first 36 bytes.
fn triangle_positions(half_size: f32) -> Vec<u8> {
    let s = half_size;
    f32_bytes(&[-s, -s, -1.0, s, -s, -1.0, 0.0, s, -1.0])
}

pub(super) fn form_sized(image_type: ImageType, scene: Vec<u8>, width: u32, height: u32) -> Form {
    let intrinsics = Intrinsics::from_fov_y(width, height, 0.8, 0.01, 10.0);
    let depth = DepthRange {
        min_depth: 0.05,
        max_depth: 5.0,
    };
    Form::new(scene, 1, image_type, &intrinsics, depth)
}

/// The request a test sends beside an attack to see whether the server still serves: one small
/// label image of one blended triangle.
pub(super) fn small_label() -> Form {
    form_sized(ImageType::Label, blended_full_screen(1), 64, 48)
}

/// `count` copies of one full-screen triangle, blended (alpha 0.5), indexed with 1-byte indices:
/// a few KB that cover the image `count` times.
pub(super) fn blended_full_screen(count: usize) -> Vec<u8> {
    let mut buffer = triangle_positions(100.0);
    let indices: Vec<u8> = (0..count).flat_map(|_| [0u8, 1, 2]).collect();
    buffer.extend_from_slice(&indices);
    document(
        &buffer,
        json!({
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 36},
                {"buffer": 0, "byteOffset": 36, "byteLength": indices.len()},
            ],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                 "min": [-100, -100, -1], "max": [100, 100, -1]},
                {"bufferView": 1, "componentType": 5121, "count": indices.len(), "type": "SCALAR"},
            ],
            "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1, 0, 0, 0.5]}}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
        }),
    )
}

/// Peak resident memory of this process (server and tests), from `/proc/self/status`.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A value from `/metrics`, named without the common prefix.
pub(super) async fn metric(server: &Server, name: &str) -> f64 {
    let text = common::get(server.addr, "/metrics").await.text();
    let name = format!("{}_{name}", gltf_cloud::core::metrics::PREFIX);
    common::parse_prometheus(&text)
        .into_iter()
        .find(|(sample, _)| *sample == name)
        .map_or(f64::NAN, |(_, value)| value)
}

/// Waits until `metric` satisfies `ok`, at most `patience`.
pub(super) async fn wait_for_metric(
    server: &Server,
    name: &str,
    patience: Duration,
    ok: impl Fn(f64) -> bool,
) {
    let start = Instant::now();
    loop {
        let value = metric(server, name).await;
        if ok(value) {
            return;
        }
        assert!(start.elapsed() < patience, "{name} stayed {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `form` complete on a fresh connection and returns the connection unread: dropping it is
/// hanging up.
pub(super) async fn post_unread(server: &Server, form: &Form) -> TcpStream {
    let boundary = "------------------------gltfcloudtestboundary";
    let body = form.multipart_body(boundary);
    let head = format!(
        "POST /render HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    stream
}

/// 659 bytes: an accessor without data whose count is just under `maxTriangles` used to
/// allocate about 8 GB. It is refused before anything is allocated.
#[tokio::test]
async fn an_accessor_without_data_allocates_nothing() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let scene = document(
        &triangle_positions(1.0),
        json!({
            "accessors": [{"componentType": 5126, "count": 19_999_999, "type": "VEC3"}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        }),
    );
    let before = peak_rss_bytes();
    let started = Instant::now();
    let reply = server
        .post(&form_sized(ImageType::Depth, scene, 64, 48))
        .await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_error(&reply, 400, "without a bufferView");
    let grown = peak_rss_bytes().saturating_sub(before);
    assert!(grown < 512 << 20, "peak RSS grew {grown} bytes");
    server.stop().await;
}

/// A 1.9 KB JPEG whose header claims 16384×16384 used to decode for 72 s into 3.2 GB. The header
/// is read first and the pixels are counted against `maxTexturePixels`.
#[tokio::test]
async fn a_jpeg_bomb_is_refused_from_its_header() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let mut jpeg: Vec<u8> = (0..RED_JPEG_HEX.concat().len() / 2)
        .map(|i| u8::from_str_radix(&RED_JPEG_HEX.concat()[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // SOF0: FF C0, length, precision, then height and width (big-endian).
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x40, 0x00, 0x40, 0x00]);
    let mut buffer = triangle_positions(1.0);
    buffer.extend(f32_bytes(&[0.0, 0.0, 1.0, 0.0, 0.5, 1.0]));
    let scene = document(
        &buffer,
        json!({
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 36},
                {"buffer": 0, "byteOffset": 36, "byteLength": 24},
            ],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
                {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"},
            ],
            "images": [{"uri": format!("data:image/jpeg;base64,{}", base64(&jpeg))}],
            "textures": [{"source": 0}],
            "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
            "meshes": [{"primitives": [
                {"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "material": 0}
            ]}],
        }),
    );
    let started = Instant::now();
    let reply = server
        .post(&form_sized(ImageType::Color, scene, 64, 48))
        .await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_error(&reply, 400, "maxTexturePixels");
    server.stop().await;
}

/// 200 000 one-triangle nodes (3.5 MB) used to cost 16 s and 1.8 GB.
#[tokio::test]
async fn two_hundred_thousand_nodes_are_refused_naming_max_nodes() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let mut nodes = vec![json!({"camera": 0})];
    nodes.extend((0..200_000).map(|_| json!({"mesh": 0})));
    let scene = document(
        &triangle_positions(0.01),
        json!({
            "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "nodes": nodes,
        }),
    );
    let started = Instant::now();
    let reply = server
        .post(&form_sized(ImageType::Label, scene, 64, 48))
        .await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_error(&reply, 400, "maxNodes");
    server.stop().await;
}

/// 20 000 blended full-screen triangles (1-byte indices) kept a worker busy 39 s at 640×480. The
/// covered pixels are estimated before rendering and refused.
#[tokio::test]
async fn blended_full_screen_triangles_are_refused_before_rendering() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let started = Instant::now();
    let reply = server
        .post(&form_sized(
            ImageType::Color,
            blended_full_screen(20_000),
            640,
            480,
        ))
        .await;
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    assert_error(&reply, 400, "maxCoveredPixels");
    server.stop().await;
}

/// Past `renderTimeoutSeconds` the answer is a 503 naming it, and the server still renders.
#[tokio::test]
async fn the_render_deadline_answers_503_naming_its_key() {
    common::require_adapter!();
    let server = Server::start(Config {
        render_timeout_seconds: 0.0,
        ..Config::default()
    })
    .await;
    let reply = server
        .post(&form_sized(
            ImageType::Label,
            blended_full_screen(10),
            64,
            48,
        ))
        .await;
    assert_error(&reply, 503, "renderTimeoutSeconds");
    assert_eq!(reply.headers["retry-after"], "1");
    server.stop().await;
}

/// Requests beyond `maxInFlightBytes` get a 503 naming it.
#[tokio::test]
async fn the_memory_for_requests_in_flight_is_bounded() {
    common::require_adapter!();
    let server = Server::start(Config {
        max_in_flight_bytes: 1000,
        ..Config::default()
    })
    .await;
    let reply = server
        .post(&form_sized(
            ImageType::Label,
            blended_full_screen(10),
            64,
            48,
        ))
        .await;
    assert_error(&reply, 503, "maxInFlightBytes");
    server.stop().await;
}

/// 150 clients that post a slow render and hang up used to fill an unbounded queue (no 503, 0 in
/// flight, the next request waiting over a minute). Their jobs are dropped: the next real request
/// answers promptly and the in-flight gauges return to 0.
#[tokio::test]
async fn clients_that_hang_up_leave_nothing_behind() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let slow = form_sized(ImageType::Color, blended_full_screen(300), 640, 480);
    for _ in 0..150 {
        drop(post_unread(&server, &slow).await);
    }
    let started = Instant::now();
    let reply = server.post(&small_label()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the next request waited {:?}",
        started.elapsed()
    );
    let patience = Duration::from_secs(10);
    wait_for_metric(&server, "render_requests_in_flight", patience, |v| v == 0.0).await;
    wait_for_metric(&server, "render_in_flight_bytes", patience, |v| v == 0.0).await;
    server.stop().await;
}

/// A request whose client hangs up while its job waits behind another render is never rendered:
/// the worker finds its slot empty and counts it skipped.
#[tokio::test]
async fn an_abandoned_queued_request_is_not_rendered() {
    common::require_adapter!();
    let server = Server::start(Config {
        max_covered_pixels: u64::MAX,
        ..Config::default()
    })
    .await;
    // Waits, not bounds: other tests share the software adapter and both cores.
    let patience = Duration::from_secs(30);
    // Seconds of blending, so the worker stays busy while B waits: a software adapter fills about
    // 150 Mpx/s, a hardware one a thousand times that.
    let software = common::adapter_or_skip().is_some_and(|gpu| gpu.adapter().software);
    let (layers, size) = if software {
        (1500, (640, 480))
    } else {
        (20_000, (4096, 4096))
    };
    let busy = form_sized(
        ImageType::Color,
        blended_full_screen(layers),
        size.0,
        size.1,
    );
    let (addr, boundary) = (server.addr, "------------------------gltfcloudtestboundary");
    let first = tokio::spawn(async move {
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let body = busy.multipart_body(boundary);
        common::post(addr, "/render", &content_type, body)
            .await
            .status
    });
    // A is queued (so rendering: the worker was idle) once its image memory is reserved.
    let a_image = f64::from(size.0 * size.1 * 8);
    wait_for_metric(&server, "render_in_flight_bytes", patience, |v| {
        v >= a_image
    })
    .await;
    let a_bytes = metric(&server, "render_in_flight_bytes").await;
    // B's image memory is reserved just before it is queued, and is larger than its body and its
    // decoded triangle: A's bytes plus B's image mean B waits in the queue.
    let queued = form_sized(ImageType::Label, blended_full_screen(1), 64, 64);
    let b_image = f64::from(64 * 64 * 8);
    let abandoned = post_unread(&server, &queued).await;
    wait_for_metric(&server, "render_in_flight_bytes", patience, |v| {
        v >= a_bytes + b_image
    })
    .await;
    let a_rendered = r#"render_gpu_seconds_count{image_type="color"}"#;
    assert!(
        metric(&server, a_rendered).await.is_nan(),
        "A finished rendering before B was queued: make A slower"
    );
    drop(abandoned);
    assert_eq!(first.await.unwrap(), 200);
    wait_for_metric(&server, "render_jobs_skipped_total", patience, |v| v >= 1.0).await;
    wait_for_metric(&server, "render_requests_in_flight", patience, |v| v == 0.0).await;
    server.stop().await;
}
