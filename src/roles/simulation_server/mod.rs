//! The `simulation` role: a Webots-compatible cloud simulation server. Each browser client on the
//! `/client` WebSocket gets a project checked out into its own instance directory and one
//! simulator launched from the launch template and supervised until the client leaves; `/load`
//! and `/monitor` report the machine (doc §3 of webots-cloud-protocol.md).
//!
//! - [`protocol`]: the WebSocket frames, in and out.
//! - [`project`]: start URLs, access rules, git/file/init set-up, `reset controller`.
//! - [`launch`]: the launch template.
//! - [`client`]: one client's session, from start message to clean-up.
//! - [`compose`]: `"docker": "compose"`, one docker compose project per client.
//! - [`load`] and [`monitor`]: `/load`, `/monitor`, `monitor.csv`.

pub mod client;
pub mod compose;
pub mod launch;
pub mod load;
pub mod monitor;
pub mod notify;
pub mod project;
pub mod protocol;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::config::ServerConfig;
use crate::core::metrics::Metrics;
use crate::core::{server, shutdown};
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};
use crate::supervisor::LoadSampler;

use self::launch::LaunchStyle;
use self::load::LoadFormula;
use self::state::ServerState;

/// The port the original listens on.
pub const DEFAULT_PORT: u16 = 2000;

/// Simulators one server runs at once, on ports `port+1 … port+maxConnections`. Config key
/// `maxConnections`; the original's default.
pub const DEFAULT_MAX_CONNECTIONS: u16 = 100;

/// Longest a simulation may run, in seconds. Config key `timeout`; the original's default.
pub const DEFAULT_TIMEOUT_S: u64 = 7200;

/// Timeouts below this many seconds are replaced by [`DEFAULT_TIMEOUT_S`], as in the original,
/// which warns the client 300 s before the end and so needs a margin above that.
pub const MIN_TIMEOUT_S: u64 = 360;

/// The original's idle-time sharing threshold (percent load). Config key `shareIdleTime`.
pub const DEFAULT_SHARE_IDLE_TIME: f64 = 50.0;

/// How long a simulator may take to print its readiness marker. Config key
/// `startupTimeoutSeconds`. Webots loading a large world over a slow disk takes tens of seconds.
pub const DEFAULT_STARTUP_TIMEOUT_S: f64 = 120.0;

/// Between SIGTERM and SIGKILL when a simulator is stopped. Config key `stopGraceSeconds`; the
/// original waited 5 s before `kill()`.
pub const DEFAULT_STOP_GRACE_S: f64 = 5.0;

/// Longest one `git` step (clone, sparse checkout) may take. Config key `gitTimeoutSeconds`.
pub const DEFAULT_GIT_TIMEOUT_S: f64 = 300.0;

/// Where `https://github.com/<user>/<repo>/…` start URLs are cloned from. Config key `gitBaseUrl`.
pub const DEFAULT_GIT_BASE_URL: &str = "https://github.com";

/// The Webots install used when neither `webotsHome` nor `WEBOTS_HOME` is set.
pub const DEFAULT_WEBOTS_HOME: &str = "/usr/local/webots";

/// Interval between load samples: the original's `SNAPSHOT_REFRESH`.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Largest client frame read; every real message is a few hundred bytes.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// Command-line flags of `gltf-cloud simulation-server`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Webots install directory; the template's `{webots}` is DIR/webots
    /// [default: $WEBOTS_HOME or /usr/local/webots] [config key: webotsHome]
    #[arg(long, value_name = "DIR")]
    pub webots_home: Option<PathBuf>,
    /// Directory of local projects for file:// URLs and init messages
    /// [default: <webotsHome>/projects/samples/robotbenchmark] [config key: projectsDir]
    #[arg(long, value_name = "DIR")]
    pub projects_dir: Option<PathBuf>,
    /// Directory for per-client instance directories
    /// [default: $TMPDIR/gltf-cloud/simulation-<pid>-<n>/instances] [config key: instancesDir]
    #[arg(long, value_name = "DIR")]
    pub instances_dir: Option<PathBuf>,
    /// Simulators run at once, on ports port+1 … port+N [default: 100] [config key: maxConnections]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u16>,
    /// Host name put in the webots:ws(s)://HOST… URL clients connect to
    /// [default: the host in the client's request] [config key: server]
    #[arg(long, value_name = "HOST")]
    pub public_host: Option<String>,
}

