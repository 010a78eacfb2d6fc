//! `gltf-cloud`: parses the command line and hands it to the chosen role.

use std::process::ExitCode;

use gltf_cloud::cli::{self, Command};
use gltf_cloud::roles::{ConfigCheckFailed, LoggingArgs};
use gltf_cloud::{core, roles};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gltf-cloud: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run());
    // Dropping the runtime would wait for every blocking task (a scene load, an encode) however
    // long it runs; the roles have answered everyone by now, so the process exits on time instead.
    runtime.shutdown_timeout(core::limits::EXIT_WAIT);
    code
}

async fn run() -> ExitCode {
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
