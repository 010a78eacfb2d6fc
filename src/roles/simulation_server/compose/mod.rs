//! `"docker": "compose"`: webots.cloud's container mode (doc §3.12). Per client, the project
//! directory becomes a compose project: the project's own `Dockerfile` or the default one built on
//! `cyberbotics/webots.cloud:<version>-ubuntu<20.04|22.04>`, a compose file from the template
//! directory (Webots alone, or Webots plus the Theia IDE that `webots.yml` asks for), and an `.env`
//! with the port, image, paths and Webots command line. `docker compose up --build` then runs in
//! the session's process group like a bare Webots, and its prefixed output is read by [`output`].
//!
//! Containers outlive the `docker` client that started them, so stopping the process group is not
//! enough: every ending runs `docker compose down` ([`cleanup`]), and each compose project carries
//! this server's label so that a later run can remove what a crashed one left.

pub mod cleanup;
pub mod output;
pub mod webots_yml;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The `docker` key's value, read with the config; `"compose"` selects this module.
pub use super::config::DockerMode;
use super::launch::{self, LaunchValues};
use super::webots_version::{self, WebotsVersion};
use super::Config;
use crate::protocol::webots::client::StreamMode;
use crate::supervisor::CommandSpec;

/// The label every container, network and volume of this server's compose projects carries, with
/// the server's id (config key `composeServerId`) as value.
pub const SERVER_LABEL: &str = "org.gltf-cloud.simulation-server";

/// Webots and the project inside the container, as in the original's docker mode.
const CONTAINER_WEBOTS: &str = "/usr/local/webots/webots";
const CONTAINER_PROJECT: &str = "/usr/local/webots-project";

/// Offset of the IDE's port from the simulator's: the original's.
const IDE_PORT_OFFSET: u16 = 500;

/// Files written into the project directory (the build context).
const COMPOSE_FILE: &str = "docker-compose.yml";
const ENV_FILE: &str = ".env";
const DOCKERFILE: &str = "Dockerfile";

/// The shipped templates, used when `dockerConfDir` is not set.
const DEFAULT_DOCKERFILE: &str =
    include_str!("../../../../config/simulation/docker/Dockerfile.default");
const DEFAULT_COMPOSE: &str =
    include_str!("../../../../config/simulation/docker/docker-compose-default.yml");
const THEIA_COMPOSE: &str =
    include_str!("../../../../config/simulation/docker/docker-compose-theia.yml");

/// The longest Webots version accepted from a world header.
const MAX_VERSION_LEN: usize = 32;

/// Why a compose project could not be written; the text follows `loading: Error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot read the Webots version from the first line of {0}")]
    NoVersion(String),
    #[error(transparent)]
    WebotsYml(#[from] webots_yml::WebotsYmlError),
    #[error("no IDE port above {0}")]
    NoIdePort(u16),
    #[error("cannot write the docker project: {0}")]
    Io(String),
}

impl From<std::io::Error> for ComposeError {
    fn from(e: std::io::Error) -> Self {
        ComposeError::Io(e.to_string())
    }
}

/// The compose project name prefix of this server: its id, checked against compose's rules
/// (lower-case letters, digits, `-`, `_`, starting with a letter or digit).
///
/// # Errors
/// A message naming the bad id.
pub fn check_server_id(id: &str) -> Result<(), String> {
    let valid = id
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "composeServerId {id:?} must be 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit"
        ))
    }
}

/// A written compose project, ready for `up`.
#[derive(Debug, Clone)]
pub struct ComposeProject {
    /// The compose project name: `<server id>-<pid>-<session>`, unique per client.
    pub name: String,
    /// The project directory: build context, compose file and `.env`.
    pub dir: PathBuf,
    /// Frames for the client before the launch: `ide: enable`, then the `type:` lines.
    pub frames: Vec<String>,
    /// The `.env` written, in order (kept for logging and tests).
    pub env: Vec<(String, String)>,
    pub watcher: output::Watcher,
}

