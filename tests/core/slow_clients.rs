//! Hostile clients, round two (issue 21), against the shared bootstrap: HTTP/2 connections with
//! many stalled streams, uploads that hold memory while they stall, and clients that do not read
//! their answer, over HTTP/1.1, HTTP/2 and TLS. Limits are shortened so each test takes seconds;
//! `make soak` runs the same attacks at the defaults.

use super::connections::{closed, closed_after, metric, PATIENCE};
use super::trusting;
use crate::common::{self, http2};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::Router;
use gltf_cloud::core::config::ServerConfig;
use gltf_cloud::core::tls;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Size of `/stream`'s answer: far more than loopback socket buffers hold.
const ANSWER_BYTES: usize = 64 << 20;

/// What the test's routes hold: answers alive (the stand-in for a render's image and its budget,
/// freed when the answer's body is dropped) and requests running now, with the most seen at once.
#[derive(Clone, Default)]
struct Held {
    answers: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
}

/// Counts one answer alive for as long as it lives.
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn app(held: &Held) -> Router {
    let answers = Arc::clone(&held.answers);
    let running = held.clone();
    Router::new()
        .route("/hello", get(|| async { "hi" }))
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/stream",
            get(move || {
                let alive = Alive::new(&answers);
                let data = Bytes::from(vec![7u8; ANSWER_BYTES]);
                let chunks = (0..ANSWER_BYTES).step_by(256 << 10).map(move |start| {
                    let _ = &alive;
                    Ok::<_, Infallible>(data.slice(start..(start + (256 << 10)).min(ANSWER_BYTES)))
                });
                async move { Body::from_stream(futures_util::stream::iter(chunks)) }
            }),
        )
        .route(
            "/hold",
            get(move || {
                let held = running.clone();
                async move {
                    let now = held.running.fetch_add(1, Ordering::SeqCst) + 1;
                    held.most_running.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    held.running.fetch_sub(1, Ordering::SeqCst);
                    "held"
                }
            }),
        )
}

async fn start(config: ServerConfig, held: &Held) -> common::Running {
    let app = app(held);
    common::start_router(app, config).await
}

