//! Turning a start request into a project directory inside the client's instance directory:
//! GitHub URLs (shallow sparse `git` checkout), `file://` URLs under `projectsDir`, the R2019
//! `init` message, and `reset controller`; plus the repository access rules.
//!
//! Every name that reaches the file system or `git`'s command line comes from the client, so each
//! is checked against a strict character set first: no leading `-` (no option injection), no `..`
//! or empty segments (no escape from the instance directory), no `?`/`#`/`%` (no URL tricks).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::supervisor::{CommandSpec, ProcessGroup};

/// The only host the NEW server accepts start URLs for.
pub const GITHUB_PREFIX: &str = "https://github.com/";

/// Output lines of a failed `git` quoted in the error sent to the client.
const GIT_ERROR_LINES: usize = 3;

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

/// A world in a GitHub repository: `https://github.com/<user>/<repo>/(blob|tree)/<version>/<folder…>/worlds/<file>.wbt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubWorld {
    pub user: String,
    pub repo: String,
    /// A branch or tag: one path segment, as in the original.
    pub version: String,
    /// The project folder inside the repository, `/`-separated; `None` for the repository root.
    pub folder: Option<String>,
    /// The world file name, ending in `.wbt`.
    pub world: String,
}

impl GithubWorld {
    /// Parses and validates a start URL.
    ///
    /// # Errors
    /// The original's URL errors, then [`SetupError::InvalidPart`] for unsafe names.
    pub fn parse(url: &str) -> Result<Self, SetupError> {
        let rest = url
            .strip_prefix(GITHUB_PREFIX)
            .ok_or(SetupError::WrongUrl)?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 6 {
            return Err(SetupError::WrongUrl);
        }
        if parts[2] != "blob" && parts[2] != "tree" {
            return Err(SetupError::MissingBlob(parts[2].to_owned()));
        }
        let n = parts.len();
        if parts[n - 2] != "worlds" {
            return Err(SetupError::MissingWorlds);
        }
        let world = parts[n - 1];
        if !world.ends_with(".wbt") || world.len() == ".wbt".len() {
            return Err(SetupError::MissingWorldFile);
        }
        let folder_parts = &parts[4..n - 2];
        let checked = GithubWorld {
            user: check_name("user", parts[0], is_user_char, 39)?,
            repo: check_name("repository", parts[1], is_name_char, 100)?,
            version: check_name("version", parts[3], is_name_char, 255)?,
            folder: if folder_parts.is_empty() {
                None
            } else {
                for part in folder_parts {
                    check_name("folder", part, is_name_char, 255)?;
                }
                Some(folder_parts.join("/"))
            },
            world: check_name("world file", world, is_name_char, 255)?,
        };
        if checked.version.ends_with(".lock") || checked.repo.ends_with(".git") {
            return Err(SetupError::InvalidPart {
                part: "version",
                value: checked.version,
            });
        }
        Ok(checked)
    }
}

fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')
}

/// One path segment or name: non-empty, bounded, from `allowed`, not starting with `-` or `.`
/// (which rules out `.`, `..`, hidden files and options).
fn check_name(
    part: &'static str,
    value: &str,
    allowed: fn(char) -> bool,
    max_len: usize,
) -> Result<String, SetupError> {
    let valid = !value.is_empty()
        && value.len() <= max_len
        && !value.starts_with('-')
        && !value.starts_with('.')
        && value.chars().all(allowed);
    if valid {
        Ok(value.to_owned())
    } else {
        Err(SetupError::InvalidPart {
            part,
            value: value.chars().take(100).collect(),
        })
    }
}

/// A relative path of checked segments (`controllers/<c>/<file>`, `init` project names).
fn check_relative(part: &'static str, value: &str) -> Result<PathBuf, SetupError> {
    let mut path = PathBuf::new();
    for segment in value.split('/') {
        path.push(check_name(part, segment, is_name_char, 255)?);
    }
    Ok(path)
}

/// The repository rules applied to a start URL, with the original's messages; the order of the
/// checks is the original's. A prefix matches only at a `/` boundary, so allowing
/// `https://github.com/cyberbotics` no longer allows `https://github.com/cyberbotics-fake`.
pub struct AccessRules<'a> {
    pub allowed: Option<&'a [String]>,
    pub blocked: &'a [String],
    /// Whether the launch template isolates simulations (config key `docker`).
    pub isolated: bool,
    pub share_idle_time: f64,
}

