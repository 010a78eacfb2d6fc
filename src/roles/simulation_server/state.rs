//! What the handlers share: the config, the simulator port pool and its waiting line, the sockets
//! awaiting their start message, the table of client sessions, the load history, the instance
//! directories' root, and the shutdown token and task tracker.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::arrivals::Arrivals;
use super::config::Config;
use super::load::{LoadHistory, MonitorCsv, Snapshot};
use super::ports::PortPool;
use super::waiting_line::WaitingLine;
use super::webots_version::{self, WebotsVersion};
use crate::core::metrics::{self, Registry};
use crate::core::sync::lock;
use crate::supervisor::{MachineInfo, Sample};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct State {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

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
    sessions_ended: Family<Outcome, Counter>,
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
        registry: &mut Registry,
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
        metrics::scraped(registry, &sessions, |sessions, figures| {
            let (running, idle) = sessions.counts();
            figures.gauges(
                "simulations",
                "Simulations by state (running includes starting)",
                None,
                [
                    (State { state: "running" }, running),
                    (State { state: "idle" }, idle),
                ],
            )
        });
        let ports = Arc::new(PortPool::new(first_simulator_port, config.max_connections));
        let line = Arc::new(WaitingLine::new(
            Arc::clone(&ports),
            config.max_queue_length,
        ));
        metrics::scraped(registry, &line, |line, figures| {
            figures.gauge(
                "simulation_queue_length",
                "Clients waiting in line for a simulator",
                None,
                line.len(),
            )
        });
        let sessions_ended = Family::default();
        registry.register(
            "simulation_sessions",
            "Client sessions ended, by outcome",
            sessions_ended.clone(),
        );
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
            sessions_ended,
            started: SystemTime::now(),
            webots_version,
        }))
    }

    /// Counts one client session ended (client_left, shutdown, failed or no_start).
    pub fn count_session_end(&self, outcome: &'static str) {
        self.sessions_ended
            .get_or_create(&Outcome { outcome })
            .inc();
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
