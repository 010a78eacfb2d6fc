//! The render client on real loopback sockets, against test servers written here: a capture server
//! that checks the request bytes against the protocol doc (§1.1–1.3), canned answers that exercise
//! Drake's validation and decoding (§2), deliberately broken servers that `--check` must catch, and
//! the binary's render and benchmark modes.
//!
//! None of these servers renders: answers are canned images, so nothing here is a second renderer.
//!
//! Over 600 lines on purpose: independent tests that share one harness (the capture server, the
//! canned images) and are read one at a time; split by subject, each part would need most of that
//! harness.

use crate::common;

mod forward; // the forward mode between a plain-HTTP client and a TLS server
mod scene_mode; // --scene-api: the checks and the benchmark against our server (needs an adapter)
mod vs_server; // the client against our own render server (needs a graphics adapter)

use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glam::DVec3;
use gltf_cloud::protocol::drake::label::LABEL_DONT_CARE;
use gltf_cloud::roles::render_client::check;
use gltf_cloud::roles::render_client::{
    Camera, CameraPose, ClientOptions, DepthRange, Image, ImageType, RenderClient,
};
use gltf_cloud::scene::camera::Intrinsics;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// Every exchange with a test server must finish well within this.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One request as the capture server read it off the socket.
#[derive(Debug, Clone)]
struct Captured {
    /// Which accepted TCP connection carried it (0-based).
    connection: usize,
    /// Request line and headers, verbatim.
    head: String,
    body: Vec<u8>,
    /// Multipart parts in wire order: (part headers, content).
    parts: Vec<(String, Vec<u8>)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<String> {
        let wanted = format!("name=\"{name}\"");
        self.parts
            .iter()
            .find(|(headers, _)| headers.contains(&wanted))
            .map(|(_, content)| String::from_utf8_lossy(content).into_owned())
    }

    fn scene(&self) -> Vec<u8> {
        self.parts
            .iter()
            .find(|(headers, _)| headers.contains("name=\"scene\""))
            .map(|(_, content)| content.clone())
            .unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(": ")?;
            key.eq_ignore_ascii_case(name).then(|| value.to_owned())
        })
    }
}

type Responder = Arc<dyn Fn(&Captured) -> (u16, Vec<u8>) + Send + Sync>;

struct TestServer {
    addr: SocketAddr,
    captured: Arc<Mutex<Vec<Captured>>>,
}

impl TestServer {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn captured(&self) -> Vec<Captured> {
        self.captured.lock().unwrap().clone()
    }
}

/// A raw HTTP/1.1 server on 127.0.0.1:0 that records every request byte and answers with
/// `responder`, keeping connections open for clients that reuse them.
async fn start_server(responder: Responder) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&captured);
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (record, responder) = (Arc::clone(&record), Arc::clone(&responder));
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    TEST_TIMEOUT,
                    serve_connection(stream, connection, record, responder),
                )
                .await;
            });
        }
    });
    TestServer { addr, captured }
}

