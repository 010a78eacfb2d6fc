//! The command line: one binary, four roles (each with a short alias), plus certificate making.
//!
//! Each role's own flags live in its module (`roles::*::Args`); this file only assembles them and
//! fills in the per-role `--port` default, which clap cannot know from the shared flag struct.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::roles::{self, LoggingArgs};

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
    #[command(flatten)]
    pub logging: LoggingArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The roles.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render glTF scenes sent by Drake's RenderEngineGltfClient (color, depth, label) on the GPU.
    RenderServer(roles::render_server::Args),
    /// Send glTF scenes to a render server in Drake's wire format; benchmark or check a server.
    #[command(alias = "client")]
    RenderClient(roles::render_client::Args),
    /// Launch and supervise one simulator per browser client (Webots simulation server protocol).
    #[command(alias = "simulation")]
    SimulationServer(roles::simulation_server::Args),
    /// Send browser clients to the least-loaded simulation server (Webots session server protocol).
    #[command(alias = "session")]
    SessionServer(roles::session_server::Args),
    /// Write a self-signed development certificate (cert.pem, key.pem) for --tls-cert/--tls-key.
    MakeCert(MakeCertArgs),
}

/// Flags of `gltf-cloud make-cert`.
#[derive(Debug, Clone, clap::Args)]
pub struct MakeCertArgs {
    /// Host names or IP addresses the certificate is valid for (repeat the flag for several).
    #[arg(long = "host", default_values = ["localhost", "127.0.0.1"])]
    pub hosts: Vec<String>,
    /// Directory to write cert.pem and key.pem into.
    #[arg(long, default_value = "ssl")]
    pub out_dir: PathBuf,
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
        let Command::SimulationServer(args) = cli.command else {
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
