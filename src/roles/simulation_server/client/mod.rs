//! One `/client` WebSocket session: wait for `start` or `init`, take a port (waiting in line while
//! every port is taken), prepare the project, launch the simulator, announce it when ready, relay
//! heartbeats and `reset controller`, and on any ending (client gone, simulator gone, time limit,
//! server shutdown, which the client is told first) stop the simulator's process group, remove
//! the instance directory and give the port back.
//!
//! Every failure the client can see is sent as `loading: Error: <reason>` before the socket is
//! closed, which the web client shows; the original left the client waiting instead (doc §3.7).
//! The reason reaches the client without the server's paths (a crashed simulator's last lines
//! name its instance directory); the log keeps it whole, under the client's id.
//!
//! This file holds the session's life from socket to clean-up; its steps:
//! - [`setup`]: the start request, the instance directory and the project in it.
//! - [`simulate`]: the running simulator's loop over the socket, its output and the deadlines.
//! - [`output`]: the simulator's last lines and its log budget.

mod output;
mod setup;
mod simulate;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use tokio::time::Instant;
use tracing::Instrument;

use self::output::{log_left_out, simulator_output_log};
use self::setup::{create_instance_dir, prepare_project, StartRequest};
use super::compose;
use super::config::Config;
use super::ports::PortLease;
use super::project::{Project, SetupError};
use super::state::{AppState, SessionInfo, SimulationState};
use super::waiting_line::Admission;
use crate::core::config::config_key;
use crate::core::limits;
use crate::core::redact::hide_paths;
use crate::protocol::webots::client::{self as protocol, ClientMessage, ProtocolError};
use crate::supervisor::{OutputLog, ProcessGroup};

/// How a session ended.
enum End {
    /// The client closed the socket or went away.
    ClientLeft,
    /// The server is shutting down.
    Shutdown,
    /// A failure to report to the client.
    Failed(String),
    /// The socket sent no start message in time, or was pushed out by newer silent sockets:
    /// reported like a failure, counted apart so an operator sees a flood of silent sockets.
    NoStart(String),
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

/// Runs one client's session to its end, cleaning up everything it made.
/// `public_host` is the host name to put in the `webots:` URL.
pub async fn serve(socket: WebSocket, state: Arc<AppState>, peer: SocketAddr, public_host: String) {
    if state.stop.is_cancelled() {
        return;
    }
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
        let port = match self.wait_for_port(&request).await {
            Ok(port) => port,
            Err(end) => return end,
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
            StartRequest::Start { mode, .. } => *mode,
            StartRequest::Init(_) => None,
        };
        self.simulate(&project, &instance, port_number, mode).await
    }

