//! The `render` role. Only the shared bootstrap so far: the role's own routes are still to come.

use std::sync::Arc;

use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::config::ServerConfig;
use crate::core::metrics::Metrics;
use crate::core::{server, shutdown};
use crate::roles::{LoggingArgs, RoleConfig, ServerArgs};

/// The port the original listens on.
pub const DEFAULT_PORT: u16 = 8000;

/// Command-line flags of `gltf-cloud render-server`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The role's config file (camelCase keys).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The shared keys (host, port, TLS, logs), read from the same file by [`super::prepare`].
    #[serde(skip)]
    pub server: ServerConfig,
}

impl RoleConfig for Config {
    fn server_mut(&mut self) -> &mut ServerConfig {
        &mut self.server
    }
}

/// Entry point of the subcommand: config, logging, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    let (config, _log) = super::prepare::<Config>("render", &args.server, &logging, |_| {})?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// Serves the role on an already bound listener until `shutdown` is cancelled.
///
/// # Errors
/// See [`server::serve`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    server::serve(listener, Router::new(), &config.server, metrics, shutdown).await
}