async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    connection: usize,
    record: Arc<Mutex<Vec<Captured>>>,
    responder: Responder,
) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let mut chunk = [0; 65536];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buffer.len() < head_end + 4 + length {
            let mut chunk = [0; 65536];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buffer[head_end + 4..head_end + 4 + length].to_vec();
        buffer.drain(..head_end + 4 + length);
        let mut request = Captured {
            connection,
            head,
            body,
            parts: Vec::new(),
        };
        request.parts = parse_multipart(&request);
        let (status, answer) = responder(&request);
        record.lock().unwrap().push(request);
        let mut reply = format!(
            "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
            answer.len()
        )
        .into_bytes();
        reply.extend_from_slice(&answer);
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// Splits a multipart body into (headers, content) parts in wire order.
fn parse_multipart(request: &Captured) -> Vec<(String, Vec<u8>)> {
    let Some(boundary) = request
        .header("Content-Type")
        .and_then(|v| v.split_once("boundary=").map(|(_, b)| b.to_owned()))
    else {
        return Vec::new();
    };
    let delimiter = format!("--{boundary}\r\n").into_bytes();
    let mut parts = Vec::new();
    let body = &request.body;
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(found) = body[at..]
        .windows(delimiter.len())
        .position(|w| w == delimiter)
    {
        starts.push(at + found);
        at += found + delimiter.len();
    }
    let closing = format!("\r\n--{boundary}--\r\n").into_bytes();
    for (n, start) in starts.iter().enumerate() {
        let content_start = start + delimiter.len();
        let end = match starts.get(n + 1) {
            Some(next) => next - 2, // the part's trailing \r\n
            None => body.len() - closing.len(),
        };
        let part = &body[content_start..end];
        let split = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        parts.push((
            String::from_utf8_lossy(&part[..split]).into_owned(),
            part[split + 4..].to_vec(),
        ));
    }
    parts
}

// ---- canned images ------------------------------------------------------------------------

fn png(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
) -> Vec<u8> {
    png_with_palette(width, height, color, depth, data, None)
}

fn png_with_palette(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<Vec<u8>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    if let Some(palette) = palette {
        encoder.set_palette(palette);
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    out
}

fn rgb_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let data: Vec<u8> = (0..width * height).flat_map(|_| rgb).collect();
    png(
        width,
        height,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &data,
    )
}

fn float_tiff(width: u32, height: u32, values: &[f32]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut out)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray32Float>(width, height, values)
        .unwrap();
    out.into_inner()
}

fn u16_tiff(width: u32, height: u32, values: &[u16]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut out)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray16>(width, height, values)
        .unwrap();
    out.into_inner()
}

/// Answers every request with the same status and body.
fn always(status: u16, body: Vec<u8>) -> Responder {
    Arc::new(move |_| (status, body.clone()))
}

fn small_camera() -> Camera {
    Camera {
        intrinsics: Intrinsics::from_fov_y(4, 3, std::f64::consts::FRAC_PI_4, 0.01, 10.0),
        depth_range: DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        },
        pose: Some(CameraPose::look_at(DVec3::new(0.0, 0.0, 2.0), DVec3::ZERO, DVec3::Y).unwrap()),
    }
}

const EMPTY_SCENE: &[u8] = br#"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[]}]}"#;

async fn render_with(server: &TestServer, image_type: ImageType) -> Result<Image, String> {
    let client = RenderClient::new(&server.url(), "render", &ClientOptions::default()).unwrap();
    tokio::time::timeout(
        TEST_TIMEOUT,
        client.render(EMPTY_SCENE, &small_camera(), image_type),
    )
    .await
    .unwrap()
    .map_err(|e| e.to_string())
}

async fn render_answer(status: u16, body: Vec<u8>, image_type: ImageType) -> Result<Image, String> {
    let server = start_server(always(status, body)).await;
    render_with(&server, image_type).await
}

// ---- the request on the wire ---------------------------------------------------------------

