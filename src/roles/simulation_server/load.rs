//! The load figure `GET /load` reports and the session server balances on (doc §3.9): per-second
//! snapshots of the machine plus the simulation counts, ten minutes of history, the formulas of
//! each Webots generation, and the optional `monitor.csv` log.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::core::sync::lock;
use crate::supervisor::Sample;

/// Snapshots kept: ten minutes at one per second, the span of the original's monitor graph.
pub const HISTORY_SNAPSHOTS: usize = 600;

/// Snapshots averaged by the NEW formula (webots-server#17): five seconds smooths out spikes that
/// made session servers flap between servers.
pub const AVERAGED_SNAPSHOTS: usize = 5;

/// Which original's load formula `/load` follows. Config key `loadFormula`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadFormula {
    /// Mean of the last five `max(cpu, (swap% + ram% + gpu memory-controller %)/3, gpu compute %)`.
    #[default]
    New,
    /// Instant `max(cpu, swap%, gpu compute %, gpu memory used %)` (R2022b).
    V2022,
    /// Instant maximum of every monitored figure, counts and MB/s included (R2019–R2021).
    V2019,
}

/// One second of the machine plus what the server was running then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub sample: Sample,
    pub running: usize,
    pub idle: usize,
}

impl Snapshot {
    /// The eleven figures V2019's load formula takes the maximum of, which are also the columns of
    /// `monitor.csv` after the timestamp, in its order.
    #[allow(clippy::cast_precision_loss)] // simulation counts are tiny
    fn figures(&self) -> [f64; 11] {
        let m = &self.sample;
        let gpu = m.gpu.unwrap_or_default();
        [
            self.running as f64,
            self.idle as f64,
            m.cpu_percent,
            m.memory_percent,
            gpu.compute_percent,
            gpu.memory_controller_percent,
            gpu.memory_used_percent,
            m.swap_percent,
            m.disk_percent,
            m.network_sent_mb_per_s,
            m.network_received_mb_per_s,
        ]
    }
}

impl LoadFormula {
    #[allow(clippy::cast_precision_loss)] // simulation counts are tiny
    fn instant(self, s: &Snapshot) -> f64 {
        let m = &s.sample;
        let gpu = m.gpu.unwrap_or_default();
        match self {
            LoadFormula::New => m
                .cpu_percent
                .max((m.swap_percent + m.memory_percent + gpu.memory_controller_percent) / 3.0)
                .max(gpu.compute_percent),
            LoadFormula::V2022 => m
                .cpu_percent
                .max(m.swap_percent)
                .max(gpu.compute_percent)
                .max(gpu.memory_used_percent),
            LoadFormula::V2019 => s.figures().into_iter().fold(0.0, f64::max),
        }
    }

    /// The load over `history` (oldest first); 0 before the first sample.
    #[allow(clippy::cast_precision_loss)] // at most five values
    pub fn current(self, history: &VecDeque<Snapshot>) -> f64 {
        match self {
            LoadFormula::New => {
                let recent: Vec<f64> = history
                    .iter()
                    .rev()
                    .take(AVERAGED_SNAPSHOTS)
                    .map(|s| self.instant(s))
                    .collect();
                if recent.is_empty() {
                    0.0
                } else {
                    recent.iter().sum::<f64>() / recent.len() as f64
                }
            }
            LoadFormula::V2022 | LoadFormula::V2019 => {
                history.back().map_or(0.0, |s| self.instant(s))
            }
        }
    }
}

/// The shared history: written by the sampler thread, read by request handlers. The lock is held
/// only to copy or push, never across I/O.
pub struct LoadHistory {
    formula: LoadFormula,
    snapshots: Mutex<VecDeque<Snapshot>>,
}

impl LoadHistory {
    pub fn new(formula: LoadFormula) -> Self {
        Self {
            formula,
            snapshots: Mutex::new(VecDeque::with_capacity(HISTORY_SNAPSHOTS)),
        }
    }

    pub fn record(&self, snapshot: Snapshot) {
        let mut snapshots = lock(&self.snapshots);
        if snapshots.len() == HISTORY_SNAPSHOTS {
            snapshots.pop_front();
        }
        snapshots.push_back(snapshot);
    }