impl AccessRules<'_> {
    /// # Errors
    /// [`SetupError::Refused`] with the reason.
    pub fn check(&self, url: &str, current_load: f64) -> Result<(), SetupError> {
        let allowed = self
            .allowed
            .is_some_and(|list| list.iter().any(|prefix| has_prefix(url, prefix)));
        if allowed {
            return Ok(());
        }
        if !self.isolated {
            return Err(SetupError::Refused("Docker not enabled: cannot host simulations from repositories outside of \"allowedRepositories\".".to_owned()));
        }
        if self.share_idle_time <= 0.0 {
            return Err(SetupError::Refused(
                "This simulation server is not configured to share idle time.".to_owned(),
            ));
        }
        if current_load > self.share_idle_time {
            return Err(SetupError::Refused(format!(
                "Cannot share idle time when current load is above threshold: {}.",
                crate::core::pyfloat::format(current_load)
            )));
        }
        if self.blocked.iter().any(|prefix| has_prefix(url, prefix)) {
            return Err(SetupError::Refused(format!(
                "Cannot run simulation from blocked repository: {url}"
            )));
        }
        Ok(())
    }
}

fn has_prefix(url: &str, prefix: &str) -> bool {
    match url.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
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

async fn run_git(
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

async fn require_world(path: &Path, name: &str) -> Result<(), SetupError> {
    match tokio::fs::metadata(path).await {
        Ok(meta) if meta.is_file() => Ok(()),
        _ => Err(SetupError::MissingWorld(name.to_owned())),
    }
}

/// Copies the project of a `file:///…/<project>/worlds/<file>.wbt` URL into the instance, if the
/// project lies under `projects_dir` (after resolving links).
///
/// # Errors
/// [`SetupError::NotAProject`] for other paths, I/O errors while copying.
pub async fn copy_file_project(
    url: &str,
    projects_dir: Option<&Path>,
    instance: &Path,
) -> Result<Project, SetupError> {
    let refused = || SetupError::NotAProject(format!("{url} is not a world under projectsDir"));
    let path = Path::new(url.strip_prefix("file://").ok_or_else(refused)?);
    let projects_dir = projects_dir.ok_or_else(|| {
        SetupError::NotAProject(
            "file:// URLs are disabled: no projectsDir is configured".to_owned(),
        )
    })?;
    let world_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(refused)?;
    check_name("world file", world_name, is_name_char, 255)?;
    if !world_name.ends_with(".wbt") || !path.is_absolute() {
        return Err(refused());
    }
    let worlds = path.parent().ok_or_else(refused)?;
    if worlds.file_name().and_then(|n| n.to_str()) != Some("worlds") {
        return Err(SetupError::MissingWorlds);
    }
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(refused());
    }
    let source = worlds.parent().ok_or_else(refused)?;
    let source = confined(source, projects_dir).await.ok_or_else(refused)?;
    let name = source
        .file_name()
        .map_or_else(|| "project".into(), ToOwned::to_owned);
    let dir = instance.join(name);
    copy_tree(source.clone(), dir.clone()).await?;
    let world = dir.join("worlds").join(world_name);
    require_world(&world, world_name).await?;
    Ok(Project {
        dir,
        world,
        pristine: Pristine::Directory(source),
    })
}

/// The R2019 `init` set-up: the instance directory becomes a copy of `projectsDir/<project>`, with
/// `host.txt` holding the client's host.
///
/// # Errors
/// [`SetupError::NotAProject`], [`SetupError::InvalidPart`], I/O errors.
pub async fn copy_init_project(
    project: &str,
    world: &str,
    host: &str,
    projects_dir: Option<&Path>,
    instance: &Path,
) -> Result<Project, SetupError> {
    let relative = check_relative("project", project)?;
    check_name("world file", world, is_name_char, 255)?;
    let projects_dir = projects_dir.ok_or_else(|| {
        SetupError::NotAProject("init is disabled: no projectsDir is configured".to_owned())
    })?;
    let source = confined(&projects_dir.join(relative), projects_dir)
        .await
        .ok_or_else(|| SetupError::NotAProject(format!("no project {project:?} in projectsDir")))?;
    copy_tree(source.clone(), instance.to_owned()).await?;
    tokio::fs::write(instance.join("host.txt"), host).await?;
    let world_file = instance.join("worlds").join(world);
    require_world(&world_file, world).await?;
    Ok(Project {
        dir: instance.to_owned(),
        world: world_file,
        pristine: Pristine::Directory(source),
    })
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

/// `path` with links resolved, if it exists and lies inside `root` (also resolved).
async fn confined(path: &Path, root: &Path) -> Option<PathBuf> {
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let path = tokio::fs::canonicalize(path).await.ok()?;
    path.starts_with(&root).then_some(path)
}

/// Copies a directory tree (files, directories, links as links) on a blocking thread.
async fn copy_tree(from: PathBuf, to: PathBuf) -> Result<(), SetupError> {
    tokio::task::spawn_blocking(move || copy_tree_blocking(&from, &to))
        .await
        .map_err(|e| SetupError::Io(e.to_string()))??;
    Ok(())
}

fn copy_tree_blocking(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree_blocking(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn github_urls_parse_into_their_parts() {
        let w = GithubWorld::parse(
            "https://github.com/cyberbotics/webots/blob/R2023b/projects/languages/python/worlds/example.wbt",
        )
        .unwrap();
        assert_eq!(w.user, "cyberbotics");
        assert_eq!(w.repo, "webots");
        assert_eq!(w.version, "R2023b");
        assert_eq!(w.folder.as_deref(), Some("projects/languages/python"));
        assert_eq!(w.world, "example.wbt");
        let root = GithubWorld::parse("https://github.com/u/r/tree/main/worlds/w.wbt").unwrap();
        assert_eq!(root.folder, None);
    }

    #[test]
    fn original_url_errors_keep_their_text() {
        let err = |url: &str| GithubWorld::parse(url).unwrap_err().to_string();
        assert_eq!(
            err("webots://github.com/u/r/tag/v/worlds/w.wbt"),
            "Wrong Webots simulation URL"
        );
        assert_eq!(
            err("https://github.com/u/r/blob/v"),
            "Wrong Webots simulation URL"
        );
        assert_eq!(
            err("https://github.com/u/r/raw/v/p/worlds/w.wbt"),
            "Missing blob in Webots simulation URL, founds raw"
        );
        assert_eq!(
            err("https://github.com/u/r/blob/v/p/world/w.wbt"),
            "Missing worlds folder in Webots simulation URL"
        );
        assert_eq!(
            err("https://github.com/u/r/blob/v/p/worlds/w.txt"),
            "Missing world file in Webots simulation URL"
        );
    }

    #[test]
    fn unsafe_names_are_refused() {
        for url in [
            "https://github.com/u/r/blob/--upload-pack=touch%20x/p/worlds/w.wbt",
            "https://github.com/u/r/blob/-b/p/worlds/w.wbt",
            "https://github.com/-u/r/blob/v/p/worlds/w.wbt",
            "https://github.com/u/r/blob/v/../../etc/worlds/w.wbt",
            "https://github.com/u/r/blob/v/p//q/worlds/w.wbt",
            "https://github.com/u/../blob/v/p/worlds/w.wbt",
            "https://github.com/u/r/blob/v/.git/worlds/w.wbt",
            "https://github.com/u/r/blob/v/p/worlds/-w.wbt",
            "https://github.com/u/r/blob/v/p q/worlds/w.wbt",
            "https://github.com/u/r/blob/v/p/worlds/w.wbt?x=1.wbt",
        ] {
            assert!(
                matches!(GithubWorld::parse(url), Err(SetupError::InvalidPart { .. })),
                "{url}: {:?}",
                GithubWorld::parse(url)
            );
        }
    }

    #[test]
    fn access_rules_follow_the_original_order_with_boundary_prefixes() {
        let allowed = vec!["https://github.com/cyberbotics".to_owned()];
        let blocked = vec!["https://github.com/evil".to_owned()];
        let mut rules = AccessRules {
            allowed: Some(&allowed),
            blocked: &blocked,
            isolated: false,
            share_idle_time: 50.0,
        };
        assert!(rules
            .check(
                "https://github.com/cyberbotics/webots/blob/v/worlds/w.wbt",
                99.0
            )
            .is_ok());
        let refused = rules
            .check(
                "https://github.com/cyberbotics-fake/x/blob/v/worlds/w.wbt",
                0.0,
            )
            .unwrap_err()
            .to_string();
        assert!(refused.starts_with("Docker not enabled"), "{refused}");
        rules.isolated = true;
        assert!(rules
            .check("https://github.com/other/x/blob/v/worlds/w.wbt", 10.0)
            .is_ok());
        assert_eq!(
            rules
                .check("https://github.com/other/x/blob/v/worlds/w.wbt", 60.0)
                .unwrap_err()
                .to_string(),
            "Cannot share idle time when current load is above threshold: 60.0."
        );
        assert_eq!(
            rules.check("https://github.com/evil/x/blob/v/worlds/w.wbt", 0.0).unwrap_err().to_string(),
            "Cannot run simulation from blocked repository: https://github.com/evil/x/blob/v/worlds/w.wbt"
        );
        rules.share_idle_time = 0.0;
        assert_eq!(
            rules
                .check("https://github.com/other/x/blob/v/worlds/w.wbt", 0.0)
                .unwrap_err()
                .to_string(),
            "This simulation server is not configured to share idle time."
        );
    }

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
