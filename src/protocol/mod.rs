//! The wire protocols, one module each, holding what the two roles that speak a protocol share:
//! its names, formats, rules and messages. Both sides use these and define none of their own, so a
//! server and the client that checks it cannot drift apart.
//!
//! A protocol may use [`crate::scene`] and [`crate::core`], never the renderer or a role.

pub mod drake;
pub mod scene_api;
pub mod webots;
