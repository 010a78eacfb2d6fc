//! Removing compose projects: `docker compose -p <name> down -v --timeout 0` when a session ends,
//! and, at start-up, every project carrying this server's label that an earlier run (killed, or
//! crashed) left behind. Every docker call runs in its own process group with a time limit, so a
//! hung daemon delays a session's end by at most `composeDownTimeoutSeconds` plus the grace period.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::time::Duration;

use tokio::time::Instant;

use super::SERVER_LABEL;
use crate::roles::simulation_server::Config;
use crate::supervisor::{CommandSpec, ProcessGroup};

/// The label compose puts on everything it creates, naming the project.
const PROJECT_LABEL: &str = "com.docker.compose.project";

/// Removes the project's containers, networks and volumes; logs instead of failing, since the
/// session is ending anyway.
pub async fn down(config: &Config, project: &str) {
    let started = Instant::now();
    match docker(
        config,
        &["compose", "-p", project, "down", "-v", "--timeout", "0"],
    )
    .await
    {
        Some((true, _)) => {
            tracing::info!(project, elapsed = ?started.elapsed(), "compose project removed");
        }
        Some((false, output)) => {
            tracing::warn!(project, ?output, "docker compose down failed");
        }
        None => tracing::warn!(project, "docker compose down did not finish in time"),
    }
}

/// Finds the compose projects labelled with `server_id` (containers, networks or volumes) and
/// takes each down. Run once at start-up, before any session of this run exists.
pub async fn remove_leftovers(config: &Config, server_id: &str) {
    let filter = format!("label={SERVER_LABEL}={server_id}");
    let format = format!("{{{{.Label \"{PROJECT_LABEL}\"}}}}");
    let mut projects = BTreeSet::new();
    for kind in [&["ps", "-a"][..], &["network", "ls"], &["volume", "ls"]] {
        let mut args: Vec<&str> = kind.to_vec();
        args.extend(["--filter", &filter, "--format", &format]);
        match docker(config, &args).await {
            Some((true, output)) => projects.extend(
                output
                    .into_iter()
                    .map(|line| line.trim().to_owned())
                    .filter(|name| !name.is_empty() && super::check_server_id(name).is_ok()),
            ),
            Some((false, output)) => {
                tracing::warn!(?args, ?output, "cannot list leftover docker objects");
            }
            None => tracing::warn!(?args, "listing leftover docker objects timed out"),
        }
    }
    for project in &projects {
        tracing::warn!(project, "removing a compose project left by an earlier run");
        down(config, project).await;
    }
}

/// Runs `docker <args>` (the configured `dockerCommand`) within the time limit: `(succeeded,
/// output lines)`, or `None` when it had to be stopped.
async fn docker(config: &Config, args: &[&str]) -> Option<(bool, Vec<String>)> {
    let mut argv: Vec<OsString> = config.docker_command.iter().map(OsString::from).collect();
    argv.extend(args.iter().map(OsString::from));
    let (mut group, mut lines) = match ProcessGroup::spawn(&CommandSpec {
        argv,
        cwd: None,
        env: Vec::new(),
    }) {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(cause = %e, "cannot run docker");
            return Some((false, vec![e.to_string()]));
        }
    };
    let deadline = Instant::now() + config.compose_down_timeout();
    let mut output = Vec::new();
    let finished = tokio::time::timeout_at(deadline, async {
        while let Some(line) = lines.recv().await {
            tracing::debug!(target: "docker", %line);
            output.push(line);
        }
        group.wait().await
    })
    .await;
    let grace = config.stop_grace().min(Duration::from_secs(1));
    let stopped = group.stop(grace).await;
    match finished {
        Ok(Ok(status)) => Some((status.success(), output)),
        Ok(Err(e)) => Some((false, vec![e.to_string()])),
        Err(_) => {
            tracing::warn!(killed = stopped.killed, "docker call timed out");
            None
        }
    }
}
