//! The integration tests, as one binary: a binary per file meant a link of the whole crate per
//! file. A folder per layer or role; the tests of two roles together live with the one that drives
//! the other. Run one folder with `cargo test --test tests render_server::`.
//!
//! Tests that need a graphics adapter skip, saying why, on machines without one, unless
//! `GLTF_CLOUD_REQUIRE_ADAPTER=1` (as in CI) makes that a failure: see `common::adapter`.
#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod common; // the shared harness: HTTP client, `start_<role>` → `Running`, adapter check, /proc

mod architecture; // the layers, import cycles and file sizes of src/, read as text
mod cli; // the binary as a real process: flags, config files, SIGTERM, make-cert
mod core; // the shared server bootstrap: health, metrics, TLS, graceful shutdown
mod fuzz; // the fuzz targets on their seed corpus and deterministic mutations of it
mod render; // the wgpu renderer against analytic expectations and VTK's look
mod render_client; // the render client against canned servers; `vs_server`: against our server
mod render_server; // the render server over HTTP: error paths, limits, the queue, status, metrics
mod scene; // the glTF loader on files captured from pydrake
mod session_server; // the session server against stub servers; `vs_simulation`: against real ones
mod simulation_server; // the simulation server with a fake Webots, real git and pid checks
mod supervisor; // process groups: stop and drop leave no process behind, checked in /proc