/// Waits until the series `name` (without the common prefix) satisfies `ok`.
async fn wait_for(addr: SocketAddr, name: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let started = Instant::now();
    loop {
        let value = metric(addr, name).await;
        if ok(value) {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "{name} stayed {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `count` satisfies `ok`.
async fn until(count: &AtomicUsize, ok: impl Fn(usize) -> bool) {
    let started = Instant::now();
    while !ok(count.load(Ordering::SeqCst)) {
        assert!(
            started.elapsed() < PATIENCE,
            "stayed {}",
            count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn http2_streams_per_connection_are_bounded_as_advertised() {
    let held = Held::default();
    let config = ServerConfig {
        http2_max_concurrent_streams: 4,
        ..ServerConfig::default()
    };
    let running = start(config, &held).await;
    let mut sender = http2::connect(TcpStream::connect(running.addr).await.unwrap()).await;
    // One round trip first, so the client has the server's SETTINGS: it then queues the streams
    // over the bound; a stream opened over it is refused, and its request fails.
    let first = sender.send_request(http2::request(
        "GET",
        "/hello",
        &[],
        http2::complete(Vec::new()),
    ));
    assert_eq!(first.await.unwrap().status(), 200);
    let requests = (0..12).map(|_| {
        let mut sender = sender.clone();
        async move {
            let answer = sender
                .send_request(http2::request(
                    "GET",
                    "/hold",
                    &[],
                    http2::complete(Vec::new()),
                ))
                .await
                .expect("every request answered");
            answer.status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(statuses, vec![200; 12]);
    assert_eq!(held.most_running.load(Ordering::SeqCst), 4);
    running.stop().await;
}

/// 40 POST streams that stop after 200 bytes on one HTTP/2 connection: only 32 (the default
/// bound) are open, what they hold is counted against their connection, a client beside them is
/// served at once, and everything is given back when the stall timeout closes their connection.
#[tokio::test]
async fn stalled_http2_streams_hold_only_their_connection() {
    let held = Held::default();
    let config = ServerConfig {
        body_stall_timeout_seconds: 1.5,
        ..ServerConfig::default()
    };
    let running = start(config, &held).await;
    let sender = http2::connect(TcpStream::connect(running.addr).await.unwrap()).await;
    let attack: Vec<_> = (0..40)
        .map(|_| {
            let mut sender = sender.clone();
            tokio::spawn(async move {
                let _ = sender
                    .send_request(http2::request(
                        "POST",
                        "/echo",
                        &[],
                        http2::stalled_after(vec![b's'; 200]),
                    ))
                    .await;
            })
        })
        .collect();
    let uploading = "http_upload_bytes_in_flight";
    let bound = f64::from(ServerConfig::default().http2_max_concurrent_streams) * 200.0;
    wait_for(running.addr, uploading, |bytes| bytes >= bound).await;

    let started = Instant::now();
    let echoed = common::post(running.addr, "/echo", "text/plain", vec![b'n'; 1 << 20]).await;
    let served_in = started.elapsed();
    assert_eq!(echoed.body.len(), 1 << 20);
    assert_eq!(
        metric(running.addr, uploading).await,
        bound,
        "more streams than advertised"
    );
    assert_eq!(metric(running.addr, &closed("body_stalled")).await, 0.0);
    println!("with 40 stalled HTTP/2 streams open, a 1 MiB POST beside them took {served_in:?}");

    wait_for(running.addr, &closed("body_stalled"), |n| n >= 1.0).await;
    wait_for(running.addr, uploading, |bytes| bytes == 0.0).await;
    for stream in attack {
        stream.await.unwrap();
    }
    running.stop().await;
}

/// Uploads still arriving are bounded per listener and per connection, apart from complete
/// requests: an upload over a bound gets a 503 naming its key, a complete request is served.
#[tokio::test]
async fn uploads_in_progress_are_bounded_per_listener_and_per_connection() {
    let held = Held::default();
    let config = ServerConfig {
        max_upload_bytes: 150_000,
        max_upload_bytes_per_connection: 100_000,
        body_stall_timeout_seconds: 1.0,
        ..ServerConfig::default()
    };
    let running = start(config, &held).await;
    let uploading = "http_upload_bytes_in_flight";

    // HTTP/1: 90 kB of a 1 MB body, then nothing.
    let mut stalled = TcpStream::connect(running.addr).await.unwrap();
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    stalled.write_all(&[b'z'; 90_000]).await.unwrap();
    wait_for(running.addr, uploading, |bytes| bytes == 90_000.0).await;

    // A 100 kB upload beside it would pass the listener's bound.
    let refused = common::post(running.addr, "/echo", "text/plain", vec![b'r'; 100_000]).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(
        refused.text().contains("maxUploadBytes"),
        "{}",
        refused.text()
    );
    // A complete small request is served while the upload stalls.
    assert_eq!(common::get(running.addr, "/hello").await.status, 200);
    let small = common::post(running.addr, "/echo", "text/plain", vec![b's'; 50_000]).await;
    assert_eq!(small.body.len(), 50_000);
    let stall_cut = closed_after(&mut stalled, Instant::now()).await;
    wait_for(running.addr, uploading, |bytes| bytes == 0.0).await;
    println!("the stalled upload was cut {stall_cut:?} after the others were served");

    // HTTP/2: two streams of 60 kB on one connection pass that connection's bound.
    let sender = http2::connect(TcpStream::connect(running.addr).await.unwrap()).await;
    let mut first = sender.clone();
    let _first = tokio::spawn(async move {
        first
            .send_request(http2::request(
                "POST",
                "/echo",
                &[],
                http2::stalled_after(vec![b's'; 60_000]),
            ))
            .await
    });
    wait_for(running.addr, uploading, |bytes| bytes == 60_000.0).await;
    let mut second = sender.clone();
    let answer = tokio::time::timeout(
        PATIENCE,
        second.send_request(http2::request(
            "POST",
            "/echo",
            &[],
            http2::stalled_after(vec![b's'; 60_000]),
        )),
    )
    .await
    .expect("answered while its body is still open")
    .unwrap();
    assert_eq!(answer.status(), 503);
    let text = answer.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("maxUploadBytesPerConnection"), "{text}");
    assert_eq!(
        metric(
            running.addr,
            r#"http_uploads_refused_total{limit="connection"}"#
        )
        .await,
        1.0
    );
    running.stop().await;
}

/// Writes a GET for `/stream` on `stream` and never reads: the server must cut the client within
/// the write floor's grace and drop the answer while the client is still connected.
async fn never_reads<S: AsyncWrite + Unpin>(stream: &mut S, addr: SocketAddr, held: &Held) {
    let before = metric(addr, &closed("write_too_slow")).await;
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    stream.flush().await.unwrap();
    cut_and_freed(addr, held, before).await;
}

/// Waits until one more connection is cut for its slow reader and no answer is alive.
async fn cut_and_freed(addr: SocketAddr, held: &Held, cuts_before: f64) -> Duration {
    let started = Instant::now();
    until(&held.answers, |n| n == 1).await;
    wait_for(addr, &closed("write_too_slow"), |n| n > cuts_before).await;
    until(&held.answers, |n| n == 0).await;
    let cut = started.elapsed();
    assert!(cut >= Duration::from_millis(250), "cut after {cut:?}");
    cut
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_within_the_grace_on_http1_http2_and_tls() {
    let held = Held::default();
    // Only the floor can cut within PATIENCE: the write timeout stays at its minute.
    let floor = ServerConfig {
        min_write_bytes_per_second: 1 << 20,
        write_rate_grace_seconds: 0.3,
        ..ServerConfig::default()
    };
    let running = start(floor.clone(), &held).await;

    let mut plain = TcpStream::connect(running.addr).await.unwrap();
    never_reads(&mut plain, running.addr, &held).await;

    // HTTP/2: the client reads its socket but never the answer, so it never opens the stream's
    // window again; the socket stays writable and only the answer's own meter sees the stall.
    let before = metric(running.addr, &closed("write_too_slow")).await;
    let mut sender = http2::connect(TcpStream::connect(running.addr).await.unwrap()).await;
    let unread = sender
        .send_request(http2::request(
            "GET",
            "/stream",
            &[],
            http2::complete(Vec::new()),
        ))
        .await
        .expect("the answer's head");
    let h2_cut = cut_and_freed(running.addr, &held, before).await;
    println!("an HTTP/2 stream never read was cut after {h2_cut:?}");
    drop(unread);
    running.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let files = tls::write_self_signed(&["localhost".into()], dir.path(), false).unwrap();
    let running = start(
        ServerConfig {
            ssl_certificate: Some(files.cert.clone()),
            ssl_key: Some(files.key),
            ..floor
        },
        &held,
    )
    .await;
    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut secure = trusting(&files.cert).connect(name, tcp).await.unwrap();
    secure
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    secure.flush().await.unwrap();
    // Only the floor can free the answer this early (the metrics are behind TLS here).
    let started = Instant::now();
    until(&held.answers, |n| n == 1).await;
    until(&held.answers, |n| n == 0).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    drop((plain, secure));
    running.stop().await;
}

#[tokio::test]
async fn a_client_reading_below_the_floor_is_cut_one_above_it_is_not() {
    let held = Held::default();
    let config = ServerConfig {
        min_write_bytes_per_second: 512 << 10,
        write_rate_grace_seconds: 0.3,
        ..ServerConfig::default()
    };
    let running = start(config, &held).await;
    let fast = common::get(running.addr, "/stream").await;
    assert_eq!((fast.status, fast.body.len()), (200, ANSWER_BYTES));

    // 8 KiB every 100 ms: 80 KiB/s, a sixth of the floor, and never silent for long.
    let mut drip = TcpStream::connect(running.addr).await.unwrap();
    drip.write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // What the server wrote before the cut stays in the socket buffers, so the cut shows in the
    // metrics, not as an end of file.
    let started = Instant::now();
    let mut piece = vec![0u8; 8 << 10];
    let mut read = 0;
    while metric(running.addr, &closed("write_too_slow")).await < 1.0 {
        assert!(
            started.elapsed() < PATIENCE,
            "the drip reader was never cut"
        );
        read += drip.read(&mut piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "a reader at 80 KiB/s was cut after {:?}, having read {read} bytes",
        started.elapsed()
    );
    until(&held.answers, |n| n == 0).await;
    running.stop().await;
}
