//! The conformance suite of `--check`: cases with analytic answers that any Drake-compatible
//! server must get right, each reported with the error it measured.
//!
//! [`runner`] runs the cases in order and prints the table; [`cases`] builds each scene and asks
//! for it; [`judge`] compares an answer with its expectation.

mod cases;
mod judge;
mod runner;

pub use runner::{report, run, table, CaseResult};