/// The whole request, byte for byte, is what protocol §1.1–1.3 says Drake sends.
#[tokio::test]
async fn request_bytes_match_drakes_layout() {
    let server = start_server(always(200, float_tiff(640, 480, &vec![1.0; 640 * 480]))).await;
    let client = RenderClient::new(
        &format!("{}/", server.url()),
        "/render",
        &ClientOptions::default(),
    )
    .unwrap();
    let camera = Camera {
        intrinsics: Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0),
        depth_range: DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        },
        pose: Some(CameraPose::look_at(DVec3::new(0.0, 0.0, 2.0), DVec3::ZERO, DVec3::Y).unwrap()),
    };
    client
        .render(EMPTY_SCENE, &camera, ImageType::Depth)
        .await
        .unwrap();
    let request = &server.captured()[0];

    // Request line and headers: curl's, and nothing else.
    let mut lines = request.head.lines();
    assert_eq!(lines.next(), Some("POST /render HTTP/1.1"));
    let headers: Vec<&str> = lines.collect();
    let names: Vec<&str> = headers
        .iter()
        .map(|h| h.split_once(": ").unwrap().0)
        .collect();
    assert_eq!(
        names,
        ["Host", "Accept", "Content-Length", "Content-Type"],
        "{headers:?}"
    );
    assert_eq!(request.header("Host").unwrap(), server.addr.to_string());
    assert_eq!(request.header("Accept").unwrap(), "*/*");
    assert_eq!(
        request.header("Content-Length").unwrap(),
        request.body.len().to_string()
    );
    let content_type = request.header("Content-Type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap();
    assert_eq!(boundary.len(), 46, "{boundary}");
    assert!(boundary.starts_with(&"-".repeat(24)));
    assert!(boundary[24..].chars().all(|c| c.is_ascii_alphanumeric()));

    // The body, rebuilt from the doc's layout with this request's boundary and scene.
    let scene = request.scene();
    let sha = hex::encode(Sha256::digest(&scene));
    let mut expected = String::new();
    for (name, value) in [
        ("center_x", "319.500000"),
        ("center_y", "239.500000"),
        ("far", "10.000000"),
        ("focal_x", "579.411255"),
        ("focal_y", "579.411255"),
        ("fov_x", "1.009191"),
        ("fov_y", "0.785398"),
        ("height", "480"),
        ("image_type", "depth"),
        ("max_depth", "5.000000"),
        ("min_depth", "0.050000"),
        ("near", "0.010000"),
        ("scene_sha256", &sha),
        ("submit", "Render"),
        ("width", "640"),
    ] {
        expected.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    expected.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"scene\"; filename=\"0000000000000000001-depth.gltf\"\r\nContent-Type: model/gltf+json\r\n\r\n"
    ));
    let mut expected = expected.into_bytes();
    expected.extend_from_slice(&scene);
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        String::from_utf8_lossy(&expected)
    );

    // The scene carries the camera node Drake writes (§3.3): looking straight down is identity.
    let gltf: serde_json::Value = serde_json::from_slice(&scene).unwrap();
    let node = gltf["nodes"].as_array().unwrap().last().unwrap();
    assert_eq!(node["name"], "Camera Node");
    let matrix: Vec<f64> = node["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(
        matrix,
        [1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 2., 1.]
    );
    assert_eq!(gltf["cameras"][0]["perspective"]["znear"], 0.01);
}

#[tokio::test]
async fn color_requests_have_thirteen_fields_and_the_counter_counts() {
    let server = start_server(always(200, rgb_png(4, 3, [1, 2, 3]))).await;
    let client = RenderClient::new(&server.url(), "render", &ClientOptions::default()).unwrap();
    for _ in 0..2 {
        client
            .render(EMPTY_SCENE, &small_camera(), ImageType::Color)
            .await
            .unwrap();
    }
    let captured = server.captured();
    assert_eq!(captured[0].parts.len(), 14); // 13 text fields + scene
    assert_eq!(captured[0].field("min_depth"), None);
    assert!(captured[1].parts[13]
        .0
        .contains("filename=\"0000000000000000002-color.gltf\""));
}

/// One TCP connection per request, as libcurl in Drake; `keep_alive` reuses one.
#[tokio::test]
async fn one_connection_per_request_unless_keep_alive() {
    for (keep_alive, connections) in [(false, 3), (true, 1)] {
        let server = start_server(always(200, rgb_png(4, 3, [1, 2, 3]))).await;
        let options = ClientOptions {
            keep_alive,
            ..ClientOptions::default()
        };
        let client = RenderClient::new(&server.url(), "render", &options).unwrap();
        for _ in 0..3 {
            client
                .render(EMPTY_SCENE, &small_camera(), ImageType::Color)
                .await
                .unwrap();
        }
        let used: std::collections::BTreeSet<usize> =
            server.captured().iter().map(|c| c.connection).collect();
        assert_eq!(used.len(), connections, "keep_alive={keep_alive}");
    }
}

