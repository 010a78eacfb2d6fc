//! Scene mode (`client --scene-api`) running the real binary against our render server on port 0:
//! the checks pass there; each fails, by name, behind a proxy that breaks one rule of
//! docs/scene-api.md; a server that is down is one line; the benchmark's figures are the ones the
//! server counted; and the access token travels.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use gltf_cloud::protocol::scene_api::frame::{self, FrameHeader, ImageFormat, ImageName};
use gltf_cloud::roles::render_client::scene_api::client::asset_name;
use gltf_cloud::roles::render_client::scene_api::{bench, builtin, check, SceneApiClient};
use gltf_cloud::roles::render_client::{ClientOptions, DepthRange};
use gltf_cloud::roles::render_server::Config;
use gltf_cloud::scene::camera::Intrinsics;
use serde_json::Value;

/// Generous: a software adapter renders these small images in well under a second each.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

async fn run_binary(args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut command = tokio::process::Command::new(common::binary());
    command.args(args).kill_on_drop(true);
    match token {
        Some(token) => command.env("GLTF_CLOUD_ACCESS_TOKEN", token),
        None => command.env_remove("GLTF_CLOUD_ACCESS_TOKEN"),
    };
    tokio::time::timeout(TEST_TIMEOUT, command.output())
        .await
        .unwrap()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_scene_checks_pass_against_our_server() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    let output = run_binary(
        &[
            "client",
            "--scene-api",
            "--check",
            "--server-base-url",
            &server.url(),
            "--json",
        ],
        None,
    )
    .await;
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(results.len() >= 17, "{results:?}");
    for result in &results {
        assert_eq!(result["passed"], true, "{result}");
    }
    // The suite cleaned up after itself: its scene is deleted.
    let metrics = common::get(server.addr, "/metrics").await.text();
    let scenes = common::parse_prometheus(&metrics)
        .into_iter()
        .find(|(name, _)| name.ends_with("scene_api_scenes"))
        .map(|(_, value)| value);
    assert_eq!(scenes, Some(0.0));
    server.stop().await;
}

/// One rule of docs/scene-api.md a proxy in front of our server breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Unknown scene ids answered with the generic `not_found`.
    GenericNotFound,
    /// A body under another body's hash is taken (201) instead of refused.
    TakesMismatchedAssets,
    /// Every label in a raw frame answer one more than rendered.
    LabelsOffByOne,
    /// Depth too near the range answered as +inf instead of 0.
    TooNearAsTooFar,
    /// Images announced one row taller than asked.
    WrongHeight,
}

struct Proxy {
    upstream: SocketAddr,
    flaw: Flaw,
}

