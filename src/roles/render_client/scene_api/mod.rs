//! Scene mode (`--scene-api`): the render server's scene API (docs/scene-api.md) from the command
//! line, beside Drake mode: a benchmark of frames of moving poses over N cameras
//! (`--frames`), and the scene API's conformance cases (`--check`).
//!
//! - [`client`]: the API's requests over the render client's transport;
//! - [`builtin`]: the scene both modes register, every shape type and an OBJ asset;
//! - [`bench`]: the frames and their figures;
//! - [`check`]: the cases.

pub mod bench;
pub mod builtin;
pub mod check;
pub mod client;

use std::io::Write;

use crate::protocol::scene_api::frame::Encoding;
pub use client::{SceneApiClient, SceneApiError};

/// `--encoding` takes the frame header's `encoding` values.
impl clap::ValueEnum for Encoding {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Raw, Self::Png]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Self::Raw => "raw",
            Self::Png => "png",
        }))
    }
}

/// `--scene-api --check`: the cases' table (or JSON); an error naming the failed cases.
///
/// # Errors
/// A server that cannot be reached (one line, no case run), or failed cases.
pub async fn run_check(client: &SceneApiClient, json: bool) -> anyhow::Result<()> {
    client
        .probe()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}; no case was run", client.url()))?;
    let results = check::run(client).await;
    crate::roles::render_client::check::report(
        &results,
        json,
        client.url(),
        "scene API conformance",
    )
}

/// `--scene-api --frames F`: the report (or JSON); an error when a frame failed.
///
/// # Errors
/// A server that cannot be reached, a scene it would not register, or failed frames.
pub async fn run_bench(
    client: &SceneApiClient,
    options: &bench::BenchOptions,
    json: bool,
) -> anyhow::Result<()> {
    client
        .probe()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}; no frame was sent", client.url()))?;
    let report = bench::run(client, options).await?;
    let mut stdout = std::io::stdout().lock();
    if json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(stdout, "{report}")?;
    }
    anyhow::ensure!(
        report.errors == 0,
        "{} of {} frames failed",
        report.errors,
        report.frames
    );
    Ok(())
}
