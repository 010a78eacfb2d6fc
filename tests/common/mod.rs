//! Helpers shared by the integration tests: a minimal HTTP/1.1 client over a real socket, a strict
//! Prometheus text checker, access to the built binary, one way to start each server
//! (`start_<role>` → [`Running`]), the graphics adapter check, and process checks in `/proc`.

mod adapter;
pub mod http2;
mod process;
mod servers;

pub(crate) use adapter::{adapter_or_skip, require_adapter};
pub use process::{alive, exists};
pub use servers::{
    start, start_render_server, start_router, start_session_server, start_simulation_server,
    Running,
};

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The `gltf-cloud` binary cargo built for these tests.
pub fn binary() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_gltf-cloud"))
}

/// The first of `count` consecutive ports that are free now, searched below the OS's ephemeral
/// range (32768+ on Linux), where the port-0 sockets of tests running in parallel cannot land.
/// Each call starts after the runs handed out before it: tests run in parallel, and two that
/// searched from the same place found the same "free" port, so one test's simulator took the
/// other's and its client waited in line instead of starting.
pub fn free_port_run(count: u16) -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const END: u16 = 32_000;
    static NEXT: AtomicU16 = AtomicU16::new(FIRST);
    for _ in 0..(END - FIRST) {
        let mut first = NEXT.fetch_add(count, Ordering::Relaxed);
        if first.saturating_add(count) > END {
            NEXT.store(FIRST + count, Ordering::Relaxed);
            first = FIRST;
        }
        if (first..first + count).all(|p| std::net::TcpListener::bind(("0.0.0.0", p)).is_ok()) {
            return first;
        }
    }
    panic!("no run of {count} free ports below {END}")
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request over an already connected stream (plain TCP or TLS).
pub async fn request_on<S>(stream: S, method: &str, path: &str, body: Vec<u8>) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    send(stream, request(method, path, None, body)).await
}

/// `POST path` with a body of the given content type, on a fresh plain-TCP connection.
pub async fn post(addr: SocketAddr, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    post_on(stream, path, content_type, body).await
}

/// `POST path` with a body of the given content type, over an already connected stream.
pub async fn post_on<S>(stream: S, path: &str, content_type: &str, body: Vec<u8>) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    send(stream, request("POST", path, Some(content_type), body)).await
}

/// A TCP connection to `addr` from the loopback address `from` (any of 127.0.0.0/8): another
/// client address, as the server sees it.
pub async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback source address");
    socket.connect(addr).await.expect("connect")
}

fn request(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> hyper::Request<Full<Bytes>> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Full::new(Bytes::from(body))).expect("request")
}

/// Sends `request` over an already connected stream and reads the whole reply.
pub async fn send<S>(stream: S, request: hyper::Request<Full<Bytes>>) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// Any method on `path`, with an optional content type, on a fresh plain-TCP connection.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    send(stream, request(method, path, content_type, body)).await
}

/// `GET path` on a fresh plain-TCP connection.
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    request_on(stream, "GET", path, Vec::new()).await
}

/// `GET /metrics` as Prometheus asks for it: OpenMetrics first (the other answer is the classic
/// text format that [`get`] receives).
pub async fn get_openmetrics(addr: SocketAddr) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = request("GET", "/metrics", None, Vec::new());
    request.headers_mut().insert(
        "accept",
        hyper::header::HeaderValue::from_static(
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2",
        ),
    );
    send(stream, request).await
}

/// Checks that `text` is valid Prometheus text exposition format (0.0.4) or OpenMetrics 1.0 text
/// (which ends with `# EOF`, and names a counter's family without the `_total` of its sample):
/// every sample line is `name{labels} value` of a declared TYPE. Returns the samples as
/// `(name_with_labels, value)`.
pub fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut typed = std::collections::HashSet::new();
    let mut samples = Vec::new();
    let openmetrics = text.ends_with("# EOF\n");
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().expect("TYPE name");
            let kind = parts.next().expect("TYPE kind");
            let kinds: &[&str] = if openmetrics {
                &[
                    "counter",
                    "gauge",
                    "histogram",
                    "summary",
                    "unknown",
                    "info",
                    "stateset",
                ]
            } else {
                &["counter", "gauge", "histogram", "summary", "untyped"]
            };
            assert!(kinds.contains(&kind), "bad type in {line:?}");
            typed.insert(name.to_owned());
            continue;
        }
        if line == "# EOF" {
            assert!(
                openmetrics && text.ends_with("\n# EOF\n"),
                "# EOF not last: {text}"
            );
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line {line:?}");
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let name = series.split('{').next().expect("name");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.is_empty(),
            "bad metric name in {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels in {line:?}"
                );
            }
        }
        let suffixes: &[&str] = if openmetrics {
            &["_bucket", "_sum", "_count", "_total", "_created", "_info"]
        } else {
            &["_bucket", "_sum", "_count"]
        };
        let family = suffixes
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| typed.contains(*base))
            })
            .unwrap_or(name);
        assert!(typed.contains(family), "sample without TYPE: {line:?}");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        samples.push((series.to_owned(), value));
    }
    samples
}
