//! The simulator's output as a session keeps it: the last lines, quoted in error messages, and
//! the log's budget, so a simulator printing without end cannot fill the server's disk.

use std::collections::VecDeque;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::core::limits;
use crate::core::quote::quote;
use crate::protocol::webots::client as protocol;
use crate::supervisor::OutputLog;

use crate::roles::simulation_server::launch;

/// Simulator output lines quoted when it fails: enough to show a Webots error message.
const TAIL_LINES: usize = 5;

/// Reads lines still buffered after the simulator exited, for a bounded time (a grandchild
/// holding the pipe open would otherwise keep it open forever).
pub(super) async fn drain(
    lines: &mut mpsc::Receiver<String>,
    tail: &mut OutputTail,
    output_log: &mut OutputLog,
) {
    let deadline = Instant::now() + limits::SIMULATOR_OUTPUT_DRAIN;
    while let Ok(Some(line)) = tokio::time::timeout_at(deadline, lines.recv()).await {
        log_output(output_log, &line);
        tail.push(&line);
    }
}

/// The log's budget for one simulator's output (issue 14: 200 MB of output without newlines
/// was 200 MB of log).
pub(super) fn simulator_output_log() -> OutputLog {
    OutputLog::new(
        limits::SIMULATOR_LOG_LINE_CHARS,
        limits::SIMULATOR_LOG_LINES_PER_SECOND,
        limits::SIMULATOR_LOG_SUMMARY_PERIOD,
    )
}

/// Logs a simulator output line within the log's budget, and the periodic count of the rest.
pub(super) fn log_output(output_log: &mut OutputLog, line: &str) {
    if launch::is_heartbeat(line) {
        tracing::debug!(target: "simulator", %line);
        return;
    }
    let now = std::time::Instant::now();
    if let Some(line) = output_log.admit(line, now) {
        tracing::info!(target: "simulator", %line);
    }
    if let Some(left_out) = output_log.summary_due(now) {
        log_left_out(left_out);
    }
}

pub(super) fn log_left_out(left_out: crate::supervisor::LeftOut) {
    tracing::warn!(
        target: "simulator",
        lines = left_out.lines,
        bytes = left_out.bytes,
        per_second = limits::SIMULATOR_LOG_LINES_PER_SECOND,
        "simulator output lines left out of the log (over the rate limit)"
    );
}

/// The simulator's last output lines, for error messages.
#[derive(Default)]
pub(super) struct OutputTail(pub(super) VecDeque<String>);

impl OutputTail {
    pub(super) fn push(&mut self, line: &str) {
        if line.trim().is_empty() || line.trim() == protocol::HEARTBEAT {
            return;
        }
        if self.0.len() == TAIL_LINES {
            self.0.pop_front();
        }
        self.0.push_back(quote(line));
    }

    /// `; last output: a | b`, or nothing when there was no output.
    pub(super) fn quote(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = self.0.iter().map(String::as_str).collect();
            format!("; last output: {}", lines.join(" | "))
        }
    }
}
