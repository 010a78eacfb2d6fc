//! The tools around the roles, and the render client's answers to its user's mistakes: output into
//! a closed pipe, `make-cert` over an existing pair, `--concurrency 0`, `--check` against nothing.

use super::{run, stderr};
use crate::common;

use std::process::{Command, Stdio};

/// Runs the binary with its standard output a pipe whose reader is already gone, as in
/// `gltf-cloud man | head` once `head` has read enough.
fn into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(common::binary())
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    for args in [
        &["man"][..],
        &["completions", "bash"],
        &["session", "--check-config"],
    ] {
        let out = into_closed_pipe(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn make_cert_keeps_an_existing_pair_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    assert!(run(&["make-cert", "--out-dir", out_dir]).status.success());
    let key = std::fs::read(dir.path().join("key.pem")).unwrap();

    let again = run(&["make-cert", "--out-dir", out_dir]);
    assert_eq!(again.status.code(), Some(1));
    let message = stderr(&again);
    assert!(
        message.contains("cert.pem exists") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(std::fs::read(dir.path().join("key.pem")).unwrap(), key);

    let forced = run(&["make-cert", "--out-dir", out_dir, "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(std::fs::read(dir.path().join("key.pem")).unwrap(), key);
}

#[test]
fn a_concurrency_of_zero_is_refused() {
    let out = run(&["client", "x.gltf", "--frames", "4", "--concurrency", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--concurrency"), "{}", stderr(&out));
}

#[test]
fn scene_mode_flags_without_scene_mode_are_refused() {
    for flag in [["--cameras", "2"], ["--encoding", "png"]] {
        let out = run(&["client", "absent.gltf", "--out", "out", flag[0], flag[1]]);
        assert_eq!(out.status.code(), Some(1), "{flag:?}");
        assert!(stderr(&out).contains("add --scene-api"), "{}", stderr(&out));
    }
}

#[test]
fn check_against_no_server_is_one_line() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = run(&["client", "--check", "--server-base-url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no table of failures");
    let message = stderr(&out);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(
        message.contains(&format!("{url}/render: Couldn't connect to server"))
            && message.contains("no case was run"),
        "{message}"
    );
}
