//! Running the suite: every case in order against one server, each outcome named, and the table
//! `--check` prints.

use serde::Serialize;

use super::cases::{
    background_color, background_depth, background_label, box_depth_planar, color_lit_face,
    depth_sentinels, intrinsics_marker, label_colours, malformed, odd_size, repeat_identical,
    Malformation,
};
use super::judge::Verdict;
use crate::roles::render_client::client::{ClientError, RenderClient};

/// One case's outcome, as printed in the table and in `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: &'static str,
    pub passed: bool,
    /// The measured error, e.g. `0.3 mm` or `2 wrong pixels`.
    pub measured: String,
    /// Why it failed, or what was checked.
    pub detail: String,
}

/// Runs every case in order against `client`'s server.
pub async fn run(client: &RenderClient) -> Vec<CaseResult> {
    let mut results = Vec::new();
    let mut record = |name: &'static str, verdict: Result<Verdict, ClientError>| {
        let verdict = verdict.unwrap_or_else(|e| Verdict::new(false, "-", e.to_string()));
        results.push(CaseResult {
            name,
            passed: verdict.passed,
            measured: verdict.measured,
            detail: verdict.detail,
        });
    };
    record("background-color", background_color(client).await);
    record("background-depth", background_depth(client).await);
    record("background-label", background_label(client).await);
    record("box-depth-planar", box_depth_planar(client).await);
    record("depth-sentinels", depth_sentinels(client).await);
    record("label-colours", label_colours(client).await);
    record("color-lit-face", color_lit_face(client).await);
    record("intrinsics-marker", intrinsics_marker(client).await);
    record("odd-size-333x250", odd_size(client).await);
    record(
        "missing-field",
        malformed(client, Malformation::MissingMinDepth).await,
    );
    record(
        "bad-image-type",
        malformed(client, Malformation::BadImageType).await,
    );
    record(
        "wrong-sha256",
        malformed(client, Malformation::WrongSha256).await,
    );
    record("repeat-identical", repeat_identical(client).await);
    results
}

/// Prints `results` as the table (or JSON) and fails naming the failed cases of `suite` (e.g.
/// "conformance") against `url`: what `--check` ends with in either mode.
///
/// # Errors
/// Writing to stdout, or a failed case.
pub fn report(results: &[CaseResult], json: bool, url: &str, suite: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(results)?)?;
    } else {
        write!(stdout, "{}", table(results))?;
    }
    let failed: Vec<&str> = (results.iter())
        .filter(|r| !r.passed)
        .map(|r| r.name)
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "{url} failed {suite}: {}",
        failed.join(", ")
    );
    Ok(())
}

/// The table `--check` prints.
pub fn table(results: &[CaseResult]) -> String {
    let name_width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let measured_width = results
        .iter()
        .map(|r| r.measured.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!(
        "{:name_width$}  result  {:measured_width$}  detail\n",
        "case", "measured"
    );
    for r in results {
        out.push_str(&format!(
            "{:name_width$}  {}    {:measured_width$}  {}\n",
            r.name,
            if r.passed { "pass" } else { "FAIL" },
            r.measured,
            r.detail.replace('\n', " "),
        ));
    }
    let passed = results.iter().filter(|r| r.passed).count();
    out.push_str(&format!("{passed}/{} cases passed\n", results.len()));
    out
}