    /// The figure `/load` reports.
    /// Never NaN or infinite (a sensor that reports nonsense counts as 0), so every peer can parse
    /// the `/load` body.
    pub fn current(&self) -> f64 {
        let load = self.formula.current(&lock(&self.snapshots));
        if load.is_finite() {
            load.max(0.0)
        } else {
            0.0
        }
    }

    /// The instant load of each snapshot, oldest first, with the snapshot, for the monitor graph.
    pub fn series(&self) -> Vec<(Snapshot, f64)> {
        lock(&self.snapshots)
            .iter()
            .map(|s| (*s, self.formula.instant(s)))
            .collect()
    }
}

/// `<logDir>/simulation/monitor.csv`, with the original's header, appended on the sampler thread.
pub struct MonitorCsv {
    file: std::fs::File,
}

/// The original's header line.
/// Decimals of each of [`Snapshot::figures`] in `monitor.csv`, as the original writes them.
const CSV_DECIMALS: [usize; 11] = [0, 0, 1, 1, 1, 1, 1, 1, 1, 3, 3];

const CSV_HEADER: &str = "Timestamp, Webots running, Webots idle, CPU load, CPU memory, GPU load compute, GPU load memory, GPU memory, Swap, Disk, Network sent, Network received";

impl MonitorCsv {
    /// Opens (appending) or creates the file, writing the header to a new one.
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn open(log_dir: &Path) -> std::io::Result<Self> {
        let dir = log_dir.join("simulation");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("monitor.csv");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        if file.metadata()?.len() == 0 {
            writeln!(file, "{CSV_HEADER}")?;
        }
        Ok(Self { file })
    }

    pub fn append(&mut self, s: &Snapshot) {
        let timestamp = s
            .sample
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut line = format!("{timestamp:.0}");
        for (figure, decimals) in s.figures().into_iter().zip(CSV_DECIMALS) {
            line.push_str(&format!(", {figure:.decimals$}"));
        }
        if let Err(e) = writeln!(self.file, "{line}") {
            tracing::warn!(cause = %e, "cannot append to monitor.csv");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::GpuSample;

    fn snapshot(cpu: f64, memory: f64, swap: f64, gpu: Option<GpuSample>) -> Snapshot {
        Snapshot {
            sample: Sample {
                at: UNIX_EPOCH,
                cpu_percent: cpu,
                memory_percent: memory,
                swap_percent: swap,
                disk_percent: 70.0,
                network_sent_mb_per_s: 0.5,
                network_received_mb_per_s: 0.5,
                gpu,
            },
            running: 2,
            idle: 1,
        }
    }

    #[test]
    fn new_formula_averages_the_last_five() {
        let history: VecDeque<Snapshot> = (0..7)
            .map(|i| snapshot(f64::from(i) * 10.0, 30.0, 0.0, None))
            .collect();
        // Last five CPU values 20..60 dominate (ram+swap)/3 = 10; mean = 40.
        assert_eq!(LoadFormula::New.current(&history), 40.0);
        assert_eq!(LoadFormula::New.current(&VecDeque::new()), 0.0);
    }

    #[test]
    fn new_formula_uses_memory_controller_and_compute() {
        let gpu = GpuSample {
            compute_percent: 5.0,
            memory_controller_percent: 90.0,
            memory_used_percent: 99.0,
        };
        let history = VecDeque::from([snapshot(10.0, 60.0, 30.0, Some(gpu))]);
        assert_eq!(LoadFormula::New.current(&history), 60.0);
        assert_eq!(LoadFormula::V2022.current(&history), 99.0);
        assert_eq!(LoadFormula::V2019.current(&history), 99.0);
    }

    #[test]
    fn old_formula_mixes_every_figure() {
        let history = VecDeque::from([snapshot(1.0, 2.0, 3.0, None)]);
        assert_eq!(LoadFormula::V2019.current(&history), 70.0); // the disk
        assert_eq!(LoadFormula::V2022.current(&history), 3.0);
    }

    #[test]
    fn history_is_bounded() {
        let history = LoadHistory::new(LoadFormula::New);
        for _ in 0..HISTORY_SNAPSHOTS + 10 {
            history.record(snapshot(1.0, 1.0, 1.0, None));
        }
        assert_eq!(history.series().len(), HISTORY_SNAPSHOTS);
    }
}