/// Forwards every request to our server, then breaks its answer by `flaw`.
async fn flawed(State(proxy): State<std::sync::Arc<Proxy>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().to_string();
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    let mismatched = path.rsplit('/').next() != Some(asset_name(&body).as_str());
    if proxy.flaw == Flaw::TakesMismatchedAssets && method == "PUT" && mismatched {
        return Response::builder().status(201).body(Body::empty()).unwrap();
    }
    let reply = common::call(
        proxy.upstream,
        &method,
        &path,
        content_type.as_deref(),
        body,
    )
    .await;
    let mut answer = reply.body.clone();
    match proxy.flaw {
        Flaw::GenericNotFound if reply.status == 404 => {
            answer = text(&answer)
                .replace("unknown_scene", "not_found")
                .into_bytes();
        }
        Flaw::LabelsOffByOne | Flaw::TooNearAsTooFar | Flaw::WrongHeight
            if reply.status == 200 && answer.starts_with(b"GCI1") =>
        {
            let (number, mut images) = frame::parse_answer(&answer).unwrap();
            for image in &mut images {
                match (proxy.flaw, image.format) {
                    (Flaw::LabelsOffByOne, ImageFormat::I16) => {
                        for pair in image.data.chunks_exact_mut(2) {
                            let label = i16::from_le_bytes([pair[0], pair[1]]).wrapping_add(1);
                            pair.copy_from_slice(&label.to_le_bytes());
                        }
                    }
                    (Flaw::TooNearAsTooFar, ImageFormat::F32) => {
                        for value in image.data.chunks_exact_mut(4) {
                            if value == [0; 4] {
                                value.copy_from_slice(&f32::INFINITY.to_le_bytes());
                            }
                        }
                    }
                    (Flaw::WrongHeight, _) => image.height += 1,
                    _ => {}
                }
            }
            answer = frame::write_answer(number, &images);
        }
        _ => {}
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        if name != "content-length" {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(Bytes::from(answer))).unwrap()
}

async fn start_proxy(upstream: SocketAddr, flaw: Flaw) -> SocketAddr {
    let app = axum::Router::new()
        .fallback(flawed)
        .with_state(std::sync::Arc::new(Proxy { upstream, flaw }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Behind each flaw the case that judges that rule fails, by name; the binary exits non-zero
/// naming it.
#[tokio::test]
async fn each_broken_rule_fails_the_case_that_judges_it() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    for (flaw, case) in [
        (Flaw::GenericNotFound, "unknown-scene"),
        (Flaw::TakesMismatchedAssets, "asset-hash-mismatch"),
        (Flaw::LabelsOffByOne, "labels-as-sent"),
        (Flaw::TooNearAsTooFar, "depth-range-sentinels"),
        (Flaw::WrongHeight, "frame-raw-layouts"),
    ] {
        let proxy = start_proxy(server.addr, flaw).await;
        let client =
            SceneApiClient::new(&format!("http://{proxy}"), &ClientOptions::default()).unwrap();
        let results = tokio::time::timeout(TEST_TIMEOUT, check::run(&client))
            .await
            .unwrap();
        let table = gltf_cloud::roles::render_client::check::table(&results);
        let judged = results.iter().find(|r| r.name == case).unwrap();
        assert!(!judged.passed, "{flaw:?} went unnoticed:\n{table}");
        let version = results.iter().find(|r| r.name == "api-version").unwrap();
        assert!(version.passed, "the proxy itself is broken:\n{table}");
    }
    let proxy = start_proxy(server.addr, Flaw::LabelsOffByOne).await;
    let output = run_binary(
        &[
            "client",
            "--scene-api",
            "--check",
            "--server-base-url",
            &format!("http://{proxy}"),
        ],
        None,
    )
    .await;
    assert!(!output.status.success());
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        stdout.contains("labels-as-sent") && stdout.contains("FAIL"),
        "{stdout}"
    );
    assert!(
        stderr.contains("failed scene API conformance") && stderr.contains("labels-as-sent"),
        "{stderr}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_that_is_down_is_one_line_and_no_case() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let output = run_binary(
        &[
            "client",
            "--scene-api",
            "--check",
            "--server-base-url",
            &url,
        ],
        None,
    )
    .await;
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("{url}/v1: Couldn't connect to server"))
            && stderr.contains("no case was run"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// The benchmark's counts are the server's, its latencies ordered, its bytes the frame's own.
#[tokio::test]
async fn the_benchmark_reports_what_the_server_counted() {
    common::require_adapter!();
    let server = common::start_render_server(Config::default()).await;
    let output = run_binary(
        &[
            "client",
            "--scene-api",
            "--server-base-url",
            &server.url(),
            "--frames",
            "3",
            "--cameras",
            "2",
            "--image-type",
            "color,label",
            "--width",
            "32",
            "--height",
            "24",
            "--concurrency",
            "2",
            "--json",
        ],
        None,
    )
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["frames"], 3);
    assert_eq!(report["succeeded"], 3);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["imagesPerFrame"], 4);
    let scene = builtin::scene(&"0".repeat(64));
    assert_eq!(report["geometries"], scene.len());
    assert_eq!(report["posesPerFrame"], scene.len() - 1);
    for spread in ["frameLatencyMs", "imageLatencyMs"] {
        let s = &report[spread];
        let v: Vec<f64> = ["min", "p50", "p90", "max"]
            .iter()
            .map(|k| s[k].as_f64().unwrap())
            .collect();
        assert!(
            v[0] > 0.0 && v.windows(2).all(|w| w[0] <= w[1]),
            "{spread}: {v:?}"
        );
    }
    let frame_p50 = report["frameLatencyMs"]["p50"].as_f64().unwrap();
    let image_p50 = report["imageLatencyMs"]["p50"].as_f64().unwrap();
    assert!(
        (image_p50 * 4.0 - frame_p50).abs() < 0.01,
        "{frame_p50} / 4 != {image_p50}"
    );

    // The bytes: exactly the frame request the mode describes, far below Drake's per image.
    let k = Intrinsics::from_fov_y(32, 24, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
    let range = DepthRange {
        min_depth: 0.01,
        max_depth: 10.0,
    };
    let header = FrameHeader {
        poses: scene.len() - 1,
        encoding: Default::default(),
        cameras: bench::ring_cameras(2, &k, range, &[ImageName::Color, ImageName::Label]),
    };
    let records = vec![
        frame::PoseRecord {
            id: 0,
            x_wg: gltf_cloud::protocol::scene_api::pose::IDENTITY
        };
        scene.len() - 1
    ];
    let sent = report["requestBytesPerFrame"].as_u64().unwrap() as usize;
    assert_eq!(sent, frame::write_request(&header, &records).len());
    let drake = report["drakeRequestBytesPerImage"].as_u64().unwrap() as usize;
    assert!(
        drake > 50 * sent,
        "Drake {drake} B per image vs {sent} B per frame"
    );
    let received = report["answerBytesPerFrame"].as_u64().unwrap() as usize;
    assert!(received >= 2 * 32 * 24 * (4 + 2), "{received}");

    // What the server counted: 3 frames, 12 images, and the scene deleted afterwards.
    let metrics = common::parse_prometheus(&common::get(server.addr, "/metrics").await.text());
    let metric = |suffix: &str| {
        metrics
            .iter()
            .find(|(name, _)| name.ends_with(suffix))
            .map(|(_, value)| *value)
    };
    assert_eq!(metric("scene_api_frames_total"), Some(3.0));
    assert_eq!(metric("scene_api_images_total"), Some(12.0));
    assert_eq!(metric("scene_api_scenes"), Some(0.0));
    server.stop().await;
}

/// `GLTF_CLOUD_ACCESS_TOKEN` reaches the scene API as it reaches `POST /render`.
#[tokio::test]
async fn the_access_token_travels_and_its_absence_is_named() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    let token = "scene-token-0123456789abcdef";
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let server = common::start_render_server(Config {
        access_tokens_file: Some(file),
        ..Config::default()
    })
    .await;
    let args = [
        "client",
        "--scene-api",
        "--server-base-url",
        &server.url(),
        "--frames",
        "1",
        "--image-type",
        "label",
        "--width",
        "16",
        "--height",
        "12",
    ];
    let without = run_binary(&args, None).await;
    assert!(!without.status.success());
    let stderr = text(&without.stderr);
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("Unauthorized"),
        "{stderr}"
    );
    let with = run_binary(&args, Some(token)).await;
    assert!(with.status.success(), "{}", text(&with.stderr));
    assert!(
        text(&with.stdout).contains("frame latency"),
        "{}",
        text(&with.stdout)
    );
    server.stop().await;
}

/// An `https://` server: reached with `--ca-cert`, and without it a failed handshake, said once.
#[tokio::test]
async fn https_needs_the_ca_certificate() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let files =
        gltf_cloud::core::tls::write_self_signed(&["127.0.0.1".into()], dir.path(), false).unwrap();
    let mut config = Config::default();
    config.server.ssl_certificate = Some(files.cert.clone());
    config.server.ssl_key = Some(files.key.clone());
    let server = common::start_render_server(config).await;
    let url = format!("https://{}", server.addr);
    let args = [
        "client",
        "--scene-api",
        "--server-base-url",
        &url,
        "--frames",
        "1",
        "--image-type",
        "depth",
        "--width",
        "16",
        "--height",
        "12",
    ];
    let untrusted = run_binary(&args, None).await;
    assert!(!untrusted.status.success());
    let stderr = text(&untrusted.stderr);
    assert!(
        stderr.contains("TLS handshake failed") && stderr.contains("no frame was sent"),
        "{stderr}"
    );
    let cert = files.cert.to_str().unwrap();
    let trusted = run_binary(&[&args[..], &["--ca-cert", cert]].concat(), None).await;
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));
    server.stop().await;
}
