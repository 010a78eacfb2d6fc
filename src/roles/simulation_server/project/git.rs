//! GitHub projects: a shallow, blob-less, sparse `git` clone limited to the project folder, and
//! `git checkout` to restore a file; `git` runs in its own process group with a time limit and
//! no prompts.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::url::GithubWorld;
use super::{require_world, Pristine, Project, SetupError};
use crate::supervisor::{CommandSpec, ProcessGroup};

/// Output lines of a failed `git` quoted in the error sent to the client.
const GIT_ERROR_LINES: usize = 3;

/// How `git` is run: where GitHub URLs point and how long each step may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSettings {
    /// `https://github.com` normally; a mirror, or a `file://` directory of bare repositories.
    pub base_url: String,
    pub timeout: Duration,
    pub stop_grace: Duration,
}

/// Checks out `world`'s repository at its version into `instance/<repo>`: a shallow, blob-less,
/// sparse clone limited to the project folder.
///
/// # Errors
/// [`SetupError::Command`] with git's last output lines, or [`SetupError::MissingWorld`].
pub async fn fetch_github(
    world: &GithubWorld,
    instance: &Path,
    git: &GitSettings,
) -> Result<Project, SetupError> {
    let url = format!(
        "{}/{}/{}.git",
        git.base_url.trim_end_matches('/'),
        world.user,
        world.repo
    );
    let checkout = instance.join(&world.repo);
    let mut clone: Vec<OsString> = vec![
        "git".into(),
        "-c".into(),
        // A repository cannot plant links to files outside the instance directory.
        "core.symlinks=false".into(),
        "clone".into(),
        "--quiet".into(),
        "--depth".into(),
        "1".into(),
        "--filter=blob:none".into(),
        "--no-tags".into(),
        "--branch".into(),
        world.version.clone().into(),
    ];
    if world.folder.is_some() {
        clone.push("--sparse".into());
    }
    clone.extend(["--".into(), url.into(), checkout.clone().into_os_string()]);
    run_git("git clone", CommandSpec::new(clone), git).await?;
    let dir = match &world.folder {
        Some(folder) => {
            let sparse =
                CommandSpec::new(["git", "sparse-checkout", "set", "--", folder]).cwd(&checkout);
            run_git("git sparse-checkout", sparse, git).await?;
            checkout.join(folder)
        }
        None => checkout.clone(),
    };
    let world_file = dir.join("worlds").join(&world.world);
    require_world(&world_file, &world.world).await?;
    Ok(Project {
        dir,
        world: world_file,
        pristine: Pristine::Git {
            checkout,
            settings: git.clone(),
        },
    })
}

pub(super) async fn run_git(
    what: &'static str,
    spec: CommandSpec,
    git: &GitSettings,
) -> Result<(), SetupError> {
    let spec = spec
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .env("GIT_ASKPASS", "true");
    let command_error = |detail: String| SetupError::Command { what, detail };
    let (mut group, mut lines) =
        ProcessGroup::spawn(&spec).map_err(|e| command_error(e.to_string()))?;
    let mut tail = VecDeque::new();
    let run = async {
        while let Some(line) = lines.recv().await {
            tracing::debug!(target: "git", %line);
            if tail.len() == GIT_ERROR_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        group.wait().await
    };
    let outcome = tokio::time::timeout(git.timeout, run).await;
    let stopped = group.stop(git.stop_grace).await;
    match outcome {
        Err(_) => Err(command_error(format!(
            "timed out after {} s",
            git.timeout.as_secs()
        ))),
        Ok(Err(e)) => Err(command_error(e.to_string())),
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => {
            let status = stopped.status.unwrap_or(status);
            let output: Vec<String> = tail.into_iter().collect();
            Err(command_error(format!("{status}: {}", output.join(" | "))))
        }
    }
}
