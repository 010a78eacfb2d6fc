//! The wire protocols, each spoken by two roles that may not import each other: what both sides
//! must agree on is written here once. A protocol uses [`crate::scene`] and [`crate::core`] only.

pub mod webots;
