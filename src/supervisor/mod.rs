//! Supervision of child programs and of the machine they run on: spawning a program in its own
//! process group, reading its output as lines, stopping the whole group (TERM → grace → KILL) and
//! reaping it; and sampling CPU, memory and GPU load on a thread of its own.
//!
//! Nothing here knows about Webots or HTTP: the simulation server decides what to run and what a
//! line of output means. Depends only on external crates (and, like every module, may use `core`).

pub mod child;
pub mod load;

pub use child::{CommandSpec, ProcessGroup, Stopped, SupervisorError};
pub use load::{GpuInfo, GpuSample, LoadSampler, MachineInfo, Sample};