/// The role's config file: the Webots keys of doc §3.14 plus this server's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The shared keys (host, port, TLS, logs), read from the same file by [`super::prepare`].
    #[serde(skip)]
    pub server: ServerConfig,
    /// See [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: u16,
    /// First port handed to a simulator; they get `firstSimulatorPort … firstSimulatorPort +
    /// maxConnections − 1`. Unset means the original's range: this server's port + 1 onwards.
    pub first_simulator_port: Option<u16>,
    /// `wss:` in the `webots:` URL; unset means "when this server terminates TLS itself".
    pub ssl: Option<bool>,
    /// `host/port` instead of `host:port` in the `webots:` URL, for a TLS proxy that maps
    /// `/<port>/` paths to local ports.
    pub port_rewrite: bool,
    /// The host name in `webots:` URLs (NEW key).
    #[serde(rename = "server")]
    pub public_host: Option<String>,
    /// The V2021 key for the same; used when `server` is unset.
    pub fully_qualified_domain_name: Option<String>,
    pub webots_home: Option<PathBuf>,
    pub projects_dir: Option<PathBuf>,
    /// Accepted for V2019 configs; the robotbenchmark download it keyed is not implemented.
    pub key_dir: Option<PathBuf>,
    pub monitor_log_enabled: bool,
    /// Accepted; logging goes to standard error unless `logDir` is set.
    pub debug: bool,
    /// Accepted for V2019/V2021 configs; Janus multimedia streaming is not supported.
    pub multimedia_server: Option<String>,
    /// See `multimediaServer`.
    pub multimedia_stream: Option<String>,
    /// `true` declares that the launch template isolates simulations (docker, firejail), which
    /// lets repositories outside `allowedRepositories` run on shared idle time, as docker did;
    /// `"compose"` runs each simulation as a docker compose project (see [`compose`]).
    pub docker: compose::DockerMode,
    /// compose mode: the docker client's argument vector (`["sudo", "-n", "docker"]`, a fake).
    pub docker_command: Vec<String>,
    /// compose mode: the template directory (the original's `dockerConfDir` file names); unset
    /// means the templates shipped in `config/simulation/docker/`, built in.
    pub docker_conf_dir: Option<PathBuf>,
    /// compose mode: this server's label value and project name prefix; unset means
    /// `gltf-cloud-<port>`, stable across restarts so a new run finds an old run's leftovers.
    pub compose_server_id: Option<String>,
    /// compose mode: limit for each docker call (`compose down`, the start-up listing).
    pub compose_down_timeout_seconds: f64,
    pub allowed_repositories: Option<Vec<String>>,
    pub blocked_repositories: Vec<String>,
    pub share_idle_time: f64,
    /// URLs told about this server at start-up (webots.cloud's `setup.php`); off by default.
    pub notify: Vec<String>,
    /// See [`DEFAULT_TIMEOUT_S`] and [`MIN_TIMEOUT_S`].
    pub timeout: u64,
    /// Accepted; docker images are not managed by this server.
    pub persistant_docker_images: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// The simulator's argument vector with placeholders; see [`launch`].
    pub launch_template: Option<Vec<String>>,
    pub launch_style: LaunchStyle,
    pub instances_dir: Option<PathBuf>,
    pub git_base_url: String,
    pub git_timeout_seconds: f64,
    pub startup_timeout_seconds: f64,
    pub stop_grace_seconds: f64,
    pub load_formula: LoadFormula,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            first_simulator_port: None,
            ssl: None,
            port_rewrite: false,
            public_host: None,
            fully_qualified_domain_name: None,
            webots_home: None,
            projects_dir: None,
            key_dir: None,
            monitor_log_enabled: true,
            debug: false,
            multimedia_server: None,
            multimedia_stream: None,
            docker: compose::DockerMode::Off,
            docker_command: vec!["docker".to_owned()],
            docker_conf_dir: None,
            compose_server_id: None,
            compose_down_timeout_seconds: compose::DEFAULT_DOWN_TIMEOUT_S,
            allowed_repositories: None,
            blocked_repositories: Vec::new(),
            share_idle_time: DEFAULT_SHARE_IDLE_TIME,
            notify: Vec::new(),
            timeout: DEFAULT_TIMEOUT_S,
            persistant_docker_images: Vec::new(),
            title: None,
            description: None,
            launch_template: None,
            launch_style: LaunchStyle::New,
            instances_dir: None,
            git_base_url: DEFAULT_GIT_BASE_URL.to_owned(),
            git_timeout_seconds: DEFAULT_GIT_TIMEOUT_S,
            startup_timeout_seconds: DEFAULT_STARTUP_TIMEOUT_S,
            stop_grace_seconds: DEFAULT_STOP_GRACE_S,
            load_formula: LoadFormula::New,
        }
    }
}

impl RoleConfig for Config {
    fn server_mut(&mut self) -> &mut ServerConfig {
        &mut self.server
    }
}

