//! What the handlers share: the config, the simulator port pool and its waiting line, the sockets
//! awaiting their start message, the table of client sessions, the load history, the instance
//! directories' root, and the shutdown token and task tracker.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::arrivals::Arrivals;
use super::config::Config;
use super::load::{LoadHistory, MonitorCsv, Snapshot};
use super::waiting_line::WaitingLine;
use super::webots_version::{self, WebotsVersion};
use crate::core::metrics::Metrics;
use crate::core::sync::lock;
use crate::supervisor::{MachineInfo, Sample};

/// Numbers the default instances roots of servers sharing one process (tests run several).
static SERVER_SEQUENCE: AtomicU64 = AtomicU64::new(0);

pub struct AppState {
    pub config: Config,
    /// The simulator slots: `maxConnections` ports, one per running simulation.
    pub ports: Arc<PortPool>,
    /// Clients that sent `start` while every port was taken.
    pub line: Arc<WaitingLine>,
    /// Sockets that have not sent `start` yet: they hold no port.
    pub arrivals: Arc<Arrivals>,
    pub sessions: Arc<Sessions>,
    pub load: Arc<LoadHistory>,
    /// Parent of the per-client instance directories.
    pub instances_root: PathBuf,
    /// Whether `instances_root` was made for this server alone (the default) and so is removed at
    /// shutdown; a configured `instancesDir` is never removed, only the directories made in it.
    owns_instances_root: bool,
    machine: OnceLock<MachineInfo>,
    next_session: AtomicU64,
    /// Cancelled when the server stops: every session stops its simulator and returns.
    pub stop: CancellationToken,
    /// Every session task, so shutdown can wait for all of them.
    pub tracker: TaskTracker,
    pub metrics: Arc<Metrics>,
    pub started: SystemTime,
    /// The release launched outside compose mode: `webotsVersion`, else the install's
    /// `resources/version.txt`; `None` when neither says.
    pub webots_version: Option<WebotsVersion>,
}

impl AppState {
    /// # Errors
    /// The instances directory cannot be created.
    pub async fn new(
        config: Config,
        first_simulator_port: u16,
        stop: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Arc<Self>> {
        let (instances_root, owns_instances_root) = match &config.instances_dir {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir()
                    .join("gltf-cloud")
                    .join(format!(
                        "simulation-{}-{}",
                        std::process::id(),
                        SERVER_SEQUENCE.fetch_add(1, Ordering::Relaxed)
                    ))
                    .join("instances"),
                true,
            ),
        };
        tokio::fs::create_dir_all(&instances_root).await?;
        let webots_version = match config.webots_version {
            Some(version) => Some(version),
            None => webots_version::installed(&config.webots_home()).await,
        };
        let sessions = Arc::new(Sessions::default());
        let gauges = Arc::clone(&sessions);
        metrics.add_collector(move |m| {
            let (running, idle) = gauges.counts();
            let help = "Simulations by state (running includes starting).";
            #[allow(clippy::cast_precision_loss)]
            {
                m.gauge_set("simulations", help, &[("state", "running")], running as f64);
                m.gauge_set("simulations", help, &[("state", "idle")], idle as f64);
            }
        });
        let ports = Arc::new(PortPool::new(first_simulator_port, config.max_connections));
        let line = Arc::new(WaitingLine::new(
            Arc::clone(&ports),
            config.max_queue_length,
        ));
        let waiting = Arc::clone(&line);
        metrics.add_collector(move |m| {
            #[allow(clippy::cast_precision_loss)]
            m.gauge_set(
                "simulation_queue_length",
                "Clients waiting in line for a simulator.",
                &[],
                waiting.len() as f64,
            );
        });
        Ok(Arc::new(Self {
            ports,
            line,
            arrivals: Arc::new(Arrivals::new(config.max_clients_awaiting_start)),
            load: Arc::new(LoadHistory::new(config.load_formula)),
            sessions,
            config,
            instances_root,
            owns_instances_root,
            machine: OnceLock::new(),
            next_session: AtomicU64::new(1),
            stop,
            tracker: TaskTracker::new(),
            metrics,
            started: SystemTime::now(),
            webots_version,
        }))
    }

    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    pub fn set_machine(&self, machine: MachineInfo) {
        let _ = self.machine.set(machine);
    }

    pub fn machine(&self) -> Option<&MachineInfo> {
        self.machine.get()
    }

    /// The sampler's callback: records a snapshot with the current simulation counts and appends
    /// it to `monitor.csv` when enabled. Runs on the sampler thread, so file I/O is fine there.
    pub fn load_observer(&self) -> impl FnMut(Sample) + Send + 'static {
        let history = Arc::clone(&self.load);
        let sessions = Arc::clone(&self.sessions);
        let csv_dir = self
            .config
            .server
            .log_dir
            .clone()
            .filter(|_| self.config.monitor_log_enabled);
        let mut csv: Option<MonitorCsv> = None;
        let mut csv_failed = false;
        move |sample| {
            let (running, idle) = sessions.counts();
            let snapshot = Snapshot {
                sample,
                running,
                idle,
            };
            history.record(snapshot);
            if let (Some(dir), false) = (&csv_dir, csv_failed) {
                if csv.is_none() {
                    match MonitorCsv::open(dir) {
                        Ok(file) => csv = Some(file),
                        Err(e) => {
                            csv_failed = true;
                            tracing::warn!(cause = %e, "cannot open monitor.csv; not logging load");
                        }
                    }
                }
                if let Some(csv) = csv.as_mut() {
                    csv.append(&snapshot);
                }
            }
        }
    }

    /// Removes the default instances root (made for this server alone) once all sessions ended.
    pub async fn remove_instances_root(&self) {
        if self.owns_instances_root {
            if let Some(server_dir) = self.instances_root.parent() {
                if let Err(e) = tokio::fs::remove_dir_all(server_dir).await {
                    tracing::warn!(dir = %server_dir.display(), cause = %e, "cannot remove instances root");
                }
            }
        }
    }
}

