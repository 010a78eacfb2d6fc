//! The real binary with the fake simulator, its log read from its stderr: what a client is told
//! and what the log keeps when a simulator crashes or never gets ready (no server path reaches
//! the client; the log has them under the client's id), and SIGTERM (the client is told why
//! before the close; nothing outlives the server).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gltf_cloud::core::redact::HIDDEN_PATH;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::{config, demo_url, entries, expect_error, send, start_demo, Client, Server, STEP};
use crate::common::{self, alive};

/// `gltf-cloud simulation` running with a config written from [`config`], and the thread that
/// collects its log lines.
struct Process {
    child: Child,
    log: Option<JoinHandle<Vec<String>>>,
    server: Server,
}

impl Process {
    async fn start(fake: &[&str], adjust: impl FnOnce(&mut serde_json::Value)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut json = serde_json::to_value(config(dir.path(), fake)).unwrap();
        json["port"] = 0.into();
        json["host"] = "127.0.0.1".into();
        adjust(&mut json);
        let (child, addr, log) = spawn(&json, dir.path());
        let server = Server {
            running: common::Running {
                addr,
                shutdown: CancellationToken::new(),
                task: tokio::spawn(async { Ok(()) }),
            },
            dir,
        };
        Self {
            child,
            log: Some(log),
            server,
        }
    }

    /// Sends SIGTERM and waits for the exit; returns the exit's success and the whole log.
    async fn terminate(&mut self) -> (bool, Vec<String>) {
        sigterm(&self.child);
        let status = exit_of(&mut self.child, Instant::now()).await;
        let log = self.log.take().expect("terminated once");
        (status.success(), log.join().unwrap())
    }
}

/// `gltf-cloud simulation --config` on `json` (written into `dir`), its address once it listens
/// and the thread that collects its log lines.
pub(super) fn spawn(
    json: &serde_json::Value,
    dir: &std::path::Path,
) -> (Child, SocketAddr, JoinHandle<Vec<String>>) {
    let path = dir.join("simulation.json");
    std::fs::write(&path, json.to_string()).unwrap();
    let mut child = std::process::Command::new(common::binary())
        .args(["simulation", "--config", path.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (addr_sender, addr_receiver) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = addr_sender.send(rest.trim().to_owned());
            }
            lines.push(line);
        }
        lines
    });
    let addr = addr_receiver.recv_timeout(STEP).unwrap().parse().unwrap();
    (child, addr, log)
}

pub(super) fn sigterm(child: &Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
}

/// The exit status, waited for at most [`STEP`] after `since`.
pub(super) async fn exit_of(child: &mut Child, since: Instant) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(since.elapsed() < STEP, "server did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The client id an error frame names for the log.
fn client_id(frame: &str) -> u64 {
    let (_, id) = frame
        .split_once("under client id ")
        .unwrap_or_else(|| panic!("no client id in {frame:?}"));
    id.trim_end_matches(')').parse().unwrap()
}

/// Starts the demo on `process`, waits for the error frame (containing `needle`), stops the
/// server, and checks the frame against the log: the frame holds no server path and names the
/// client id; the log holds the instance directory's full path on a line of that client's.
async fn error_hides_paths_that_the_log_keeps(fake: &[&str], needle: &str) -> String {
    let mut process = Process::start(fake, |json| json["startupTimeoutSeconds"] = 2.into()).await;
    let server = &process.server;
    let mut client = server.connect().await;
    send(
        &mut client,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(server)),
    )
    .await;
    let frame = expect_error(&mut client, needle).await;
    let root = server.dir.path().to_str().unwrap().to_owned();
    assert!(
        !frame.contains(&root),
        "a server path reached the client: {frame}"
    );
    // The fake printed its world file's path: the client sees it relative to its project.
    assert!(frame.contains("world demo/worlds/demo.wbt"), "{frame}");
    let id = client_id(&frame);
    let instance = server.instances().join(id.to_string());
    let (exited, log) = process.terminate().await;
    assert!(exited, "{log:#?}");
    let full = format!("world {}/demo/worlds/demo.wbt", instance.display());
    assert!(
        log.iter()
            .any(|line| line.contains(&format!("client{{id={id} "))
                && line.contains("session failed")
                && line.contains(&full)),
        "no log line of client {id} with {full}: {log:#?}"
    );
    frame
}

