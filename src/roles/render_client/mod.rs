//! The `render-client` role: sends scenes to a Drake-compatible render server. Not implemented yet.

use crate::roles::LoggingArgs;

/// Command-line flags of `gltf-cloud render-client`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Base URL of the render server, as Drake's `RenderEngineGltfClientParams.base_url`.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub server_base_url: String,
}

/// Entry point of the subcommand.
///
/// # Errors
/// Always, until the client is written.
pub async fn main(_args: Args, _logging: LoggingArgs) -> anyhow::Result<()> {
    anyhow::bail!("render-client is not implemented yet")
}