/// `https://` works with an extra trusted root, and fails with Drake's report without it.
#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files =
        gltf_cloud::core::tls::write_self_signed(&["127.0.0.1".into()], dir.path(), false).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(
        gltf_cloud::core::tls::server_config(&files.cert, &files.key).unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let captured = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&captured);
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let Ok(tls) = acceptor.accept(stream).await else {
                continue;
            };
            let responder = always(200, rgb_png(4, 3, [7, 8, 9]));
            tokio::spawn(serve_connection(
                tls,
                connection,
                Arc::clone(&record),
                responder,
            ));
        }
    });
    let trusting = ClientOptions {
        ca_cert: Some(files.cert.clone()),
        ..ClientOptions::default()
    };
    let client = RenderClient::new(&url, "render", &trusting).unwrap();
    let image = tokio::time::timeout(
        TEST_TIMEOUT,
        client.render(EMPTY_SCENE, &small_camera(), ImageType::Color),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(image.size(), (4, 3));
    assert_eq!(captured.lock().unwrap().len(), 1);

    let client = RenderClient::new(&url, "render", &ClientOptions::default()).unwrap();
    let err = client
        .render(EMPTY_SCENE, &small_camera(), ImageType::Color)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TLS handshake failed") && err.contains("HTTP Code:       0"),
        "{err}"
    );
}

/// A server that never answers costs the timeout, not forever.
#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream); // accepted, never answered
        }
    });
    let options = ClientOptions {
        timeout: Some(Duration::from_millis(300)),
        ..ClientOptions::default()
    };
    let client = RenderClient::new(&url, "render", &options).unwrap();
    let err = tokio::time::timeout(
        TEST_TIMEOUT,
        client.render(EMPTY_SCENE, &small_camera(), ImageType::Color),
    )
    .await
    .unwrap()
    .unwrap_err()
    .to_string();
    assert!(err.contains("Timeout was reached"), "{err}");
}

// ---- answers: Drake's validation and decoding ----------------------------------------------

#[tokio::test]
async fn color_png_rgb_gets_opaque_alpha_and_rgba_keeps_it() {
    let Image::Color(rgb) = render_answer(200, rgb_png(4, 3, [10, 20, 30]), ImageType::Color)
        .await
        .unwrap()
    else {
        panic!("not color")
    };
    assert_eq!(&rgb.rgba[..8], &[10, 20, 30, 255, 10, 20, 30, 255]);
    let rgba: Vec<u8> = (0..12).flat_map(|_| [1, 2, 3, 4]).collect();
    let body = png(4, 3, png::ColorType::Rgba, png::BitDepth::Eight, &rgba);
    let Image::Color(image) = render_answer(200, body, ImageType::Color).await.unwrap() else {
        panic!()
    };
    assert_eq!(image.rgba, rgba);
}

#[tokio::test]
async fn paletted_png_is_expanded_like_libpng() {
    let body = png_with_palette(
        4,
        3,
        png::ColorType::Indexed,
        png::BitDepth::Eight,
        &[1; 12],
        Some(vec![0, 0, 0, 9, 8, 7]),
    );
    let Image::Color(image) = render_answer(200, body, ImageType::Color).await.unwrap() else {
        panic!()
    };
    assert_eq!(&image.rgba[..4], &[9, 8, 7, 255]);
}

#[tokio::test]
async fn color_answers_drake_refuses_are_refused_with_drakes_words() {
    let sixteen = png(4, 3, png::ColorType::Rgb, png::BitDepth::Sixteen, &[0; 72]);
    let gray = png(
        4,
        3,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &[0; 12],
    );
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    let tiff = float_tiff(4, 3, &[1.0; 12]);
    for (body, message) in [
        (sixteen, "Can't load image with scalar=16U into scalar=8U"),
        (
            gray,
            "Can't load image with channels=1 into object with channels=4",
        ),
        (
            jpeg,
            "is not understood as an image type that is supported, i.e., PNG or TIFF.",
        ),
        (tiff, "Not a PNG file"),
    ] {
        let err = render_answer(200, body, ImageType::Color)
            .await
            .unwrap_err();
        assert!(err.contains(message), "{err}");
    }
}

