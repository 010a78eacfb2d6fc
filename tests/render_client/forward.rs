//! The render client's forward mode as a real process: a plain-HTTP client (standing in for
//! Drake's libcurl) on one side, a TLS server that echoes what it received on the other.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::Router;
use gltf_cloud::core::config::ServerConfig;
use gltf_cloud::core::tls;

/// A TLS server answering 201 with `Retry-After: 7` and, as JSON, the request it got.
async fn start_echo(cert: &Path, key: &Path) -> common::Running {
    let config = ServerConfig {
        ssl_certificate: Some(cert.to_owned()),
        ssl_key: Some(key.to_owned()),
        ..ServerConfig::default()
    };
    let app = Router::new().fallback(
        |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
            let headers: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").into()))
                .collect();
            let echo = serde_json::json!({
                "method": method.as_str(),
                "path": uri.to_string(),
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            });
            (
                axum::http::StatusCode::CREATED,
                [("retry-after", "7")],
                echo.to_string(),
            )
        },
    );
    common::start_router(app, config).await
}

/// `gltf-cloud client --forward 127.0.0.1:0 ARGS…`, and the address it listens on.
fn start_forwarder(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(common::binary())
        .args(["client", "--forward", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let addr = loop {
        let Some(line) = lines.next() else {
            panic!("the forwarder exited before listening: {seen:#?}");
        };
        let line = line.unwrap();
        if let Some(addr) = line.split("listening on http://").nth(1) {
            break addr.trim().parse().unwrap();
        }
        seen.push(line);
    };
    // Keeps the pipe drained so the forwarder never blocks on its log.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

fn stop(mut child: Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success(), "clean exit on SIGTERM");
}

async fn post(addr: SocketAddr, path: &str) -> common::Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = hyper::Request::builder()
        .method("POST")
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "multipart/form-data; boundary=x")
        .header("x-drake", "1")
        .header("expect", "100-continue")
        .header("authorization", "Bearer the-clients-own-is-replaced")
        .body(http_body_util::Full::new(Bytes::from_static(
            b"scene bytes",
        )))
        .unwrap();
    common::send(stream, request).await
}

#[tokio::test]
async fn requests_reach_the_tls_server_under_its_base_path_and_answers_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::write_self_signed(&["127.0.0.1".into()], dir.path(), false).unwrap();
    let echo = start_echo(&files.cert, &files.key).await;
    let base = format!("https://{}/drake/", echo.addr);
    let cert = files.cert.to_str().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "# for Drake\nforwarded-token-0123456789\n").unwrap();
    let (forwarder, addr) = start_forwarder(&[
        "--server-base-url",
        &base,
        "--ca-cert",
        cert,
        "--token-file",
        token.to_str().unwrap(),
    ]);

    let reply = post(addr, "/render?x=1").await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(
        reply.headers["retry-after"], "7",
        "the answer's headers come back"
    );
    let echoed: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/drake/render?x=1");
    assert_eq!(echoed["body"], "scene bytes");
    let headers = &echoed["headers"];
    assert_eq!(
        headers["host"],
        echo.addr.to_string(),
        "Host is the server's"
    );
    assert_eq!(headers["x-drake"], "1");
    assert_eq!(headers["content-type"], "multipart/form-data; boundary=x");
    assert_eq!(headers["content-length"], "11");
    assert_eq!(
        headers["authorization"],
        "Bearer forwarded-token-0123456789"
    );
    assert!(headers.get("expect").is_none(), "{headers}");

    // The forwarder's own probes answer without the server.
    assert_eq!(common::get(addr, "/livez").await.status, 200);

    // A server that is gone: a JSON error body that Drake shows, naming the URL.
    let upstream = echo.addr;
    echo.stop().await;
    let reply = post(addr, "/render").await;
    assert_eq!(reply.status, 502);
    let error: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        (&error["error"], &error["code"]),
        (&true.into(), &502.into())
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cannot reach https://{upstream}/drake/render")),
        "{message}"
    );
    stop(forwarder);
}

#[tokio::test]
async fn an_untrusted_certificate_says_to_give_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let files = tls::write_self_signed(&["127.0.0.1".into()], dir.path(), false).unwrap();
    let echo = start_echo(&files.cert, &files.key).await;
    let base = format!("https://{}", echo.addr);
    let (forwarder, addr) = start_forwarder(&["--server-base-url", &base]);
    let reply = post(addr, "/render").await;
    assert_eq!(reply.status, 502);
    assert!(reply.text().contains("--ca-cert"), "{}", reply.text());
    stop(forwarder);
    echo.stop().await;
}

#[test]
fn only_loopback_addresses_are_listened_on() {
    let out = Command::new(common::binary())
        .args(["client", "--forward", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("this machine only"), "{stderr}");
    let out = Command::new(common::binary())
        .args(["client", "--forward", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--forward is a mode of its own");
}
