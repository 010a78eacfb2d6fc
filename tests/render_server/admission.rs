//! Who holds a render slot, and for how long (issue 21): a slot is taken once a request is
//! complete and checked, so a client whose body is still arriving (or never arrives) holds none,
//! while a request being answered keeps its slot until its answer is written.

use super::budget::{blended_full_screen, form_sized, post_unread, small_label, wait_for_metric};
use super::{assert_error, Server};
use crate::common;

use std::time::{Duration, Instant};

use gltf_cloud::roles::render_client::ImageType;
use gltf_cloud::roles::render_server::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// One worker and no queue: a single admitted request fills the server. The write floor's grace
/// is long, so a client that does not read keeps its slot for the whole test.
fn one_slot() -> Config {
    Config {
        render_workers: 1,
        render_queue_depth: 0,
        server: gltf_cloud::core::config::ServerConfig {
            write_rate_grace_seconds: 600.0,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// Forty uploads that announce a 100 MB body, send 200 bytes and stall used to take every slot
/// for the body's stall timeout (30 s), so every other client got 503. They now hold none: a
/// complete request beside them renders at once.
#[tokio::test]
async fn stalled_uploads_hold_no_render_slot() {
    common::require_adapter!();
    let server = Server::start(one_slot()).await;
    let mut stalled = Vec::new();
    for _ in 0..40 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(
                b"POST /render HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; \
                  boundary=xyz\r\nContent-Length: 100000200\r\n\r\n--xyz\r\n",
            )
            .await
            .unwrap();
        stream.write_all(&[b'a'; 193]).await.unwrap();
        stalled.push(stream);
    }
    let started = Instant::now();
    let reply = server.post(&small_label()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the complete request waited {:?}",
        started.elapsed()
    );
    assert_eq!(
        super::budget::metric(&server, "render_requests_in_flight").await,
        0.0,
        "the stalled uploads count as admitted"
    );
    drop(stalled);
    server.stop().await;
}

/// A request whose client does not read its answer holds the only slot (its answer's memory is
/// counted until written); the next one is refused at once with 503 and `Retry-After`, and is
/// admitted again once the slot frees.
#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    common::require_adapter!();
    let server = Server::start(one_slot()).await;
    // 64 MiB of uncompressed float TIFF: far more than the socket buffers take unread.
    let big = form_sized(ImageType::Depth, blended_full_screen(1), 4096, 4096);
    let unread = post_unread(&server, &big).await;
    let patience = Duration::from_secs(60);
    wait_for_metric(
        &server,
        "render_gpu_seconds_count{image_type=\"depth\"}",
        patience,
        |v| v >= 1.0,
    )
    .await;
    let request = small_label();
    let refused = server.post(&request).await;
    assert_error(&refused, 503, "queue is full");
    assert_eq!(refused.headers["retry-after"], "1");

    drop(unread);
    let mut admitted = false;
    for _ in 0..500 {
        if server.post(&request).await.status == 200 {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "the slot frees when the client goes away");
    server.stop().await;
}
