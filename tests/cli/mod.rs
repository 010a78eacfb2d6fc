//! The binary's command line and start-up, run as a real process.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(common::binary())
        .args(args)
        .output()
        .expect("run gltf-cloud")
}

#[test]
fn version_and_help_for_every_role_and_alias() {
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("gltf-cloud "));
    for role in [
        "render-server",
        "render-client",
        "client",
        "simulation-server",
        "simulation",
        "session-server",
        "session",
    ] {
        let help = run(&[role, "--help"]);
        assert!(help.status.success(), "{role} --help");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--log-format"), "{role}: {text}");
    }
    for (role, port) in [
        ("render-server", 8000),
        ("simulation", 2000),
        ("session", 1999),
    ] {
        let text = String::from_utf8_lossy(&run(&[role, "--help"]).stdout).into_owned();
        assert!(
            text.contains(&format!("[default: {port}]")),
            "{role}: {text}"
        );
        assert!(
            text.contains("--tls-cert") && text.contains("--config"),
            "{role}: {text}"
        );
    }
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for args in [
        &["render-server", "--no-such-flag"][..],
        &["session", "--port", "seventy"],
        &["fly"],
        &[],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") || stderr.contains("Usage:"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn malformed_config_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\n  \"port\": 0,\n  \"host\" \"127.0.0.1\"\n}\n").unwrap();
    let out = run(&["session", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("line 3"),
        "{stderr}"
    );
}

/// Starts a real server process from a config file with an unknown key and a flag overriding the
/// file's port, checks the warning and the bound address, then stops it with SIGTERM.
#[test]
fn config_file_flags_override_unknown_keys_warn_and_sigterm_exits_cleanly() {
    common::require_adapter!(); // the render server it starts creates a device before it listens
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("render.json");
    std::fs::write(
        &path,
        r#"{"host": "127.0.0.1", "port": 1, "webotsHome": "/opt/webots"}"#,
    )
    .unwrap();
    let mut child = Command::new(common::binary())
        .args([
            "render-server",
            "--config",
            path.to_str().unwrap(),
            "--port",
            "0",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut addr = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.trim().to_owned());
            break;
        }
        seen.push(line);
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line in {seen:#?}"));
    assert!(
        !addr.ends_with(":1") && !addr.ends_with(":8000"),
        "--port 0 overrides the file: {addr}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("unknown config key") && l.contains("webotsHome")),
        "warning names the key: {seen:#?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn make_cert_writes_a_usable_pair() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "make-cert",
        "--host",
        "sim.example.org",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    gltf_cloud::core::tls::server_config(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))
        .unwrap();
}