/// What [`write_project`] needs about the session.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub session: u64,
    pub port: u16,
    pub mode: Option<StreamMode>,
    /// The project directory (holding `worlds/`).
    pub project: &'a Path,
    /// The world file inside it.
    pub world: &'a Path,
}

/// Writes `Dockerfile` (unless the project has one), `docker-compose.yml` and `.env` into the
/// project directory.
///
/// # Errors
/// [`ComposeError`]: no version in the world header, a bad `webots.yml`, a port too high for
/// the IDE, or I/O.
pub async fn write_project(
    config: &Config,
    server_id: &str,
    launch: Launch<'_>,
) -> Result<ComposeProject, ComposeError> {
    let world_name = launch
        .world
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let version = world_version(launch.world)
        .await
        .ok_or_else(|| ComposeError::NoVersion(world_name.clone()))?;
    let yml = webots_yml::read(launch.project).await?;
    let templates = Templates::load(config.docker_conf_dir.as_deref()).await?;
    let own_dockerfile = tokio::fs::metadata(launch.project.join(DOCKERFILE))
        .await
        .is_ok_and(|m| m.is_file());
    if !own_dockerfile {
        tokio::fs::write(launch.project.join(DOCKERFILE), &templates.dockerfile).await?;
    }
    let make = tokio::fs::metadata(launch.project.join("Makefile"))
        .await
        .is_ok_and(|m| m.is_file());
    let name = format!("{server_id}-{}-{}", std::process::id(), launch.session);
    let container_world = Path::new(CONTAINER_PROJECT)
        .join("worlds")
        .join(&world_name);
    let argv = launch::expand(
        &config.launch_style.default_template(),
        &LaunchValues {
            webots: Path::new(CONTAINER_WEBOTS),
            port: launch.port,
            mode: launch.mode,
            // The image runs the release that saved the world.
            version: WebotsVersion::parse(&version),
            world: &container_world,
            project: Path::new(CONTAINER_PROJECT),
            instance: Path::new(CONTAINER_PROJECT),
            style: config.launch_style,
        },
    );
    let command: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut env = vec![
        ("IMAGE".to_owned(), default_image(&version)),
        ("PROJECT_PATH".to_owned(), CONTAINER_PROJECT.to_owned()),
        ("MAKE".to_owned(), u8::from(make).to_string()),
        ("PORT".to_owned(), launch.port.to_string()),
        ("COMPOSE_PROJECT_NAME".to_owned(), name.clone()),
        (
            "WEBOTS".to_owned(),
            format!("\"{}\"", command.join(" ").replace('"', "\\\"")),
        ),
        ("GLTF_CLOUD_SERVER".to_owned(), server_id.to_owned()),
        (
            "DISPLAY".to_owned(),
            std::env::var("DISPLAY").unwrap_or_else(|_| ":0".to_owned()),
        ),
    ];
    let mut frames = Vec::new();
    let compose = match &yml.theia_volume {
        Some(volume) => {
            let ide_port = launch
                .port
                .checked_add(IDE_PORT_OFFSET)
                .ok_or(ComposeError::NoIdePort(launch.port))?;
            env.push(("THEIA_VOLUME".to_owned(), volume.clone()));
            env.push(("THEIA_PORT".to_owned(), ide_port.to_string()));
            frames.push("ide: enable".to_owned());
            &templates.theia
        }
        None => &templates.default,
    };
    frames.extend(yml.type_frames.iter().cloned());
    tokio::fs::write(launch.project.join(COMPOSE_FILE), compose).await?;
    let env_text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    tokio::fs::write(launch.project.join(ENV_FILE), env_text).await?;
    Ok(ComposeProject {
        watcher: output::Watcher {
            project: name.clone(),
            version,
            default_dockerfile: !own_dockerfile,
        },
        name,
        dir: launch.project.to_owned(),
        frames,
        env,
    })
}

