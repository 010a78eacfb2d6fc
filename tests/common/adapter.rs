//! The graphics adapter for the tests that render. A machine without one (no Vulkan driver, no
//! lavapipe) still runs every other test; CI sets `GLTF_CLOUD_REQUIRE_ADAPTER=1` so that there a
//! missing adapter fails instead of passing by skipping.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use gltf_cloud::render::{Gpu, GpuOptions};

/// The variable that makes a missing adapter a failure.
const REQUIRE: &str = "GLTF_CLOUD_REQUIRE_ADAPTER";

/// This machine's adapter, created once and shared by every test that renders, or `None` after
/// printing why the calling test is skipped. Panics instead where `GLTF_CLOUD_REQUIRE_ADAPTER=1`.
pub fn adapter_or_skip() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Result<Arc<Gpu>, String>> = OnceLock::new();
    let gpu = GPU.get_or_init(|| {
        Gpu::new(&GpuOptions { require_gpu: false }).map_err(|err| err.to_string())
    });
    match gpu {
        Ok(gpu) => Some(Arc::clone(gpu)),
        Err(cause) if std::env::var(REQUIRE).as_deref() == Ok("1") => {
            panic!("no graphics adapter, and {REQUIRE}=1 requires one: {cause}")
        }
        Err(cause) => {
            let thread = std::thread::current();
            let test = thread.name().unwrap_or("test");
            // Written to stderr directly: the harness captures `eprintln!` and hides what it
            // captured from a passing test, and a skip must be visible.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped, no graphics adapter ({cause}); {REQUIRE}=1 makes this a failure"
            );
            None
        }
    }
}

/// Returns from the calling test when [`adapter_or_skip`] finds no adapter: the first line of
/// every test that renders, in this process or in a render server it starts.
macro_rules! require_adapter {
    () => {
        if $crate::common::adapter_or_skip().is_none() {
            return;
        }
    };
}
pub(crate) use require_adapter;
