//! What clients the render server is not really serving may hold (issue 21): stalled HTTP/2
//! streams hold no render slot, answers nobody reads are given back within the write floor's
//! grace, and one address holds at most its share of the memory for requests in flight. Limits
//! are shortened so each test takes seconds; `make soak` runs the attacks at the defaults.

use super::budget::{
    blended_full_screen, form_sized, metric, post_unread, small_label, wait_for_metric,
};
use super::{assert_error, Server};
use crate::common::{self, http2};

use std::time::{Duration, Instant};

use gltf_cloud::core::config::ServerConfig;
use gltf_cloud::roles::render_client::ImageType;
use gltf_cloud::roles::render_server::Config;
use tokio::net::TcpStream;

const BOUNDARY: &str = "------------------------gltfcloudtestboundary";

/// Waits, not bounds: other tests share the software adapter and both cores.
const PATIENCE: Duration = Duration::from_secs(120);

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// 40 POST streams on one HTTP/2 connection that stop after 200 bytes, against a server with one
/// slot: a complete render beside them is served at once, nothing counts as admitted, and what
/// they held is given back when the stall timeout closes their connection.
#[tokio::test]
async fn stalled_http2_streams_hold_no_render_slot() {
    common::require_adapter!();
    let server = Server::start(Config {
        render_workers: 1,
        render_queue_depth: 0,
        server: ServerConfig {
            body_stall_timeout_seconds: 3.0,
            ..ServerConfig::default()
        },
        ..Config::default()
    })
    .await;
    let normal = small_label();
    let body = normal.multipart_body(BOUNDARY);
    let content_type = content_type();
    let mut sender = http2::connect(TcpStream::connect(server.addr).await.unwrap()).await;
    // A whole request first: it renders over HTTP/2, and the client has the server's SETTINGS.
    let headers = [("content-type", content_type.as_str())];
    let whole = http2::request("POST", "/render", &headers, http2::complete(body.clone()));
    assert_eq!(sender.send_request(whole).await.unwrap().status(), 200);

    let declared = [
        ("content-type", content_type.as_str()),
        ("content-length", "100000200"),
    ];
    let attack: Vec<_> = (0..40)
        .map(|_| {
            let stalled = http2::stalled_after(body[..200].to_vec());
            let request = http2::request("POST", "/render", &declared, stalled);
            let mut sender = sender.clone();
            tokio::spawn(async move { sender.send_request(request).await.map(|r| r.status()) })
        })
        .collect();
    let streams = f64::from(ServerConfig::default().http2_max_concurrent_streams);
    wait_for_metric(&server, "http_upload_bytes_in_flight", PATIENCE, |bytes| {
        bytes >= streams * 200.0
    })
    .await;

    let started = Instant::now();
    let reply = server.post(&normal).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    println!(
        "a render beside 40 stalled HTTP/2 streams took {:?}",
        started.elapsed()
    );
    assert_eq!(metric(&server, "render_requests_in_flight").await, 0.0);
    // Closed for its stalled streams: `body_stalled`, or `body_too_slow` when the 200 bytes came a
    // few milliseconds after the headers (a loaded machine) and the rate rule's deadline fell
    // just before the stall's. Either is the stall timeout closing the connection.
    let start = Instant::now();
    loop {
        let mut closed = 0.0;
        for reason in ["body_stalled", "body_too_slow"] {
            let name = format!(r#"http_connections_closed_total{{reason="{reason}"}}"#);
            let value = metric(&server, &name).await;
            closed += if value.is_nan() { 0.0 } else { value };
        }
        if closed >= 1.0 {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the stalled connection was not closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for_metric(&server, "http_upload_bytes_in_flight", PATIENCE, |b| {
        b == 0.0
    })
    .await;
    // Cut, or answered the stall's error just before their connection closed; never rendered.
    for stream in attack {
        if let Ok(status) = stream.await.unwrap() {
            assert_ne!(status, 200);
        }
    }
    server.stop().await;
}

/// Six 2048×2048 depth images (16 MiB each) whose clients never read them: once rendered, a
/// render beside them is served, and the answers, their memory and their slots are given back
/// within the write floor's grace while the six are still connected.
#[tokio::test]
async fn answers_never_read_are_given_back_within_the_grace() {
    common::require_adapter!();
    let server = Server::start(Config {
        server: ServerConfig {
            min_write_bytes_per_second: 1 << 20,
            write_rate_grace_seconds: 0.5,
            ..ServerConfig::default()
        },
        ..Config::default()
    })
    .await;
    let depth = form_sized(ImageType::Depth, blended_full_screen(1), 2048, 2048);
    let mut unread = Vec::new();
    for _ in 0..6 {
        unread.push(post_unread(&server, &depth).await);
    }
    let rendered = r#"render_gpu_seconds_count{image_type="depth"}"#;
    wait_for_metric(&server, rendered, PATIENCE, |n| n >= 6.0).await;
    let reply = server.post(&small_label()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let started = Instant::now();
    let cut = r#"http_connections_closed_total{reason="write_too_slow"}"#;
    wait_for_metric(&server, cut, PATIENCE, |n| n >= 6.0).await;
    wait_for_metric(&server, "render_requests_in_flight", PATIENCE, |n| n == 0.0).await;
    wait_for_metric(&server, "render_in_flight_bytes", PATIENCE, |b| b == 0.0).await;
    println!(
        "six never-read answers given back {:?} after the last render",
        started.elapsed()
    );
    drop(unread);
    server.stop().await;
}

/// An address's requests hold at most `maxInFlightBytesPerClient`, an encoded answer counting for
/// its size: with one 16 MiB answer unread, a second 2048×2048 depth image (32 MiB while rendered)
/// from the same address is refused naming the key; a small one from it, and the large one from
/// another address, are served.
#[tokio::test]
async fn one_address_holds_at_most_its_share() {
    common::require_adapter!();
    let server = Server::start(Config {
        max_in_flight_bytes_per_client: Some(40 << 20),
        server: ServerConfig {
            write_rate_grace_seconds: 600.0,
            ..ServerConfig::default()
        },
        ..Config::default()
    })
    .await;
    let depth = form_sized(ImageType::Depth, blended_full_screen(1), 2048, 2048);
    let unread = post_unread(&server, &depth).await;
    let rendered = r#"render_gpu_seconds_count{image_type="depth"}"#;
    wait_for_metric(&server, rendered, PATIENCE, |n| n >= 1.0).await;
    // Encoded: it holds its answer only (16 MiB and the TIFF header), no longer its estimate.
    wait_for_metric(&server, "render_in_flight_bytes", PATIENCE, |bytes| {
        bytes >= f64::from(16 << 20) && bytes < f64::from(17 << 20)
    })
    .await;
    let refused = server.post(&depth).await;
    assert_eq!(refused.status, 503, "{} bytes", refused.body.len());
    assert_error(&refused, 503, "maxInFlightBytesPerClient");
    let small = small_label();
    assert_eq!(server.post(&small).await.status, 200);
    let elsewhere = common::connect_from([127, 0, 0, 2], server.addr).await;
    let body = depth.multipart_body(BOUNDARY);
    let other = common::post_on(elsewhere, "/render", &content_type(), body).await;
    assert_eq!(other.status, 200, "{}", other.text());
    drop(unread);
    server.stop().await;
}
