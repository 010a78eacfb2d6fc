//! One child program in its own process group: spawn, merged stdout/stderr lines, and a stop that
//! leaves nothing behind (no orphaned grandchildren, no zombies).
//!
//! Simulators are launched through wrappers (`webots` is a shell script that starts `webots-bin`;
//! firejail and docker add their own layers), so signalling the direct child is not enough: the
//! original Python server lost `webots-bin` processes that way (webots#884). Every child here
//! leads a new process group, and signals go to the group.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Longest output line kept; longer lines are cut into pieces of this size, so a program that
/// writes megabytes without a newline cannot make the supervisor buffer all of it.
pub const MAX_LINE_BYTES: usize = 4096;

/// Output lines buffered between the reader tasks and the consumer; when full, the readers wait,
/// and so does the child on its pipe, which bounds memory without losing lines.
const OUTPUT_QUEUE_LINES: usize = 256;

/// How often a stop checks whether the group is empty yet.
const GROUP_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How long a stop waits for the group to disappear after SIGKILL, which the kernel delivers at
/// once; only processes stuck in uninterruptible sleep (a hung NFS mount) outlast this.
const AFTER_KILL_WAIT: Duration = Duration::from_secs(2);

/// Why a child could not be started or waited for.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The command line has no program.
    #[error("empty command line")]
    EmptyCommand,
    /// The OS refused to start the program (not found, not executable, no resources).
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Waiting for the program failed (only if the process table is in an impossible state).
    #[error("cannot wait for {program}: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// What to run: an argument vector, never a shell line, so no argument is ever re-parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program and its arguments.
    pub argv: Vec<OsString>,
    /// Working directory; `None` keeps the server's.
    pub cwd: Option<PathBuf>,
    /// Variables added to (or replacing in) the inherited environment.
    pub env: Vec<(OsString, OsString)>,
}

impl CommandSpec {
    /// A command from its argument vector.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets the working directory.
    #[must_use]
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Adds one environment variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn program_name(&self) -> String {
        self.argv
            .first()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// How a stopped group ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// The group leader's exit status, if it could be collected.
    pub status: Option<ExitStatus>,
    /// Whether SIGKILL was needed because the group outlived the grace period.
    pub killed: bool,
}

/// A running program leading its own process group.
///
/// Dropping it without [`ProcessGroup::stop`] sends SIGKILL to the whole group, so a panicking
/// owner still leaves no simulator behind.
#[derive(Debug)]
pub struct ProcessGroup {
    child: tokio::process::Child,
    pgid: Pid,
    program: String,
    status: Option<ExitStatus>,
    stopped: bool,
}

impl ProcessGroup {
    /// Starts `spec` in a new process group with stdin closed. Its stdout and stderr arrive, merged
    /// and split into lines without their line ends, on the returned receiver, which closes once
    /// both pipes are closed (by every process in the group that inherited them).
    ///
    /// # Errors
    /// [`SupervisorError::EmptyCommand`] or [`SupervisorError::Spawn`].
    pub fn spawn(spec: &CommandSpec) -> Result<(Self, mpsc::Receiver<String>), SupervisorError> {
        let (program, args) = spec
            .argv
            .split_first()
            .ok_or(SupervisorError::EmptyCommand)?;
        become_subreaper();
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &spec.cwd {
            command.current_dir(dir);
        }
        let spawn_error = |source| SupervisorError::Spawn {
            program: spec.program_name(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let pid = child.id().ok_or_else(|| {
            spawn_error(std::io::Error::other(
                "the child exited before it had a pid",
            ))
        })?;
        let pid = i32::try_from(pid)
            .map_err(|_| spawn_error(std::io::Error::other("pid out of range")))?;
        let (lines, receiver) = mpsc::channel(OUTPUT_QUEUE_LINES);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward_lines(stdout, lines.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_lines(stderr, lines));
        }
        Ok((
            Self {
                child,
                pgid: Pid::from_raw(pid),
                program: spec.program_name(),
                status: None,
                stopped: false,
            },
            receiver,
        ))
    }

    /// The group leader's process id (also the group id).
    pub fn id(&self) -> i32 {
        self.pgid.as_raw()
    }

    /// Waits for the group leader to exit; other members may live on until [`Self::stop`].
    /// Cancel-safe, so it can sit in a `select!` loop.
    ///
    /// # Errors
    /// [`SupervisorError::Wait`].
    pub async fn wait(&mut self) -> Result<ExitStatus, SupervisorError> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self
            .child
            .wait()
            .await
            .map_err(|source| SupervisorError::Wait {
                program: self.program.clone(),
                source,
            })?;
        self.status = Some(status);
        Ok(status)
    }

