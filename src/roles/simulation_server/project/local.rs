//! Local projects: a `file://` URL's project or an R2019 `init` project under `projectsDir`,
//! copied into the instance directory; links are resolved before any path is trusted.

use std::path::{Component, Path, PathBuf};

use super::url::{check_name, check_relative, is_name_char};
use super::{require_world, Pristine, Project, SetupError};
use crate::core::config::config_key;
use crate::roles::simulation_server::config::Config;

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
    let projects_key = config_key!(Config, projects_dir);
    let refused = || SetupError::NotAProject(format!("{url} is not a world under {projects_key}"));
    let path = Path::new(url.strip_prefix("file://").ok_or_else(refused)?);
    let projects_dir = projects_dir.ok_or_else(|| {
        SetupError::NotAProject(format!(
            "file:// URLs are disabled: no {projects_key} is configured"
        ))
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
    let projects_key = config_key!(Config, projects_dir);
    let relative = check_relative("project", project)?;
    check_name("world file", world, is_name_char, 255)?;
    let projects_dir = projects_dir.ok_or_else(|| {
        SetupError::NotAProject(format!("init is disabled: no {projects_key} is configured"))
    })?;
    let source = confined(&projects_dir.join(relative), projects_dir)
        .await
        .ok_or_else(|| {
            SetupError::NotAProject(format!("no project {project:?} in {projects_key}"))
        })?;
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

/// `path` with links resolved, if it exists and lies inside `root` (also resolved).
pub(super) async fn confined(path: &Path, root: &Path) -> Option<PathBuf> {
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
