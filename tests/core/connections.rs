//! Hostile clients against the shared bootstrap (issue 14, findings 5, 6 and 8): idle floods,
//! stalled heads and bodies, silent TLS handshakes, clients that never read, and shutdown. Every
//! limit is shortened in the config so each test runs in about a second.

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::{get, post};
use axum::Router;
use gltf_cloud::core::config::ServerConfig;
use gltf_cloud::core::metrics;
use gltf_cloud::core::{server, tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any step here may take on a loaded 2-core machine.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

fn app() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hi" }))
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        )
        .route("/stuck", get(std::future::pending::<&'static str>))
        .route("/big", get(|| async { vec![7u8; 64 << 20] }))
}

async fn start(config: ServerConfig, ready: Arc<AtomicBool>) -> common::Running {
    let readiness = move || {
        if ready.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("the test says so".to_owned())
        }
    };
    common::start(|listener, token| async move {
        server::serve(
            listener,
            app(),
            &config,
            metrics::registry("test"),
            token,
            readiness,
        )
        .await
    })
    .await
}

async fn start_plain(config: ServerConfig) -> common::Running {
    start(config, Arc::new(AtomicBool::new(true))).await
}

/// How long after `since` the server closes `stream` (EOF or reset), reading and dropping what
/// it sends.
pub(super) async fn closed_after(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return since.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server kept the connection open for {PATIENCE:?}"),
        }
    }
}

/// The value of one series in the server's `/metrics` (named without the common prefix), 0 when
/// absent.
pub(super) async fn metric(addr: SocketAddr, series: &str) -> f64 {
    let text = common::get(addr, "/metrics").await.text();
    let series = format!("{}_{series}", gltf_cloud::core::metrics::PREFIX);
    common::parse_prometheus(&text)
        .into_iter()
        .find(|(s, _)| *s == series)
        .map_or(0.0, |(_, v)| v)
}

