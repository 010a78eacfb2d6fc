//! The session server's command-line flags and config file: Webots' own keys (doc §2.8), this
//! project's additions, their defaults (the limits among them are in [`crate::core::limits`]), and
//! how flags override the file.
//!
//! A Webots `config/session/*.json` works unchanged. `simulationServers` entries may also be objects
//! naming the repositories a server is reserved for (see [`SimulationServer`]).

use std::path::PathBuf;
use std::time::Duration;

use hyper::Uri;
use serde::{Deserialize, Serialize};

use crate::core::config::{config_key, seconds, ConfigError, ServerConfig};
use crate::core::limits;
use crate::protocol::webots::address;
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};

/// The role's name: its log directory and its start-up log line.
pub const ROLE: &str = "session";

/// The port the original listens on.
pub const DEFAULT_PORT: u16 = 1999;

/// The session server's own name in notifications, when `server` is not set (the original's default).
pub const DEFAULT_SERVER_NAME: &str = "localhost";

/// Command-line flags of `gltf-cloud session-server`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A simulation server, `host:port` or `host/port`; repeat for several. Replaces the config's
    /// list [config key: simulationServers]
    #[arg(long = "simulation-server", value_name = "ENTRY")]
    pub simulation_servers: Vec<String>,
    /// Load (percent) at or above which a simulation server gets no new session [default: 95]
    /// [config key: loadThreshold]
    #[arg(long)]
    pub load_threshold: Option<f64>,
    /// Seconds between two load polls of the simulation servers [default: 5]
    /// [config key: loadPollPeriodSeconds]
    #[arg(long, value_name = "SECONDS")]
    pub load_poll_period: Option<f64>,
    /// Seconds to wait for one simulation server's /load [default: 5]
    /// [config key: loadPollTimeoutSeconds]
    #[arg(long, value_name = "SECONDS")]
    pub load_poll_timeout: Option<f64>,
}

impl Args {
    /// Puts the flags given on the command line over the config file's values.
    pub(super) fn apply(&self, config: &mut Config, logging: &LoggingArgs) {
        if !self.simulation_servers.is_empty() {
            config.simulation_servers = self
                .simulation_servers
                .iter()
                .map(|url| SimulationServer {
                    url: url.clone(),
                    repositories: Vec::new(),
                })
                .collect();
        }
        if let Some(threshold) = self.load_threshold {
            config.load_threshold = threshold;
        }
        if let Some(period) = self.load_poll_period {
            config.load_poll_period_seconds = period;
        }
        if let Some(timeout) = self.load_poll_timeout {
            config.load_poll_timeout_seconds = timeout;
        }
        // The original's `debug` logs to the console instead of `logDir`; an explicit --log-dir wins.
        if config.debug && logging.log_dir.is_none() {
            config.server.log_dir = None;
        }
    }
}

/// One entry of `simulationServers`: `"host:port"`, `"host/port"` (behind a reverse proxy that
/// rewrites the port into the path), or `{"url": "host:port", "repositories": ["https://github.com/acme/"]}`
/// for a server reserved to the simulations whose URL starts with one of the prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "EntryForm", into = "EntryForm")]
pub struct SimulationServer {
    /// The text after `ws(s)://` in `/session` answers, and after `http(s)://` when polling.
    pub url: String,
    /// URL prefixes this server is reserved for; empty means a public server.
    pub repositories: Vec<String>,
}

impl SimulationServer {
    /// Whether the server takes requests that match no dedicated server.
    pub fn is_public(&self) -> bool {
        self.repositories.is_empty()
    }

    /// Whether `simulation_url` (the `/session?url=` value) starts with one of this server's prefixes.
    pub fn is_dedicated_to(&self, simulation_url: &str) -> bool {
        self.repositories
            .iter()
            .any(|prefix| simulation_url.starts_with(prefix.as_str()))
    }
}

/// The two spellings an entry may have in the file.
#[derive(Clone, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a \"host:port\" string or an object {\"url\": \"host:port\", \"repositories\": [\"prefix\", ...]}"
)]
enum EntryForm {
    Public(String),
    Dedicated {
        url: String,
        #[serde(default)]
        repositories: Vec<String>,
    },
}

impl From<EntryForm> for SimulationServer {
    fn from(form: EntryForm) -> Self {
        match form {
            EntryForm::Public(url) => Self {
                url,
                repositories: Vec::new(),
            },
            EntryForm::Dedicated { url, repositories } => Self { url, repositories },
        }
    }
}

