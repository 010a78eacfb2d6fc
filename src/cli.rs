//! The command line: one binary, four roles (each with a short alias), certificate making, and
//! the shell completions and man pages generated from this same definition.
//!
//! Each role's own flags live in its module (`roles::*::Args`); this file only assembles them,
//! adds the logging flags to the roles that log, and fills in the per-role `--port` default,
//! which clap cannot know from the shared flag struct.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::roles::{self, LogFormatArgs, LoggingArgs};

/// Network rendering and simulation for robotics: a Drake-compatible glTF render server on wgpu,
/// its client, and Webots-compatible cloud simulation and session servers.
#[derive(Debug, Parser)]
#[command(
    name = "gltf-cloud",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The roles, and the tools around them.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render glTF scenes sent by Drake's RenderEngineGltfClient (color, depth, label) on the GPU.
    #[command(after_help = "Examples:
  gltf-cloud render-server --port 8000
  gltf-cloud render-server --config config/render/default.json --host 0.0.0.0 --log-format json
  gltf-cloud render-server --config my.json --check-config")]
    RenderServer {
        #[command(flatten)]
        args: roles::render_server::Args,
        #[command(flatten)]
        logging: LoggingArgs,
    },
    /// Send glTF scenes to a render server in Drake's wire format; benchmark or check a server,
    /// over Drake's protocol or the scene API (--scene-api).
    #[command(
        visible_alias = "client",
        after_help = "Examples:
  gltf-cloud client scene.gltf --out images --image-type color,depth
  gltf-cloud client scene.gltf --frames 200 --concurrency 4 --json
  gltf-cloud client --check --server-base-url http://gpu-host:8000
  gltf-cloud client --scene-api --frames 200 --cameras 3 --server-base-url http://gpu-host:8000
  gltf-cloud client --scene-api --check --server-base-url http://gpu-host:8000"
    )]
    RenderClient {
        #[command(flatten)]
        args: roles::render_client::Args,
        #[command(flatten)]
        logging: LogFormatArgs,
    },
    /// Launch and supervise one simulator per browser client (Webots simulation server protocol).
    #[command(
        visible_alias = "simulation",
        after_help = "Examples:
  gltf-cloud simulation --config config/simulation/default.json --webots-home /usr/local/webots
  gltf-cloud simulation --port 2000 --max-connections 4 --log-dir /var/log/gltf-cloud"
    )]
    SimulationServer {
        #[command(flatten)]
        args: roles::simulation_server::Args,
        #[command(flatten)]
        logging: LoggingArgs,
    },
    /// Send browser clients to the least-loaded simulation server (Webots session server protocol).
    #[command(
        visible_alias = "session",
        after_help = "Examples:
  gltf-cloud session --simulation-server localhost:2000 --ssl false
  gltf-cloud session --config config/session/default.json --check-config"
    )]
    SessionServer {
        #[command(flatten)]
        args: roles::session_server::Args,
        #[command(flatten)]
        logging: LoggingArgs,
    },
    /// Write a self-signed development certificate (cert.pem, key.pem) for --tls-cert/--tls-key.
    #[command(after_help = "Example:
  gltf-cloud make-cert --name localhost --name 127.0.0.1 --name render.lan --out-dir ssl")]
    MakeCert(MakeCertArgs),
    /// Print a shell completion script to standard output.
    #[command(after_help = "Examples:
  gltf-cloud completions bash > ~/.local/share/bash-completion/completions/gltf-cloud
  gltf-cloud completions zsh > ~/.zfunc/_gltf-cloud")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output, or write one page per subcommand.
    #[command(after_help = "Examples:
  gltf-cloud man | man -l -
  gltf-cloud man --out-dir /usr/local/share/man/man1")]
    Man {
        /// Write gltf-cloud.1 and gltf-cloud-<subcommand>.1 into DIR instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Flags of `gltf-cloud make-cert`.
#[derive(Debug, Clone, clap::Args)]
pub struct MakeCertArgs {
    /// Host names or IP addresses the certificate is valid for (repeat the flag for several).
    /// `--host` is the old spelling, kept for scripts; on the servers `--host` is the listen address.
    #[arg(long = "name", alias = "host", default_values = ["localhost", "127.0.0.1"])]
    pub hosts: Vec<String>,
    /// Directory to write cert.pem and key.pem into.
    #[arg(long, default_value = "ssl")]
    pub out_dir: PathBuf,
    /// Replace cert.pem and key.pem when they exist (a running server keeps the pair it read at
    /// start until it is restarted)
    #[arg(long)]
    pub force: bool,
}

/// Writes the completion script for `shell` to `out`.
///
/// # Errors
/// Failures to write (a closed pipe among them: clap_complete itself would panic on one, so the
/// script is made in memory first).
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "gltf-cloud", &mut script);
    out.write_all(&script)
}

/// Writes the man page of the whole command to `out`, or with `dir`, one page per subcommand
/// (`gltf-cloud.1`, `gltf-cloud-render-server.1`, …) into it.
///
/// # Errors
/// Failures to write.
pub fn write_man(dir: Option<&Path>, out: &mut dyn Write) -> std::io::Result<()> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(command(), dir)
        }
        None => clap_mangen::Man::new(command()).render(out),
    }
}

/// The clap command with each server's `--port` help showing that role's default port.
pub fn command() -> clap::Command {
    let ports = [
        ("render-server", roles::render_server::DEFAULT_PORT),
        ("simulation-server", roles::simulation_server::DEFAULT_PORT),
        ("session-server", roles::session_server::DEFAULT_PORT),
    ];
    ports.into_iter().fold(Cli::command(), |cmd, (name, port)| {
        cmd.mut_subcommand(name, |sub| {
            sub.mut_arg("port", |arg| {
                arg.help(format!(
                    "Port to listen on; 0 picks a free one [default: {port}] [config key: port]"
                ))
            })
        })
    })
}

/// Parses `std::env::args`, exiting with status 2 and a usage message on bad flags.
pub fn parse() -> Cli {
    parse_from(std::env::args_os())
}

/// Parses the given arguments (the first is the program name), exiting on error like [`parse`].
pub fn parse_from<I, T>(args: I) -> Cli
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Parses the given arguments, returning clap's error instead of exiting (for tests).
///
/// # Errors
/// clap's error for unknown flags, bad values or a missing subcommand.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_role_and_alias_parses() {
        for name in [
            "render-server",
            "render-client",
            "client",
            "simulation-server",
            "simulation",
            "session-server",
            "session",
            "make-cert",
        ] {
            try_parse_from(["gltf-cloud", name]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn port_help_shows_each_role_default() {
        let mut cmd = command();
        let render = cmd
            .find_subcommand_mut("session-server")
            .unwrap()
            .render_help()
            .to_string();
        assert!(render.contains("[default: 1999]"), "{render}");
    }

    #[test]
    fn server_flags_reach_the_role() {
        let cli =
            try_parse_from(["gltf-cloud", "simulation", "--port", "0", "--host", "::1"]).unwrap();
        let Command::SimulationServer { args, .. } = cli.command else {
            panic!("wrong role")
        };
        assert_eq!(args.server.port, Some(0));
        assert_eq!(args.server.host.as_deref(), Some("::1"));
    }

    #[test]
    fn tls_flags_come_in_pairs() {
        let err = try_parse_from(["gltf-cloud", "session", "--tls-cert", "c.pem"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
