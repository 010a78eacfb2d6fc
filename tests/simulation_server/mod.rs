//! The simulation server end to end on loopback: real WebSocket clients, a fake Webots
//! (`tests/fixtures/fake_webots.py`) as a real child process, real `git` against a local bare
//! repository, and process checks by pid.
//!
//! Over 600 lines on purpose: independent tests that share one harness (the fake-simulator config,
//! frame readers and pid checks) and are read one at a time; split by subject, each part would need
//! most of that harness.

use crate::common;
use crate::common::alive;

mod admission; // silent sockets hold no simulator; the waiting line
mod binary; // the real binary: what clients are told and the log keeps; SIGTERM
mod compose; // "docker": "compose" with a recording fake docker
mod supervision; // hostile simulators: setsid grandchildren, output floods
mod versions; // x3d and w3d: the scene format's name by Webots release

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gltf_cloud::protocol::webots::client as client_protocol;
use gltf_cloud::protocol::webots::pyfloat::JsonNumber;
use gltf_cloud::roles::simulation_server::{self, Config};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

pub(crate) type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Generous bound for anything that involves starting Python on a loaded 2-core machine.
const STEP: Duration = Duration::from_secs(30);

/// The grace period the tests configure between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(1);

/// A simulation server with the temporary directory that holds its projects, instances and the
/// fake simulator's pid files.
pub(crate) struct Server {
    running: common::Running,
    dir: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = common::Running;

    fn deref(&self) -> &common::Running {
        &self.running
    }
}

impl Server {
    fn instances(&self) -> PathBuf {
        self.dir.path().join("instances")
    }

    fn pids_dir(&self) -> PathBuf {
        self.dir.path().join("pids")
    }

    pub(crate) async fn connect(&self) -> Client {
        let (client, _) = tokio::time::timeout(
            STEP,
            tokio_tungstenite::connect_async(format!("ws://{}/client", self.addr)),
        )
        .await
        .unwrap()
        .unwrap();
        client
    }

    /// Reads the pids the fake simulator on `port` wrote: (simulator, grandchild or 0).
    async fn pids(&self, port: u16) -> (i32, i32) {
        let path = self.pids_dir().join(format!("{port}.pids"));
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let mut parts = text.split_whitespace().map(|p| p.parse().unwrap());
                return (parts.next().unwrap(), parts.next().unwrap());
            }
            assert!(Instant::now() < deadline, "no pid file {}", path.display());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn stop(self) {
        self.running.stop().await;
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_webots.py")
}

/// A config running the fake simulator with `fake` flags, a local project `demo`, instances and
/// pid files in a fresh temporary directory.
fn config(dir: &Path, fake: &[&str]) -> Config {
    let projects = dir.join("projects");
    std::fs::create_dir_all(projects.join("demo/worlds")).unwrap();
    std::fs::create_dir_all(projects.join("demo/controllers/ctrl")).unwrap();
    std::fs::write(
        projects.join("demo/worlds/demo.wbt"),
        "#VRML_SIM R2023b utf8\n",
    )
    .unwrap();
    std::fs::write(
        projects.join("demo/controllers/ctrl/ctrl.py"),
        "print('pristine')\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("pids")).unwrap();
    std::fs::create_dir_all(dir.join("instances")).unwrap();
    let mut template: Vec<String> = [
        fixture().to_str().unwrap(),
        "--batch",
        "--mode=pause",
        "{renderingOptions}",
        "--port={port}",
        "--heartbeat=5000",
        "{stream}",
        "{world}",
    ]
    .map(String::from)
    .to_vec();
    template.push(format!("--fake-pids={}", dir.join("pids").display()));
    template.extend(fake.iter().map(|s| (*s).to_owned()));
    Config {
        launch_template: Some(template),
        projects_dir: Some(projects),
        instances_dir: Some(dir.join("instances")),
        public_host: Some("127.0.0.1".to_owned()),
        stop_grace_seconds: GRACE.as_secs_f64(),
        startup_timeout_seconds: 20.0,
        ..Config::default()
    }
}

async fn start_with(dir: tempfile::TempDir, config: Config) -> Server {
    Server {
        running: common::start_simulation_server(config).await,
        dir,
    }
}

pub(crate) async fn start(fake: &[&str], adjust: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), fake);
    adjust(&mut config);
    start_with(dir, config).await
}

