//! Before a simulator can start: what the client asked to run, the instance directory it runs
//! in, and the project set up there from a start or init request.

use std::path::{Path, PathBuf};

use crate::protocol::webots::client as protocol;
use crate::roles::simulation_server::project::{
    self, AccessRules, GitSettings, GithubWorld, Project, SetupError,
};
use crate::roles::simulation_server::state::AppState;

/// What the client asked to run.
pub(super) enum StartRequest {
    Start {
        url: String,
        mode: Option<protocol::StreamMode>,
    },
    Init(protocol::InitRequest),
}

impl StartRequest {
    pub(super) fn describe(&self) -> String {
        match self {
            StartRequest::Start { url, .. } => url.clone(),
            StartRequest::Init(init) => format!("init {}/{}", init.project, init.world),
        }
    }
}

/// Attempts at a fresh instance directory name before giving up.
const INSTANCE_NAME_ATTEMPTS: u32 = 100;

/// Creates `<root>/<id>`, or `<root>/<id>-<n>` when a directory of that name is left over from an
/// earlier run in a configured (shared) `instancesDir`, which this server never wipes.
pub(super) async fn create_instance_dir(root: &Path, id: u64) -> std::io::Result<PathBuf> {
    let mut last_error = None;
    for attempt in 0..INSTANCE_NAME_ATTEMPTS {
        let name = if attempt == 0 {
            id.to_string()
        } else {
            format!("{id}-{attempt}")
        };
        let dir = root.join(name);
        match tokio::fs::create_dir(&dir).await {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free instance directory name")))
}

/// Checks access and prepares the project for a start or init request.
pub(super) async fn prepare_project(
    state: &AppState,
    request: &StartRequest,
    instance: &Path,
) -> Result<Project, SetupError> {
    let config = &state.config;
    let projects_dir = config.projects_dir();
    match request {
        StartRequest::Start { url, .. } if url.starts_with("file://") => {
            project::copy_file_project(url, Some(&projects_dir), instance).await
        }
        StartRequest::Start { url, .. } => {
            let world = GithubWorld::parse(url)?;
            AccessRules {
                allowed: config.allowed_repositories.as_deref(),
                blocked: &config.blocked_repositories,
                isolated: config.docker.isolates(),
                share_idle_time: config.share_idle_time.value(),
            }
            .check(url, state.load.current())?;
            let git = GitSettings {
                base_url: config.git_base_url.clone(),
                timeout: config.git_timeout(),
                stop_grace: config.stop_grace(),
            };
            project::fetch_github(&world, instance, &git).await
        }
        StartRequest::Init(init) => {
            if !init.user1_id.is_empty() {
                tracing::warn!("init with a user id: robotbenchmark downloads are not supported; using the default project files");
            }
            project::copy_init_project(
                &init.project,
                &init.world,
                &init.host,
                Some(&projects_dir),
                instance,
            )
            .await
        }
    }
}
