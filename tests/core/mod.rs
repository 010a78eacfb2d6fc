//! The shared server bootstrap on real sockets: health and metrics, TLS, graceful shutdown.

mod connections;
mod metrics;
mod slow_clients; // every exported metric is documented, every counter a total

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use gltf_cloud::core::config::ServerConfig;
use gltf_cloud::core::tls;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(app: Router, config: ServerConfig) -> common::Running {
    common::start_router(app, config).await
}

#[tokio::test]
async fn healthz_and_metrics_answer_and_metrics_parse() {
    let running = start(
        Router::new().route("/hello", get(|| async { "hi" })),
        ServerConfig::default(),
    )
    .await;
    let health = common::get(running.addr, "/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), "ok\n");
    assert_eq!(common::get(running.addr, "/hello").await.status, 200);
    assert_eq!(common::get(running.addr, "/nope").await.status, 404);

    let metrics = common::get(running.addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let samples = common::parse_prometheus(&metrics.text());
    let value = |series: &str| samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v);
    assert_eq!(
        value(r#"gltf_cloud_http_requests_total{route="/hello",status="200"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"gltf_cloud_http_requests_total{route="unmatched",status="404"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"gltf_cloud_http_request_duration_seconds_count{route="/hello"}"#),
        Some(1.0)
    );
    // The scrape itself is on a connection that is open while the figures are read.
    assert!(value("gltf_cloud_http_connections_in_flight").unwrap() >= 1.0);

    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_returns() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "done"
        }),
    );
    let running = start(app, ServerConfig::default()).await;
    let addr = running.addr;
    let request = tokio::spawn(async move { common::get(addr, "/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.shutdown.cancel();

    let reply = request.await.unwrap();
    assert_eq!((reply.status, reply.text().as_str()), (200, "done"));
    tokio::time::timeout(Duration::from_secs(5), running.task)
        .await
        .expect("server exits")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener closed after shutdown"
    );
}

#[tokio::test]
async fn shutdown_gives_up_on_stuck_requests_after_the_grace_period() {
    let app = Router::new().route("/stuck", get(std::future::pending::<&'static str>));
    let config = ServerConfig {
        shutdown_grace_seconds: 0.3,
        ..ServerConfig::default()
    };
    let running = start(app, config).await;
    let addr = running.addr;
    let _request = tokio::spawn(async move { common::get(addr, "/stuck").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(3), running.task)
        .await
        .expect("grace period bounds shutdown")
        .unwrap()
        .unwrap();
}

/// A TLS client that trusts exactly the certificate at `cert`, offering HTTP/2 and HTTP/1.1.
fn trusting(cert: &std::path::Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(cert).unwrap();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(client))
}

#[tokio::test]
async fn tls_handshake_with_a_trusting_client_and_plain_http_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::write_self_signed(&["localhost".into()], dir.path(), false).unwrap();
    let config = ServerConfig {
        ssl_certificate: Some(files.cert.clone()),
        ssl_key: Some(files.key.clone()),
        ..ServerConfig::default()
    };
    let running = start(Router::new(), config).await;

    let connector = trusting(&files.cert);
    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector.connect(name, tcp).await.expect("TLS handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let reply = common::request_on(stream, "GET", "/healthz", Vec::new()).await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok\n"));

    // Plain HTTP on the TLS port: a short 400 saying to use https, then the connection closes.
    let mut plain = TcpStream::connect(running.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), plain.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!((&body["error"], &body["code"]), (&true.into(), &400.into()));
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("https://") && message.contains("client --forward"),
        "the way for Drake's client is named: {message}"
    );

    // The server is still healthy for TLS clients after refusing a plain one.
    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    assert!(connector.connect(name, tcp).await.is_ok());
    running.shutdown.cancel();
    running.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn unusable_tls_files_fail_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        ssl_certificate: Some(dir.path().join("missing-cert.pem")),
        ssl_key: Some(dir.path().join("missing-key.pem")),
        ..ServerConfig::default()
    };
    let running = start(Router::new(), config).await;
    let err = running.task.await.unwrap().unwrap_err().to_string();
    assert!(err.contains("missing-cert.pem"), "{err}");
}

/// An HTTP/1 client sends its whole body before reading; a server that answers without reading
/// it (here a 404) must still read it, or closing the socket resets the connection and the client
/// (curl in Drake) sees "Failed sending data to the peer" instead of the answer.
#[tokio::test]
async fn an_answer_given_before_the_body_is_read_still_reaches_the_client() {
    let running = start(Router::new(), ServerConfig::default()).await;
    let stream = TcpStream::connect(running.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let body = vec![b'x'; 8 * 1024 * 1024];
    let head = format!(
        "POST /no-such-endpoint HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let send = async {
        writer.write_all(head.as_bytes()).await?;
        writer.write_all(&body).await
    };
    let receive = async {
        let mut answer = vec![0u8; 256];
        let mut got = 0;
        while !answer[..got].windows(4).any(|w| w == b"\r\n\r\n") {
            let n = reader.read(&mut answer[got..]).await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer[..got]).into_owned())
    };
    let (sent, answer) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(send, receive)
    })
    .await
    .expect("answered within 20 s");
    sent.expect("the whole body was accepted, not reset");
    let answer = answer.expect("the answer was read, not reset");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    running.stop().await;
}
