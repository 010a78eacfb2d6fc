//! The simulation server's command-line flags and config file: Webots' keys (doc §3.14), this
//! project's additions, their defaults (the limits among them are in [`crate::core::limits`]), and
//! how flags override the file.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::launch::LaunchStyle;
use super::load::LoadFormula;
use super::webots_version::WebotsVersion;
use crate::core::config::{config_key, seconds, ServerConfig};
use crate::core::limits;
use crate::protocol::webots::pyfloat::JsonNumber;
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};

/// The role's name: its log directory and its start-up log line.
pub const ROLE: &str = "simulation";

/// The port the original listens on.
pub const DEFAULT_PORT: u16 = 2000;

/// Where `https://github.com/<user>/<repo>/…` start URLs are cloned from. Config key `gitBaseUrl`.
pub const DEFAULT_GIT_BASE_URL: &str = "https://github.com";

/// The Webots install used when neither `webotsHome` nor `WEBOTS_HOME` is set.
pub const DEFAULT_WEBOTS_HOME: &str = "/usr/local/webots";

/// How simulations are isolated: config key `docker`, `false`, `true` (the launch template
/// isolates them) or `"compose"` (`compose/`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DockerMode {
    #[default]
    Off,
    /// `true`: the launch template runs the simulator in a container (or another sandbox).
    Template,
    /// `"compose"`: one compose project per client.
    Compose,
}

impl DockerMode {
    /// Whether simulations run isolated, which lets repositories outside `allowedRepositories`
    /// run on shared idle time.
    pub fn isolates(self) -> bool {
        self != DockerMode::Off
    }
}

impl Serialize for DockerMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DockerMode::Off => serializer.serialize_bool(false),
            DockerMode::Template => serializer.serialize_bool(true),
            DockerMode::Compose => serializer.serialize_str("compose"),
        }
    }
}

impl<'de> Deserialize<'de> for DockerMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Name(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Flag(false) => Ok(DockerMode::Off),
            Raw::Flag(true) => Ok(DockerMode::Template),
            Raw::Name(name) if name == "compose" => Ok(DockerMode::Compose),
            Raw::Name(name) => Err(serde::de::Error::custom(format!(
                "docker must be true, false or \"compose\", not {name:?}"
            ))),
        }
    }
}

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
    /// `wss:` (true) or `ws:` (false) in the webots: URL; `--ssl` alone means true
    /// [default: true when this server terminates TLS itself] [config key: ssl]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub ssl: Option<bool>,
    /// `HOST/PORT` instead of `HOST:PORT` in the webots: URL, behind a proxy that maps
    /// `/<port>/` to local ports; `--port-rewrite` alone means true [default: false]
    /// [config key: portRewrite]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub port_rewrite: Option<bool>,
}

impl Args {
    /// Puts the flags given on the command line over the config file's values.
    pub(super) fn apply(&self, config: &mut Config, logging: &LoggingArgs) {
        if self.webots_home.is_some() {
            config.webots_home.clone_from(&self.webots_home);
        }
        if self.projects_dir.is_some() {
            config.projects_dir.clone_from(&self.projects_dir);
        }
        if self.instances_dir.is_some() {
            config.instances_dir.clone_from(&self.instances_dir);
        }
        if let Some(n) = self.max_connections {
            config.max_connections = n;
        }
        if self.public_host.is_some() {
            config.public_host.clone_from(&self.public_host);
        }
        if self.ssl.is_some() {
            config.ssl = self.ssl;
        }
        if let Some(rewrite) = self.port_rewrite {
            config.port_rewrite = rewrite;
        }
        // The original's `debug` logs to the console instead of `logDir`; an explicit --log-dir wins.
        if config.debug && logging.log_dir.is_none() {
            config.server.log_dir = None;
        }
    }
}

