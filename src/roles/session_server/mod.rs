//! The `session` role: the Webots cloud session server (doc §2), wire-compatible with
//! `session_server.py`. It sends each browser to the least-loaded simulation server.
//!
//! Routes: `GET /session` (the chosen server's WebSocket URL), WebSocket `/` (availability),
//! `GET /load` (mean load), `GET /monitor` (HTML). The loads come from a background poller
//! ([`poller`]); handlers only read its latest table, so no request ever waits on a simulation server.

mod availability;
mod balancer;
mod config;
mod monitor;
mod notify;
mod poller;
mod smtp;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::metrics::Metrics;
use crate::core::{server, shutdown};
use crate::roles::{LoggingArgs, ServerArgs};

pub use self::config::{Config, SimulationServer};
use self::notify::Notifier;
use self::poller::{PollSettings, Poller, Readings};
use crate::core::http_client::HttpClient;

/// The port the original listens on.
pub const DEFAULT_PORT: u16 = 1999;

/// The original's answer when no simulation server can take a session (status 200 nevertheless).
pub const NO_SERVER_AVAILABLE: &str = "Error: no simulation server available at the moment.";

/// Tornado's default content type, which the original's text answers carry.
const TORNADO_CONTENT_TYPE: &str = "text/html; charset=UTF-8";

/// Command-line flags of `gltf-cloud session-server`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
    /// A simulation server, `host:port` or `host/port`; repeat for several. Replaces the config's
    /// list [config key: simulationServers]
    #[arg(long = "simulation-server", value_name = "ENTRY")]
    pub simulation_servers: Vec<String>,
    /// Load (percent) at or above which a simulation server gets no new session [default: 95]
    /// [config key: loadThreshold]
    #[arg(long)]
    pub load_threshold: Option<f64>,
    /// Seconds between two load polls of the simulation servers [default: 5]
    /// [config key: loadPollPeriodSeconds]
    #[arg(long, value_name = "SECONDS")]
    pub load_poll_period: Option<f64>,
    /// Seconds to wait for one simulation server's /load [default: 5]
    /// [config key: loadPollTimeoutSeconds]
    #[arg(long, value_name = "SECONDS")]
    pub load_poll_timeout: Option<f64>,
}

impl Args {
    fn apply(&self, config: &mut Config, logging: &LoggingArgs) {
        if !self.simulation_servers.is_empty() {
            config.simulation_servers = self
                .simulation_servers
                .iter()
                .map(|url| SimulationServer {
                    url: url.clone(),
                    repositories: Vec::new(),
                })
                .collect();
        }
        if let Some(threshold) = self.load_threshold {
            config.load_threshold = threshold;
        }
        if let Some(period) = self.load_poll_period {
            config.load_poll_period_seconds = period;
        }
        if let Some(timeout) = self.load_poll_timeout {
            config.load_poll_timeout_seconds = timeout;
        }
        // The original's `debug` logs to the console instead of `logDir`; an explicit --log-dir wins.
        if config.debug && logging.log_dir.is_none() {
            config.server.log_dir = None;
        }
    }
}

/// Entry point of the subcommand: config, logging, bind, serve until SIGINT/SIGTERM.
///
/// # Errors
/// Start-up failures (config, bind, TLS); a running server only returns after shutdown.
pub async fn main(args: Args, logging: LoggingArgs) -> anyhow::Result<()> {
    let (config, _log) = super::prepare::<Config>("session", &args.server, &logging, |config| {
        args.apply(config, &logging);
    })?;
    let listener = server::bind(&config.server, DEFAULT_PORT).await?;
    run(listener, config, shutdown::on_signals()?).await
}

