//! One `/client` WebSocket session: wait for `start` or `init`, take a port, prepare the project,
//! launch the simulator, announce it when ready, relay heartbeats and `reset controller`, and on
//! any ending (client gone, simulator gone, time limit, server shutdown) stop the simulator's
//! process group, remove the instance directory and give the port back.
//!
//! Every failure the client can see is sent as `loading: Error: <reason>` before the socket is
//! closed, which the web client shows; the original left the client waiting instead (doc §3.7).
//!
//! Over 600 lines on purpose: the session is one `select!` loop over the socket, the simulator's
//! output and the deadlines, and its steps share that loop's state; the parts that stand alone
//! (project set-up, launch, compose, output capping) are already in their own modules.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::ws::{Message, WebSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::compose::{self, DockerMode};
use super::config::Config;
use super::launch::{self, LaunchValues};
use super::project::{self, AccessRules, GitSettings, GithubWorld, Project, SetupError};
use super::state::{AppState, PortLease, SessionInfo, SimulationState};
use crate::core::config::config_key;
use crate::core::limits;
use crate::core::quote::quote;
use crate::protocol::webots::client::{self as protocol, ClientMessage, ProtocolError};
use crate::supervisor::{CommandSpec, OutputLog, ProcessGroup};

/// Simulator output lines quoted when it fails: enough to show a Webots error message.
const TAIL_LINES: usize = 5;

/// How a session ended.
enum End {
    /// The client closed the socket or went away.
    ClientLeft,
    /// The server is shutting down.
    Shutdown,
    /// A failure to report to the client.
    Failed(String),
}

impl From<ProtocolError> for End {
    fn from(e: ProtocolError) -> Self {
        End::Failed(e.to_string())
    }
}

impl From<SetupError> for End {
    fn from(e: SetupError) -> Self {
        End::Failed(e.to_string())
    }
}

/// What the client asked to run.
enum StartRequest {
    Start { url: String, mode: Option<String> },
    Init(protocol::InitRequest),
}

impl StartRequest {
    fn describe(&self) -> String {
        match self {
            StartRequest::Start { url, .. } => url.clone(),
            StartRequest::Init(init) => format!("init {}/{}", init.project, init.world),
        }
    }
}

