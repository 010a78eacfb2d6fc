//! The shared core under every role: config files, limits, logging, TLS, metrics, signals and the
//! server bootstrap. It depends on external crates only; nothing here knows about rendering or
//! simulation.

pub mod config;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod shutdown;
pub mod sync;
pub mod tls;
