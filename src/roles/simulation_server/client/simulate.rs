//! A session's running simulator: launch (from the template, or as a compose project), announce
//! it when ready, relay heartbeats and `reset controller`, and end on the first of client gone,
//! simulator exit, startup or run deadline, or server shutdown.

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::output::{drain, log_output, OutputTail};
use super::{client_frame, text, End, Session};
use crate::core::redact::hide_paths;
use crate::protocol::webots::client::{self as protocol, ClientMessage};
use crate::roles::simulation_server::compose::{self, DockerMode};
use crate::roles::simulation_server::launch::{self, LaunchValues};
use crate::roles::simulation_server::project::{self, Project};
use crate::roles::simulation_server::state::{AppState, SimulationState};
use crate::supervisor::{CommandSpec, ProcessGroup};

impl Session {
    pub(super) async fn simulate(
        &mut self,
        project: &Project,
        instance: &Path,
        port: u16,
        mode: Option<protocol::StreamMode>,
    ) -> End {
        let config = &self.state.config;
        let webots = config.webots_home().join("webots");
        let argv = launch::expand(
            &config.launch_template(),
            &LaunchValues {
                webots: &webots,
                port,
                mode,
                version: self.state.webots_version,
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
                                // Build output names the instance directory, as crashes do.
                                let frame = hide_paths(&frame, Some(instance)).into_owned();
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