/// Runs one client's session to its end, cleaning up everything it made.
/// `public_host` is the host name to put in the `webots:` URL.
pub async fn serve(
    mut socket: WebSocket,
    state: Arc<AppState>,
    peer: SocketAddr,
    public_host: String,
) {
    if state.stop.is_cancelled() {
        return;
    }
    // Held for the whole session: every `/client` socket counts against `maxConnections`.
    let Ok(_client) = Arc::clone(&state.clients).try_acquire_owned() else {
        tracing::warn!(%peer, max = state.ports.capacity(), "{}", protocol::TOO_MANY_CONNECTIONS);
        let _ = socket
            .send(text(protocol::error_frame(protocol::TOO_MANY_CONNECTIONS)))
            .await;
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let id = state.next_session_id();
    let span = tracing::info_span!("client", id, %peer);
    let mut session = Session {
        id,
        socket,
        state,
        instance: None,
        simulator: None,
        port: None,
        public_host,
        compose: None,
        output_log: simulator_output_log(),
    };
    async move {
        tracing::info!("client connected");
        let end = session.run().await;
        session.finish(end).await;
    }
    .instrument(span)
    .await;
}

struct Session {
    id: u64,
    socket: WebSocket,
    state: Arc<AppState>,
    instance: Option<PathBuf>,
    simulator: Option<ProcessGroup>,
    port: Option<PortLease>,
    public_host: String,
    /// compose mode: the project to take down when the session ends.
    compose: Option<compose::ComposeProject>,
    /// What of the simulator's output reaches the log.
    output_log: OutputLog,
}

impl Session {
    async fn run(&mut self) -> End {
        let request = match self.wait_for_start().await {
            Ok(request) => request,
            Err(end) => return end,
        };
        let Some(port) = self.state.ports.acquire() else {
            tracing::warn!(
                max = self.state.ports.capacity(),
                "{}",
                protocol::TOO_MANY_CONNECTIONS
            );
            return End::Failed(protocol::TOO_MANY_CONNECTIONS.to_owned());
        };
        let port_number = port.port;
        self.port = Some(port);
        self.state.sessions.insert(
            self.id,
            SessionInfo {
                url: request.describe(),
                port: port_number,
                state: SimulationState::Starting,
                since: SystemTime::now(),
                containers: Vec::new(),
            },
        );
        let instance = match create_instance_dir(&self.state.instances_root, self.id).await {
            Ok(dir) => dir,
            Err(e) => {
                tracing::error!(root = %self.state.instances_root.display(), cause = %e, "cannot create instance directory");
                return End::Failed("cannot create the instance directory".to_owned());
            }
        };
        self.instance = Some(instance.clone());
        let project = match self.prepare(&request, &instance).await {
            Ok(project) => project,
            Err(end) => return end,
        };
        let mode = match &request {
            StartRequest::Start { mode, .. } => mode.clone(),
            StartRequest::Init(_) => None,
        };
        self.simulate(&project, &instance, port_number, mode.as_deref())
            .await
    }

    /// Reads frames until a start or init message; other objects are ignored as the original did.
    /// A socket that sends none within `clientStartTimeoutSeconds` is told so and closed.
    async fn wait_for_start(&mut self) -> Result<StartRequest, End> {
        let limit = self.state.config.client_start_timeout();
        let deadline = Instant::now() + limit;
        loop {
            let message = tokio::select! {
                () = self.state.stop.cancelled() => return Err(End::Shutdown),
                () = tokio::time::sleep_until(deadline) => {
                    return Err(End::Failed(format!(
                        "no start message within {} s ({})",
                        limit.as_secs_f64(),
                        config_key!(Config, client_start_timeout_seconds)
                    )));
                }
                message = self.socket.recv() => message,
            };
            match client_frame(message)? {
                Some(ClientMessage::Start { url, mode }) => {
                    let mode = mode.filter(|m| {
                        let known = protocol::MODES.contains(&m.as_str());
                        if !known {
                            tracing::warn!(mode = %m, "unsupported streaming mode; using the default");
                        }
                        known
                    });
                    return Ok(StartRequest::Start { url, mode });
                }
                Some(ClientMessage::Init(init)) => return Ok(StartRequest::Init(init)),
                Some(ClientMessage::ResetController(_)) => {
                    return Err(End::Failed("no simulation is running".to_owned()));
                }
                Some(ClientMessage::Other) | None => {}
            }
        }
    }

    /// Sets up the project while watching for the client leaving and for shutdown; a cancelled
    /// `git` is killed with its group when its future is dropped.
    async fn prepare(&mut self, request: &StartRequest, instance: &Path) -> Result<Project, End> {
        let state = Arc::clone(&self.state);
        let setup = prepare_project(&state, request, instance);
        tokio::pin!(setup);
        loop {
            tokio::select! {
                result = &mut setup => return result.map_err(End::from),
                () = self.state.stop.cancelled() => return Err(End::Shutdown),
                message = self.socket.recv() => match client_frame(message)? {
                    Some(ClientMessage::Start { .. } | ClientMessage::Init(_)) => {
                        tracing::warn!("second start message ignored");
                    }
                    Some(ClientMessage::ResetController(_)) => {
                        return Err(End::Failed("no simulation is running".to_owned()));
                    }
                    Some(ClientMessage::Other) | None => {}
                },
            }
        }
    }

    async fn simulate(
        &mut self,
        project: &Project,
        instance: &Path,
        port: u16,
        mode: Option<&str>,
    ) -> End {
        let config = &self.state.config;
        let webots = config.webots_home().join("webots");
        let argv = launch::expand(
            &config.launch_template(),
            &LaunchValues {
                webots: &webots,
                port,
                mode,
                world: &project.world,
                project: &project.dir,
                instance,
                style: config.launch_style,
            },
        );
        tracing::info!(?argv, "launching simulator");
        let mut spec = CommandSpec {
            argv,
            cwd: Some(instance.to_owned()),
            env: Vec::new(),
        };
        // compose hook: a compose project per client replaces the launch template.
        if config.docker == DockerMode::Compose {
            let launch = compose::Launch {
                session: self.id,
                port,
                mode,
                project: &project.dir,
                world: &project.world,
            };
            let server_id = config.compose_server_id.as_deref().unwrap_or_default();
            let written = match compose::write_project(config, server_id, launch).await {
                Ok(written) => written,
                Err(e) => return End::Failed(e.to_string()),
            };
            for frame in &written.frames {
                if self.socket.send(text(frame.clone())).await.is_err() {
                    return End::ClientLeft;
                }
            }
            spec = written.up_command(config);
            tracing::info!(project = %written.name, env = ?written.env, argv = ?spec.argv, "launching compose project");
            self.compose = Some(written);
        }
        let (simulator, mut lines) = match ProcessGroup::spawn(&spec) {
            Ok(started) => started,
            Err(e) => {
                tracing::error!(cause = %e, "cannot launch simulator");
                return End::Failed(format!("cannot launch the simulator: {e}"));
            }
        };
        tracing::info!(pid = simulator.id(), port, "simulator started");
        let simulator = self.simulator.insert(simulator);
        let timeout_s = config.effective_timeout_s();
        if self
            .socket
            .send(text(protocol::shutdown_timeout_frame(timeout_s)))
            .await
            .is_err()
        {
            return End::ClientLeft;
        }
        let style = config.launch_style;
        let startup_deadline = Instant::now() + config.startup_timeout();
        let run_deadline = Instant::now() + Duration::from_secs(timeout_s);
        let webots_frame =
            protocol::webots_frame(config.ssl(), config.port_rewrite, &self.public_host, port);
        let mut tail = OutputTail::default();
        let mut ready = false;
        let mut lines_open = true;
        loop {
            tokio::select! {
                () = self.state.stop.cancelled() => return End::Shutdown,
                message = self.socket.recv() => match client_frame(message) {
                    Err(end) => return end,
                    Ok(Some(ClientMessage::ResetController(path))) => {
                        if let Err(e) = project::reset_controller(project, &path).await {
                            return End::Failed(e.to_string());
                        }
                        tracing::info!(%path, "controller reset");
                        if self.socket.send(text(protocol::reset_controller_frame(&path))).await.is_err() {
                            return End::ClientLeft;
                        }
                    }
                    Ok(Some(ClientMessage::Start { .. } | ClientMessage::Init(_))) => {
                        tracing::warn!("second start message ignored");
                    }
                    Ok(Some(ClientMessage::Other) | None) => {}
                },
                line = lines.recv(), if lines_open => {
                    let Some(line) = line else {
                        lines_open = false;
                        continue;
                    };
                    log_output(&mut self.output_log, &line);
                    tail.push(&line);
                    // compose hook: compose's own lines are progress; the Webots service's lines
                    // lose their prefix and are then handled as a bare Webots's.
                    let line = match &self.compose {
                        None => line,
                        Some(compose) => {
                            let seen = compose.watcher.see(&line, ready);
                            for container in &seen.containers {
                                self.state.sessions.add_container(self.id, container);
                            }
                            if let Some(frame) = seen.loading {
                                if self.socket.send(text(frame)).await.is_err() {
                                    return End::ClientLeft;
                                }
                            }
                            if let Some(reason) = seen.error {
                                return End::Failed(reason);
                            }
                            match seen.webots {
                                Some(webots) => webots.to_owned(),
                                None => continue,
                            }
                        }
                    };
                    let frame = if ready {
                        follow(&self.state, self.id, &line)
                    } else if style.is_ready_line(&line) {
                        ready = true;
                        self.state.sessions.set_state(self.id, SimulationState::Running);
                        tracing::info!(url = %webots_frame, "simulator ready");
                        Some(webots_frame.clone())
                    } else {
                        None
                    };
                    if let Some(frame) = frame {
                        if self.socket.send(text(frame)).await.is_err() {
                            return End::ClientLeft;
                        }
                    }
                }
                status = simulator.wait() => {
                    let status = match status {
                        Ok(status) => status.to_string(),
                        Err(e) => e.to_string(),
                    };
                    // Stop the rest of the group so the pipes close, then read what is left.
                    simulator.stop(config.stop_grace()).await;
                    drain(&mut lines, &mut tail, &mut self.output_log).await;
                    // compose hook: a missing image may show only in the last lines read.
                    let missing_image = self.compose.as_ref().filter(|_| !ready).and_then(|compose| {
                        tail.0.iter().find_map(|line| compose.watcher.see(line, false).error)
                    });
                    if let Some(reason) = missing_image {
                        return End::Failed(reason);
                    }
                    let when = if ready { "" } else { " before it was ready" };
                    tracing::warn!(%status, ready, "simulator exited");
                    return End::Failed(format!("the simulator exited{when} ({status}){}", tail.quote()));
                }
                () = tokio::time::sleep_until(startup_deadline), if !ready => {
                    return End::Failed(format!(
                        "the simulator was not ready within {} s{}",
                        config.startup_timeout().as_secs(),
                        tail.quote()
                    ));
                }
                () = tokio::time::sleep_until(run_deadline) => {
                    return End::Failed(format!("the simulation reached its time limit of {timeout_s} s"));
                }
            }
        }
    }

    /// Reports the ending to the client, then stops the simulator, removes the instance directory
    /// and releases the port, in that order (the simulator may hold files in the directory).
    async fn finish(mut self, end: End) {
        let outcome = match &end {
            End::ClientLeft => "client_left",
            End::Shutdown => "shutdown",
            End::Failed(_) => "failed",
        };
        match end {
            End::Failed(reason) => {
                tracing::info!(%reason, "session failed");
                let _ = self.socket.send(text(protocol::error_frame(&reason))).await;
                let _ = self.socket.send(Message::Close(None)).await;
            }
            End::Shutdown => {
                let _ = self.socket.send(Message::Close(None)).await;
            }
            End::ClientLeft => tracing::info!("client left"),
        }
        // compose hook: the containers first, which the `compose up` client never removes.
        if let Some(compose) = self.compose.take() {
            compose::cleanup::down(&self.state.config, &compose.name).await;
        }
        if let Some(mut simulator) = self.simulator.take() {
            let stopped = simulator.stop(self.state.config.stop_grace()).await;
            tracing::info!(status = ?stopped.status, killed = stopped.killed, "simulator stopped");
        }
        if let Some(left_out) = self.output_log.flush() {
            log_left_out(left_out);
        }
        if let Some(instance) = self.instance.take() {
            if let Err(e) = tokio::fs::remove_dir_all(&instance).await {
                tracing::warn!(dir = %instance.display(), cause = %e, "cannot remove instance directory");
            }
        }
        self.state.sessions.remove(self.id);
        self.port.take();
        self.state.metrics.counter_add(
            "simulation_sessions_total",
            "Client sessions ended, by outcome.",
            &[("outcome", outcome)],
            1.0,
        );
    }
}

/// Attempts at a fresh instance directory name before giving up.
const INSTANCE_NAME_ATTEMPTS: u32 = 100;

/// Creates `<root>/<id>`, or `<root>/<id>-<n>` when a directory of that name is left over from an
/// earlier run in a configured (shared) `instancesDir`, which this server never wipes.
async fn create_instance_dir(root: &Path, id: u64) -> std::io::Result<PathBuf> {
    let mut last_error = None;
    for attempt in 0..INSTANCE_NAME_ATTEMPTS {
        let name = if attempt == 0 {
            id.to_string()
        } else {
            format!("{id}-{attempt}")
        };
        let dir = root.join(name);
        match tokio::fs::create_dir(&dir).await {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free instance directory name")))
}

/// Interprets a line after readiness: relays heartbeats and tracks idle/running.
fn follow(state: &AppState, id: u64, line: &str) -> Option<String> {
    match line.trim() {
        protocol::HEARTBEAT => Some(protocol::HEARTBEAT.to_owned()),
        "pause" => {
            state.sessions.set_state(id, SimulationState::Idle);
            None
        }
        "real-time" | "step" => {
            state.sessions.set_state(id, SimulationState::Running);
            None
        }
        _ => None,
    }
}

/// Checks access and prepares the project for a start or init request.
async fn prepare_project(
    state: &AppState,
    request: &StartRequest,
    instance: &Path,
) -> Result<Project, SetupError> {
    let config = &state.config;
    let projects_dir = config.projects_dir();
    match request {
        StartRequest::Start { url, .. } if url.starts_with("file://") => {
            project::copy_file_project(url, Some(&projects_dir), instance).await
        }
        StartRequest::Start { url, .. } => {
            let world = GithubWorld::parse(url)?;
            AccessRules {
                allowed: config.allowed_repositories.as_deref(),
                blocked: &config.blocked_repositories,
                isolated: config.docker.isolates(),
                share_idle_time: config.share_idle_time,
            }
            .check(url, state.load.current())?;
            let git = GitSettings {
                base_url: config.git_base_url.clone(),
                timeout: config.git_timeout(),
                stop_grace: config.stop_grace(),
            };
            project::fetch_github(&world, instance, &git).await
        }
        StartRequest::Init(init) => {
            if !init.user1_id.is_empty() {
                tracing::warn!("init with a user id: robotbenchmark downloads are not supported; using the default project files");
            }
            project::copy_init_project(
                &init.project,
                &init.world,
                &init.host,
                Some(&projects_dir),
                instance,
            )
            .await
        }
    }
}

/// Turns a received frame into a message: `Ok(None)` for control frames, `Err(End)` when the
/// client is gone or sent something malformed.
fn client_frame(frame: Option<Result<Message, axum::Error>>) -> Result<Option<ClientMessage>, End> {
    match frame {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(End::ClientLeft),
        Some(Ok(Message::Text(text))) => Ok(Some(protocol::parse(text.as_str())?)),
        Some(Ok(Message::Binary(_))) => Err(ProtocolError::Binary.into()),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
    }
}

fn text(frame: String) -> Message {
    Message::Text(frame.into())
}

/// Reads lines still buffered after the simulator exited, for a bounded time (a grandchild
/// holding the pipe open would otherwise keep it open forever).
async fn drain(
    lines: &mut mpsc::Receiver<String>,
    tail: &mut OutputTail,
    output_log: &mut OutputLog,
) {
    let deadline = Instant::now() + limits::SIMULATOR_OUTPUT_DRAIN;
    while let Ok(Some(line)) = tokio::time::timeout_at(deadline, lines.recv()).await {
        log_output(output_log, &line);
        tail.push(&line);
    }
}

/// The log's budget for one simulator's output (issue 14: 200 MB of output without newlines
/// was 200 MB of log).
fn simulator_output_log() -> OutputLog {
    OutputLog::new(
        limits::SIMULATOR_LOG_LINE_CHARS,
        limits::SIMULATOR_LOG_LINES_PER_SECOND,
        limits::SIMULATOR_LOG_SUMMARY_PERIOD,
    )
}

/// Logs a simulator output line within the log's budget, and the periodic count of the rest.
fn log_output(output_log: &mut OutputLog, line: &str) {
    if launch::is_heartbeat(line) {
        tracing::debug!(target: "simulator", %line);
        return;
    }
    let now = std::time::Instant::now();
    if let Some(line) = output_log.admit(line, now) {
        tracing::info!(target: "simulator", %line);
    }
    if let Some(left_out) = output_log.summary_due(now) {
        log_left_out(left_out);
    }
}

fn log_left_out(left_out: crate::supervisor::LeftOut) {
    tracing::warn!(
        target: "simulator",
        lines = left_out.lines,
        bytes = left_out.bytes,
        per_second = limits::SIMULATOR_LOG_LINES_PER_SECOND,
        "simulator output lines left out of the log (over the rate limit)"
    );
}

/// The simulator's last output lines, for error messages.
#[derive(Default)]
struct OutputTail(VecDeque<String>);

impl OutputTail {
    fn push(&mut self, line: &str) {
        if line.trim().is_empty() || line.trim() == protocol::HEARTBEAT {
            return;
        }
        if self.0.len() == TAIL_LINES {
            self.0.pop_front();
        }
        self.0.push_back(quote(line));
    }

    /// `; last output: a | b`, or nothing when there was no output.
    fn quote(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = self.0.iter().map(String::as_str).collect();
            format!("; last output: {}", lines.join(" | "))
        }
    }
}