#[tokio::test]
async fn wrong_size_gets_drakes_message() {
    let err = render_answer(200, rgb_png(5, 3, [0, 0, 0]), ImageType::Color)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "RenderClient: expected to import (width=4,height=3) from the file \
         '0000000000000000001-color.png', but got (width=5,height=3)."
    );
}

#[tokio::test]
async fn depth_float_tiff_passes_through_and_uint16_becomes_metres() {
    let values = [
        0.0,
        1.25,
        f32::INFINITY,
        4.5,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
        2.0,
    ];
    let Image::Depth(image) = render_answer(200, float_tiff(4, 3, &values), ImageType::Depth)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(image.metres, values);

    let millimetres = [0, 1250, 65535, 4500, 1, 1, 1, 1, 1, 1, 1, 2];
    let expected = [0.0, 1.25, f32::INFINITY, 4.5];
    let as_png: Vec<u8> = millimetres
        .iter()
        .flat_map(|v: &u16| v.to_be_bytes())
        .collect();
    for body in [
        u16_tiff(4, 3, &millimetres),
        png(
            4,
            3,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &as_png,
        ),
    ] {
        let Image::Depth(image) = render_answer(200, body, ImageType::Depth).await.unwrap() else {
            panic!()
        };
        for (got, want) in image.metres.iter().zip(expected) {
            assert!(got == &want || (got - want).abs() < 1e-6, "{got} != {want}");
        }
    }
}

#[tokio::test]
async fn eight_bit_depth_is_an_unsupported_pixel_type() {
    let body = png(
        4,
        3,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &[0; 12],
    );
    let err = render_answer(200, body, ImageType::Depth)
        .await
        .unwrap_err();
    assert_eq!(err, "RenderClient: unsupported depth pixel type");
}

#[tokio::test]
async fn label_is_red_plus_green_shifted_and_white_is_dont_care() {
    let pixels: Vec<u8> = [[42, 0, 0], [254, 127, 0], [255, 255, 255], [10, 20, 30]]
        .iter()
        .cycle()
        .take(12)
        .flatten()
        .copied()
        .collect();
    let body = png(4, 3, png::ColorType::Rgb, png::BitDepth::Eight, &pixels);
    let Image::Label(image) = render_answer(200, body, ImageType::Label).await.unwrap() else {
        panic!()
    };
    assert_eq!(&image.labels[..4], &[42, 32766, LABEL_DONT_CARE, 5130]);
}

#[tokio::test]
async fn empty_success_body_is_refused() {
    let server = start_server(always(200, Vec::new())).await;
    let err = render_with(&server, ImageType::Color).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "RenderClient: error from POST to {}/render, HTTP code=200: the server was supposed to \
             respond with a file but did not.",
            server.url()
        )
    );
}

#[tokio::test]
async fn error_status_reports_url_code_and_short_server_message() {
    let message = r#"{"error": true, "message": "bad thing", "code": 400}"#;
    let server = start_server(always(400, message.as_bytes().to_vec())).await;
    let err = render_with(&server, ImageType::Color).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "RenderClient: error from POST:\n  URL:             {}/render\n  Service Message: None.\n  \
             HTTP Code:       400\n  Server Message:  {message}",
            server.url()
        )
    );
    // 8192 bytes or more: Drake shows `None.`
    let err = render_answer(500, vec![b'x'; 8192], ImageType::Color)
        .await
        .unwrap_err();
    assert!(
        err.ends_with("HTTP Code:       500\n  Server Message:  None."),
        "{err}"
    );
}

#[tokio::test]
async fn no_server_is_http_code_zero() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = RenderClient::new(&url, "render", &ClientOptions::default()).unwrap();
    let err = client
        .render(EMPTY_SCENE, &small_camera(), ImageType::Color)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Couldn't connect to server"), "{err}");
    assert!(err.contains("HTTP Code:       0"), "{err}");
}

// ---- conformance against broken servers ----------------------------------------------------