impl Config {
    /// The Webots install: `webotsHome`, else `$WEBOTS_HOME`, else [`DEFAULT_WEBOTS_HOME`].
    pub fn webots_home(&self) -> PathBuf {
        self.webots_home
            .clone()
            .or_else(|| std::env::var_os("WEBOTS_HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_WEBOTS_HOME))
    }

    /// `projectsDir`, else the original's robotbenchmark default under the Webots install.
    pub fn projects_dir(&self) -> PathBuf {
        self.projects_dir.clone().unwrap_or_else(|| {
            self.webots_home()
                .join("projects")
                .join("samples")
                .join("robotbenchmark")
        })
    }

    /// The simulation time limit, with the original's rule for values below [`MIN_TIMEOUT_S`].
    pub fn effective_timeout_s(&self) -> u64 {
        if self.timeout < MIN_TIMEOUT_S {
            DEFAULT_TIMEOUT_S
        } else {
            self.timeout
        }
    }

    /// The host in `webots:` URLs: `server`, else `fullyQualifiedDomainName`, else the host the
    /// client connected to (its `Host` header, as V2019 did), else `localhost`.
    pub fn public_host(&self, request_host: Option<&str>) -> String {
        self.public_host
            .clone()
            .or_else(|| self.fully_qualified_domain_name.clone())
            .or_else(|| request_host.and_then(host_without_port))
            .unwrap_or_else(|| "localhost".to_owned())
    }

    /// Whether `webots:` URLs say `wss:`.
    pub fn ssl(&self) -> bool {
        self.ssl.unwrap_or(self.server.ssl_certificate.is_some())
    }

    /// The launch template, or the default for `launchStyle`.
    pub fn launch_template(&self) -> Vec<String> {
        self.launch_template
            .clone()
            .unwrap_or_else(|| self.launch_style.default_template())
    }

    fn seconds(value: f64, default: f64) -> Duration {
        Duration::try_from_secs_f64(value)
            .or_else(|_| Duration::try_from_secs_f64(default))
            .unwrap_or_default()
    }

    pub fn stop_grace(&self) -> Duration {
        Self::seconds(self.stop_grace_seconds, DEFAULT_STOP_GRACE_S)
    }

    pub fn startup_timeout(&self) -> Duration {
        Self::seconds(self.startup_timeout_seconds, DEFAULT_STARTUP_TIMEOUT_S)
    }

    pub fn git_timeout(&self) -> Duration {
        Self::seconds(self.git_timeout_seconds, DEFAULT_GIT_TIMEOUT_S)
    }

    /// Logs the keys that are read for compatibility but change nothing here.
    fn warn_unsupported(&self) {
        if self.multimedia_server.is_some() || self.multimedia_stream.is_some() {
            tracing::warn!("multimediaServer/multimediaStream are not supported and are ignored");
        }
        if self.key_dir.is_some() {
            tracing::warn!("keyDir is ignored: robotbenchmark project downloads are not supported");
        }
        if !self.persistant_docker_images.is_empty() {
            tracing::warn!(
                "persistantDockerImages is ignored: this server does not prune docker images"
            );
        }
        if self.public_host.is_none() && self.fully_qualified_domain_name.is_none() {
            tracing::warn!(
                "no \"server\" configured: clients are sent to the host they connected to"
            );
        }
        if self.launch_template.as_ref().is_some_and(Vec::is_empty) {
            tracing::error!("launchTemplate is empty: every start will fail");
        }
    }
}

/// The host part of a `Host` header (`name:port`, `[v6]:port`), if it looks like a host name or
/// address: it is echoed into the `webots:` URL, so nothing else may pass.
fn host_without_port(header: &str) -> Option<String> {
    let host = match header.strip_prefix('[') {
        Some(rest) => format!("[{}]", rest.split(']').next()?),
        None => header.split(':').next()?.to_owned(),
    };
    let valid = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then_some(host)
}

/// Entry point of the subcommand: config, logging, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    let (config, _log) = super::prepare::<Config>("simulation", &args.server, &logging, |c| {
        if args.webots_home.is_some() {
            c.webots_home.clone_from(&args.webots_home);
        }
        if args.projects_dir.is_some() {
            c.projects_dir.clone_from(&args.projects_dir);
        }
        if args.instances_dir.is_some() {
            c.instances_dir.clone_from(&args.instances_dir);
        }
        if let Some(n) = args.max_connections {
            c.max_connections = n;
        }
        if args.public_host.is_some() {
            c.public_host.clone_from(&args.public_host);
        }
    })?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// Serves the role on an already bound listener until `shutdown` is cancelled; before returning,
