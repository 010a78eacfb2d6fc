//! Supervision of child programs and of the machine they run on: spawning a program in its own
//! process group, reading its output as lines (and bounding what of it reaches the log), stopping
//! the whole group and the descendants that left it (TERM → grace → KILL) and reaping them; and
//! sampling CPU, memory and GPU load on a thread of its own.
//!
//! Nothing here knows about Webots or HTTP: the simulation server decides what to run and what a
//! line of output means. Depends only on external crates (and, like every module, may use `core`).

pub mod child;
mod descendants;
pub mod load;
pub mod output_log;

pub use child::{CommandSpec, ProcessGroup, Stopped, SupervisorError};
pub use load::{GpuInfo, GpuSample, LoadSampler, MachineInfo, Sample};
pub use output_log::{LeftOut, OutputLog};
