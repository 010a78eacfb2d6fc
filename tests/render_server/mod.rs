//! The render server over real HTTP on port 0, beyond what the client tests cover: every error
//! path's status and message, each configured limit, the full queue's 503, the status page and the
//! render metrics. Requests are built with the client's Drake-exact form builder.

mod access; // access tokens: 401 without one, probes and /metrics open, rotation
mod admission; // who holds a render slot, and for how long (issue 21)
mod budget; // hostile requests against the per-request budget (issue 14)
mod cache; // the scene cache, concurrency and peer-exact answers
mod held; // what clients not being served hold: HTTP/2 streams, unread answers (issue 21)
mod previews; // the status page's latest images (issue 22)
mod scene_api; // resident scenes under /v1 (issue 20)
mod static_scene; // the server-side scene (--scene) and start-up errors of the look's params

use crate::common;

use std::time::Duration;

use gltf_cloud::roles::render_client::wire::Form;
use gltf_cloud::roles::render_client::{DepthRange, ImageType};
use gltf_cloud::roles::render_server::{run, Config};
use gltf_cloud::scene::camera::Intrinsics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A render server with the way these tests post a form to it.
struct Server(common::Running);

impl Server {
    async fn start(config: Config) -> Self {
        Self(common::start_render_server(config).await)
    }

    async fn post(&self, form: &Form) -> common::Reply {
        let boundary = "------------------------gltfcloudtestboundary";
        let content_type = format!("multipart/form-data; boundary={boundary}");
        common::post(
            self.addr,
            "/render",
            &content_type,
            form.multipart_body(boundary),
        )
        .await
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

impl std::ops::Deref for Server {
    type Target = common::Running;

    fn deref(&self) -> &common::Running {
        &self.0
    }
}

/// A real scene exported by pydrake (examples/make_example_scenes.py), with its camera node.
fn tabletop(image_type: ImageType) -> Vec<u8> {
    let path = format!(
        "{}/examples/{}/tabletop.gltf",
        env!("CARGO_MANIFEST_DIR"),
        image_type.as_str()
    );
    std::fs::read(path).unwrap()
}

fn form(image_type: ImageType, scene: Vec<u8>) -> Form {
    let intrinsics = Intrinsics::from_fov_y(64, 48, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
    Form::new(
        scene,
        1,
        image_type,
        &intrinsics,
        DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        },
    )
}

/// Checks an error answer: status, Drake's JSON convention, under 8 KB, and the message naming `cause`.
fn assert_error(reply: &common::Reply, status: u16, cause: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert!(
        reply.body.len() < 8192,
        "error body of {} bytes",
        reply.body.len()
    );
    assert_eq!(reply.headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["error"], true);
    assert_eq!(json["code"], status);
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains(cause),
        "message {message:?} should name {cause:?}"
    );
}

#[tokio::test]
async fn answers_carry_the_right_content_type_and_format() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    for (image_type, content_type, magic) in [
        (ImageType::Color, "image/png", &b"\x89PNG"[..]),
        (ImageType::Depth, "image/tiff", &b"II*\0"[..]),
        (ImageType::Label, "image/png", &b"\x89PNG"[..]),
    ] {
        let reply = server.post(&form(image_type, tabletop(image_type))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.headers["content-type"], content_type);
        assert!(reply.headers.get("content-encoding").is_none());
        assert!(reply.body.starts_with(magic), "{image_type:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn depth_as_png16_when_configured() {
    common::require_adapter!();
    let server = Server::start(Config {
        depth_format: gltf_cloud::roles::render_server::DepthFormat::Png16,
        ..Config::default()
    })
    .await;
    let reply = server
        .post(&form(ImageType::Depth, tabletop(ImageType::Depth)))
        .await;
    assert_eq!(reply.status, 200);
    let decoder = png::Decoder::new(std::io::Cursor::new(reply.body));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (64, 48));
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Grayscale, png::BitDepth::Sixteen)
    );
    server.stop().await;
}