/// What the handlers share.
struct Shared {
    config: Config,
    readings: Readings,
    started: String,
    metrics: Arc<Metrics>,
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
    let client = HttpClient::new(tls.clone());
    let port = listener.local_addr()?.port();
    let notifier = Notifier::new(&config, port, client.clone(), tls)?;
    let metrics = Arc::new(Metrics::default());
    if config.simulation_servers.is_empty() {
        tracing::warn!("no simulationServers configured: every session request will be refused");
    }
    let settings = PollSettings {
        servers: config.simulation_servers.clone(),
        urls: config.load_urls()?,
        period: config.load_poll_period(),
        timeout: config.load_poll_timeout(),
        threshold: config.load_threshold,
    };
    let (mut poller, readings) = Poller::new(settings, client, notifier, Arc::clone(&metrics));
    poller.poll_round().await;
    // Stops the poller when the server stops, whether by shutdown or by a serving error.
    let polling = shutdown.child_token();
    let poll_task = tokio::spawn(poller.run(polling.clone()));

    let shared = Arc::new(Shared {
        readings,
        started: monitor::started_on(SystemTime::now()),
        metrics: Arc::clone(&metrics),
        config: config.clone(),
    });
    tracing::info!(
        simulation_servers = config.simulation_servers.len(),
        "Session server running on port {port}"
    );
    let served = server::serve(listener, router(shared), &config.server, metrics, shutdown).await;
    polling.cancel();
    if let Err(e) = poll_task.await {
        tracing::error!(cause = %e, "load poller ended abnormally");
    }
    served
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/session",
            get(session).layer(axum::middleware::map_response(cors)),
        )
        .route("/", get(availability_socket))
        .route("/load", get(load))
        .route("/monitor", get(monitor_page))
        .with_state(shared)
}

/// The original sets these on every answer of `/session`, errors (405) included.
async fn cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("x-requested-with"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    response
}

/// `GET /session[?url=<simulation URL>]`: `ws(s)://<entry>` or [`NO_SERVER_AVAILABLE`].
/// The query is read as pairs so that a repeated or unknown key is never an error; as in tornado's
/// `get_query_argument`, the last `url` wins.
async fn session(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let simulation_url = query
        .iter()
        .rev()
        .find(|(key, _)| key == "url")
        .map(|(_, value)| value.as_str());
    let loads = Arc::clone(&shared.readings.loads.borrow());
    let servers = &shared.config.simulation_servers;
    let chosen = balancer::choose(
        servers,
        &loads,
        shared.config.load_threshold,
        simulation_url,
    );
    let body = match chosen {
        Some(i) => {
            shared.metrics.counter_add(
                "session_assignments_total",
                "Sessions sent to each simulation server.",
                &[("server", &servers[i].url)],
                1.0,
            );
            format!("{}//{}", shared.config.websocket_scheme(), servers[i].url)
        }
        None => {
            shared.metrics.counter_add(
                "session_refusals_total",
                "Session requests answered with no simulation server available.",
                &[],
                1.0,
            );
            NO_SERVER_AVAILABLE.to_owned()
        }
    };
    ([(header::CONTENT_TYPE, TORNADO_CONTENT_TYPE)], body).into_response()
}

async fn availability_socket(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    availability::upgrade(ws, shared.readings.availability.clone())
}

/// `GET /load`: the mean load of the reachable simulation servers as Python's `str(float)`, or `-1`.
async fn load(State(shared): State<Arc<Shared>>) -> Response {
    let loads = Arc::clone(&shared.readings.loads.borrow());
    let body = balancer::average_of_reachable(&loads)
        .map_or_else(|| "-1".to_owned(), crate::core::pyfloat::format);
    ([(header::CONTENT_TYPE, TORNADO_CONTENT_TYPE)], body).into_response()
}

async fn monitor_page(State(shared): State<Arc<Shared>>) -> Response {
    let loads = Arc::clone(&shared.readings.loads.borrow());
    let html = monitor::render(&monitor::Page {
        servers: &shared.config.simulation_servers,
        loads: &loads,
        threshold: shared.config.load_threshold,
        http_scheme: shared.config.http_scheme(),
        started: &shared.started,
        refresh: shared.config.load_poll_period().max(Duration::from_secs(1)),
    });
    ([(header::CONTENT_TYPE, TORNADO_CONTENT_TYPE)], html).into_response()
}