impl From<SimulationServer> for EntryForm {
    fn from(server: SimulationServer) -> Self {
        if server.repositories.is_empty() {
            Self::Public(server.url)
        } else {
            Self::Dedicated {
                url: server.url,
                repositories: server.repositories,
            }
        }
    }
}

/// The role's config file (camelCase keys). Webots' keys keep their names and meanings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The shared keys (host, port, TLS, logs), read from the same file by [`crate::roles::prepare`].
    #[serde(skip)]
    pub server: ServerConfig,
    /// This session server's public host name; it appears only in notifications ("Check it at").
    #[serde(rename = "server")]
    pub server_name: String,
    /// The simulation servers to balance between, in order of preference on equal load.
    pub simulation_servers: Vec<SimulationServer>,
    /// `wss://` in `/session` answers and `https://` when polling and in links, instead of
    /// `ws://`/`http://`. As in the current original it changes only URL schemes, and defaults to true.
    pub ssl: bool,
    /// The session server sits behind a reverse proxy mapping `/<port>/` to its port: notifications
    /// then link to `host/port` instead of `host:port`. Defaults to true, as in the original.
    pub port_rewrite: bool,
    /// E-mail address that receives state-change notifications; needs `mailServer` and `mailSender`.
    pub administrator: Option<String>,
    /// SMTP server host name.
    pub mail_server: Option<String>,
    /// SMTP server port; 25 when unset (Python's `SMTP(port=0)` means 25 as well).
    pub mail_server_port: Option<u16>,
    /// The notifications' From address.
    pub mail_sender: Option<String>,
    /// SMTP login; `mailSender` when unset.
    pub mail_sender_user: Option<String>,
    /// SMTP password; when set, the connection is upgraded with STARTTLS and AUTH PLAIN is used.
    pub mail_sender_password: Option<String>,
    /// Log to standard error instead of `logDir` (the original's `debug`).
    pub debug: bool,
    /// See [`limits::LOAD_THRESHOLD`].
    pub load_threshold: f64,
    /// See [`limits::LOAD_POLL_PERIOD`].
    pub load_poll_period_seconds: f64,
    /// See [`limits::LOAD_POLL_TIMEOUT`].
    pub load_poll_timeout_seconds: f64,
    /// URL that receives each notification as a JSON POST (`{"subject": ..., "message": ...}`).
    pub webhook_url: Option<String>,
    /// Extra PEM CA certificates trusted, besides the public web roots, when polling over https and
    /// for SMTP STARTTLS: for simulation servers with certificates from a private CA.
    pub extra_root_certificates: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            server_name: DEFAULT_SERVER_NAME.to_owned(),
            simulation_servers: Vec::new(),
            ssl: true,
            port_rewrite: true,
            administrator: None,
            mail_server: None,
            mail_server_port: None,
            mail_sender: None,
            mail_sender_user: None,
            mail_sender_password: None,
            debug: false,
            load_threshold: limits::LOAD_THRESHOLD,
            load_poll_period_seconds: limits::LOAD_POLL_PERIOD.as_secs_f64(),
            load_poll_timeout_seconds: limits::LOAD_POLL_TIMEOUT.as_secs_f64(),
            webhook_url: None,
            extra_root_certificates: None,
        }
    }
}

impl RoleConfig for Config {
    fn server_mut(&mut self) -> &mut ServerConfig {
        &mut self.server
    }
}

impl Config {
    /// See [`limits::LOAD_POLL_PERIOD`]; zero, negative or non-finite values fall back to it.
    pub fn load_poll_period(&self) -> Duration {
        positive(seconds(self.load_poll_period_seconds)).unwrap_or(limits::LOAD_POLL_PERIOD)
    }

    /// See [`limits::LOAD_POLL_TIMEOUT`]; zero, negative or non-finite values fall back to it.
    pub fn load_poll_timeout(&self) -> Duration {
        positive(seconds(self.load_poll_timeout_seconds)).unwrap_or(limits::LOAD_POLL_TIMEOUT)
    }

