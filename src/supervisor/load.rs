//! Machine load sampling on a dedicated thread: CPU, memory, swap, disk and network through
//! `sysinfo`, and the first NVIDIA GPU through NVML when the driver library is present.
//!
//! Sampling reads `/proc` and calls into the GPU driver, which may block for milliseconds; doing it
//! on its own thread keeps request handlers from ever waiting on it. Consumers get each sample
//! through a callback and keep whatever history they need.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use sysinfo::{CpuRefreshKind, Disks, Networks, RefreshKind, System};

/// GPU figures of one sample, in percent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuSample {
    /// Time a kernel was running (NVML `utilization.gpu`).
    pub compute_percent: f64,
    /// Time device memory was read or written (NVML `utilization.memory`): memory-controller
    /// load, not memory occupancy.
    pub memory_controller_percent: f64,
    /// Device memory in use.
    pub memory_used_percent: f64,
}

/// One load sample; percentages are 0–100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: SystemTime,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub swap_percent: f64,
    /// Use of the file system mounted at `/`.
    pub disk_percent: f64,
    pub network_sent_mb_per_s: f64,
    pub network_received_mb_per_s: f64,
    /// `None` when no NVIDIA GPU can be queried; load formulas count it as 0.
    pub gpu: Option<GpuSample>,
}

/// The GPU as named by its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    pub name: String,
    pub memory_total_bytes: u64,
}

/// What the machine is, for the monitor page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineInfo {
    pub host_name: String,
    pub os: String,
    pub cpu_model: String,
    pub physical_cores: usize,
    pub logical_cpus: usize,
    pub memory_total_bytes: u64,
    pub swap_total_bytes: u64,
    pub gpu: Option<GpuInfo>,
}

/// A running sampler thread; dropping it (or [`LoadSampler::stop`]) ends the thread.
pub struct LoadSampler {
    machine: MachineInfo,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoadSampler {
    /// Probes the machine, then samples every `period` on a new thread, handing each sample to
    /// `observer` (on that thread). Blocking: call it from `spawn_blocking` or before serving.
    ///
    /// # Errors
    /// The OS refusing to start a thread.
    pub fn start(
        period: Duration,
        mut observer: impl FnMut(Sample) + Send + 'static,
    ) -> std::io::Result<Self> {
        let mut probe = Probe::new();
        let machine = probe.machine_info();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("load-sampler".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                    observer(probe.sample(period));
                }
            })?;
        Ok(Self {
            machine,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The machine probed at start.
    pub fn machine(&self) -> &MachineInfo {
        &self.machine
    }

    /// Ends the thread and waits for it (at most one sample's duration). Blocking.
    pub fn stop(mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LoadSampler {
    fn drop(&mut self) {
        // Closing the channel wakes the thread, which exits on its own; never join in drop, which
        // may run on an async worker.
        self.stop.take();
    }
}

/// The sampling state: sysinfo's handles (which compute rates between refreshes) and NVML.
struct Probe {
    system: System,
    disks: Disks,
    networks: Networks,
    gpu: Option<Gpu>,
}

impl Probe {
    fn new() -> Self {
        let mut system = System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::everything()),
        );
        system.refresh_memory();
        Self {
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            gpu: Gpu::open(),
        }
    }

    fn machine_info(&mut self) -> MachineInfo {
        let cpu_model = self
            .system
            .cpus()
            .first()
            .map(|cpu| cpu.brand().trim().to_owned())
            .unwrap_or_default();
        MachineInfo {
            host_name: System::host_name().unwrap_or_else(|| "localhost".to_owned()),
            os: System::long_os_version().unwrap_or_else(|| "unknown".to_owned()),
            cpu_model,
            physical_cores: System::physical_core_count().unwrap_or(0),
            logical_cpus: self.system.cpus().len(),
            memory_total_bytes: self.system.total_memory(),
            swap_total_bytes: self.system.total_swap(),
            gpu: self.gpu.as_ref().map(Gpu::info),
        }
    }

    fn sample(&mut self, period: Duration) -> Sample {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let seconds = period.as_secs_f64().max(f64::EPSILON);
        let (sent, received) = self.networks.values().fold((0u64, 0u64), |(s, r), data| {
            (s + data.transmitted(), r + data.received())
        });
        let disk_percent = self
            .disks
            .iter()
            .find(|d| d.mount_point() == std::path::Path::new("/"))
            .map_or(0.0, |d| {
                percent(
                    d.total_space().saturating_sub(d.available_space()),
                    d.total_space(),
                )
            });
        Sample {
            at: SystemTime::now(),
            cpu_percent: f64::from(self.system.global_cpu_usage()).clamp(0.0, 100.0),
            memory_percent: percent(self.system.used_memory(), self.system.total_memory()),
            swap_percent: percent(self.system.used_swap(), self.system.total_swap()),
            disk_percent,
            network_sent_mb_per_s: megabytes(sent) / seconds,
            network_received_mb_per_s: megabytes(received) / seconds,
            gpu: self.gpu.as_ref().map(Gpu::sample),
        }
    }
}

#[allow(clippy::cast_precision_loss)] // byte counts far below 2^52 are exact enough for a percentage
fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (100.0 * part as f64 / total as f64).clamp(0.0, 100.0)
    }
}

