//! The simulation server's compose mode (`"docker": "compose"`) end to end on loopback: real
//! WebSocket clients, real process groups, and a fake `docker` client
//! (`tests/fixtures/fake_docker.py`) that records every call and emulates `compose up`'s output.
//! No Docker daemon is involved.
//!
//! Over 600 lines on purpose: one scenario per test, each read on its own, sharing the harness
//! (the fake-docker config, its call records, frame readers) in the first third.

use super::expect_shutdown_notice;
use crate::common::{self, alive};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gltf_cloud::roles::simulation_server::compose::DockerMode;
use gltf_cloud::roles::simulation_server::Config;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Generous bound for anything that starts Python on a loaded machine.
const STEP: Duration = Duration::from_secs(30);

/// The grace period between SIGTERM and SIGKILL the tests configure.
const GRACE: Duration = Duration::from_secs(1);

/// The server id the tests configure; the label value on every fake project.
const SERVER_ID: &str = "gltf-test";

/// A server on the fake docker, with its temporary directory: `projects/demo`, `instances`, and
/// the fake's state in `docker`.
struct Server {
    addr: SocketAddr,
    running: Option<common::Running>,
    dir: tempfile::TempDir,
}

impl Server {
    fn state(&self) -> PathBuf {
        self.dir.path().join("docker")
    }

    async fn connect(&self) -> Client {
        let (client, _) = tokio::time::timeout(
            STEP,
            tokio_tungstenite::connect_async(format!("ws://{}/client", self.addr)),
        )
        .await
        .unwrap()
        .unwrap();
        client
    }

    async fn start_demo(&self, client: &mut Client) {
        let url = format!(
            "file://{}/worlds/demo.wbt",
            self.dir.path().join("projects/demo").display()
        );
        send(client, &format!(r#"{{"start":{{"url":"{url}"}}}}"#)).await;
    }

    /// Stops an in-process server; the directory lives on for the checks that follow.
    async fn stop(self) -> tempfile::TempDir {
        if let Some(running) = self.running {
            running.stop().await;
        }
        self.dir
    }
}

fn fake_docker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_docker.py")
}

/// A compose-mode config using the fake docker, with a local project `demo` (an R2023b world)
/// to which `files` are added.
fn config(dir: &Path, files: &[(&str, &str)]) -> Config {
    let project = dir.join("projects/demo");
    std::fs::create_dir_all(project.join("worlds")).unwrap();
    std::fs::write(
        project.join("worlds/demo.wbt"),
        "#VRML_SIM R2023b utf8\nWorldInfo {}\n",
    )
    .unwrap();
    for (name, content) in files {
        std::fs::write(project.join(name), content).unwrap();
    }
    std::fs::create_dir_all(dir.join("instances")).unwrap();
    std::fs::create_dir_all(dir.join("docker/projects")).unwrap();
    Config {
        docker: DockerMode::Compose,
        docker_command: vec![
            fake_docker().to_str().unwrap().to_owned(),
            format!("--fake-state={}", dir.join("docker").display()),
        ],
        compose_server_id: Some(SERVER_ID.to_owned()),
        compose_down_timeout_seconds: 5.0,
        projects_dir: Some(dir.join("projects")),
        instances_dir: Some(dir.join("instances")),
        public_host: Some("127.0.0.1".to_owned()),
        stop_grace_seconds: GRACE.as_secs_f64(),
        startup_timeout_seconds: 20.0,
        ..Config::default()
    }
}

async fn start_with(dir: tempfile::TempDir, config: Config) -> Server {
    let running = common::start_simulation_server(config).await;
    Server {
        addr: running.addr,
        running: Some(running),
        dir,
    }
}

async fn start(files: &[(&str, &str)], adjust: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), files);
    adjust(&mut config);
    start_with(dir, config).await
}

async fn send(client: &mut Client, text: &str) {
    client.send(Message::Text(text.into())).await.unwrap();
}

