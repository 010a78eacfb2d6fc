//! What a hostile simulator cannot do to the server (issue 14): a grandchild that calls `setsid()`
//! does not outlive its session or the server, and an output flood does not become the server's
//! log, while readiness and heartbeats are still seen in it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::unistd::{getsid, Pid};

use super::{next_text, start, start_demo, wait_gone, GRACE};
use crate::common::{alive, exists};

/// The fake's grandchild really left: another session (so another process group), and re-parented
/// to this process, the subreaper, once the middle process of the double fork exited.
fn assert_left_the_group(simulator: i32, grandchild: i32) {
    let session = |pid: i32| getsid(Some(Pid::from_raw(pid))).unwrap();
    assert_ne!(session(grandchild), session(simulator));
    assert_eq!(session(grandchild).as_raw(), grandchild);
    let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap();
    let ppid: u32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ppid, std::process::id(), "grandchild not re-parented to us");
}

async fn wait_reaped(pid: i32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while exists(pid) {
        assert!(std::time::Instant::now() < deadline, "{pid} left a zombie");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn client_disconnect_stops_a_grandchild_that_called_setsid() {
    let server = start(&["--fake-escape", "--fake-ignore-term"], |_| {}).await;
    let mut client = server.connect().await;
    let port = start_demo(&server, &mut client).await;
    let (simulator, grandchild) = server.pids(port).await;
    assert!(alive(grandchild));
    assert_left_the_group(simulator, grandchild);
    client.close(None).await.unwrap();
    drop(client);
    wait_gone(&[simulator, grandchild], GRACE + Duration::from_secs(2)).await;
    wait_reaped(grandchild).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_a_grandchild_that_called_setsid() {
    let server = start(&["--fake-escape", "--fake-ignore-term"], |_| {}).await;
    let mut client = server.connect().await;
    let port = start_demo(&server, &mut client).await;
    let (simulator, grandchild) = server.pids(port).await;
    assert_left_the_group(simulator, grandchild);
    server.stop().await;
    assert!(
        !alive(simulator),
        "simulator {simulator} survived the server"
    );
    assert!(
        !alive(grandchild),
        "grandchild {grandchild} survived the server"
    );
}

/// The log, as the fmt subscriber writes it on this test's thread (a current-thread runtime:
/// the server's tasks run here too).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_output_flood_is_capped_in_the_log_and_readiness_is_still_seen() {
    let log = Capture::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // 50 MB without a newline, then 20 000 lines, all before the readiness marker.
    let server = start(&["--fake-flood=50000000"], |_| {}).await;
    let mut client = server.connect().await;
    start_demo(&server, &mut client).await;
    assert_eq!(next_text(&mut client).await.as_deref(), Some("."));
    client.close(None).await.unwrap();
    drop(client);
    server.stop().await;
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    // The log grows by at most 50 lines of 1000 characters a second while the flood lasts, which
    // on a loaded machine is many seconds: far below the 50 MB written all the same.
    assert!(text.len() < 5_000_000, "{} bytes of log", text.len());
    let summaries: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("simulator output lines left out of the log"))
        .collect();
    assert!(
        !summaries.is_empty(),
        "no summary in {}",
        &text[text.len().saturating_sub(2000)..]
    );
    let left_out: u64 = summaries
        .iter()
        .map(|summary| {
            summary
                .split("lines=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    // 12 208 pieces of 4 KiB and 20 000 lines, less those logged.
    assert!(left_out > 20_000, "{summaries:#?}");
    // Cutting each logged line is `supervisor::output_log`'s unit test: which of this test's
    // events reach the subscriber depends on tracing's per-callsite cache, shared by the tests
    // running beside it.
}
