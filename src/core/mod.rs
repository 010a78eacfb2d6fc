//! The shared core under every role: access tokens, config files, limits, logging, TLS, metrics, signals, the
//! server bootstrap, the outbound HTTP client, and small text helpers (HTML escaping, quoting, paths hidden from clients).
//! It depends on external crates only; nothing here knows about rendering or simulation.

pub mod auth;
pub mod config;
pub mod error_body;
pub mod html;
pub mod http_client;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod quote;
pub mod redact;
pub mod server;
pub mod shutdown;
pub mod sync;
pub mod tls;
pub mod unknown_keys;