/// The next text frame, or `None` once the server closed the socket.
pub(crate) async fn next_text(client: &mut Client) -> Option<String> {
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

/// Like [`next_text`], but past the heartbeats (`.`) the fake relays every 0.5 s once ready: any
/// of them may still be queued before a close, the more so on a loaded machine.
async fn next_after_heartbeats(client: &mut Client) -> Option<String> {
    loop {
        match next_text(client).await {
            Some(frame) if frame == "." => {}
            other => return other,
        }
    }
}

/// After a shutdown: the client is told so, then the socket closes.
pub(crate) async fn expect_shutdown_notice(client: &mut Client) {
    let notice = format!("loading: Error: {}", client_protocol::SHUTTING_DOWN);
    assert_eq!(next_after_heartbeats(client).await, Some(notice));
    assert_eq!(next_after_heartbeats(client).await, None);
}

async fn send(client: &mut Client, text: &str) {
    client.send(Message::Text(text.into())).await.unwrap();
}

pub(crate) fn demo_url(server: &Server) -> String {
    format!(
        "file://{}",
        server
            .dir
            .path()
            .join("projects/demo/worlds/demo.wbt")
            .display()
    )
}

/// Sends a start for the demo project and returns the simulator port from the `webots:` frame.
pub(crate) async fn start_demo(server: &Server, client: &mut Client) -> u16 {
    send(
        client,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(server)),
    )
    .await;
    expect_ready(client).await
}

pub(crate) async fn expect_ready(client: &mut Client) -> u16 {
    assert_eq!(next_text(client).await.unwrap(), "shutdownTimeout: 7200");
    let ready = next_text(client).await.unwrap();
    let port = ready
        .strip_prefix("webots:ws://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected frame {ready:?}"));
    port.parse().unwrap()
}

/// Expects `loading: Error: …` containing `needle`, then the socket closing.
async fn expect_error(client: &mut Client, needle: &str) -> String {
    let frame = loop {
        let frame = next_text(client)
            .await
            .expect("an error frame before close");
        if frame != "." && !frame.starts_with("shutdownTimeout:") && !frame.starts_with("webots:") {
            break frame;
        }
    };
    assert!(frame.starts_with("loading: Error: "), "{frame}");
    assert!(frame.contains(needle), "{frame:?} lacks {needle:?}");
    assert_eq!(
        next_text(client).await,
        None,
        "socket left open after {frame}"
    );
    frame
}

