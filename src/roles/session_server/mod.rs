//! The `session` role: the Webots cloud session server (doc §2: "doc §N" in this role cites
//! `docs/upstream/webots-servers.md`), wire-compatible with `session_server.py`. It sends each browser to the least-loaded simulation server.
//!
//! Routes: `GET /session` (the chosen server's WebSocket URL), WebSocket `/` (availability),
//! `GET /load` (mean load), `GET /monitor` (HTML). The loads come from a background poller
//! ([`poller`]); handlers only read its latest table, so no request ever waits on a simulation server.
//!
//! This file starts the server and routes requests; its parts:
//! - [`config`]: flags, the config file and defaults.
//! - [`poller`] and [`balancer`]: load polling, and choosing a server from the loads.
//! - [`metrics`]: its `/metrics` families (load polls, servers up, sessions sent).
//! - [`availability`]: the availability WebSocket.
//! - [`monitor`]: the `/monitor` page.
//! - [`notify`]: state-change alerts by e-mail and webhook.
//!
//! The Webots wire texts it writes are in [`crate::protocol::webots`].

mod availability;
mod balancer;
mod config;
mod metrics;
mod monitor;
mod notify;
mod poller;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::config::config_key;
use crate::core::{server, shutdown};
use crate::protocol::webots::{self, session};
use crate::roles::LoggingArgs;
use metrics::SessionMetrics;

pub use self::config::{Args, Config, MailSecurity, SimulationServer, DEFAULT_PORT, ROLE};
use self::notify::Notifier;
use self::poller::{PollSettings, Poller, Readings};
use crate::core::http_client::HttpClient;

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
                c.validate()?;
                Ok(super::Checked::default())
            },
        );
    }
    let (config, _log) =
        super::prepare::<Config>(ROLE, &args.server, &logging, |c| args.apply(c, &logging))?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// What the handlers share.
struct AppState {
    config: Config,
    readings: Readings,
    started: String,
    metrics: SessionMetrics,
}

/// Serves the role on an already bound listener until `shutdown` is cancelled.
///
/// The first load poll completes (bounded by the poll timeout) before the first request is
/// answered, so the first answers reflect real loads, as in the original.
///
/// # Errors
/// Invalid config values or TLS files, or see [`server::serve`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    config.validate()?;
    config.server.tls_paths()?;
    let tls = crate::core::tls::client_connector(config.extra_root_certificates.as_deref())?;
    let client = HttpClient::new(tls);
    let port = listener.local_addr()?.port();
    let notifier = Notifier::new(&config, port, client.clone())?;
    let mut registry = crate::core::metrics::registry(ROLE);
    let metrics = SessionMetrics::register(&mut registry);
    if config.simulation_servers.is_empty() {
        tracing::warn!(
            "no {} configured: every session request will be refused",
            config_key!(Config, simulation_servers)
        );
    }
    let settings = PollSettings {
        servers: config.simulation_servers.clone(),
        urls: config.load_urls()?,
        period: config.load_poll_period(),
        timeout: config.load_poll_timeout(),
        threshold: config.load_threshold,
    };
    let (mut poller, readings) = Poller::new(settings, client, notifier, metrics.clone());
    poller.poll_round().await;
    // Stops the poller when the server stops, whether by shutdown or by a serving error.
    let polling = shutdown.child_token();
    let poll_task = tokio::spawn(poller.run(polling.clone()));

    let state = Arc::new(AppState {
        readings,
        started: monitor::started_on(SystemTime::now()),
        metrics,
        config: config.clone(),
    });
    tracing::info!(
        simulation_servers = config.simulation_servers.len(),
        "Session server running on port {port}"
    );
    // Ready whenever it serves: with no simulation server available it still answers sessions.
    let readiness = || Ok(());
    let served = server::serve(
        listener,
        router(state),
        &config.server,
        registry,
        shutdown,
        readiness,
    )
    .await;
    polling.cancel();
    if let Err(e) = poll_task.await {
        tracing::error!(cause = %e, "load poller ended abnormally");
    }
    served
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/session",
            get(session).layer(axum::middleware::map_response(cors)),
        )
        .route("/", get(availability_socket))
        .route("/load", get(load))
        .route("/monitor", get(monitor_page))
        .route("/monitor.json", get(monitor_json))
        .with_state(state)
}

/// The original sets these on every answer of `/session`, errors (405) included.
async fn cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static(session::CORS_ALLOW_ORIGIN),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(session::CORS_ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(session::CORS_ALLOW_METHODS),
    );
    response
}

/// `GET /session[?url=<simulation URL>]`: `ws(s)://<entry>` or [`session::NO_SERVER_AVAILABLE`].
/// The query is read as pairs so that a repeated or unknown key is never an error; as in tornado's
/// `get_query_argument`, the last `url` wins.
async fn session(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let simulation_url = query
        .iter()
        .rev()
        .find(|(key, _)| key == "url")
        .map(|(_, value)| value.as_str());
    let table = Arc::clone(&state.readings.loads.borrow());
    let servers = &state.config.simulation_servers;
    let chosen = balancer::choose(servers, &table, state.config.load_threshold, simulation_url);
    let body = match chosen {
        Some(choice) => {
            let server = &servers[choice.index()].url;
            let labels = metrics::server(server);
            state.metrics.assignments.get_or_create(&labels).inc();
            if let balancer::Choice::Queue(_) = choice {
                state
                    .metrics
                    .assignments_to_line
                    .get_or_create(&labels)
                    .inc();
            }
            session::session_answer(state.config.ssl, server)
        }
        None => {
            state.metrics.refusals.inc();
            session::NO_SERVER_AVAILABLE.to_owned()
        }
    };
    ([(header::CONTENT_TYPE, session::CONTENT_TYPE)], body).into_response()
}

async fn availability_socket(State(state): State<Arc<AppState>>, ws: WebSocketUpgrade) -> Response {
    availability::upgrade(ws, state.readings.availability.clone())
}

/// `GET /load`: the mean load of the reachable simulation servers as Python's `str(float)`, or `-1`.
async fn load(State(state): State<Arc<AppState>>) -> Response {
    let table = Arc::clone(&state.readings.loads.borrow());
    let body = webots::load::session_body(balancer::average_of_reachable(&table.loads));
    ([(header::CONTENT_TYPE, session::CONTENT_TYPE)], body).into_response()
}

async fn monitor_page(State(state): State<Arc<AppState>>) -> Response {
    let table = Arc::clone(&state.readings.loads.borrow());
    let html = monitor::render(&monitor_view(&state, &table));
    ([(header::CONTENT_TYPE, session::CONTENT_TYPE)], html).into_response()
}

async fn monitor_json(State(state): State<Arc<AppState>>) -> axum::Json<serde_json::Value> {
    let table = Arc::clone(&state.readings.loads.borrow());
    axum::Json(monitor::json(&monitor_view(&state, &table)))
}

fn monitor_view<'a>(state: &'a AppState, table: &'a balancer::Table) -> monitor::Page<'a> {
    monitor::Page {
        servers: &state.config.simulation_servers,
        loads: &table.loads,
        slots: &table.slots,
        threshold: state.config.load_threshold,
        http_scheme: webots::address::http_scheme(state.config.ssl),
        started: &state.started,
        refresh: state.config.load_poll_period().max(Duration::from_secs(1)),
    }
}