/// How a canned-answer server is broken. The server never renders: it answers every valid request
/// with a uniform image of the requested size (background-like), and malformed ones with a 400.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flaw {
    None,
    WrongSize,
    SixteenBitColor,
    ShadedLabel,
    HugeErrorBody,
}

fn canned_server(flaw: Flaw) -> Responder {
    Arc::new(move |request: &Captured| {
        let reject = |reason: &str| {
            let body = if flaw == Flaw::HugeErrorBody {
                vec![b'e'; 9000]
            } else {
                format!(r#"{{"error": true, "message": "{reason}", "code": 400}}"#).into_bytes()
            };
            (400, body)
        };
        let Some(image_type) = request.field("image_type") else {
            return reject("no image_type");
        };
        let sha = hex::encode(Sha256::digest(request.scene()));
        if request.field("scene_sha256") != Some(sha) {
            return reject("scene_sha256 mismatch");
        }
        if image_type == "depth"
            && (request.field("min_depth").is_none() || request.field("max_depth").is_none())
        {
            return reject("depth needs min_depth and max_depth");
        }
        let mut width: u32 = request.field("width").unwrap().parse().unwrap();
        let height: u32 = request.field("height").unwrap().parse().unwrap();
        if flaw == Flaw::WrongSize {
            width += 1;
        }
        let pixels = (width * height) as usize;
        let body = match image_type.as_str() {
            "color" if flaw == Flaw::SixteenBitColor => png(
                width,
                height,
                png::ColorType::Rgb,
                png::BitDepth::Sixteen,
                &vec![0x80; pixels * 6],
            ),
            "color" => rgb_png(width, height, [204, 229, 255]),
            "depth" => float_tiff(width, height, &vec![f32::INFINITY; pixels]),
            "label" if flaw == Flaw::ShadedLabel => {
                // Lit white: a gradient of greys instead of exact flat colours.
                let data: Vec<u8> = (0..pixels)
                    .flat_map(|i| [(200 + i % 50) as u8; 3])
                    .collect();
                png(
                    width,
                    height,
                    png::ColorType::Rgb,
                    png::BitDepth::Eight,
                    &data,
                )
            }
            "label" => rgb_png(width, height, [255, 255, 255]),
            _ => return reject("image_type must be color, depth or label"),
        };
        (200, body)
    })
}

async fn check_against(flaw: Flaw) -> BTreeMap<&'static str, check::CaseResult> {
    let server = start_server(canned_server(flaw)).await;
    let client = RenderClient::new(&server.url(), "render", &ClientOptions::default()).unwrap();
    let results = tokio::time::timeout(TEST_TIMEOUT, check::run(&client))
        .await
        .unwrap();
    results.into_iter().map(|r| (r.name, r)).collect()
}

fn assert_case(
    results: &BTreeMap<&str, check::CaseResult>,
    name: &str,
    passed: bool,
    detail: &str,
) {
    let case = &results[name];
    assert_eq!(case.passed, passed, "{case:?}");
    assert!(case.detail.contains(detail), "{case:?}");
}

/// The honest canned server passes exactly the cases a background-only answer can pass; the
/// analytic cases fail, naming what they saw.
#[tokio::test]
async fn check_against_a_background_only_server() {
    let results = check_against(Flaw::None).await;
    for name in [
        "background-color",
        "background-depth",
        "background-label",
        "missing-field",
        "bad-image-type",
        "wrong-sha256",
        "repeat-identical",
    ] {
        assert!(results[name].passed, "{:?}", results[name]);
    }
    assert_case(&results, "box-depth-planar", false, "expected 2 m");
    assert_case(&results, "label-colours", false, "expected 10");
    assert_case(&results, "intrinsics-marker", false, "marker 7 not found");
    assert!(!results["color-lit-face"].passed);
}

#[tokio::test]
async fn check_catches_wrong_size() {
    let results = check_against(Flaw::WrongSize).await;
    assert_case(
        &results,
        "background-color",
        false,
        "expected to import (width=64,height=48)",
    );
    assert_case(
        &results,
        "odd-size-333x250",
        false,
        "(width=333,height=250)",
    );
}