#[tokio::test]
async fn near_sent_as_zero_uses_the_gltf_znear() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let mut request = form(ImageType::Color, tabletop(ImageType::Color));
    request.fields.insert("near".into(), "0.000000".into());
    assert_eq!(server.post(&request).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn each_error_path_gets_its_status_and_names_its_cause() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let color = || form(ImageType::Color, tabletop(ImageType::Color));

    let mut missing = form(ImageType::Depth, tabletop(ImageType::Depth));
    missing.fields.remove("min_depth");
    assert_error(&server.post(&missing).await, 400, "missing field min_depth");

    let mut bad_type = color();
    bad_type
        .fields
        .insert("image_type".into(), "normals".into());
    assert_error(&server.post(&bad_type).await, 400, "image_type");

    let mut bad_sha = color();
    bad_sha.fields.insert("scene_sha256".into(), "0".repeat(64));
    assert_error(&server.post(&bad_sha).await, 400, "scene_sha256");

    let mut bad_number = color();
    bad_number.fields.insert("focal_x".into(), "fast".into());
    assert_error(&server.post(&bad_number).await, 400, "focal_x");

    let external = String::from_utf8(tabletop(ImageType::Color))
        .unwrap()
        .replacen(
            "data:application/octet-stream;base64,",
            "file:///etc/passwd#",
            1,
        );
    assert_error(
        &server
            .post(&form(ImageType::Color, external.into_bytes()))
            .await,
        400,
        "external URI",
    );

    assert_error(
        &server
            .post(&form(ImageType::Color, b"{\"asset\": [".to_vec()))
            .await,
        400,
        "glTF",
    );

    let required =
        br#"{"asset":{"version":"2.0"},"extensionsRequired":["KHR_draco_mesh_compression"]}"#;
    assert_error(
        &server
            .post(&form(ImageType::Color, required.to_vec()))
            .await,
        400,
        "KHR_draco_mesh_compression",
    );

    let not_multipart =
        common::post(server.addr, "/render", "application/json", b"{}".to_vec()).await;
    assert_error(&not_multipart, 400, "multipart/form-data");

    assert_error(
        &common::get(server.addr, "/no-such-path").await,
        404,
        "no such path /no-such-path; render requests go to POST /render",
    );
    // What Drake posts to with base_url="http://HOST:PORT/render": the likely fix is named.
    let doubled = common::post(server.addr, "/render/render", "text/plain", Vec::new()).await;
    assert_error(&doubled, 404, "Does base_url end with /render?");
    assert_error(&common::get(server.addr, "/render").await, 405, "POST");

    // After all that, the server still renders.
    assert_eq!(server.post(&color()).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn every_limit_is_enforced_with_a_400_naming_its_config_key() {
    common::require_adapter!();
    type Tighten = fn(&mut Config);
    let cases: [(Tighten, ImageType, &str); 9] = [
        (
            |c| c.max_body_bytes = 64 * 1024,
            ImageType::Color,
            "maxBodyBytes",
        ),
        (
            |c| c.max_image_dimension = 32,
            ImageType::Label,
            "maxImageDimension",
        ),
        (|c| c.max_triangles = 10, ImageType::Depth, "maxTriangles"),
        (|c| c.max_textures = 0, ImageType::Color, "maxTextures"),
        (
            |c| c.max_texture_pixels = 100,
            ImageType::Color,
            "maxTexturePixels",
        ),
        (|c| c.max_nodes = 1, ImageType::Depth, "maxNodes"),
        (|c| c.max_draw_calls = 1, ImageType::Label, "maxDrawCalls"),
        (
            |c| c.max_decoded_bytes = 1000,
            ImageType::Depth,
            "maxDecodedBytes",
        ),
        (
            |c| c.max_covered_pixels = 10,
            ImageType::Color,
            "maxCoveredPixels",
        ),
    ];
    for (tighten, image_type, key) in cases {
        let mut config = Config::default();
        tighten(&mut config);
        let server = Server::start(config).await;
        let reply = server.post(&form(image_type, tabletop(image_type))).await;
        assert_error(&reply, 400, key);
        server.stop().await;
    }
}

#[tokio::test]
async fn status_page_and_metrics_show_the_adapter_and_renders() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    assert_eq!(
        server
            .post(&form(ImageType::Label, tabletop(ImageType::Label)))
            .await
            .status,
        200
    );
    let mut bad = form(ImageType::Label, tabletop(ImageType::Label));
    bad.fields.remove("width");
    assert_eq!(server.post(&bad).await.status, 400);

    let page = common::get(server.addr, "/").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("Adapter") && html.contains("label</th><td id=label>1"),
        "{html}"
    );
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "self-contained page"
    );
    let status: serde_json::Value =
        serde_json::from_str(&common::get(server.addr, "/status.json").await.text()).unwrap();
    assert_eq!(status["renders"]["label"], 1, "{status}");
    assert_eq!(status["queue"]["queued"], 0, "{status}");
    assert_eq!(status["queue"]["workers"], 1, "{status}");
    assert_eq!(status["recent"][0]["type"], "label", "{status}");
    // Numbers as numbers, for scripts; the page formats them.
    assert!(status["uptimeSeconds"].is_f64(), "{status}");
    for key in [
        "entries",
        "cpuBytes",
        "gpuBytes",
        "limitBytes",
        "hits",
        "misses",
        "evictions",
    ] {
        assert!(status["cache"][key].is_u64(), "cache.{key}: {status}");
    }
    // The active look, on the page and in its source.
    let look = status["look"]["summary"].as_str().unwrap();
    assert!(look.starts_with("lights: "), "{status}");
    assert_eq!(status["look"]["origin"], "defaults");
    assert!(
        html.contains(&format!("<span id=look>{look}</span>")),
        "{html}"
    );

    let metrics = common::get(server.addr, "/metrics").await.text();
    let samples = common::parse_prometheus(&metrics);
    let value = |prefix: &str| {
        samples
            .iter()
            .find(|(s, _)| s.starts_with(prefix))
            .map(|(_, v)| *v)
    };
    assert_eq!(value("gltf_cloud_render_adapter_info{"), Some(1.0));
    assert_eq!(
        value(r#"gltf_cloud_build_info{version=""#),
        Some(1.0),
        "{metrics}"
    );
    assert!(metrics.contains(r#"role="render"}"#), "{metrics}");
    assert_eq!(
        value(
            r#"gltf_cloud_render_request_duration_seconds_count{image_type="label",outcome="ok"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(r#"gltf_cloud_render_gpu_seconds_count{image_type="label"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"gltf_cloud_render_rejections_total{reason="bad_request"}"#),
        Some(1.0)
    );
    assert_eq!(value("gltf_cloud_render_requests_in_flight"), Some(0.0));
    assert_eq!(value("gltf_cloud_render_queue_depth"), Some(0.0));
    assert_eq!(value("gltf_cloud_render_workers_busy"), Some(0.0));
    assert!(
        samples.contains(&("gltf_cloud_render_workers".to_owned(), 1.0)),
        "{metrics}"
    );
    assert!(
        samples.iter().all(|(s, _)| s.starts_with("gltf_cloud_")),
        "every metric is prefixed: {metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn reserved_endpoints_are_refused_at_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        endpoint: "metrics".into(),
        ..Config::default()
    };
    let err = run(listener, config, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
}

#[tokio::test]
async fn shutdown_with_renders_queued_answers_503_and_returns_within_grace_plus_one_second() {
    common::require_adapter!();
    let grace = Duration::from_millis(300);
    let mut config = Config {
        render_workers: 1,
        render_queue_depth: 4,
        ..Config::default()
    };
    config.server.shutdown_grace_seconds = grace.as_secs_f64();
    let server = Server::start(config).await;
    let ready = common::get(server.addr, "/readyz").await;
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));

    // Large images, so the first is still rendering or encoding while the others wait.
    let intrinsics = Intrinsics::from_fov_y(4096, 4096, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
    let big = Form::new(
        tabletop(ImageType::Color),
        1,
        ImageType::Color,
        &intrinsics,
        DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        },
    );
    let boundary = "------------------------gltfcloudtestboundary";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let body = big.multipart_body(boundary);
    let requests: Vec<_> = (0..3)
        .map(|_| {
            let (addr, content_type, body) = (server.addr, content_type.clone(), body.clone());
            tokio::spawn(async move { common::post(addr, "/render", &content_type, body).await })
        })
        .collect();
    // Wait until all three are admitted (reading, loading, queued or rendering).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = common::get(server.addr, "/metrics").await.text();
        let admitted = common::parse_prometheus(&text)
            .into_iter()
            .find(|(s, _)| s == "gltf_cloud_render_requests_in_flight")
            .map_or(0.0, |(_, v)| v);
        if admitted >= 3.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "requests never admitted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    server.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), server.0.task)
        .await
        .expect("run returns")
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap().status);
    }
    println!("shutdown with 3 large renders in flight, {grace:?} grace: run returned after {took:?}; answers {statuses:?}");
    assert!(took < grace + Duration::from_secs(1), "{took:?}");
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&503), "{statuses:?}");
}

#[tokio::test]
async fn a_huge_field_name_with_a_non_utf8_value_keeps_the_cause_in_the_message() {
    common::require_adapter!();
    let server = Server::start(Config::default()).await;
    let name = "n".repeat(100_000);
    let mut body =
        format!("--xyz\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    body.extend_from_slice(b"\r\n--xyz--\r\n");
    let reply = common::post(
        server.addr,
        "/render",
        "multipart/form-data; boundary=xyz",
        body,
    )
    .await;
    assert_error(&reply, 400, "not UTF-8 text");
    server.stop().await;
}
