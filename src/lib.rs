//! # gltf-cloud
//!
//! Rendering and simulation for robotics, served over the network, in one binary with four roles.
//!
//! # Layout
//! Dependencies point down this list only:
//! - [`cli`]: the command line; assembles each role's flags.
//! - [`roles`]: the four roles (`render_server`, `render_client`, `simulation_server`,
//!   `session_server`) and the start-up sequence the servers share. Roles never import each other.
//! - [`render`]: the wgpu renderer drawing a scene as Drake's colour, depth and label images (raw
//!   pixels).
//! - [`supervisor`]: child programs in their own process groups (spawn, output lines, TERM → grace →
//!   KILL, reap) and machine load sampling; knows nothing of Webots or HTTP.
//! - [`protocol`]: the wire protocols, one module each, shared by the roles that speak them
//!   (`drake`: the render server and client; `webots`: the session and simulation servers).
//! - [`scene`]: the CPU scene model and the glTF loader (no GPU, no network).
//! - [`core`]: config files, limits, logging, TLS, metrics, signals and the HTTP server bootstrap.

pub mod cli;
pub mod core;
pub mod protocol;
pub mod render;
pub mod roles;
pub mod scene;
pub mod supervisor;