impl ComposeProject {
    /// `docker compose -p <name> -f <dir>/docker-compose.yml up --build --no-color
    /// --abort-on-container-exit`, run in the project directory with the original's builder
    /// settings. The last flag is not the original's: without it `up` outlives a Webots that
    /// exits while the IDE still runs, and the session would never notice.
    pub fn up_command(&self, config: &Config) -> CommandSpec {
        let mut argv: Vec<OsString> = config.docker_command.iter().map(OsString::from).collect();
        argv.extend([
            "compose".into(),
            "-p".into(),
            self.name.clone().into(),
            "-f".into(),
        ]);
        argv.push(self.dir.join(COMPOSE_FILE).into_os_string());
        argv.extend(
            ["up", "--build", "--no-color", "--abort-on-container-exit"].map(OsString::from),
        );
        CommandSpec {
            argv,
            cwd: Some(self.dir.clone()),
            env: vec![
                // The original's choice: the classic builder prints one line per step.
                ("DOCKER_BUILDKIT".into(), "0".into()),
                ("BUILDKIT_PROGRESS".into(), "plain".into()),
            ],
        }
    }
}

/// `cyberbotics/webots.cloud:<version>-ubuntu20.04` before R2023 and for R2023a, `-ubuntu22.04`
/// otherwise, as the original decides.
pub fn default_image(version: &str) -> String {
    let year: Option<u32> = version
        .strip_prefix('R')
        .and_then(|rest| rest.get(..4))
        .and_then(|y| y.parse().ok());
    let ubuntu = match year {
        Some(year) if year < 2023 || version == "R2023a" => "20.04",
        _ => "22.04",
    };
    format!("cyberbotics/webots.cloud:{version}-ubuntu{ubuntu}")
}

/// The version in the world file's header (see [`webots_version::world_header`]), if it is a
/// plausible image tag part.
async fn world_version(world: &Path) -> Option<String> {
    let version = webots_version::world_header(world).await?;
    let valid = version.len() <= MAX_VERSION_LEN
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !version.starts_with(['.', '-']);
    valid.then_some(version)
}

/// The Dockerfile and compose templates.
struct Templates {
    dockerfile: String,
    default: String,
    theia: String,
}

impl Templates {
    /// From `dir` (the original's file names) when configured, else the shipped copies.
    async fn load(dir: Option<&Path>) -> Result<Self, ComposeError> {
        let Some(dir) = dir else {
            return Ok(Self {
                dockerfile: DEFAULT_DOCKERFILE.to_owned(),
                default: DEFAULT_COMPOSE.to_owned(),
                theia: THEIA_COMPOSE.to_owned(),
            });
        };
        let read = |name: &'static str| async move {
            tokio::fs::read_to_string(dir.join(name)).await.map_err(|e| {
                tracing::error!(dir = %dir.display(), name, cause = %e, "missing docker template");
                ComposeError::Io(format!("Missing {name} in dockerConfDir"))
            })
        };
        Ok(Self {
            dockerfile: read("Dockerfile.default").await?,
            default: read("docker-compose-default.yml").await?,
            theia: read("docker-compose-theia.yml").await?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_image_follows_the_original_rule() {
        assert_eq!(
            default_image("R2022b"),
            "cyberbotics/webots.cloud:R2022b-ubuntu20.04"
        );
        assert_eq!(
            default_image("R2023a"),
            "cyberbotics/webots.cloud:R2023a-ubuntu20.04"
        );
        assert_eq!(
            default_image("R2023b"),
            "cyberbotics/webots.cloud:R2023b-ubuntu22.04"
        );
        assert_eq!(
            default_image("R2025a"),
            "cyberbotics/webots.cloud:R2025a-ubuntu22.04"
        );
        assert_eq!(
            default_image("nightly"),
            "cyberbotics/webots.cloud:nightly-ubuntu22.04"
        );
    }

    #[test]
    fn server_ids_follow_compose_project_rules() {
        assert!(check_server_id("gltf-cloud-2000").is_ok());
        assert!(check_server_id("Sim").is_err());
        assert!(check_server_id("-x").is_err());
        assert!(check_server_id("").is_err());
    }
}
