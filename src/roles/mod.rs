//! The four roles the binary can take, and the start-up sequence the three servers share.
//!
//! Roles never import each other; each one's `run(listener, config, shutdown)` is what tests call
//! in-process on port 0, and its `main(args, logging)` is what the binary calls.
//!
//! Every server role has the same shape: `mod.rs` holds `main`, `run` and the routes;
//! `config.rs` holds `ROLE`, `DEFAULT_PORT`, `Args` (its flags), `Config` (its file, with
//! defaults from [`crate::core::limits`]) and `Args::apply`, which [`prepare`] calls to put the
//! flags over the file; the handlers share one `AppState`; the remaining files are its parts.

pub mod render_client;
pub mod render_server;
pub mod session_server;
pub mod simulation_server;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::core::config::{self, ServerConfig};
use crate::core::logging::{self, LogFormat, LogGuard};
use crate::core::unknown_keys::UnknownKey;

/// The log format flag, on every role that logs (the servers and the render client).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Logging")]
pub struct LogFormatArgs {
    /// Log line format; `RUST_LOG` (e.g. `debug`, `gltf_cloud=trace`) sets the level.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Logging flags of the servers: the format, and a directory for unattended runs.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Logging")]
pub struct LoggingArgs {
    #[command(flatten)]
    pub format: LogFormatArgs,
    /// Write logs to DIR/<role>/output.log, rotated at 500 kB with 10 old files kept, instead of
    /// standard error [config key: logDir].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

/// Flags every server role shares. Each overrides the config file's key of the same meaning.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// JSON config file with camelCase keys (see config/<role>/default.json); flags given on the
    /// command line override its values, and unknown keys are logged and ignored.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The config file without --config, as the Webots originals take it
    /// (`gltf-cloud session-server session.json`)
    #[arg(value_name = "CONFIG", conflicts_with = "config")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0 for all interfaces [default: 127.0.0.1] [config key: host]
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one [config key: port]
    #[arg(long)]
    pub port: Option<u16>,
    /// PEM certificate chain; with --tls-key the listener speaks HTTPS and WSS
    /// [config key: sslCertificate]
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert [config key: sslKey]
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Load and check the config file and flags, print the effective config as JSON and exit
    /// (0 when usable, 2 with the error otherwise) without binding or starting anything
    #[arg(long)]
    pub check_config: bool,
}

impl ServerArgs {
    /// The config file, given with `--config` or alone.
    pub fn config_path(&self) -> Option<&Path> {
        self.config.as_deref().or(self.config_file.as_deref())
    }

    fn apply(&self, config: &mut ServerConfig, logging: &LoggingArgs) {
        if let Some(host) = &self.host {
            config.host.clone_from(host);
        }
        if self.port.is_some() {
            config.port = self.port;
        }
        if self.tls_cert.is_some() {
            config.ssl_certificate.clone_from(&self.tls_cert);
            config.ssl_key.clone_from(&self.tls_key);
        }
        if logging.log_dir.is_some() {
            config.log_dir.clone_from(&logging.log_dir);
        }
    }
}

/// A server role's config: its own keys, plus the shared [`ServerConfig`] read from the same file
/// into a field marked `#[serde(skip)]`.
pub trait RoleConfig: DeserializeOwned + Serialize + Default {
    /// Keys whose values `--check-config` prints as `"<hidden>"`: it is run by hand, in terminals
    /// and CI logs.
    const SECRET_KEYS: &'static [&'static str] = &[];

    /// The shared keys inside this role's config.
    fn server_mut(&mut self) -> &mut ServerConfig;
}

/// `--check-config` found the config unusable; the binary exits 2 on it, as on a bad flag.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigCheckFailed(String);

/// What a role's own `--check-config` rules found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Values the server runs with in place of the configured ones, by key: defaults resolved,
    /// files read (the look of `--vtk-params`), limits put in.
    pub resolved: serde_json::Map<String, serde_json::Value>,
    /// Names nothing reads beyond the file's unknown keys (a look file's unknown fields), each
    /// saying what it likely meant.
    pub unknown: Vec<String>,
}