/// The next text frame, or `None` once the server closed the socket.
async fn next_text(client: &mut Client) -> Option<String> {
    loop {
        match tokio::time::timeout(STEP, client.next())
            .await
            .expect("frame in time")
        {
            Some(Ok(Message::Text(text))) => return Some(text.to_string()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Frames up to and including the `webots:` one; panics if the socket closes first.
async fn frames_until_ready(client: &mut Client) -> Vec<String> {
    let mut frames = Vec::new();
    loop {
        let frame = next_text(client).await.expect("ready before close");
        let done = frame.starts_with("webots:");
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

/// Frames up to the socket closing; the last one must be `loading: Error: …` containing `needle`.
async fn expect_error(client: &mut Client, needle: &str) -> Vec<String> {
    let mut frames = Vec::new();
    while let Some(frame) = next_text(client).await {
        frames.push(frame);
    }
    let last = frames.last().cloned().unwrap_or_default();
    assert!(last.starts_with("loading: Error: "), "{frames:#?}");
    assert!(last.contains(needle), "{last:?} lacks {needle:?}");
    frames
}

/// Every call the fake recorded, oldest first.
fn calls(state: &Path) -> Vec<Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(state.join("calls"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn argv(call: &Value) -> Vec<&str> {
    call["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn up_call(state: &Path) -> Value {
    calls(state)
        .into_iter()
        .find(|c| argv(c).contains(&"up"))
        .expect("a compose up call")
}

/// The `-p` argument of a compose call.
fn project_name(call: &Value) -> String {
    let args = argv(call);
    let at = args.iter().position(|a| *a == "-p").unwrap();
    args[at + 1].to_owned()
}

/// A variable of the `.env` the fake was given.
fn env_value(call: &Value, key: &str) -> Option<String> {
    call["files"]["env"]
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// The compose projects the fake's state still holds.
fn live_projects(state: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(state.join("projects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Waits until the fake recorded `compose -p <project> down -v --timeout 0` (and no other down)
/// and holds no project any more, at most `within` after `since`.
async fn expect_down(state: &Path, project: &str, since: Instant, within: Duration) {
    let wanted = ["compose", "-p", project, "down", "-v", "--timeout", "0"];
    loop {
        let downs: Vec<Value> = calls(state)
            .into_iter()
            .filter(|c| argv(c).contains(&"down"))
            .collect();
        if downs.iter().any(|c| argv(c) == wanted) {
            assert_eq!(downs.len(), 1, "other projects taken down: {downs:#?}");
            // The call is recorded before the fake removes the project; wait for that too.
            if live_projects(state).is_empty() {
                return;
            }
        }
        assert!(
            since.elapsed() < within,
            "no compose down for {project} within {within:?}: {:#?}",
            calls(state).iter().map(argv).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pid of the fake `compose up`.
fn up_pid(state: &Path) -> i32 {
    i32::try_from(up_call(state)["pid"].as_i64().unwrap()).unwrap()
}

async fn wait_gone(pid: i32, within: Duration) {
    let deadline = Instant::now() + within;
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} alive after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

#[tokio::test]
async fn default_image_project_runs_and_disconnect_takes_exactly_it_down() {
    let server = start(&[], |_| {}).await;
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    let frames = frames_until_ready(&mut client).await;
    assert_eq!(frames[0], "shutdownTimeout: 7200", "{frames:#?}");
    assert!(
        frames.contains(
            &"loading: Step 2/6 : FROM cyberbotics/webots.cloud:R2023b-ubuntu22.04".to_owned()
        ),
        "{frames:#?}"
    );
    let port: u16 = frames
        .last()
        .unwrap()
        .strip_prefix("webots:ws://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(next_text(&mut client).await.unwrap(), ".");

    let state = server.state();
    let up = up_call(&state);
    let name = project_name(&up);
    assert!(name.starts_with(&format!("{SERVER_ID}-")), "{name}");
    let instance_project = PathBuf::from(up["cwd"].as_str().unwrap());
    assert!(instance_project.starts_with(server.dir.path().join("instances")));
    let compose_file = instance_project.join("docker-compose.yml");
    assert_eq!(
        argv(&up),
        [
            "compose",
            "-p",
            &name,
            "-f",
            compose_file.to_str().unwrap(),
            "up",
            "--build",
            "--no-color",
            "--abort-on-container-exit"
        ]
    );
    assert_eq!(up["env"]["DOCKER_BUILDKIT"], "0");
    let shipped = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config/simulation/docker")
                .join(name),
        )
        .unwrap()
    };
    assert_eq!(up["files"]["dockerfile"], shipped("Dockerfile.default"));
    assert_eq!(
        up["files"]["compose"],
        shipped("docker-compose-default.yml")
    );
    assert_eq!(
        env_value(&up, "IMAGE").unwrap(),
        "cyberbotics/webots.cloud:R2023b-ubuntu22.04"
    );
    assert_eq!(env_value(&up, "PORT").unwrap(), port.to_string());
    assert_eq!(env_value(&up, "MAKE").unwrap(), "0");
    assert_eq!(
        env_value(&up, "PROJECT_PATH").unwrap(),
        "/usr/local/webots-project"
    );
    assert_eq!(env_value(&up, "COMPOSE_PROJECT_NAME").unwrap(), name);
    assert_eq!(env_value(&up, "GLTF_CLOUD_SERVER").unwrap(), SERVER_ID);
    assert_eq!(
        env_value(&up, "WEBOTS").unwrap(),
        format!("\"/usr/local/webots/webots --batch --mode=pause --minimize --no-rendering --port={port} --heartbeat=5000 --stream /usr/local/webots-project/worlds/demo.wbt\"")
    );
    assert_eq!(env_value(&up, "THEIA_PORT"), None);
    assert_eq!(live_projects(&state), [name.as_str()]);
    let monitor = common::get(server.addr, "/monitor").await.text();
    assert!(monitor.contains(&format!("{name}-webots-1")), "{monitor}");

    let pid = up_pid(&state);
    client.close(None).await.unwrap();
    drop(client);
    let closed = Instant::now();
    expect_down(&state, &name, closed, GRACE + Duration::from_secs(1)).await;
    wait_gone(pid, GRACE + Duration::from_secs(2)).await;
    let deadline = Instant::now() + STEP;
    while entries(&server.dir.path().join("instances")) > 0 {
        assert!(Instant::now() < deadline, "instance directory left");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn project_dockerfile_and_makefile_are_used_and_shutdown_takes_the_project_down() {
    let server = start(
        &[
            ("Dockerfile", "FROM example/own:1\n"),
            ("Makefile", "all:\n"),
        ],
        |_| {},
    )
    .await;
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    frames_until_ready(&mut client).await;
    let state = server.state();
    let up = up_call(&state);
    let name = project_name(&up);
    assert_eq!(up["files"]["dockerfile"], "FROM example/own:1\n");
    assert_eq!(env_value(&up, "MAKE").unwrap(), "1");
    let pid = up_pid(&state);
    let stopping = Instant::now();
    let dir = server.stop().await;
    let state = dir.path().join("docker");
    expect_down(&state, &name, stopping, GRACE + Duration::from_secs(1)).await;
    assert!(!alive(pid));
    expect_shutdown_notice(&mut client).await;
}

#[tokio::test]
async fn theia_project_enables_the_ide_and_forwards_type_lines() {
    let server = start(
        &[(
            "webots.yml",
            "publish: true\ndockerCompose:theia:webots-project/controllers/\ntype: demo \n",
        )],
        |_| {},
    )
    .await;
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    let frames = frames_until_ready(&mut client).await;
    assert_eq!(
        frames[..3],
        ["ide: enable", "type:demo\n", "shutdownTimeout: 7200"]
    );
    assert!(
        frames.iter().all(|f| !f.contains("theia")),
        "IDE lines relayed: {frames:#?}"
    );
    let port: u16 = frames
        .last()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let state = server.state();
    let up = up_call(&state);
    assert_eq!(
        env_value(&up, "THEIA_PORT").unwrap(),
        (port + 500).to_string()
    );
    assert_eq!(
        env_value(&up, "THEIA_VOLUME").unwrap(),
        "webots-project/controllers/"
    );
    assert!(up["files"]["compose"].as_str().unwrap().contains("theia:"));
    let name = project_name(&up);
    client.close(None).await.unwrap();
    drop(client);
    expect_down(
        &state,
        &name,
        Instant::now(),
        GRACE + Duration::from_secs(1),
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_missing_default_image_names_the_version_and_closes() {
    let server = start(&[("fake_docker.json", r#"{"build":"notfound"}"#)], |_| {}).await;
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    let frames = expect_error(
        &mut client,
        "Image version R2023b not available on Cyberbotics' dockerHub. Please, add the appropriate Dockerfile to your project.",
    )
    .await;
    assert!(
        frames
            .iter()
            .any(|f| f.starts_with("loading: manifest for")),
        "{frames:#?}"
    );
    let state = server.state();
    let name = project_name(&up_call(&state));
    expect_down(
        &state,
        &name,
        Instant::now(),
        GRACE + Duration::from_secs(1),
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_failed_build_is_reported_and_closes() {
    let server = start(&[("fake_docker.json", r#"{"build":"fail"}"#)], |_| {}).await;
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    expect_error(&mut client, "failed to build").await;
    let state = server.state();
    let name = project_name(&up_call(&state));
    expect_down(
        &state,
        &name,
        Instant::now(),
        GRACE + Duration::from_secs(1),
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_hung_build_times_out_and_a_sigterm_ignoring_client_is_killed() {
    let server = start(
        &[("fake_docker.json", r#"{"hang":true,"ignoreTerm":true}"#)],
        |c| c.startup_timeout_seconds = 1.0,
    )
    .await;
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    let started = Instant::now();
    expect_error(&mut client, "not ready within").await;
    let state = server.state();
    let name = project_name(&up_call(&state));
    expect_down(&state, &name, started, STEP).await;
    wait_gone(up_pid(&state), GRACE + Duration::from_secs(2)).await;
    server.stop().await;
}

#[tokio::test]
async fn start_removes_the_projects_an_earlier_run_of_this_server_left() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let projects = dir.path().join("docker/projects");
    let leftover = |name: &str, label: &str| {
        std::fs::write(
            projects.join(format!("{name}.json")),
            serde_json::json!({
                "label": label,
                "containers": [format!("{name}-webots-1")],
                "networks": [format!("{name}_default")],
                "volumes": [],
            })
            .to_string(),
        )
        .unwrap();
    };
    leftover("gltf-test-999-1", SERVER_ID);
    leftover("gltf-test-999-2", SERVER_ID);
    leftover("other-5-1", "other");
    let server = start_with(dir, config).await;
    let state = server.state();
    let deadline = Instant::now() + STEP;
    while live_projects(&state) != ["other-5-1"] {
        assert!(Instant::now() < deadline, "{:?}", live_projects(&state));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let downs: Vec<String> = calls(&state)
        .iter()
        .filter(|c| argv(c).contains(&"down"))
        .map(project_name)
        .collect();
    assert_eq!(downs, ["gltf-test-999-1", "gltf-test-999-2"]);
    // The server serves once the clean-up is done.
    assert_eq!(common::get(server.addr, "/healthz").await.status, 200);
    server.stop().await;
}

/// The real binary, stopped by SIGTERM while a compose project runs whose `up` ignores SIGTERM:
/// the project is taken down and no process outlives the server.
#[tokio::test]
async fn sigterm_to_the_binary_takes_the_project_down() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[("fake_docker.json", r#"{"ignoreTerm":true}"#)],
    );
    let mut json = serde_json::to_value(&config).unwrap();
    json["port"] = 0.into();
    json["host"] = "127.0.0.1".into();
    let (mut child, addr, log) = super::binary::spawn(&json, dir.path());
    let server = Server {
        addr,
        running: None,
        dir,
    };
    let mut client = server.connect().await;
    server.start_demo(&mut client).await;
    frames_until_ready(&mut client).await;
    let state = server.state();
    let name = project_name(&up_call(&state));
    let pid = up_pid(&state);

    super::binary::sigterm(&child);
    let signalled = Instant::now();
    expect_down(&state, &name, signalled, GRACE + Duration::from_secs(1)).await;
    let status = super::binary::exit_of(&mut child, signalled).await;
    let log = log.join().unwrap();
    assert!(status.success(), "exit status {status}: {log:#?}");
    assert!(!alive(pid), "compose up left running: {log:#?}");
    assert_eq!(entries(&server.dir.path().join("instances")), 0);
    expect_shutdown_notice(&mut client).await;
}
