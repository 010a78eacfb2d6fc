//! `gltf-cloud`: parses the command line and hands it to the chosen role.

use std::process::ExitCode;

use gltf_cloud::cli::{self, Command};
use gltf_cloud::roles::{ConfigCheckFailed, LoggingArgs};
use gltf_cloud::{core, roles};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse();
    let result = match cli.command {
        Command::RenderServer { args, logging } => roles::render_server::main(args, logging).await,
        Command::RenderClient { args, logging } => {
            let logging = LoggingArgs {
                format: logging,
                log_dir: None,
            };
            roles::render_client::main(args, logging).await
        }
        Command::SimulationServer { args, logging } => {
            roles::simulation_server::main(args, logging).await
        }
        Command::SessionServer { args, logging } => {
            roles::session_server::main(args, logging).await
        }
        Command::MakeCert(args) => core::tls::write_self_signed(&args.hosts, &args.out_dir)
            .map(|files| println!("wrote {} and {}", files.cert.display(), files.key.display()))
            .map_err(Into::into),
        Command::Completions { shell } => {
            cli::write_completions(shell, &mut std::io::stdout());
            Ok(())
        }
        Command::Man { out_dir } => {
            cli::write_man(out_dir.as_deref(), &mut std::io::stdout()).map_err(Into::into)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Like a bad flag: the invocation, not the run, is what failed.
        Err(e) if e.is::<ConfigCheckFailed>() => {
            eprintln!("gltf-cloud: error: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("gltf-cloud: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