#[tokio::test]
async fn check_catches_sixteen_bit_color() {
    let results = check_against(Flaw::SixteenBitColor).await;
    assert_case(&results, "background-color", false, "scalar=16U");
    assert!(results["background-label"].passed);
}

#[tokio::test]
async fn check_catches_shaded_labels() {
    let results = check_against(Flaw::ShadedLabel).await;
    assert_case(&results, "background-label", false, "");
    assert!(results["background-label"].measured.contains("px wrong"));
    assert_case(&results, "label-colours", false, "got label");
}

#[tokio::test]
async fn check_catches_error_bodies_over_8_kb() {
    let results = check_against(Flaw::HugeErrorBody).await;
    for name in ["missing-field", "bad-image-type", "wrong-sha256"] {
        assert_case(&results, name, false, "error body of 9000 bytes");
    }
}

/// The binary's `--check` exits non-zero and its table names the failing case.
#[tokio::test]
async fn check_command_exits_non_zero_naming_the_case() {
    let server = start_server(canned_server(Flaw::HugeErrorBody)).await;
    let output = run_binary(&["client", "--check", "--server-base-url", &server.url()]).await;
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("missing-field"))
        .unwrap();
    assert!(row.contains("FAIL"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing-field"));
}

// ---- the binary: render and benchmark modes ------------------------------------------------

async fn run_binary(args: &[&str]) -> std::process::Output {
    let child = tokio::process::Command::new(common::binary())
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(TEST_TIMEOUT, child)
        .await
        .unwrap()
        .unwrap()
}

/// Writes a scene with no camera node (like any non-Drake glTF); the flags supply the pose.
fn camera_less_scene(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, EMPTY_SCENE).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn render_mode_writes_images_that_decode_to_the_answers() {
    let server = start_server(canned_server(Flaw::None)).await;
    let dir = tempfile::tempdir().unwrap();
    let scene = camera_less_scene(dir.path(), "room.gltf");
    let out = dir.path().join("out");
    let output = run_binary(&[
        "client",
        "--server-base-url",
        &server.url(),
        &scene,
        "--out",
        out.to_str().unwrap(),
        "--width",
        "33",
        "--height",
        "25",
        "--focal-x",
        "30",
        "--focal-y",
        "40",
        "--center-x",
        "10.5",
        "--center-y",
        "12",
        "--camera-position",
        "0,1.5,3",
        "--camera-target",
        "0,0,0",
        "--camera-up",
        "0,1,0",
    ])
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let color = png::Decoder::new(Cursor::new(
        std::fs::read(out.join("room-color.png")).unwrap(),
    ));
    let info = color.read_info().unwrap().info().clone();
    assert_eq!(
        (info.width, info.height, info.color_type),
        (33, 25, png::ColorType::Rgba)
    );

    let mut depth = tiff::decoder::Decoder::new(Cursor::new(
        std::fs::read(out.join("room-depth.tiff")).unwrap(),
    ))
    .unwrap();
    assert_eq!(depth.dimensions().unwrap(), (33, 25));
    let tiff::decoder::DecodingResult::F32(values) = depth.read_image().unwrap() else {
        panic!("not float")
    };
    assert!(values.iter().all(|v| *v == f32::INFINITY));

    let label = png::Decoder::new(Cursor::new(
        std::fs::read(out.join("room-label.png")).unwrap(),
    ));
    let mut reader = label.read_info().unwrap();
    assert_eq!(reader.info().bit_depth, png::BitDepth::Sixteen);
    let mut raw = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut raw).unwrap();
    assert_eq!(i16::from_be_bytes([raw[0], raw[1]]), LABEL_DONT_CARE);
    for preview in ["room-depth-preview.png", "room-label-preview.png"] {
        assert!(out.join(preview).is_file(), "{preview}");
    }

    // The intrinsics flags reached the wire.
    let request = &server.captured()[0];
    assert_eq!(request.field("focal_y").unwrap(), "40.000000");
    assert_eq!(request.field("center_x").unwrap(), "10.500000");
}

