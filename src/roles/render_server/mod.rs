//! The `render-server` role: Drake's glTF render protocol over HTTP, rendered on the GPU.
//!
//! One render pipeline ([`pipeline`]: admission, memory ticket, deadline, the workers of
//! [`pool`], blocking work, the answer) with front doors above it, each a file that reads its own
//! wire format and hands the pipeline what to draw: Drake's multipart `POST /render`
//! ([`drake`], its form in [`form`]) and the scene API's resident scenes under `/v1`
//! ([`scene_api`]). [`start`] starts the role and routes paths to front doors;
//! [`metrics`] and [`status`] are the operator's views, [`previews`] the latest images `status`
//! shows.
//!
//! Drake's request path, in order: multipart read → field validation and SHA-256 check →
//! admission (503 when the queue is full) → glTF load on a blocking thread ([`crate::scene`]) → cost
//! estimate (covered pixels) → render on a worker thread → PNG/TIFF encoding on a blocking
//! thread → the image. The async runtime only moves bytes.
//!
//! Each request's [`budget::Ticket`] holds its queue slot and its memory from admission (once the
//! request is complete and checked, so a client still uploading holds no slot) until its answer
//! is written; from the body's last byte on, `renderTimeoutSeconds` bounds the rest. A
//! client that hangs up drops the handler, which abandons the ticket: its queued job is dropped
//! and a load in progress stops at its next allocation.

mod budget;
mod config;
mod drake;
mod error;
pub(crate) mod form;
mod metrics;
mod pipeline;
mod pool;
mod previews;
mod scene_api;
mod start;
mod state;
mod stats;
mod status;

pub use config::{Args, Config, DepthFormat, LookParams, DEFAULT_PORT, ROLE};
pub use start::{main, run};