/// Simulator ports `first … first+count−1`, each tested with a bind before it is handed out.
#[derive(Debug)]
pub struct PortPool {
    /// Kept as `u32` so a range ending at port 65535 needs no special case.
    ports: std::ops::Range<u32>,
    held: Mutex<BTreeSet<u16>>,
    /// Bumped each time a port is given back, for the clients waiting in line.
    released: watch::Sender<u64>,
}

/// A port handed to one session; dropping it returns the port.
#[derive(Debug)]
pub struct PortLease {
    pub port: u16,
    pool: Arc<PortPool>,
}

impl PortPool {
    pub fn new(first: u16, count: u16) -> Self {
        let first = u32::from(first);
        Self {
            ports: first..(first + u32::from(count)).min(u32::from(u16::MAX) + 1),
            held: Mutex::new(BTreeSet::new()),
            released: watch::Sender::new(0),
        }
    }

    /// Sees each port given back from now on.
    pub fn watch_releases(&self) -> watch::Receiver<u64> {
        self.released.subscribe()
    }

    /// The lowest port not held by a session and free to bind on all interfaces (the simulator
    /// binds it), or `None` when the range is exhausted.
    pub fn acquire(self: &Arc<Self>) -> Option<PortLease> {
        let mut held = lock(&self.held);
        let port = self
            .ports
            .clone()
            .filter_map(|p| u16::try_from(p).ok())
            .find(|p| !held.contains(p) && std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok())?;
        held.insert(port);
        Some(PortLease {
            port,
            pool: Arc::clone(self),
        })
    }

    /// Whether a port is not held by a session (its bind is tested only when it is handed out):
    /// the simulation server's readiness.
    pub fn has_free(&self) -> bool {
        self.free() > 0
    }

    /// Ports not held by a session (some may still be taken by other processes).
    pub fn free(&self) -> usize {
        self.ports.len().saturating_sub(lock(&self.held).len())
    }

    /// The size of the range, for error messages.
    pub fn capacity(&self) -> u16 {
        u16::try_from(self.ports.len()).unwrap_or(u16::MAX)
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        lock(&self.pool.held).remove(&self.port);
        self.pool
            .released
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

/// What a session's simulator is doing, from its output (`pause` → idle, `real-time`/`step` →
/// running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulationState {
    /// Setting up the project or waiting for the readiness marker.
    Starting,
    Running,
    Idle,
}

impl SimulationState {
    pub fn label(self) -> &'static str {
        match self {
            SimulationState::Starting => "starting",
            SimulationState::Running => "running",
            SimulationState::Idle => "idle",
        }
    }
}

/// One session, as the monitor page lists it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub url: String,
    pub port: u16,
    pub state: SimulationState,
    pub since: SystemTime,
    /// compose mode: the session's containers, as compose's output named them.
    pub containers: Vec<String>,
}

/// The table of sessions with a simulator (or one being prepared).
#[derive(Default)]
pub struct Sessions(Mutex<BTreeMap<u64, SessionInfo>>);

impl Sessions {
    pub fn insert(&self, id: u64, info: SessionInfo) {
        lock(&self.0).insert(id, info);
    }

    pub fn set_state(&self, id: u64, state: SimulationState) {
        if let Some(info) = lock(&self.0).get_mut(&id) {
            info.state = state;
        }
    }

    /// Records a container of the session once (compose mode).
    pub fn add_container(&self, id: u64, container: &str) {
        if let Some(info) = lock(&self.0).get_mut(&id) {
            if !info.containers.iter().any(|c| c == container) {
                info.containers.push(container.to_owned());
            }
        }
    }

    pub fn remove(&self, id: u64) {
        lock(&self.0).remove(&id);
    }

    /// (running including starting, idle).
    pub fn counts(&self) -> (usize, usize) {
        let sessions = lock(&self.0);
        let idle = sessions
            .values()
            .filter(|s| s.state == SimulationState::Idle)
            .count();
        (sessions.len() - idle, idle)
    }

    pub fn list(&self) -> Vec<(u64, SessionInfo)> {
        lock(&self.0)
            .iter()
            .map(|(id, s)| (*id, s.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ports_skip_held_and_busy_ones_and_run_out() {
        // A range of three around a port held here: whatever other processes hold next to it,
        // the held port is never handed out, a port is never handed out twice, and the range
        // runs out after at most the two others.
        let probe = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let busy_port = probe.local_addr().unwrap().port();
        let pool = Arc::new(PortPool::new(busy_port - 1, 3));
        assert_eq!(pool.capacity(), 3);
        let leases: Vec<PortLease> = std::iter::from_fn(|| pool.acquire()).collect();
        assert!(leases.len() <= 2);
        assert!(leases.iter().all(|lease| lease.port != busy_port));
        if let [a, b] = &leases[..] {
            assert_ne!(a.port, b.port);
        }
        let first = leases.first().map(|lease| lease.port);
        drop(leases);
        assert_eq!(
            pool.acquire().map(|lease| lease.port),
            first,
            "freed ports come back"
        );
    }

    #[test]
    fn a_range_may_end_at_the_last_port() {
        assert_eq!(PortPool::new(u16::MAX, 5).capacity(), 1);
    }

    #[test]
    fn zero_capacity_pool_is_always_exhausted() {
        let pool = Arc::new(PortPool::new(40000, 0));
        assert!(pool.acquire().is_none());
        assert_eq!(pool.capacity(), 0);
    }
}