async fn wait_gone(pids: &[i32], within: Duration) {
    let deadline = Instant::now() + within;
    while pids.iter().any(|p| *p > 0 && alive(*p)) {
        assert!(
            Instant::now() < deadline,
            "processes {pids:?} still alive after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

async fn wait_empty(dir: &Path) {
    let deadline = Instant::now() + STEP;
    while entries(dir) > 0 {
        assert!(Instant::now() < deadline, "{} not emptied", dir.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn start_announces_timeout_then_url_and_the_simulator_answers() {
    let server = start(&[], |_| {}).await;
    let mut client = server.connect().await;
    let port = start_demo(&server, &mut client).await;
    assert!(port > server.addr.port() && port <= server.addr.port() + 100);
    let mut stream = tokio::time::timeout(STEP, TcpStream::connect(("127.0.0.1", port)))
        .await
        .unwrap()
        .unwrap();
    let mut greeting = String::new();
    tokio::time::timeout(STEP, stream.read_to_string(&mut greeting))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(greeting, "fake webots stream\n");
    // Heartbeats after readiness are relayed.
    assert_eq!(next_text(&mut client).await.unwrap(), ".");
    // While it runs, the instance directory holds the copied project.
    assert_eq!(entries(&server.instances()), 1);
    let monitor = common::get(server.addr, "/monitor").await;
    assert!(
        monitor.text().contains("projects/demo/worlds/demo.wbt"),
        "{}",
        monitor.text()
    );
    server.stop().await;
}

#[tokio::test]
async fn legacy_style_waits_for_open_and_passes_the_quoted_stream_option() {
    let server = start(&["--fake-ready=open"], |c| {
        c.launch_style = simulation_server::launch::LaunchStyle::Legacy;
        // With no "server" configured, the URL names the host the client connected to.
        c.public_host = None;
        let template = c.launch_template.as_mut().unwrap();
        template.retain(|a| a != "--port={port}" && a != "--heartbeat=5000");
    })
    .await;
    // A directory left in a shared instancesDir by an earlier run is neither reused nor wiped.
    let leftover = server.instances().join("1");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("keep"), "").unwrap();
    let mut client = server.connect().await;
    let port = start_demo(&server, &mut client).await;
    // The fake found its port in --stream="port=P;monitorActivity" and listens there.
    TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert!(server.instances().join("1-1").is_dir());
    server.stop().await;
}

async fn disconnect_stops_everything(fake: &[&str]) {
    let server = start(fake, |_| {}).await;
    let mut client = server.connect().await;
    let port = start_demo(&server, &mut client).await;
    let (simulator, grandchild) = server.pids(port).await;
    assert!(grandchild > 0 && alive(simulator) && alive(grandchild));
    client.close(None).await.unwrap();
    drop(client);
    wait_gone(&[simulator, grandchild], GRACE + Duration::from_secs(1)).await;
    wait_empty(&server.instances()).await;
    server.stop().await;
}

#[tokio::test]
async fn client_disconnect_stops_simulator_and_grandchild_and_removes_the_instance() {
    disconnect_stops_everything(&["--fake-grandchild"]).await;
}

#[tokio::test]
async fn client_disconnect_kills_a_group_that_ignores_sigterm() {
    disconnect_stops_everything(&["--fake-grandchild", "--fake-ignore-term"]).await;
}

#[tokio::test]
async fn crash_before_readiness_is_reported_with_the_last_output() {
    let server = start(&["--fake-crash=before", "--fake-grandchild"], |_| {}).await;
    let mut client = server.connect().await;
    send(
        &mut client,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(&server)),
    )
    .await;
    let error = expect_error(&mut client, "before it was ready").await;
    assert!(
        error.contains("fatal error while loading the world"),
        "{error}"
    );
    // The crashed simulator's grandchild does not outlive the session.
    let pid_file = std::fs::read_dir(server.pids_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "pids"))
        .unwrap();
    let text = std::fs::read_to_string(pid_file).unwrap();
    let grandchild: i32 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(grandchild > 0);
    wait_gone(&[grandchild], GRACE + Duration::from_secs(1)).await;
    wait_empty(&server.instances()).await;
    server.stop().await;
}

#[tokio::test]
async fn crash_after_readiness_is_reported_and_the_socket_closed() {
    let server = start(&["--fake-crash=after"], |_| {}).await;
    let mut client = server.connect().await;
    start_demo(&server, &mut client).await;
    let error = expect_error(&mut client, "the simulator exited").await;
    assert!(error.contains("segmentation fault"), "{error}");
    assert!(!error.contains("before it was ready"), "{error}");
    server.stop().await;
}

#[tokio::test]
async fn a_simulator_that_never_gets_ready_times_out() {
    let server = start(&["--fake-ready=none", "--fake-grandchild"], |c| {
        c.startup_timeout_seconds = 1.0;
    })
    .await;
    let mut client = server.connect().await;
    send(
        &mut client,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(&server)),
    )
    .await;
    expect_error(&mut client, "not ready within 1 s").await;
    wait_empty(&server.instances()).await;
    server.stop().await;
}

#[tokio::test]
async fn ports_run_out_after_max_connections() {
    // Two ports nobody else can take meanwhile: the default range (this server's port + 1, + 2)
    // lies among the ephemeral ports that tests running in parallel are given.
    let first_port = common::free_port_run(2);
    let server = start(&[], |c| {
        c.max_connections = 2;
        c.first_simulator_port = Some(first_port);
        // Without a waiting line, as the original (admission.rs tests the line).
        c.max_queue_length = 0;
    })
    .await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    let a = start_demo(&server, &mut first).await;
    let b = start_demo(&server, &mut second).await;
    assert_ne!(a, b);
    let mut third = server.connect().await;
    send(
        &mut third,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(&server)),
    )
    .await;
    let error = expect_error(&mut third, "Too many open connections").await;
    assert_eq!(error, "loading: Error: Too many open connections");
    // A freed port is handed out again.
    first.close(None).await.unwrap();
    drop(first);
    let mut fourth = server.connect().await;
    let deadline = Instant::now() + STEP;
    loop {
        send(
            &mut fourth,
            &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(&server)),
        )
        .await;
        let frame = next_text(&mut fourth).await;
        if frame.as_deref() == Some("shutdownTimeout: 7200") {
            break;
        }
        assert!(Instant::now() < deadline, "port never came back");
        fourth = server.connect().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_a_close() {
    let server = start(&[], |_| {}).await;
    for (frame, needle) in [
        ("hello", "message is not JSON"),
        ("[1,2]", "not a JSON object"),
        (r#"{"start":{"url":42}}"#, "\"start\" must be an object"),
        (r#"{"init":["only-host"]}"#, "\"init\" must be an array"),
    ] {
        let mut client = server.connect().await;
        send(&mut client, frame).await;
        expect_error(&mut client, needle).await;
    }
    let mut client = server.connect().await;
    client
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    expect_error(&mut client, "binary frames").await;
    // The server is still serving.
    assert_eq!(common::get(server.addr, "/healthz").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn repository_rules_refuse_with_the_original_texts() {
    let server = start(&[], |c| {
        c.allowed_repositories = Some(vec!["https://github.com/good".to_owned()]);
    })
    .await;
    let mut client = server.connect().await;
    send(
        &mut client,
        r#"{"start":{"url":"https://github.com/other/r/blob/main/p/worlds/w.wbt"}}"#,
    )
    .await;
    expect_error(&mut client, "Docker not enabled: cannot host simulations from repositories outside of \"allowedRepositories\".").await;
    server.stop().await;

    let server = start(&[], |c| {
        c.docker = simulation_server::compose::DockerMode::Template;
        c.blocked_repositories = vec!["https://github.com/evil".to_owned()];
    })
    .await;
    let mut client = server.connect().await;
    let url = "https://github.com/evil/r/blob/main/p/worlds/w.wbt";
    send(&mut client, &format!(r#"{{"start":{{"url":"{url}"}}}}"#)).await;
    expect_error(
        &mut client,
        &format!("Cannot run simulation from blocked repository: {url}"),
    )
    .await;
    server.stop().await;

    let server = start(&[], |c| {
        c.docker = simulation_server::compose::DockerMode::Template;
        c.share_idle_time = JsonNumber::Int(0);
    })
    .await;
    let mut client = server.connect().await;
    send(
        &mut client,
        r#"{"start":{"url":"https://github.com/any/r/blob/main/p/worlds/w.wbt"}}"#,
    )
    .await;
    expect_error(
        &mut client,
        "This simulation server is not configured to share idle time.",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn malicious_urls_are_refused_before_anything_runs() {
    let server = start(&[], |c| {
        c.allowed_repositories = Some(vec!["https://github.com/".to_owned()]);
        // Anything that reached git would fail loudly against this base.
        c.git_base_url = "file:///nonexistent".to_owned();
    })
    .await;
    let outside = server.dir.path().join("outside/worlds");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x.wbt"), "").unwrap();
    let projects = server.dir.path().join("projects");
    for (url, needle) in [
        (
            "https://github.com/u/r/blob/--upload-pack=touch%20/tmp/pwned/p/worlds/w.wbt"
                .to_owned(),
            "Invalid version",
        ),
        (
            "https://github.com/u/r/blob/-b/p/worlds/w.wbt".to_owned(),
            "Invalid version",
        ),
        (
            "https://github.com/u/r/blob/main/../../../etc/worlds/w.wbt".to_owned(),
            "Invalid folder",
        ),
        (
            "https://github.com/u/--config=x/blob/main/p/worlds/w.wbt".to_owned(),
            "Invalid repository",
        ),
        (
            "https://github.com/u/r/blob/main/p/worlds/--help.wbt".to_owned(),
            "Invalid world file",
        ),
        (
            format!("file://{}", outside.join("x.wbt").display()),
            "not a world under projectsDir",
        ),
        (
            format!(
                "file://{}/demo/../../outside/worlds/x.wbt",
                projects.display()
            ),
            "not a world under projectsDir",
        ),
        (
            "webots://github.com/u/r/tag/v1/p/worlds/w.wbt".to_owned(),
            "Wrong Webots simulation URL",
        ),
    ] {
        let mut client = server.connect().await;
        send(
            &mut client,
            &serde_json::json!({"start": {"url": url}}).to_string(),
        )
        .await;
        expect_error(&mut client, needle).await;
    }
    assert!(!Path::new("/tmp/pwned").exists());
    wait_empty(&server.instances()).await;
    server.stop().await;
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=test"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn github_urls_are_fetched_by_a_sparse_shallow_git_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("projects/robot/worlds")).unwrap();
    std::fs::create_dir_all(work.join("unrelated")).unwrap();
    std::fs::write(
        work.join("projects/robot/worlds/arena.wbt"),
        "#VRML_SIM R2023b utf8\n",
    )
    .unwrap();
    std::fs::write(work.join("unrelated/big.bin"), "not wanted").unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "project"]);
    git(&work, &["tag", "v1"]);
    std::fs::create_dir_all(dir.path().join("mirror/cyberbotics")).unwrap();
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            "work",
            "mirror/cyberbotics/demo.git",
        ],
    );
    let base = format!("file://{}", dir.path().join("mirror").display());
    let mut config = config(dir.path(), &[]);
    config.git_base_url = base;
    config.git_timeout_seconds = 60.0;
    config.allowed_repositories = Some(vec!["https://github.com/cyberbotics".to_owned()]);
    let server = start_with(dir, config).await;

    let mut client = server.connect().await;
    send(&mut client, r#"{"start":{"url":"https://github.com/cyberbotics/demo/blob/v1/projects/robot/worlds/arena.wbt"}}"#).await;
    expect_ready(&mut client).await;
    let checkout = std::fs::read_dir(server.instances())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("demo");
    assert!(checkout.join("projects/robot/worlds/arena.wbt").is_file());
    assert!(
        !checkout.join("unrelated").exists(),
        "sparse checkout fetched everything"
    );
    client.close(None).await.unwrap();
    drop(client);
    wait_empty(&server.instances()).await;

    // A version that does not exist fails with git's own words, and the socket closes.
    let mut client = server.connect().await;
    send(&mut client, r#"{"start":{"url":"https://github.com/cyberbotics/demo/tree/nope/projects/robot/worlds/arena.wbt"}}"#).await;
    expect_error(&mut client, "git clone failed").await;
    // A world missing from the checkout gets the original's text, now as an error frame.
    let mut client = server.connect().await;
    send(&mut client, r#"{"start":{"url":"https://github.com/cyberbotics/demo/tree/main/projects/robot/worlds/missing.wbt"}}"#).await;
    expect_error(&mut client, "missing.wbt does not exist.").await;
    wait_empty(&server.instances()).await;
    server.stop().await;
}

#[tokio::test]
async fn init_copies_the_project_and_reset_controller_stays_inside_it() {
    let server = start(&[], |_| {}).await;
    let mut client = server.connect().await;
    send(
        &mut client,
        r#"{"init":["https://robotbenchmark.net","demo","demo.wbt","","","","","",""]}"#,
    )
    .await;
    expect_ready(&mut client).await;
    let instance = std::fs::read_dir(server.instances())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read_to_string(instance.join("host.txt")).unwrap(),
        "https://robotbenchmark.net"
    );
    let controller = instance.join("controllers/ctrl/ctrl.py");
    std::fs::write(&controller, "print('edited')\n").unwrap();
    send(&mut client, r#"{"reset controller":"ctrl/ctrl.py"}"#).await;
    loop {
        let frame = next_text(&mut client).await.unwrap();
        if frame != "." {
            assert_eq!(frame, "reset controller: ctrl/ctrl.py");
            break;
        }
    }
    assert_eq!(
        std::fs::read_to_string(&controller).unwrap(),
        "print('pristine')\n"
    );
    send(
        &mut client,
        r#"{"reset controller":"../../../../etc/passwd"}"#,
    )
    .await;
    expect_error(&mut client, "Invalid controller path").await;
    wait_empty(&server.instances()).await;

    // An init naming a project outside projectsDir is refused.
    let mut client = server.connect().await;
    send(&mut client, r#"{"init":["h","../outside","x.wbt"]}"#).await;
    expect_error(&mut client, "Invalid project").await;
    server.stop().await;
}

#[tokio::test]
async fn load_is_a_bare_percentage_and_monitor_names_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), &[]);
    config.server.log_dir = Some(dir.path().join("log"));
    let server = start_with(dir, config).await;
    let csv = server.dir.path().join("log/simulation/monitor.csv");
    let deadline = Instant::now() + STEP;
    while std::fs::read_to_string(&csv).map_or(0, |t| t.lines().count()) < 3 {
        assert!(Instant::now() < deadline, "monitor.csv not written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let header = std::fs::read_to_string(&csv).unwrap();
    assert!(
        header.starts_with("Timestamp, Webots running, Webots idle, CPU load"),
        "{header}"
    );

    let load = common::get(server.addr, "/load").await;
    assert_eq!(load.status, 200);
    let value: f64 = load
        .text()
        .parse()
        .unwrap_or_else(|_| panic!("{:?}", load.text()));
    assert!((0.0..=100.0).contains(&value), "{value}");
    // Memory is in use on any machine, so the (swap + ram + gpu)/3 term makes the load positive.
    assert!(value > 0.0, "{value}");

    let monitor = common::get(server.addr, "/monitor").await;
    assert_eq!(monitor.status, 200);
    let page = monitor.text();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(page.contains(host.trim()), "host name missing");
    assert!(
        page.contains("<svg") && page.contains("<polyline"),
        "graph missing"
    );
    assert!(
        !page.contains("<script src") && !page.contains("stylesheet"),
        "external resources"
    );
    // The page's live source: one history per series of the graph, and the figures above it.
    let live: serde_json::Value =
        serde_json::from_str(&common::get(server.addr, "/monitor.json").await.text()).unwrap();
    assert_eq!(live["series"].as_array().map(Vec::len), Some(5), "{live}");
    assert!(!live["series"][0].as_array().unwrap().is_empty(), "{live}");
    assert_eq!(live["running"], 0, "{live}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_every_simulator_group_before_run_returns() {
    let server = start(&["--fake-grandchild", "--fake-ignore-term"], |_| {}).await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    let a = start_demo(&server, &mut first).await;
    let b = start_demo(&server, &mut second).await;
    let (a1, a2) = server.pids(a).await;
    let (b1, b2) = server.pids(b).await;
    let instances = server.instances();
    server.stop().await;
    for pid in [a1, a2, b1, b2] {
        assert!(!alive(pid), "{pid} survived the server");
    }
    assert_eq!(entries(&instances), 0);
    expect_shutdown_notice(&mut first).await;
}

#[tokio::test]
async fn tls_listener_serves_wss_and_announces_wss_urls() {
    let dir = tempfile::tempdir().unwrap();
    let certs = gltf_cloud::core::tls::write_self_signed(
        &["localhost".to_owned(), "127.0.0.1".to_owned()],
        &dir.path().join("ssl"),
        false,
    )
    .unwrap();
    let mut config = config(dir.path(), &[]);
    config.server.ssl_certificate = Some(certs.cert.clone());
    config.server.ssl_key = Some(certs.key.clone());
    let server = start_with(dir, config).await;

    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(&certs.cert).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let (mut client, _) = tokio::time::timeout(
        STEP,
        tokio_tungstenite::client_async("wss://localhost/client", stream),
    )
    .await
    .unwrap()
    .unwrap();
    client
        .send(Message::Text(
            format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(&server)).into(),
        ))
        .await
        .unwrap();
    let mut frames = Vec::new();
    while frames.len() < 2 {
        match tokio::time::timeout(STEP, client.next()).await.unwrap() {
            Some(Ok(Message::Text(text))) => frames.push(text.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(frames[0], "shutdownTimeout: 7200");
    assert!(
        frames[1].starts_with("webots:wss://127.0.0.1:"),
        "{}",
        frames[1]
    );
    server.stop().await;
}

#[tokio::test]
async fn notify_posts_the_server_url_and_a_dead_directory_is_not_fatal() {
    use axum::routing::post;
    let (posted, mut received) = tokio::sync::mpsc::channel::<String>(4);
    let directory = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let directory_addr = directory.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/ajax/server/setup.php",
        post(move |body: String| async move {
            let _ = posted.send(body).await;
            "Simulation server published"
        }),
    );
    tokio::spawn(async move { axum::serve(directory, app).await });
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let server = start(&[], |c| {
        c.notify = vec![
            format!("http://{directory_addr}/ajax/server/setup.php"),
            format!("http://{dead_addr}/setup.php"),
        ];
        c.allowed_repositories = Some(vec!["https://github.com/good".to_owned()]);
    })
    .await;
    let body = tokio::time::timeout(STEP, received.recv())
        .await
        .unwrap()
        .unwrap();
    let port = server.addr.port();
    assert!(
        body.contains(&format!("url=http%3A%2F%2F127.0.0.1%3A{port}")),
        "{body}"
    );
    // The original announced its default as Python writes the int 50.
    assert!(body.contains("shareIdleTime=50&"), "{body}");
    assert!(
        body.contains("allowedRepositories=https%3A%2F%2Fgithub.com%2Fgood"),
        "{body}"
    );
    // The unreachable directory is being retried; the server serves regardless.
    assert_eq!(common::get(server.addr, "/healthz").await.status, 200);
    server.stop().await;
}

/// Without `instancesDir`, instance directories live in a root made for this server alone under
/// `$TMPDIR/gltf-cloud`, which is removed at shutdown.
#[tokio::test]
async fn the_default_instances_root_is_private_and_removed_at_shutdown() {
    let server = start(&[], |c| c.instances_dir = None).await;
    let mut client = server.connect().await;
    start_demo(&server, &mut client).await;
    let prefix = format!("simulation-{}-", std::process::id());
    let parent = std::env::temp_dir().join("gltf-cloud");
    let roots: Vec<PathBuf> = std::fs::read_dir(&parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&prefix)
        })
        .filter(|p| entries(&p.join("instances")) == 1)
        .collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    server.stop().await;
    assert!(!roots[0].exists(), "{} left behind", roots[0].display());
}