/// The config file with the shared flags and then the role's own (`role_flags`) put over it,
/// and the file's unknown keys.
fn load<C: RoleConfig>(
    server: &ServerArgs,
    logging: &LoggingArgs,
    role_flags: impl FnOnce(&mut C),
) -> Result<(C, Vec<UnknownKey>), config::ConfigError> {
    let loaded = config::load_with_server::<C>(server.config_path())?;
    let (mut config, shared) = loaded.value;
    *config.server_mut() = shared;
    server.apply(config.server_mut(), logging);
    role_flags(&mut config);
    Ok((config, loaded.unknown_keys))
}

/// Loads the config file, applies the shared flags and then the role's own (`role_flags`), starts
/// logging, and reports unknown keys. The returned guard must live as long as the server.
///
/// # Errors
/// A missing or malformed config file, or an unusable log directory.
pub fn prepare<C: RoleConfig>(
    role: &str,
    server: &ServerArgs,
    logging: &LoggingArgs,
    role_flags: impl FnOnce(&mut C),
) -> anyhow::Result<(C, LogGuard)> {
    let (mut config, unknown_keys) = load(server, logging, role_flags)?;
    let guard = logging::init(
        role,
        logging.format.log_format,
        config.server_mut().log_dir.as_deref(),
    )?;
    config::warn_unknown_keys(server.config_path(), &unknown_keys);
    tracing::info!(role, version = env!("CARGO_PKG_VERSION"), "starting");
    Ok((config, guard))
}

/// `--check-config`: loads the config as [`prepare`] does, checks the listen address, the TLS
/// files and then the role's own rules (`validate`), and prints the effective config as JSON on
/// standard output: every key, with the values the server would run with (the default port, what
/// the role resolves), secrets hidden. Unknown keys, which a server only warns about, fail the
/// check, each with the known name it likely meant, so the check can gate a deploy. Nothing is
/// bound, started or logged to files.
///
/// # Errors
/// [`ConfigCheckFailed`] with the reason when any step fails.
pub fn check_config<C: RoleConfig>(
    default_port: u16,
    server: &ServerArgs,
    logging: &LoggingArgs,
    role_flags: impl FnOnce(&mut C),
    validate: impl FnOnce(&C) -> anyhow::Result<Checked>,
) -> anyhow::Result<()> {
    let checked = (|| -> anyhow::Result<_> {
        let (mut config, unknown_keys) = load(server, logging, role_flags)?;
        let mut shared = config.server_mut().clone();
        shared.bind_addr(default_port)?;
        if let Some((cert, key)) = shared.tls_paths()? {
            crate::core::tls::server_config(cert, key)?;
        }
        if let Some(dir) = &shared.log_dir {
            logging::check_log_dir(dir).map_err(anyhow::Error::msg)?;
        }
        let checked = validate(&config)?;
        shared.port = Some(shared.port.unwrap_or(default_port));
        Ok((
            effective(&config, &shared, checked.resolved)?,
            unknown_keys,
            checked.unknown,
        ))
    })();
    let (json, unknown_keys, unknown_names) =
        checked.map_err(|e| ConfigCheckFailed(format!("{e:#}")))?;
    let file = server
        .config_path()
        .map(|p| format!(" in {}", p.display()))
        .unwrap_or_default();
    let unknown: Vec<String> = unknown_keys
        .iter()
        .map(|key| format!("unknown config key {key}{file}"))
        .chain(unknown_names)
        .collect();
    if !unknown.is_empty() {
        return Err(ConfigCheckFailed(format!(
            "{}\n(a server starts anyway and ignores them, with a warning; --check-config refuses \
             them so that a typo cannot pass it)",
            unknown.join("\n")
        ))
        .into());
    }
    writeln!(std::io::stdout(), "{json}")?;
    Ok(())
}

/// The role's keys and the shared ones in one JSON object, as one file would hold them, with the
/// `resolved` values in place of the configured ones.
fn effective<C: RoleConfig>(
    config: &C,
    shared: &ServerConfig,
    resolved: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Result<String> {
    let mut all = serde_json::Map::new();
    for part in [serde_json::to_value(shared)?, serde_json::to_value(config)?] {
        if let serde_json::Value::Object(map) = part {
            all.extend(map);
        }
    }
    all.extend(resolved);
    for key in C::SECRET_KEYS {
        if let Some(value) = all.get_mut(*key).filter(|v| !v.is_null()) {
            *value = serde_json::Value::from("<hidden>");
        }
    }
    serde_json::to_string_pretty(&all)
}
