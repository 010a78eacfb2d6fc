//! Every metric a server exports is documented, and every counter is named `_total`: each role is
//! started, given some traffic, and scraped; each family found must be in docs/deploy.md's table.

use crate::common;

use gltf_cloud::roles::render_client::wire::Form;
use gltf_cloud::roles::render_client::{DepthRange, ImageType};
use gltf_cloud::roles::{render_server, session_server, simulation_server};
use gltf_cloud::scene::camera::Intrinsics;

/// `(name, type)` of every family in a scrape, from its `# TYPE` lines.
fn families(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
        .collect()
}

async fn scrape(running: &common::Running) -> Vec<(String, String)> {
    // Traffic first, so the per-route and per-request families exist.
    common::get(running.addr, "/no-such-path").await;
    let reply = common::get(running.addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    common::parse_prometheus(&reply.text());
    families(&reply.text())
}

#[tokio::test]
async fn every_metric_is_documented_and_every_counter_is_a_total() {
    common::require_adapter!();
    let mut found = Vec::new();

    let render = common::start_render_server(render_server::Config::default()).await;
    let scene = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/color/tabletop.gltf"
    ))
    .unwrap();
    let intrinsics = Intrinsics::from_fov_y(32, 24, 0.8, 0.01, 10.0);
    let range = DepthRange {
        min_depth: 0.05,
        max_depth: 5.0,
    };
    let form = Form::new(scene, 1, ImageType::Color, &intrinsics, range);
    let boundary = "boundary-of-the-metrics-test";
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let body = form.multipart_body(boundary);
    let rendered = common::post(render.addr, "/render", &content_type, body).await;
    assert_eq!(rendered.status, 200, "{}", rendered.text());
    let refused = common::post(render.addr, "/render", &content_type, Vec::new()).await;
    assert_eq!(refused.status, 400);
    found.extend(scrape(&render).await);
    render.stop().await;

    let session = common::start_session_server(session_server::Config::default()).await;
    common::get(session.addr, "/session").await;
    found.extend(scrape(&session).await);
    session.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let simulation = common::start_simulation_server(simulation_server::Config {
        instances_dir: Some(dir.path().join("instances")),
        projects_dir: Some(dir.path().to_owned()),
        ..simulation_server::Config::default()
    })
    .await;
    found.extend(scrape(&simulation).await);
    simulation.stop().await;

    let documented =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    for (name, kind) in &found {
        assert!(
            documented.contains(&format!("| `{name}` | {kind} |")),
            "{name} ({kind}) has no row in docs/deploy.md's metrics table"
        );
        if kind == "counter" {
            assert!(
                name.ends_with("_total"),
                "counter {name} is not named _total"
            );
        }
    }
    for expected in [
        "gltf_cloud_render_jobs_skipped_total",
        "gltf_cloud_http_requests_total",
        "gltf_cloud_session_available",
        "gltf_cloud_simulations",
    ] {
        assert!(
            found.iter().any(|(name, _)| name == expected),
            "{expected} scraped"
        );
    }
}