/// The role's config file: the Webots keys of doc §3.14 plus this server's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The shared keys (host, port, TLS, logs), read from the same file by [`crate::roles::prepare`].
    #[serde(skip)]
    pub server: ServerConfig,
    /// See [`limits::MAX_SIMULATORS`].
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
    /// The Webots release launched (`"R2025a"`), for templates whose Webots is not the one in
    /// `webotsHome` (a container); unset means `<webotsHome>/resources/version.txt`. It decides
    /// what the scene streaming mode is called on the command line (see
    /// [`super::webots_version`]).
    pub webots_version: Option<WebotsVersion>,
    pub projects_dir: Option<PathBuf>,
    /// Accepted for V2019 configs; the robotbenchmark download it keyed is not implemented.
    pub key_dir: Option<PathBuf>,
    pub monitor_log_enabled: bool,
    /// The original's console logging: the log goes to standard error, not `logDir` (unless
    /// `--log-dir` is given).
    pub debug: bool,
    /// Accepted for V2019/V2021 configs; Janus multimedia streaming is not supported.
    pub multimedia_server: Option<String>,
    /// See `multimediaServer`.
    pub multimedia_stream: Option<String>,
    /// `true` declares that the launch template isolates simulations (docker, firejail), which
    /// lets repositories outside `allowedRepositories` run on shared idle time, as docker did;
    /// `"compose"` runs each simulation as a docker compose project (see [`super::compose`]).
    pub docker: DockerMode,
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
    /// Kept as written (`50` or `50.0`): announced and shown as the original wrote it.
    pub share_idle_time: JsonNumber,
    /// URLs told about this server at start-up (webots.cloud's `setup.php`); off by default. One
    /// URL may be given as a string, as the original accepts.
    #[serde(deserialize_with = "crate::core::config::one_or_many")]
    pub notify: Vec<String>,
    /// See [`limits::SIMULATION_TIMEOUT_S`] and [`limits::MIN_SIMULATION_TIMEOUT_S`].
    pub timeout: u64,
    /// Accepted; docker images are not managed by this server.
    pub persistant_docker_images: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// The simulator's argument vector with placeholders; see [`super::launch`].
    pub launch_template: Option<Vec<String>>,
    pub launch_style: LaunchStyle,
    pub instances_dir: Option<PathBuf>,
    pub git_base_url: String,
    pub git_timeout_seconds: f64,
    pub startup_timeout_seconds: f64,
    /// See [`limits::CLIENT_START_TIMEOUT`].
    pub client_start_timeout_seconds: f64,
    /// See [`limits::MAX_CLIENTS_AWAITING_START`].
    pub max_clients_awaiting_start: usize,
    /// See [`limits::MAX_QUEUE_LENGTH`].
    pub max_queue_length: usize,
    /// See [`limits::MAX_QUEUE_WAIT`].
    pub max_queue_wait_seconds: f64,
    pub stop_grace_seconds: f64,
    pub load_formula: LoadFormula,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            max_connections: limits::MAX_SIMULATORS,
            first_simulator_port: None,
            ssl: None,
            port_rewrite: false,
            public_host: None,
            fully_qualified_domain_name: None,
            webots_home: None,
            webots_version: None,
            projects_dir: None,
            key_dir: None,
            monitor_log_enabled: true,
            debug: false,
            multimedia_server: None,
            multimedia_stream: None,
            docker: DockerMode::Off,
            docker_command: vec!["docker".to_owned()],
            docker_conf_dir: None,
            compose_server_id: None,
            compose_down_timeout_seconds: limits::COMPOSE_DOWN_TIMEOUT.as_secs_f64(),
            allowed_repositories: None,
            blocked_repositories: Vec::new(),
            share_idle_time: JsonNumber::Int(limits::SHARE_IDLE_TIME),
            notify: Vec::new(),
            timeout: limits::SIMULATION_TIMEOUT_S,
            persistant_docker_images: Vec::new(),
            title: None,
            description: None,
            launch_template: None,
            launch_style: LaunchStyle::New,
            instances_dir: None,
            git_base_url: DEFAULT_GIT_BASE_URL.to_owned(),
            git_timeout_seconds: limits::GIT_TIMEOUT.as_secs_f64(),
            startup_timeout_seconds: limits::SIMULATOR_STARTUP_TIMEOUT.as_secs_f64(),
            client_start_timeout_seconds: limits::CLIENT_START_TIMEOUT.as_secs_f64(),
            max_clients_awaiting_start: limits::MAX_CLIENTS_AWAITING_START,
            max_queue_length: limits::MAX_QUEUE_LENGTH,
            max_queue_wait_seconds: limits::MAX_QUEUE_WAIT.as_secs_f64(),
            stop_grace_seconds: limits::SIMULATOR_STOP_GRACE.as_secs_f64(),
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

    /// The simulation time limit, with the original's rule for values below
    /// [`limits::MIN_SIMULATION_TIMEOUT_S`].
    pub fn effective_timeout_s(&self) -> u64 {
        if self.timeout < limits::MIN_SIMULATION_TIMEOUT_S {
            limits::SIMULATION_TIMEOUT_S
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

    /// See [`limits::COMPOSE_DOWN_TIMEOUT`]; unusable values fall back to it.
    pub fn compose_down_timeout(&self) -> Duration {
        seconds(self.compose_down_timeout_seconds).unwrap_or(limits::COMPOSE_DOWN_TIMEOUT)
    }

    /// See [`limits::SIMULATOR_STOP_GRACE`]; unusable values fall back to it.
    pub fn stop_grace(&self) -> Duration {
        seconds(self.stop_grace_seconds).unwrap_or(limits::SIMULATOR_STOP_GRACE)
    }

    /// See [`limits::SIMULATOR_STARTUP_TIMEOUT`]; unusable values fall back to it.
    pub fn startup_timeout(&self) -> Duration {
        seconds(self.startup_timeout_seconds).unwrap_or(limits::SIMULATOR_STARTUP_TIMEOUT)
    }

    /// See [`limits::CLIENT_START_TIMEOUT`]; unusable values fall back to it.
    pub fn client_start_timeout(&self) -> Duration {
        seconds(self.client_start_timeout_seconds).unwrap_or(limits::CLIENT_START_TIMEOUT)
    }

    /// See [`limits::MAX_QUEUE_WAIT`]; unusable values fall back to it.
    pub fn max_queue_wait(&self) -> Duration {
        seconds(self.max_queue_wait_seconds).unwrap_or(limits::MAX_QUEUE_WAIT)
    }

    /// See [`limits::GIT_TIMEOUT`]; unusable values fall back to it.
    pub fn git_timeout(&self) -> Duration {
        seconds(self.git_timeout_seconds).unwrap_or(limits::GIT_TIMEOUT)
    }

    /// What cannot work as configured: the Webots install when the launch template runs
    /// `{webots}` (compose mode runs Webots from its image), and the projects directory, each
    /// named with the key or variable that sets it.
    pub fn unusable_paths(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let runs_webots = self.docker != DockerMode::Compose
            && self
                .launch_template()
                .iter()
                .any(|arg| arg.contains("{webots}"));
        let home = self.webots_home();
        if runs_webots && !home.join("webots").is_file() {
            problems.push(format!(
                "{} {}: no webots executable there, and the launch template runs {{webots}}; \
                 set it (or WEBOTS_HOME) to the Webots install",
                config_key!(Config, webots_home),
                home.display()
            ));
        }
        let projects = self.projects_dir();
        if !projects.is_dir() {
            problems.push(format!(
                "{} {}: not a directory; local projects (file:// URLs, init messages) are read \
                 from it",
                config_key!(Config, projects_dir),
                projects.display()
            ));
        }
        problems
    }

    /// The values the server runs with where the file leaves a default to work out, by key, for
    /// `--check-config`: the simulation time limit it sends, the Webots install, the projects
    /// directory, the URL scheme, the simulator ports and the launch template.
    pub fn resolved(&self, default_port: u16) -> serde_json::Map<String, serde_json::Value> {
        let port = self.server.port.unwrap_or(default_port);
        let first_simulator_port = match (self.first_simulator_port, port) {
            (Some(first), _) => Some(first),
            // Port 0 is chosen at bind time, and the simulators' range with it.
            (None, 0) => None,
            (None, port) => port.checked_add(1),
        };
        let mut resolved = serde_json::Map::new();
        let mut put = |key: &str, value: serde_json::Value| {
            resolved.insert(key.to_owned(), value);
        };
        put(
            config_key!(Config, timeout),
            self.effective_timeout_s().into(),
        );
        put(
            config_key!(Config, webots_home),
            self.webots_home().display().to_string().into(),
        );
        put(
            config_key!(Config, projects_dir),
            self.projects_dir().display().to_string().into(),
        );
        put(config_key!(Config, ssl), self.ssl().into());
        put(
            config_key!(Config, first_simulator_port),
            first_simulator_port.into(),
        );
        put(
            config_key!(Config, launch_template),
            self.launch_template().into(),
        );
        resolved
    }

    /// Logs the keys that are read for compatibility but change nothing here.
    pub(super) fn warn_unsupported(&self) {
        if self.multimedia_server.is_some() || self.multimedia_stream.is_some() {
            tracing::warn!(
                "{}/{} are not supported and are ignored",
                config_key!(Config, multimedia_server),
                config_key!(Config, multimedia_stream)
            );
        }
        if self.key_dir.is_some() {
            tracing::warn!(
                "{} is ignored: robotbenchmark project downloads are not supported",
                config_key!(Config, key_dir)
            );
        }
        if !self.persistant_docker_images.is_empty() {
            tracing::warn!(
                "{} is ignored: this server does not prune docker images",
                config_key!(Config, persistant_docker_images)
            );
        }
        if self.public_host.is_none() && self.fully_qualified_domain_name.is_none() {
            tracing::warn!(
                "no \"{}\" configured: clients are sent to the host they connected to",
                config_key!(Config, public_host as "server")
            );
        }
        if self.ssl() && !self.port_rewrite {
            tracing::warn!(
                "webots: URLs say wss:// ({}), but Webots serves plain ws:// on its own port: \
                 browsers reach a simulator only through a TLS proxy for its port, e.g. one \
                 mapping /<port>/ with \"{}\": true; for direct connections set \"{}\": false",
                if self.ssl.is_some() {
                    "\"ssl\": true"
                } else {
                    "this server terminates TLS itself"
                },
                config_key!(Config, port_rewrite),
                config_key!(Config, ssl)
            );
        }
        for problem in self.unusable_paths() {
            tracing::warn!("{problem}: every simulation will fail (--check-config refuses this)");
        }
        if self.launch_template.as_ref().is_some_and(Vec::is_empty) {
            tracing::error!(
                "{} is empty: every start will fail",
                config_key!(Config, launch_template)
            );
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

#[cfg(test)]
mod tests;
