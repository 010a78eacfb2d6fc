//! The `simulation` role: a Webots-compatible cloud simulation server. Each browser client on the
//! `/client` WebSocket gets a project checked out into its own instance directory and one
//! simulator launched from the launch template and supervised until the client leaves; `/load`
//! and `/monitor` report the machine (doc §3: "doc §N" in this role cites
//! `docs/upstream/webots-servers.md`).
//!
//! This file starts the server and routes requests; its parts:
//! - [`config`]: flags, the config file and defaults.
//! - [`state`]: [`AppState`], what the handlers share (port pool, sessions, load history).
//! - [`arrivals`]: the sockets that have not sent `start` yet, capped apart from the simulators.
//! - [`waiting_line`]: clients that sent `start` while every simulator port was taken.
//! - [`project`]: start URLs, access rules, git/file/init set-up, `reset controller`.
//! - [`launch`]: the launch template, and [`webots_version`]: what the launched release calls
//!   its streaming modes.
//! - [`client`]: one client's session, from start message to clean-up.
//! - [`compose`]: `"docker": "compose"`, one docker compose project per client.
//! - [`load`] and [`monitor`]: `/load`, `/monitor`, `monitor.csv`.
//! - [`notify`]: the announcement to webots.cloud.
//!
//! The Webots wire texts it writes are in [`crate::protocol::webots`].

pub mod arrivals;
pub mod client;
pub mod compose;
pub mod config;
pub mod launch;
pub mod load;
pub mod monitor;
pub mod notify;
pub mod ports;
pub mod project;
pub mod state;
pub mod waiting_line;
pub mod webots_version;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::{error_body, limits};
use crate::core::{server, shutdown};
use crate::protocol::webots;
use crate::roles::LoggingArgs;
use crate::supervisor::LoadSampler;

pub use self::config::{Args, Config, DEFAULT_PORT, ROLE};
pub use self::state::AppState;

/// Entry point of the subcommand: config, logging, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    if args.server.check_config {
        return super::check_config::<Config>(
            DEFAULT_PORT,
            &args.server,
            &logging,
            |c| args.apply(c, &logging),
            |c| {
                let problems = c.unusable_paths();
                anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
                Ok(super::Checked {
                    resolved: c.resolved(DEFAULT_PORT),
                    unknown: Vec::new(),
                })
            },
        );
    }
    let (config, _log) =
        super::prepare::<Config>(ROLE, &args.server, &logging, |c| args.apply(c, &logging))?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// Serves the role on an already bound listener until `shutdown` is cancelled; before returning,
/// every simulator's process group is stopped and reaped and every instance directory removed.
///
/// # Errors
/// An unusable instances directory, or see [`server::serve`].
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.warn_unsupported();
    let mut registry = crate::core::metrics::registry(ROLE);
    let own_port = listener.local_addr()?.port();
    // compose hook: this server's id, and the removal of what an earlier run left.
    if config.docker == compose::DockerMode::Compose {
        let id = config
            .compose_server_id
            .get_or_insert_with(|| format!("gltf-cloud-{own_port}"))
            .clone();
        compose::check_server_id(&id).map_err(anyhow::Error::msg)?;
        if config.launch_template.is_some() {
            tracing::warn!("launchTemplate is not used with \"docker\": \"compose\"");
        }
        compose::cleanup::remove_leftovers(&config, &id).await;
    }
    let first_simulator_port = config
        .first_simulator_port
        .unwrap_or_else(|| own_port.saturating_add(1));
    let sessions_stop = shutdown.child_token();
    let state = AppState::new(
        config,
        first_simulator_port,
        sessions_stop.clone(),
        &mut registry,
    )
    .await?;
    let sampler = {
        let observer = state.load_observer();
        tokio::task::spawn_blocking(move || {
            LoadSampler::start(limits::LOAD_SAMPLE_PERIOD, observer)
        })
        .await??
    };
    state.set_machine(sampler.machine().clone());
    if state.config.docker != compose::DockerMode::Compose {
        match state.webots_version {
            Some(version) => tracing::info!(
                %version,
                scene_format = version.scene_format(),
                "Webots release launched"
            ),
            None => tracing::info!(
                "Webots release not known (no webotsVersion, no readable <webotsHome>/resources/version.txt): \
                 the scene is asked for with a plain --stream, which every release accepts"
            ),
        }
    }
    if !state.config.notify.is_empty() {
        state
            .tracker
            .spawn(notify::announce(Arc::clone(&state), own_port));
    }
    let app = Router::new()
        .route("/client", get(client_socket))
        .route("/load", get(load))
        .route("/monitor", get(monitor))
        .route("/monitor.json", get(monitor_json))
        .with_state(Arc::clone(&state));
    let ports = Arc::clone(&state.ports);
    let readiness = move || {
        if ports.has_free() {
            Ok(())
        } else {
            Err("every simulator port is in use".to_owned())
        }
    };
    let served = server::serve(
        listener,
        app,
        &state.config.server,
        registry,
        shutdown,
        readiness,
    )
    .await;
    sessions_stop.cancel();
    state.tracker.close();
    state.tracker.wait().await;
    let _ = tokio::task::spawn_blocking(move || sampler.stop()).await;
    state.remove_instances_root().await;
    served
}

async fn client_socket(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    if state.stop.is_cancelled() {
        return error_body::response(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        );
    }
    let tracker = state.tracker.clone();
    let host = state.config.public_host(
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok()),
    );
    ws.max_message_size(limits::MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| tracker.track_future(client::serve(socket, state, peer, host)))
}

/// The bare load, as the original, with the slots header a session server may use to send
/// visitors into this server's line when every server is full.
async fn load(State(state): State<Arc<AppState>>) -> Response {
    let waiting = state.line.len();
    let slots = webots::load::Slots {
        // A newcomer starts at once only when nobody waits (a port just freed is the head's).
        free: if waiting > 0 { 0 } else { state.ports.free() },
        waiting,
        room: state.line.max_length().saturating_sub(waiting),
    };
    (
        [
            (
                "content-type",
                webots::load::SIMULATION_CONTENT_TYPE.to_owned(),
            ),
            (webots::load::SLOTS_HEADER, slots.header_value()),
        ],
        webots::load::simulation_body(state.load.current()),
    )
        .into_response()
}

async fn monitor(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(monitor::render(&state))
}

async fn monitor_json(State(state): State<Arc<AppState>>) -> axum::Json<serde_json::Value> {
    axum::Json(monitor::json(&state))
}