    /// Stops the whole group: SIGTERM, up to `grace` for every member to exit, then SIGKILL;
    /// reaps the leader and every member that became this process's child. Idempotent.
    pub async fn stop(&mut self, grace: Duration) -> Stopped {
        if self.stopped {
            return Stopped {
                status: self.status,
                killed: false,
            };
        }
        let deadline = Instant::now() + grace;
        self.signal(Signal::SIGTERM);
        if self.status.is_none() {
            if let Ok(Ok(status)) = tokio::time::timeout_at(deadline, self.child.wait()).await {
                self.status = Some(status);
            }
        }
        let mut killed = false;
        if self.status.is_none() || !self.reap_group_until(deadline).await {
            killed = true;
            self.signal(Signal::SIGKILL);
            if self.status.is_none() {
                if let Ok(status) = self.child.wait().await {
                    self.status = Some(status);
                }
            }
            if !self
                .reap_group_until(Instant::now() + AFTER_KILL_WAIT)
                .await
            {
                tracing::warn!(
                    program = %self.program,
                    pgid = self.pgid.as_raw(),
                    "process group survived SIGKILL (uninterruptible sleep?)"
                );
            }
        }
        self.stopped = true;
        Stopped {
            status: self.status,
            killed,
        }
    }

    fn signal(&self, signal: Signal) {
        match killpg(self.pgid, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                tracing::warn!(pgid = self.pgid.as_raw(), %signal, cause = %e, "killpg failed")
            }
        }
    }

    /// Reaps group members until the group is empty or `deadline` passes. Only called once the
    /// leader has been reaped by tokio, so `waitpid` never steals the leader's status.
    async fn reap_group_until(&self, deadline: Instant) -> bool {
        loop {
            if reap_group(self.pgid) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(GROUP_POLL_INTERVAL).await;
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        // Best effort for owners that never called stop (a cancelled set-up step, a panic):
        // kill the group now and reap it in the background when a runtime is at hand.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pgid = self.pgid;
            runtime.spawn(async move {
                let deadline = Instant::now() + AFTER_KILL_WAIT;
                while !reap_group(pgid) && Instant::now() < deadline {
                    tokio::time::sleep(GROUP_POLL_INTERVAL).await;
                }
            });
        }
    }
}

/// Reaps the group's members that are this process's children (the leader, and orphans
/// re-parented to us as the subreaper) without blocking; true once none is left to wait for.
fn reap_group(pgid: Pid) -> bool {
    let group = Pid::from_raw(-pgid.as_raw());
    let mut none_of_ours = false;
    loop {
        match waitpid(group, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => break,
            Ok(_) => {}
            Err(Errno::ECHILD) => {
                none_of_ours = true;
                break;
            }
            Err(_) => break,
        }
    }
    match killpg(pgid, None) {
        Err(Errno::ESRCH) => true,
        // As subreaper every live descendant is our child, so what is left is zombies that
        // another process (an ancestor that is not us) will reap.
        _ => none_of_ours && is_subreaper(),
    }
}

static SUBREAPER: OnceLock<bool> = OnceLock::new();

/// Makes this process the subreaper of its descendants, once: grandchildren whose parent dies are
/// re-parented to us instead of PID 1, so they can be reaped here even where PID 1 never reaps
/// (containers, micro-VMs). Failure only means zombies are left to PID 1.
fn become_subreaper() {
    SUBREAPER.get_or_init(|| match nix::sys::prctl::set_child_subreaper(true) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(cause = %e, "cannot become child subreaper; orphaned grandchildren go to PID 1");
            false
        }
    });
}

fn is_subreaper() -> bool {
    SUBREAPER.get().copied().unwrap_or(false)
}

/// Sends each line of `pipe` to `lines` until EOF, a read error, or the receiver going away.
async fn forward_lines(pipe: impl AsyncRead + Unpin, lines: mpsc::Sender<String>) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX);
        match (&mut reader).take(limit).read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                if lines.send(line).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn collect(mut lines: mpsc::Receiver<String>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .unwrap()
        {
            out.push(line);
        }
        out
    }

    #[tokio::test]
    async fn output_lines_arrive_merged_and_the_exit_status_is_kept() {
        let spec = CommandSpec::new([
            "sh",
            "-c",
            "echo one; echo two >&2; printf 'x\\r\\n'; exit 3",
        ]);
        let (mut group, lines) = ProcessGroup::spawn(&spec).unwrap();
        let mut out = collect(lines).await;
        out.sort();
        assert_eq!(out, ["one", "two", "x"]);
        assert_eq!(group.wait().await.unwrap().code(), Some(3));
        let stopped = group.stop(Duration::from_secs(1)).await;
        assert_eq!(stopped.status.unwrap().code(), Some(3));
        assert!(!stopped.killed);
    }

    #[tokio::test]
    async fn long_lines_are_cut() {
        let spec = CommandSpec::new(["sh", "-c", "head -c 10000 /dev/zero | tr '\\0' a"]);
        let (_group, lines) = ProcessGroup::spawn(&spec).unwrap();
        let out = collect(lines).await;
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|l| l.len() <= MAX_LINE_BYTES));
        assert_eq!(out.iter().map(String::len).sum::<usize>(), 10000);
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let err = ProcessGroup::spawn(&CommandSpec::new(["/nonexistent/simulator"])).unwrap_err();
        assert!(matches!(err, SupervisorError::Spawn { .. }), "{err}");
        assert!(matches!(
            ProcessGroup::spawn(&CommandSpec::default()),
            Err(SupervisorError::EmptyCommand)
        ));
    }
}