#[tokio::test]
async fn render_mode_reports_server_errors_and_exits_non_zero() {
    let server = start_server(always(400, b"no thanks".to_vec())).await;
    let dir = tempfile::tempdir().unwrap();
    let scene = camera_less_scene(dir.path(), "a.gltf");
    let output = run_binary(&[
        "client",
        "--server-base-url",
        &server.url(),
        &scene,
        "--out",
        dir.path().to_str().unwrap(),
        "--camera-position",
        "1,0,0",
        "--camera-target",
        "0,0,0",
    ])
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HTTP Code:       400") && stderr.contains("Server Message:  no thanks"),
        "{stderr}"
    );
}

/// Bad scenes are refused before any request or file: clear message, non-zero exit, no output.
#[tokio::test]
async fn bad_scenes_are_refused_before_anything_is_sent_or_written() {
    let server = start_server(canned_server(Flaw::None)).await;
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("broken.gltf");
    std::fs::write(&not_json, "not json").unwrap();
    let no_camera = camera_less_scene(dir.path(), "no-camera.gltf");
    let out = dir.path().join("out");
    for (scene, message) in [
        (not_json.to_str().unwrap(), "the scene is not glTF JSON"),
        (
            &no_camera,
            "the scene has no camera node: give --camera-position and --camera-target",
        ),
    ] {
        let output = run_binary(&[
            "client",
            "--server-base-url",
            &server.url(),
            scene,
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
    assert!(!out.exists());
    assert!(server.captured().is_empty());
}

#[tokio::test]
async fn benchmark_json_counts_match_the_requests_served() {
    let server = start_server(canned_server(Flaw::None)).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        camera_less_scene(dir.path(), "a.gltf"),
        camera_less_scene(dir.path(), "b.gltf"),
    );
    let output = run_binary(&[
        "client",
        "--server-base-url",
        &server.url(),
        &a,
        &b,
        "--image-type",
        "color,depth",
        "--width",
        "16",
        "--height",
        "12",
        "--camera-position",
        "1,0,0",
        "--camera-target",
        "0,0,0",
        "--frames",
        "7",
        "--concurrency",
        "3",
        "--json",
    ])
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["count"], 7);
    assert_eq!(report["concurrency"], 3);
    assert_eq!(report["succeeded"], 7);
    assert_eq!(report["errors"], 0);
    let latency = &report["latencyMs"];
    let (p50, p99) = (
        latency["p50"].as_f64().unwrap(),
        latency["p99"].as_f64().unwrap(),
    );
    assert!(
        p50 > 0.0
            && p50 <= latency["p95"].as_f64().unwrap()
            && latency["p95"].as_f64().unwrap() <= p99
    );
    assert!(report["imagesPerSecond"].as_f64().unwrap() > 0.0);

    // Seven requests, cycling (a color, a depth, b color, b depth): 4 color, 3 depth.
    let captured = server.captured();
    assert_eq!(captured.len(), 7);
    let colors = captured
        .iter()
        .filter(|c| c.field("image_type").as_deref() == Some("color"))
        .count();
    assert_eq!(colors, 4);
}

#[tokio::test]
async fn benchmark_counts_errors() {
    let server = start_server(always(503, b"busy".to_vec())).await;
    let dir = tempfile::tempdir().unwrap();
    let scene = camera_less_scene(dir.path(), "a.gltf");
    let output = run_binary(&[
        "client",
        "--server-base-url",
        &server.url(),
        &scene,
        "--image-type",
        "label",
        "--camera-position",
        "1,0,0",
        "--camera-target",
        "0,0,0",
        "--frames",
        "4",
        "--json",
    ])
    .await;
    assert!(!output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (report["count"].as_u64(), report["errors"].as_u64()),
        (Some(4), Some(4))
    );
    assert!(report["firstError"]
        .as_str()
        .unwrap()
        .contains("HTTP Code:       503"));
}
