//! `gltf-cloud`: parses the command line and hands it to the chosen role.

use std::io::Write;
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
        Command::MakeCert(args) => {
            core::tls::write_self_signed(&args.hosts, &args.out_dir, args.force)
                .map_err(anyhow::Error::from)
                .and_then(|files| {
                    let (cert, key) = (files.cert.display(), files.key.display());
                    Ok(writeln!(std::io::stdout(), "wrote {cert} and {key}")?)
                })
        }
        Command::Completions { shell } => {
            cli::write_completions(shell, &mut std::io::stdout()).map_err(Into::into)
        }
        Command::Man { out_dir } => {
            cli::write_man(out_dir.as_deref(), &mut std::io::stdout()).map_err(Into::into)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of standard output went away (`gltf-cloud man | head`): what it wanted is
        // written, so end quietly, as ripgrep and the shell tools do.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
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

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