    /// The `/load` URL of each simulation server, in config order.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming an entry that does not make a URL (e.g. a stray space or scheme).
    pub fn load_urls(&self) -> Result<Vec<Uri>, ConfigError> {
        self.simulation_servers
            .iter()
            .map(|entry| {
                let url = format!("{}/load", address::http_url(self.ssl, &entry.url));
                let invalid = || {
                    ConfigError::Invalid(format!(
                        "{} entry {:?} is not host:port or host/port",
                        config_key!(Config, simulation_servers),
                        entry.url
                    ))
                };
                let uri: Uri = url.parse().map_err(|_| invalid())?;
                if entry.url.contains("://") || uri.host().is_none_or(str::is_empty) {
                    return Err(invalid());
                }
                Ok(uri)
            })
            .collect()
    }

    /// Checks the values that parse but cannot work.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for unusable entries or a threshold that is not a number.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.load_threshold.is_nan() {
            return Err(ConfigError::Invalid(format!(
                "{} must be a number",
                config_key!(Config, load_threshold)
            )));
        }
        self.load_urls().map(|_| ())
    }
}

/// A poll period or timeout of zero would poll without pause or time out at once: neither is usable.
fn positive(duration: Option<Duration>) -> Option<Duration> {
    duration.filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::parse;
    use std::path::Path;

    #[test]
    fn webots_config_reads_unchanged_with_original_defaults() {
        let text = r#"{"port": 1999, "server": "cloud.example.org",
                       "simulationServers": ["localhost:2000", "sim.example.org/2000"],
                       "administrator": "admin@example.org", "mailServer": "smtp.example.org"}"#;
        let loaded = parse::<Config>(text, Path::new("session.json")).unwrap();
        let config = loaded.value;
        assert_eq!(config.server_name, "cloud.example.org");
        assert!(config.ssl && config.port_rewrite);
        assert_eq!(config.load_threshold, 95.0);
        assert_eq!(config.load_poll_period(), Duration::from_secs(5));
        assert!(config
            .simulation_servers
            .iter()
            .all(SimulationServer::is_public));
        let urls: Vec<String> = config
            .load_urls()
            .unwrap()
            .iter()
            .map(Uri::to_string)
            .collect();
        assert_eq!(
            urls,
            [
                "https://localhost:2000/load",
                "https://sim.example.org/2000/load"
            ]
        );
        assert_eq!(loaded.unknown_keys, ["port"]);
    }

    #[test]
    fn dedicated_entries_are_objects() {
        let text = r#"{"simulationServers": ["a:1", {"url": "b:2", "repositories": ["https://github.com/acme/"]}]}"#;
        let config = parse::<Config>(text, Path::new("s.json")).unwrap().value;
        let dedicated = &config.simulation_servers[1];
        assert_eq!(dedicated.url, "b:2");
        assert!(!dedicated.is_public());
        assert!(dedicated.is_dedicated_to("https://github.com/acme/robot/blob/main/worlds/w.wbt"));
        assert!(!dedicated.is_dedicated_to("https://github.com/other/robot"));
    }

    #[test]
    fn bad_entries_are_named() {
        let err =
            parse::<Config>(r#"{"simulationServers": [12]}"#, Path::new("s.json")).unwrap_err();
        assert!(err.to_string().contains("host:port"), "{err}");
        for bad in ["http://a:1", "a b:1", ""] {
            let config = Config {
                simulation_servers: vec![SimulationServer {
                    url: bad.to_owned(),
                    repositories: Vec::new(),
                }],
                ..Config::default()
            };
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("simulationServers"), "{bad}: {err}");
        }
    }

    #[test]
    fn unusable_periods_fall_back_to_defaults() {
        let config = Config {
            load_poll_period_seconds: 0.0,
            load_poll_timeout_seconds: f64::NAN,
            ..Config::default()
        };
        assert_eq!(config.load_poll_period(), limits::LOAD_POLL_PERIOD);
        assert_eq!(config.load_poll_timeout(), limits::LOAD_POLL_TIMEOUT);
    }

    #[test]
    fn keys_named_in_messages_are_serde_keys() {
        let keys = crate::core::config::serde_keys::<Config>();
        for key in [
            config_key!(Config, simulation_servers),
            config_key!(Config, load_threshold),
            config_key!(Config, mail_server),
            config_key!(Config, mail_sender),
            config_key!(Config, webhook_url),
            config_key!(Config, server_name as "server"),
        ] {
            assert!(
                keys.iter().any(|k| k == key),
                "{key} is not a key of {keys:?}"
            );
        }
    }
}
