//! Turning a start request into a project directory inside the client's instance directory, and
//! restoring its files on `reset controller`; one file per job:
//! - [`url`]: GitHub start URLs and the checks every client-given name passes.
//! - [`access`]: the repository rules (allowed, blocked, idle-time sharing).
//! - [`git`]: the shallow sparse checkout of a GitHub project.
//! - [`local`]: copies of local projects (`file://` URLs, the R2019 `init` message).
//!
//! Every name that reaches the file system or `git`'s command line comes from the client, so each
//! is checked against a strict character set first: no leading `-` (no option injection), no `..`
//! or empty segments (no escape from the instance directory), no `?`/`#`/`%` (no URL tricks).

pub mod access;
pub mod git;
pub mod local;
pub mod url;

use std::path::{Path, PathBuf};

use crate::supervisor::CommandSpec;

use self::git::run_git;
use self::local::confined;
use self::url::check_relative;

pub use self::access::AccessRules;
pub use self::git::{fetch_github, GitSettings};
pub use self::local::{copy_file_project, copy_init_project};
pub use self::url::{GithubWorld, GITHUB_PREFIX};

/// A start URL rejected, or a project that could not be set up. The text is what the client sees
/// after `loading: Error: `; the first four are the original's messages, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("Wrong Webots simulation URL")]
    WrongUrl,
    #[error("Missing blob in Webots simulation URL, founds {0}")]
    MissingBlob(String),
    #[error("Missing worlds folder in Webots simulation URL")]
    MissingWorlds,
    #[error("Missing world file in Webots simulation URL")]
    MissingWorldFile,
    /// One part of the URL has characters or a shape that could not be a GitHub name.
    #[error("Invalid {part} in Webots simulation URL: {value:?}")]
    InvalidPart { part: &'static str, value: String },
    /// Access rules (allowed/blocked repositories, idle-time sharing), with the original's texts.
    #[error("{0}")]
    Refused(String),
    /// A `file://` URL or `init` project outside `projectsDir`, or not there at all.
    #[error("{0}")]
    NotAProject(String),
    #[error("{what} failed: {detail}")]
    Command { what: &'static str, detail: String },
    #[error("{0} does not exist.")]
    MissingWorld(String),
    #[error("cannot prepare the project: {0}")]
    Io(String),
}

impl From<std::io::Error> for SetupError {
    fn from(e: std::io::Error) -> Self {
        SetupError::Io(e.to_string())
    }
}

/// A project ready to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project directory inside the instance directory.
    pub dir: PathBuf,
    /// The world file inside `dir/worlds`.
    pub world: PathBuf,
    /// Where `reset controller` finds the original files.
    pub pristine: Pristine,
}

/// The original files of a project, for `reset controller`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pristine {
    /// A local project directory (`file://` URLs, `init`), copied again file by file.
    Directory(PathBuf),
    /// A git checkout: files are restored from its `HEAD` with `git checkout`.
    Git {
        checkout: PathBuf,
        settings: GitSettings,
    },
}

/// Fails with [`SetupError::MissingWorld`] unless `path` is a file; `name` is what the client asked for.
async fn require_world(path: &Path, name: &str) -> Result<(), SetupError> {
    match tokio::fs::metadata(path).await {
        Ok(meta) if meta.is_file() => Ok(()),
        _ => Err(SetupError::MissingWorld(name.to_owned())),
    }
}

/// Replaces `controllers/<path>` in the running project with its original version.
///
/// # Errors
/// [`SetupError::InvalidPart`] for a path that could leave the project, [`SetupError::NotAProject`]
/// when there is no such file, [`SetupError::Command`] when `git checkout` fails.
pub async fn reset_controller(project: &Project, path: &str) -> Result<(), SetupError> {
    let relative = Path::new("controllers").join(check_relative("controller path", path)?);
    let missing = || SetupError::NotAProject(format!("no controller file {path:?} in the project"));
    let target = project.dir.join(&relative);
    match &project.pristine {
        Pristine::Directory(pristine) => {
            let source = confined(&pristine.join(&relative), pristine)
                .await
                .ok_or_else(missing)?;
            let parent = target.parent().ok_or_else(missing)?;
            tokio::fs::create_dir_all(parent).await?;
            confined(parent, &project.dir).await.ok_or_else(missing)?;
            tokio::fs::copy(&source, &target).await?;
        }
        Pristine::Git { checkout, settings } => {
            // The path is relative to the checkout's root; `--` ends options whatever it holds.
            let in_repository = target.strip_prefix(checkout).map_err(|_| missing())?;
            let mut spec = CommandSpec::new(["git", "checkout", "HEAD", "--"]).cwd(checkout);
            spec.argv.push(in_repository.as_os_str().to_owned());
            run_git("git checkout", spec, settings).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn controller_paths_cannot_leave_the_project() {
        for path in [
            "../x.py",
            "c/../../x.py",
            "/etc/passwd",
            "c//x.py",
            "-c/x.py",
            "",
        ] {
            assert!(check_relative("controller path", path).is_err(), "{path}");
        }
        assert_eq!(
            check_relative("controller path", "my_controller/my_controller.py").unwrap(),
            Path::new("my_controller/my_controller.py")
        );
    }
}
