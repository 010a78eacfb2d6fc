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

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::core::config::{self, ServerConfig};
use crate::core::logging::{self, LogFormat, LogGuard};

/// Logging flags, accepted by every subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LoggingArgs {
    /// Log line format; `RUST_LOG` (e.g. `debug`, `gltf_cloud=trace`) sets the level.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Write logs to DIR/<role>/output.log, rotated at 500 kB with 10 old files kept, instead of
    /// standard error [config key: logDir].
    #[arg(long, global = true, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

/// Flags every server role shares. Each overrides the config file's key of the same meaning.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// JSON config file with camelCase keys (see config/<role>/default.json); flags given on the
    /// command line override its values, and unknown keys are logged and ignored.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
}

impl ServerArgs {
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
    /// The shared keys inside this role's config.
    fn server_mut(&mut self) -> &mut ServerConfig;
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
    let path = server.config.as_deref();
    let loaded = config::load_with_server::<C>(path)?;
    let (mut config, shared) = loaded.value;
    *config.server_mut() = shared;
    server.apply(config.server_mut(), logging);
    role_flags(&mut config);
    let guard = logging::init(
        role,
        logging.log_format,
        config.server_mut().log_dir.as_deref(),
    )?;
    config::warn_unknown_keys(path, &loaded.unknown_keys);
    tracing::info!(role, version = env!("CARGO_PKG_VERSION"), "starting");
    Ok((config, guard))
}
