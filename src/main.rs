//! `gltf-cloud`: parses the command line and hands it to the chosen role.

use std::process::ExitCode;

use gltf_cloud::cli::{self, Command};
use gltf_cloud::{core, roles};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse();
    let logging = cli.logging;
    let result = match cli.command {
        Command::RenderServer(args) => roles::render_server::main(args, logging).await,
        Command::RenderClient(args) => roles::render_client::main(args, logging).await,
        Command::SimulationServer(args) => roles::simulation_server::main(args, logging).await,
        Command::SessionServer(args) => roles::session_server::main(args, logging).await,
        Command::MakeCert(args) => core::tls::write_self_signed(&args.hosts, &args.out_dir)
            .map(|files| println!("wrote {} and {}", files.cert.display(), files.key.display()))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gltf-cloud: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