pub(super) fn closed(reason: &str) -> String {
    format!(r#"http_connections_closed_total{{reason="{reason}"}}"#)
}

#[tokio::test]
async fn an_idle_connection_flood_leaves_livez_answering() {
    // Small caps, so the flood is a few hundred sockets: from four addresses, over both caps.
    let config = ServerConfig {
        max_http_connections: 64,
        max_connections_per_ip: 32,
        ..ServerConfig::default()
    };
    let running = start_plain(config).await;
    let mut flood = Vec::new();
    for i in 0..200u8 {
        flood.push(common::connect_from([127, 0, 0, 2 + i % 4], running.addr).await);
    }
    // Busy connections are not replaced: one held mid-request still gets its answer.
    let addr = running.addr;
    let slow = tokio::spawn(async move { common::get(addr, "/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..200u8 {
        flood.push(common::connect_from([127, 0, 0, 2 + i % 4], running.addr).await);
    }
    let started = Instant::now();
    let live = tokio::time::timeout(PATIENCE, common::get(running.addr, "/livez"))
        .await
        .expect("/livez answers during the flood");
    assert_eq!((live.status, live.text().as_str()), (200, "ok\n"));
    let from_one_address = tokio::time::timeout(PATIENCE, async {
        let stream = common::connect_from([127, 0, 0, 2], running.addr).await;
        common::request_on(stream, "GET", "/hello", Vec::new()).await
    })
    .await
    .expect("an address at its own cap is still served");
    assert_eq!(from_one_address.status, 200);
    println!(
        "/livez during a flood of 400 idle connections: {:?}",
        started.elapsed()
    );
    assert_eq!(slow.await.unwrap().text(), "done");
    assert!(metric(running.addr, &closed("replaced_by_newer")).await >= 300.0);
    assert!(metric(running.addr, "http_connections_in_flight").await <= 64.0);
    drop(flood);
    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn stalled_heads_and_silent_connections_are_cut() {
    let config = ServerConfig {
        header_read_timeout_seconds: 0.3,
        idle_timeout_seconds: 0.5,
        ..ServerConfig::default()
    };
    let running = start_plain(config).await;

    let started = Instant::now();
    let mut silent = TcpStream::connect(running.addr).await.unwrap();
    let mut slowloris = TcpStream::connect(running.addr).await.unwrap();
    slowloris
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let head_cut = closed_after(&mut slowloris, started).await;
    let idle_cut = closed_after(&mut silent, started).await;
    println!("stalled head cut after {head_cut:?}, silent connection after {idle_cut:?}");
    assert!(head_cut >= Duration::from_millis(250), "{head_cut:?}");
    assert!(
        head_cut < Duration::from_millis(450),
        "header, not idle: {head_cut:?}"
    );
    assert!(idle_cut >= Duration::from_millis(450), "{idle_cut:?}");

    // A keep-alive connection is served, then closed once idle.
    let mut kept = TcpStream::connect(running.addr).await.unwrap();
    kept.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let kept_cut = closed_after(&mut kept, Instant::now()).await;
    assert!(kept_cut >= Duration::from_millis(450), "{kept_cut:?}");
    assert_eq!(metric(running.addr, &closed("header_timeout")).await, 1.0);
    // The scrapes' own connections may add to the idle count.
    assert!(metric(running.addr, &closed("idle")).await >= 2.0);
    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn stalled_and_dripping_bodies_are_cut_on_http1_and_http2() {
    let config = ServerConfig {
        body_stall_timeout_seconds: 0.4,
        min_body_bytes_per_second: 1000,
        ..ServerConfig::default()
    };
    let running = start_plain(config).await;

    // Head, some body, then nothing.
    let mut stalled = TcpStream::connect(running.addr).await.unwrap();
    // 4 KB at 1000 B/s earns 4 s more than the stall timeout: only the stall rule can cut it.
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    stalled.write_all(&[b'z'; 4000]).await.unwrap();
    let stall_cut = closed_after(&mut stalled, Instant::now()).await;

    // One byte every 50 ms: 20 B/s, never silent for the stall timeout.
    let mut drip = TcpStream::connect(running.addr).await.unwrap();
    drip.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let drip_cut = loop {
        assert!(started.elapsed() < PATIENCE, "the drip was never cut");
        if drip.write_all(b"x").await.is_err() {
            break started.elapsed();
        }
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(50), drip.read(&mut byte)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            break started.elapsed();
        }
    };

    // HTTP/2: a stream whose body never comes.
    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let never = http_body_util::StreamBody::new(futures_util::stream::pending::<
        Result<hyper::body::Frame<Bytes>, std::convert::Infallible>,
    >());
    let request = hyper::Request::post("http://x/echo").body(never).unwrap();
    let started = Instant::now();
    let answer = tokio::time::timeout(PATIENCE, sender.send_request(request))
        .await
        .expect("the stalled HTTP/2 stream is ended");
    let h2_cut = started.elapsed();
    println!("stalled body cut after {stall_cut:?}, drip after {drip_cut:?}, HTTP/2 stream after {h2_cut:?} ({})", answer.is_ok());
    for cut in [stall_cut, drip_cut, h2_cut] {
        assert!(cut >= Duration::from_millis(350), "{cut:?}");
    }
    assert_eq!(metric(running.addr, &closed("body_stalled")).await, 2.0);
    assert_eq!(metric(running.addr, &closed("body_too_slow")).await, 1.0);
    // Fast bodies are untouched by the limits.
    let echoed = common::post(running.addr, "/echo", "text/plain", vec![b'y'; 1 << 20]).await;
    assert_eq!(echoed.body.len(), 1 << 20);
    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn silent_and_stalled_tls_handshakes_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::write_self_signed(&["localhost".into()], dir.path(), false).unwrap();
    let config = ServerConfig {
        ssl_certificate: Some(files.cert),
        ssl_key: Some(files.key),
        tls_handshake_timeout_seconds: 0.3,
        ..ServerConfig::default()
    };
    let running = start_plain(config).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(running.addr).await.unwrap();
    let mut stalled = TcpStream::connect(running.addr).await.unwrap();
    // The first bytes of a ClientHello record, then nothing.
    stalled.write_all(&[0x16, 0x03, 0x01, 0x02]).await.unwrap();
    let silent_cut = closed_after(&mut silent, started).await;
    let stalled_cut = closed_after(&mut stalled, started).await;
    println!(
        "silent TLS handshake dropped after {silent_cut:?}, stalled one after {stalled_cut:?}"
    );
    for cut in [silent_cut, stalled_cut] {
        assert!(cut >= Duration::from_millis(250), "{cut:?}");
    }
    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_that_never_reads_its_answer_is_cut() {
    let config = ServerConfig {
        write_timeout_seconds: 0.5,
        ..ServerConfig::default()
    };
    let running = start_plain(config).await;
    let mut lazy = TcpStream::connect(running.addr).await.unwrap();
    lazy.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    while metric(running.addr, &closed("write_timeout")).await < 1.0 {
        assert!(
            started.elapsed() < PATIENCE,
            "the lazy client was never cut"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cut = started.elapsed();
    println!("a client that never reads a 64 MiB answer cut after {cut:?}");
    assert!(cut >= Duration::from_millis(450), "{cut:?}");
    // Its connection (and the answer it held) is gone: only the scrape's own is open.
    let mut open = f64::MAX;
    while open > 1.0 {
        assert!(started.elapsed() < PATIENCE, "the connection stayed open");
        open = metric(running.addr, "http_connections_in_flight").await;
    }
    drop(lazy);
    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn readyz_follows_the_role_and_fails_as_soon_as_shutdown_starts() {
    let ready = Arc::new(AtomicBool::new(true));
    let running = start(ServerConfig::default(), Arc::clone(&ready)).await;
    let probe = |path: &'static str| {
        let addr = running.addr;
        async move {
            let reply = common::get(addr, path).await;
            (reply.status, reply.text())
        }
    };
    assert_eq!(probe("/readyz").await, (200, "ready\n".to_owned()));
    ready.store(false, Ordering::SeqCst);
    assert_eq!(
        probe("/readyz").await,
        (503, "not ready: the test says so\n".to_owned())
    );
    ready.store(true, Ordering::SeqCst);

    let addr = running.addr;
    let in_flight = tokio::spawn(async move { common::get(addr, "/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        probe("/readyz").await,
        (503, "not ready: shutting down\n".to_owned())
    );
    assert_eq!(probe("/livez").await, (200, "ok\n".to_owned()));
    let refused = common::get(running.addr, "/hello").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(in_flight.await.unwrap().text(), "done");
    tokio::time::timeout(PATIENCE, running.task)
        .await
        .expect("exits once the request in flight is answered")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn requests_still_running_at_the_end_of_the_grace_get_503_and_serve_returns_in_time() {
    let grace = Duration::from_millis(500);
    let config = ServerConfig {
        shutdown_grace_seconds: grace.as_secs_f64(),
        ..ServerConfig::default()
    };
    let running = start_plain(config).await;
    let addr = running.addr;
    let stuck: Vec<_> = (0..3)
        .map(|_| tokio::spawn(async move { common::get(addr, "/stuck").await }))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    running.shutdown.cancel();
    tokio::time::timeout(PATIENCE, running.task)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    println!("shutdown with 3 stuck requests and a {grace:?} grace returned after {took:?}");
    assert!(
        took >= grace && took < grace + Duration::from_secs(1),
        "{took:?}"
    );
    for request in stuck {
        let reply = request.await.unwrap();
        assert_eq!(reply.status, 503);
        assert_eq!(reply.headers["content-type"], "application/json");
        assert_eq!(reply.headers["retry-after"], "1");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": true, "message": "the server is shutting down", "code": 503})
        );
    }
}