#[tokio::test]
async fn a_crash_reaches_the_client_without_server_paths_and_the_log_with_them() {
    let frame = error_hides_paths_that_the_log_keeps(
        &["--fake-crash=before"],
        "the simulator exited before it was ready",
    )
    .await;
    assert!(
        frame.contains("fatal error while loading the world"),
        "{frame}"
    );
}

#[tokio::test]
async fn a_startup_timeout_reaches_the_client_without_server_paths_and_the_log_with_them() {
    error_hides_paths_that_the_log_keeps(&["--fake-ready=none"], "not ready within 2 s").await;
}

#[tokio::test]
async fn a_launch_failure_hides_the_simulator_path() {
    let mut process = Process::start(&[], |json| {
        json["launchTemplate"][0] = "/nonexistent/webots-home/webots".into();
    })
    .await;
    let mut client = process.server.connect().await;
    send(
        &mut client,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(&process.server)),
    )
    .await;
    let frame = expect_error(&mut client, "cannot launch the simulator").await;
    assert!(!frame.contains("/nonexistent"), "{frame}");
    assert!(frame.contains(HIDDEN_PATH), "{frame}");
    let id = client_id(&frame);
    let (_, log) = process.terminate().await;
    assert!(
        log.iter()
            .any(|line| line.contains(&format!("client{{id={id} "))
                && line.contains("/nonexistent/webots-home/webots")),
        "{log:#?}"
    );
}

/// Text frames up to the close frame (past the heartbeats), and the close frame.
async fn frames_until_close(client: &mut Client) -> (Vec<String>, Option<(CloseCode, String)>) {
    let mut texts = Vec::new();
    loop {
        match tokio::time::timeout(STEP, client.next())
            .await
            .expect("frame in time")
        {
            Some(Ok(Message::Text(text))) if text.as_str() != "." => texts.push(text.to_string()),
            Some(Ok(Message::Close(frame))) => {
                return (texts, frame.map(|f| (f.code, f.reason.as_str().to_owned())))
            }
            None | Some(Err(_)) => return (texts, None),
            Some(Ok(_)) => {}
        }
    }
}

/// SIGTERM while simulators (with grandchildren ignoring SIGTERM) run: the client is told why,
/// then gets a close frame with a reason; no process and no instance directory outlive the
/// server.
#[tokio::test]
async fn sigterm_tells_the_client_why_and_leaves_no_simulator_and_no_directory() {
    let mut process = Process::start(&["--fake-grandchild", "--fake-ignore-term"], |_| {}).await;
    let mut client = process.server.connect().await;
    let port = start_demo(&process.server, &mut client).await;
    let (simulator, grandchild) = process.server.pids(port).await;
    let instances = process.server.instances();
    assert_eq!(entries(&instances), 1);
    let reading = tokio::spawn(async move { frames_until_close(&mut client).await });
    let (exited, log) = process.terminate().await;
    assert!(exited, "{log:#?}");
    let (texts, close) = reading.await.unwrap();
    assert_eq!(
        texts,
        [format!(
            "loading: Error: {}",
            gltf_cloud::protocol::webots::client::SHUTTING_DOWN
        )]
    );
    assert_eq!(
        close,
        Some((
            CloseCode::Away,
            gltf_cloud::protocol::webots::client::SHUTDOWN_CLOSE_REASON.to_owned()
        ))
    );
    // The first heartbeat was the readiness marker; heartbeats stay out of the INFO log.
    assert!(
        log.iter().any(|l| l.contains("simulator ready")),
        "{log:#?}"
    );
    assert!(
        !log.iter().any(|l| l.trim_end().ends_with("line=.")),
        "a heartbeat logged at INFO: {log:#?}"
    );
    assert!(
        !alive(simulator) && !alive(grandchild),
        "orphans left: {log:#?}"
    );
    assert_eq!(entries(&instances), 0);
}
