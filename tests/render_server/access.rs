//! Access tokens over real HTTP: every route of the role, its status page and its fallback behind
//! them, the probes and `/metrics` open, two tokens valid at once (rotation), and the render
//! client sending its token.

use super::{assert_error, form, tabletop, Server};
use crate::common;

use gltf_cloud::roles::render_client::{ClientError, ClientOptions, ImageType, RenderClient};
use gltf_cloud::roles::render_server::Config;

const OLD: &str = "old-token-0123456789abcdef";
const NEW: &str = "new-token-0123456789abcdef";

async fn get_with(addr: std::net::SocketAddr, path: &str, token: &str) -> common::Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = hyper::Request::builder()
        .uri(path)
        .header("host", "localhost")
        .header("authorization", format!("Bearer {token}"))
        .body(http_body_util::Full::new(hyper::body::Bytes::new()))
        .unwrap();
    common::send(stream, request).await
}

fn client(server: &Server, token: Option<&str>) -> RenderClient {
    let options = ClientOptions {
        token: token.map(str::to_owned),
        ..ClientOptions::default()
    };
    RenderClient::new(&server.url(), "render", &options).unwrap()
}

#[tokio::test]
async fn without_a_valid_token_only_the_probes_and_metrics_answer() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(
        &file,
        format!("# rotating: {NEW} replaces {OLD}\n{OLD}\n{NEW}\n"),
    )
    .unwrap();
    let server = Server::start(Config {
        access_tokens_file: Some(file),
        ..Config::default()
    })
    .await;

    for path in ["/livez", "/readyz", "/healthz", "/metrics"] {
        assert_eq!(common::get(server.addr, path).await.status, 200, "{path}");
    }
    let missing = server
        .post(&form(ImageType::Color, tabletop(ImageType::Color)))
        .await;
    assert_error(&missing, 401, "needs an access token");
    assert_eq!(
        missing.headers["www-authenticate"],
        "Bearer realm=\"gltf-cloud\""
    );
    for path in [
        "/",
        "/status.json",
        "/status/preview/color.png",
        "/no-such-path",
    ] {
        let reply = common::get(server.addr, path).await;
        assert_error(&reply, 401, "Authorization: Bearer");
    }
    let wrong = get_with(server.addr, "/status.json", "wrong-token-0123456789").await;
    assert_error(&wrong, 401, "not valid");
    assert!(wrong.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(get_with(server.addr, "/status.json", NEW).await.status, 200);
    assert_eq!(
        get_with(server.addr, "/no-such-path", OLD).await.status,
        404
    );

    // The render client sends its token; both tokens are valid while one replaces the other.
    let camera = gltf_cloud::roles::render_client::Camera {
        intrinsics: gltf_cloud::scene::camera::Intrinsics::from_fov_y(
            32,
            24,
            std::f64::consts::FRAC_PI_4,
            0.01,
            10.0,
        ),
        depth_range: gltf_cloud::roles::render_client::DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        },
        pose: None,
    };
    let scene = tabletop(ImageType::Color);
    for token in [OLD, NEW] {
        let image = client(&server, Some(token))
            .render(&scene, &camera, ImageType::Color)
            .await
            .unwrap();
        assert_eq!(image.size(), (32, 24));
    }
    let refused = client(&server, None)
        .render(&scene, &camera, ImageType::Color)
        .await
        .unwrap_err();
    let ClientError::Post {
        http_code,
        server_message,
        ..
    } = refused
    else {
        panic!("{refused}")
    };
    assert_eq!(http_code, 401);
    assert!(
        server_message.contains("needs an access token"),
        "{server_message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unusable_token_file_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, "short\n").unwrap();
    let running = common::start_render_server(Config {
        access_tokens_file: Some(file),
        ..Config::default()
    })
    .await;
    let error = running.task.await.unwrap().unwrap_err().to_string();
    assert!(
        error.contains("tokens, line 1: a token needs at least 16 characters"),
        "{error}"
    );
}