#[allow(clippy::cast_precision_loss)] // see `percent`
fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// GPU 0 through NVML, which `nvml-wrapper` loads with `dlopen` at run time: a machine without
/// the NVIDIA driver simply has no GPU figures.
struct Gpu {
    nvml: nvml_wrapper::Nvml,
}

impl Gpu {
    fn open() -> Option<Self> {
        match nvml_wrapper::Nvml::init() {
            Ok(nvml) => match nvml.device_by_index(0) {
                Ok(_) => Some(Self { nvml }),
                Err(e) => {
                    tracing::info!(cause = %e, "NVML has no GPU 0; GPU load counts as 0");
                    None
                }
            },
            Err(e) => {
                tracing::info!(cause = %e, "no NVIDIA driver library (NVML); GPU load counts as 0");
                None
            }
        }
    }

    fn info(&self) -> GpuInfo {
        let device = self.nvml.device_by_index(0);
        GpuInfo {
            name: device
                .as_ref()
                .ok()
                .and_then(|d| d.name().ok())
                .unwrap_or_else(|| "unknown GPU".to_owned()),
            memory_total_bytes: device
                .as_ref()
                .ok()
                .and_then(|d| d.memory_info().ok())
                .map_or(0, |m| m.total),
        }
    }

    /// A failing query (GPU fallen off the bus, driver reloaded) gives zeros for this sample.
    fn sample(&self) -> GpuSample {
        let Ok(device) = self.nvml.device_by_index(0) else {
            return GpuSample::default();
        };
        let utilization = device.utilization_rates().ok();
        let memory = device.memory_info().ok();
        GpuSample {
            compute_percent: utilization.as_ref().map_or(0.0, |u| f64::from(u.gpu)),
            memory_controller_percent: utilization.as_ref().map_or(0.0, |u| f64::from(u.memory)),
            memory_used_percent: memory.as_ref().map_or(0.0, |m| percent(m.used, m.total)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn samples_are_percentages_and_stop_ends_the_thread() {
        let (sender, samples) = mpsc::channel();
        let sampler = LoadSampler::start(Duration::from_millis(100), move |s| {
            let _ = sender.send(s);
        })
        .unwrap();
        assert!(sampler.machine().logical_cpus >= 1);
        assert!(sampler.machine().memory_total_bytes > 0);
        for _ in 0..2 {
            let s = samples.recv_timeout(Duration::from_secs(10)).unwrap();
            for value in [
                s.cpu_percent,
                s.memory_percent,
                s.swap_percent,
                s.disk_percent,
            ] {
                assert!((0.0..=100.0).contains(&value), "{s:?}");
            }
            assert!(s.memory_percent > 0.0, "{s:?}");
        }
        sampler.stop();
        // The thread is gone, so the sender it owned is dropped and the channel disconnects.
        while samples.recv_timeout(Duration::from_secs(5)).is_ok() {}
        assert!(matches!(
            samples.recv_timeout(Duration::from_millis(10)),
            Err(RecvTimeoutError::Disconnected)
        ));
    }

    #[test]
    fn percent_handles_empty_totals() {
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
