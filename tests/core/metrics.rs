//! Every metric a server exports is documented, and every counter is named `_total`: each role is
//! started, given some traffic, and scraped in both formats; each family found must be in
//! docs/deploy.md's table, and each row there must name a family a server registers.

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

/// The families of a scrape in the classic format, checked against those of an OpenMetrics scrape
/// of the same server: the same families under the classic names (OpenMetrics names a counter's
/// family without `_total` and an info metric's without `_info`, and types the latter `info`).
async fn scrape(running: &common::Running) -> Vec<(String, String)> {
    // Traffic first, so the per-route and per-request families exist.
    common::get(running.addr, "/no-such-path").await;
    let reply = common::get(running.addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    common::parse_prometheus(&reply.text());
    let classic = families(&reply.text());

    let open = common::get_openmetrics(running.addr).await;
    assert_eq!(open.status, 200);
    assert_eq!(
        open.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = open.text();
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    common::parse_prometheus(&text);
    for line in text.lines().filter(|line| line.starts_with("# HELP ")) {
        assert!(
            line.ends_with('.') && !line.ends_with(".."),
            "help ends with one full stop: {line:?}"
        );
    }
    let as_classic: Vec<(String, String)> = families(&text)
        .into_iter()
        .map(|(name, kind)| match kind.as_str() {
            "counter" => (format!("{name}_total"), kind),
            "info" => (format!("{name}_info"), "gauge".to_owned()),
            _ => (name, kind),
        })
        .collect();
    for family in &as_classic {
        // The scrapes are moments apart: a family may appear between them, never disappear.
        assert!(
            classic.contains(family),
            "{family:?} in OpenMetrics but not in the classic format"
        );
    }
    classic
}

/// `(name, type)` of every row of docs/deploy.md's metrics table.
fn documented(doc: &str) -> Vec<(String, String)> {
    doc.lines()
        .filter_map(|line| line.strip_prefix("| `gltf_cloud_"))
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("` | ")?;
            let kind = rest.split(" |").next()?;
            Some((format!("gltf_cloud_{name}"), kind.to_owned()))
        })
        .collect()
}

/// Whether the sources register `name` (a classic-format name of type `kind`): registered names
/// lack the prefix, a counter's `_total`, an info metric's `_info`, and a unit given apart.
fn registered(sources: &str, name: &str, kind: &str) -> bool {
    let bare = name.strip_prefix("gltf_cloud_").unwrap();
    let mut candidates = vec![bare];
    candidates.extend(match kind {
        "counter" => bare.strip_suffix("_total"),
        "gauge" => bare.strip_suffix("_info"),
        _ => None,
    });
    for unit in ["_bytes", "_seconds"] {
        candidates.extend(bare.strip_suffix(unit));
    }
    candidates
        .iter()
        .any(|candidate| sources.contains(&format!("\"{candidate}\"")))
}

fn rust_sources(dir: &std::path::Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
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

    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    let documented = documented(&doc);
    for (name, kind) in &found {
        assert!(
            documented.contains(&(name.clone(), kind.clone())),
            "{name} ({kind}) has no row in docs/deploy.md's metrics table"
        );
        if kind == "counter" {
            assert!(
                name.ends_with("_total"),
                "counter {name} is not named _total"
            );
        }
    }
    let mut sources = String::new();
    rust_sources(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut sources,
    );
    for (name, kind) in &documented {
        assert!(
            found.contains(&(name.clone(), kind.clone())) || registered(&sources, name, kind),
            "{name} ({kind}) is documented in docs/deploy.md but no server exports it"
        );
    }
    assert!(documented.len() >= 45, "{documented:?}");
    for expected in [
        "gltf_cloud_render_jobs_skipped_total",
        "gltf_cloud_http_requests_total",
        "gltf_cloud_session_available",
        "gltf_cloud_simulations",
        "gltf_cloud_build_info",
    ] {
        assert!(
            found.iter().any(|(name, _)| name == expected),
            "{expected} scraped"
        );
    }
}