/// every simulator's process group is stopped and reaped and every instance directory removed.
///
/// # Errors
/// An unusable instances directory, or see [`server::serve`].
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.warn_unsupported();
    let metrics = Arc::new(Metrics::default());
    let own_port = listener.local_addr()?.port();
    // compose hook: this server's id, and the removal of what an earlier run left.
    if config.docker == compose::DockerMode::Compose {
        let id = config
            .compose_server_id
            .get_or_insert_with(|| format!("gltf-cloud-{own_port}"))
            .clone();
        compose::check_server_id(&id).map_err(anyhow::Error::msg)?;
        if config.launch_template.is_some() {
            tracing::warn!("launchTemplate is not used with \"docker\": \"compose\"");
        }
        compose::cleanup::remove_leftovers(&config, &id).await;
    }
    let first_simulator_port = config
        .first_simulator_port
        .unwrap_or_else(|| own_port.saturating_add(1));
    let sessions_stop = shutdown.child_token();
    let state = ServerState::new(
        config,
        first_simulator_port,
        sessions_stop.clone(),
        Arc::clone(&metrics),
    )
    .await?;
    let sampler = {
        let observer = state.load_observer();
        tokio::task::spawn_blocking(move || LoadSampler::start(SAMPLE_PERIOD, observer)).await??
    };
    state.set_machine(sampler.machine().clone());
    if !state.config.notify.is_empty() {
        state
            .tracker
            .spawn(notify::announce(Arc::clone(&state), own_port));
    }
    let app = Router::new()
        .route("/client", get(client_socket))
        .route("/load", get(load))
        .route("/monitor", get(monitor))
        .with_state(Arc::clone(&state));
    let served = server::serve(listener, app, &state.config.server, metrics, shutdown).await;
    sessions_stop.cancel();
    state.tracker.close();
    state.tracker.wait().await;
    let _ = tokio::task::spawn_blocking(move || sampler.stop()).await;
    state.remove_instances_root().await;
    served
}

async fn client_socket(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
) -> Response {
    if state.stop.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down\n").into_response();
    }
    let tracker = state.tracker.clone();
    let host = state.config.public_host(
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok()),
    );
    ws.max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| tracker.track_future(client::serve(socket, state, peer, host)))
}

async fn load(State(state): State<Arc<ServerState>>) -> Response {
    (
        [("content-type", "text/plain; charset=utf-8")],
        crate::core::pyfloat::format((state.load.current() * 100.0).round() / 100.0),
    )
        .into_response()
}

async fn monitor(State(state): State<Arc<ServerState>>) -> Html<String> {
    Html(monitor::render(&state))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shipped_config_has_only_known_keys() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/simulation/default.json");
        let loaded = crate::core::config::load_with_server::<Config>(Some(&path)).unwrap();
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        let (config, _) = loaded.value;
        assert_eq!(config.public_host(Some("sim:2000")), "localhost");
        assert!(!config.ssl());
    }

    #[test]
    fn original_webots_keys_are_accepted() {
        // The NEW shipped local.json plus V2019/V2021 keys.
        let text = r#"{"server":"localhost","ssl":false,"portRewrite":false,"debug":true,
            "webotsHome":"/usr/local/webots","allowedRepositories":["https://github.com/cyberbotics"],
            "keyDir":"key","multimediaServer":"m","multimediaStream":"s","fullyQualifiedDomainName":"f",
            "docker":false,"shareIdleTime":50,"notify":[],"timeout":100,"persistantDockerImages":[],
            "title":"t","description":"d","monitorLogEnabled":true,"maxConnections":100}"#;
        let own: crate::core::config::Loaded<Config> =
            crate::core::config::parse(text, std::path::Path::new("local.json")).unwrap();
        assert!(own.unknown_keys.is_empty(), "{:?}", own.unknown_keys);
        // Below 360 s the original falls back to 7200 s.
        assert_eq!(own.value.effective_timeout_s(), DEFAULT_TIMEOUT_S);
    }

    #[test]
    fn public_host_falls_back_to_the_v2021_key() {
        let config = Config {
            fully_qualified_domain_name: Some("sim.example.org".into()),
            ..Config::default()
        };
        assert_eq!(config.public_host(None), "sim.example.org");
        let unset = Config::default();
        assert_eq!(
            unset.public_host(Some("sim2.example.org:2000")),
            "sim2.example.org"
        );
        assert_eq!(unset.public_host(Some("[::1]:2000")), "[::1]");
        assert_eq!(unset.public_host(Some("evil\"><x")), "localhost");
        assert_eq!(unset.public_host(None), "localhost");
        assert_eq!(Config::default().effective_timeout_s(), 7200);
    }
}
