//! Webots R2025a renamed the web scene format X3D to W3D (issue 22): both names are accepted from
//! clients, and the simulator is given its own release's name. The fake Webots plays a release
//! (`--fake-version`) and, like Webots, exits on a `--stream=<mode>` that release does not know.

use std::path::Path;

use super::{demo_url, expect_error, expect_ready, send, start, Client, Server};
use gltf_cloud::roles::simulation_server::Config;

/// A Webots install that says `release` in its `resources/version.txt` (none: an install that
/// says nothing), next to the test's projects.
fn install(config: &mut Config, release: Option<&str>) {
    let dir = config.projects_dir.as_ref().unwrap().parent().unwrap();
    let home = dir.join("webots");
    std::fs::create_dir_all(home.join("resources")).unwrap();
    if let Some(release) = release {
        std::fs::write(home.join("resources/version.txt"), format!("{release}\n")).unwrap();
    }
    config.webots_home = Some(home);
}

async fn start_with_mode(server: &Server, client: &mut Client, mode: Option<&str>) {
    let mode = mode.map_or_else(String::new, |m| format!(r#","mode":"{m}""#));
    send(
        client,
        &format!(r#"{{"start":{{"url":"{}"{mode}}}}}"#, demo_url(server)),
    )
    .await;
}

/// The `--stream` argument the fake was given on `port`.
fn stream_argument(server: &Server, port: u16) -> String {
    let argv = std::fs::read_to_string(server.pids_dir().join(format!("{port}.argv"))).unwrap();
    argv.lines()
        .find(|arg| arg.starts_with("--stream"))
        .unwrap_or_else(|| panic!("no --stream in {argv}"))
        .to_owned()
}

/// Starts a simulation with `mode` and returns the `--stream` argument it was launched with.
async fn launched_with(server: &Server, mode: Option<&str>) -> String {
    let mut client = server.connect().await;
    start_with_mode(server, &mut client, mode).await;
    let port = expect_ready(&mut client).await;
    stream_argument(server, port)
}

#[tokio::test]
async fn r2025a_is_given_w3d_whichever_name_the_client_used() {
    let server = start(&["--fake-version=R2025a"], |c| install(c, Some("R2025a"))).await;
    assert_eq!(launched_with(&server, Some("x3d")).await, "--stream=w3d");
    assert_eq!(launched_with(&server, Some("w3d")).await, "--stream=w3d");
    assert_eq!(launched_with(&server, None).await, "--stream");
    assert_eq!(
        launched_with(&server, Some("mjpeg")).await,
        "--stream=mjpeg"
    );
    let monitor = crate::common::get(server.addr, "/monitor").await.text();
    assert!(
        monitor.contains("R2025a (scene streamed as w3d)"),
        "{monitor}"
    );
    server.stop().await;
}

#[tokio::test]
async fn releases_before_r2025a_are_given_x3d_for_a_w3d_client() {
    let server = start(&["--fake-version=R2024b"], |c| {
        install(c, Some("R2024b revision 1"));
    })
    .await;
    assert_eq!(launched_with(&server, Some("w3d")).await, "--stream=x3d");
    assert_eq!(launched_with(&server, Some("x3d")).await, "--stream=x3d");
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_release_is_asked_for_the_scene_in_the_form_every_release_accepts() {
    let server = start(&["--fake-version=R2025a"], |c| install(c, None)).await;
    assert_eq!(launched_with(&server, Some("x3d")).await, "--stream");
    server.stop().await;
}

#[tokio::test]
async fn the_config_key_names_the_release_when_the_install_cannot() {
    // A container's Webots, not the host's: the key wins over the host install's file.
    let server = start(&["--fake-version=R2025a"], |c| {
        install(c, Some("R2023b"));
        c.webots_version = Some(serde_json::from_str("\"R2025a\"").unwrap());
    })
    .await;
    assert_eq!(launched_with(&server, Some("x3d")).await, "--stream=w3d");
    server.stop().await;

    // The fake checks as Webots does: told the wrong release, the server passes a name the
    // simulator refuses, and the client hears why.
    let server = start(&["--fake-version=R2025a"], |c| install(c, Some("R2024b"))).await;
    let mut client = server.connect().await;
    start_with_mode(&server, &mut client, Some("w3d")).await;
    let error = expect_error(&mut client, "before it was ready").await;
    assert!(
        error.contains("invalid value") && error.contains("x3d"),
        "{error}"
    );
    server.stop().await;
}

#[test]
fn a_config_with_a_bad_release_names_the_key() {
    let Err(error) = gltf_cloud::core::config::parse::<Config>(
        "{\n  \"webotsVersion\": \"2025\"\n}",
        Path::new("sim.json"),
    ) else {
        panic!("\"2025\" accepted as a release");
    };
    let error = error.to_string();
    assert!(error.contains("sim.json"), "{error}");
    assert!(
        error.contains(r#"webotsVersion: "2025" is not a Webots release like "R2025a""#),
        "{error}"
    );
}