    /// Reads frames until a start or init message; other objects are ignored as the original did.
    /// Until then the socket holds no simulator slot, only a place among the sockets awaiting
    /// their start: one that sends none within `clientStartTimeoutSeconds`, or that newer silent
    /// sockets push out of `maxClientsAwaitingStart`, is told so and closed.
    async fn wait_for_start(&mut self) -> Result<StartRequest, End> {
        let arrival = self.state.arrivals.admit(self.id);
        let limit = self.state.config.client_start_timeout();
        let deadline = Instant::now() + limit;
        loop {
            let message = tokio::select! {
                () = self.state.stop.cancelled() => return Err(End::Shutdown),
                () = tokio::time::sleep_until(deadline) => {
                    return Err(End::NoStart(format!(
                        "no start message within {} s ({})",
                        limit.as_secs_f64(),
                        config_key!(Config, client_start_timeout_seconds)
                    )));
                }
                () = arrival.pushed_out() => {
                    tracing::info!("closed to make room for newer sockets without a start message");
                    return Err(End::NoStart(format!(
                        "no start message while {} newer sockets opened ({})",
                        self.state.arrivals.capacity(),
                        config_key!(Config, max_clients_awaiting_start)
                    )));
                }
                message = self.socket.recv() => message,
            };
            match client_frame(message)? {
                Some(ClientMessage::Start { url, mode }) => {
                    let mode = mode.and_then(|name| {
                        let mode = protocol::StreamMode::parse(&name);
                        if mode.is_none() {
                            tracing::warn!(mode = %name, "unsupported streaming mode; using the default");
                        }
                        mode
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

    /// A simulator port: at once when one is free and nobody waits, else after waiting in line,
    /// told `queue: N` whenever its place changes. The start request is kept meanwhile, and the
    /// simulation's time limit only starts with the simulator. A full line, or a wait longer than
    /// `maxQueueWaitSeconds`, gets the original's `Too many open connections`; the socket
    /// closing leaves the line at once (the place is dropped with this future).
    async fn wait_for_port(&mut self, request: &StartRequest) -> Result<PortLease, End> {
        let refused = |state: &AppState| {
            tracing::warn!(
                max = state.ports.capacity(),
                waiting = state.line.len(),
                "{}",
                protocol::TOO_MANY_CONNECTIONS
            );
            End::Failed(protocol::TOO_MANY_CONNECTIONS.to_owned())
        };
        let mut place = match self.state.line.admit(self.id, request.describe()) {
            Admission::Slot(port) => return Ok(port),
            Admission::Refused => return Err(refused(&self.state)),
            Admission::Queued(place) => place,
        };
        let deadline = Instant::now() + self.state.config.max_queue_wait();
        let mut retry = tokio::time::interval(limits::QUEUE_RETRY_PERIOD);
        let mut told = None;
        loop {
            if let Some(port) = place.take_port() {
                tracing::info!("left the line for a simulator");
                return Ok(port);
            }
            let position = place.position();
            if told != Some(position) {
                if told.is_none() {
                    tracing::info!(position, "every simulator port is taken; waiting in line");
                }
                if self
                    .socket
                    .send(text(protocol::queue_frame(position)))
                    .await
                    .is_err()
                {
                    return Err(End::ClientLeft);
                }
                told = Some(position);
            }
            tokio::select! {
                () = self.state.stop.cancelled() => return Err(End::Shutdown),
                () = tokio::time::sleep_until(deadline) => return Err(refused(&self.state)),
                () = place.changed() => {}
                _ = retry.tick() => {}
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

    /// Reports the ending to the client, then stops the simulator, removes the instance directory
    /// and releases the port, in that order (the simulator may hold files in the directory).
    async fn finish(mut self, end: End) {
        let outcome = match &end {
            End::ClientLeft => "client_left",
            End::Shutdown => "shutdown",
            End::Failed(_) => "failed",
            End::NoStart(_) => "no_start",
        };
        match end {
            End::Failed(reason) | End::NoStart(reason) => {
                // The log has the full text under this client's id; the client gets it without
                // the server's paths, and that id to quote to an operator.
                tracing::info!(%reason, "session failed");
                let shown = shown_to_client(&reason, self.instance.as_deref(), self.id);
                let _ = self.socket.send(text(protocol::error_frame(&shown))).await;
                let _ = self.socket.send(Message::Close(None)).await;
            }
            End::Shutdown => {
                let frame = protocol::error_frame(protocol::SHUTTING_DOWN);
                let _ = self.socket.send(text(frame)).await;
                let close = CloseFrame {
                    code: close_code::AWAY,
                    reason: protocol::SHUTDOWN_CLOSE_REASON.into(),
                };
                let _ = self.socket.send(Message::Close(Some(close))).await;
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
        self.state.count_session_end(outcome);
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

/// `reason` as the client may see it: paths in its instance directory relative to it, any other
/// server path hidden, and then the client id under which the log holds the full text.
fn shown_to_client(reason: &str, instance: Option<&Path>, id: u64) -> String {
    match hide_paths(reason, instance) {
        Cow::Borrowed(reason) => reason.to_owned(),
        Cow::Owned(hidden) => format!(
            "{hidden} (server paths hidden; the server's log has them under client id {id})"
        ),
    }
}

fn text(frame: String) -> Message {
    Message::Text(frame.into())
}
