//! The bootstrap every server role shares: bind, accept (plain or TLS), serve an axum router with
//! `/livez`, `/readyz`, `/healthz` and `/metrics` added, one span and one metrics record per
//! request, connection limits in time and number ([`connection`]), and a shutdown bounded by the
//! grace period.
//!
//! Roles build their own [`Router`] and hand it to [`serve`] with their [`Readiness`]; they never
//! touch sockets themselves, so TLS, connection limits and shutdown behave the same in all three
//! servers.
//!
//! Shutdown, in order: `/readyz` fails and every new request but the probes and `/metrics` is
//! answered 503; requests in flight get `shutdownGraceSeconds`; then those still running are
//! answered 503, and [`limits::SHUTDOWN_ANSWER_TIME`] later every connection is dropped.

mod body;
mod connection;
mod http_metrics;
mod upload;
mod write_floor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{info, warn, Instrument};

use self::body::{drain, GuardedBody, Leftover, ReturnedBody, TimedBody};
use self::connection::{
    cut_log, reason, ConnState, Count, Registry, RequestGuard, Slot, TimedIo, Timeouts,
};
use self::http_metrics::HttpMetrics;
use self::upload::{CountedUpload, Refused, UploadBudget};
use super::config::{self, ServerConfig};
use super::error_body;
use super::limits;
use super::metrics;
use super::sync::lock;
use super::tls;

/// The first byte of every TLS connection (a handshake record); anything else on a TLS port is a
/// client speaking plain HTTP, which gets a short explanation instead of a silent hang-up.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Paths the bootstrap answers itself on every server; a role's own routes may not take them.
pub const BOOTSTRAP_PATHS: [&str; 5] =
    ["/livez", "/readyz", "/healthz", "/metrics", "/favicon.ico"];

/// Paths answered while shutting down: the probes, so orchestrators see the state, and metrics.
const ALWAYS_ANSWERED: [&str; 4] = ["/livez", "/readyz", "/healthz", "/metrics"];

/// Whether a role can take new work now: `/readyz` answers 200 for `Ok`, 503 with the reason
/// otherwise. Every role passes one to [`serve`]; shutdown fails readiness before it is asked.
pub trait Readiness: Send + Sync + 'static {
    /// # Errors
    /// Why the role cannot take new work, in a few words for the probe's answer.
    fn check(&self) -> Result<(), String>;
}

impl<F: Fn() -> Result<(), String> + Send + Sync + 'static> Readiness for F {
    fn check(&self) -> Result<(), String> {
        self()
    }
}

/// Binds the listener a role will serve on: `host:port` from the config, or the role's default port.
///
/// The default host is loopback, which is safe but not what the Webots originals did (they listened
/// on every interface, and their config files have no `host`): on loopback, one line says that
/// other machines cannot connect and which key changes it.
///
/// # Errors
/// An invalid host, or the OS refusing the bind (port in use, no permission).
pub async fn bind(config: &ServerConfig, default_port: u16) -> anyhow::Result<TcpListener> {
    let addr = config.bind_addr(default_port)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    if addr.ip().is_loopback() {
        info!(
            "{} is reachable from this machine only: other machines cannot connect; set \"{}\": \
             \"0.0.0.0\" in the config file (or --host 0.0.0.0) for remote clients, or put a proxy \
             on this machine",
            addr.ip(),
            super::config::config_key!(ServerConfig, host)
        );
    }
    Ok(listener)
}

/// What every connection task of one listener shares.
struct Shared {
    app: Router,
    metrics: Arc<HttpMetrics>,
    tls: Option<TlsAcceptor>,
    /// HTTP/1 and HTTP/2 settings, HTTP/2's stream and window limits among them.
    http: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    timeouts: Timeouts,
    uploads: Arc<UploadBudget>,
    /// Cancelled when shutdown starts.
    draining: CancellationToken,
    /// Cancelled when the grace period is over: requests still running are answered 503.
    hard_stop: CancellationToken,
    /// Cancelled when serving ends: every connection is dropped.
    kill: CancellationToken,
    /// Requests not yet answered.
    in_flight: Count,
    /// Connection tasks still serving HTTP (a WebSocket's ends at its upgrade).
    connections: Count,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets requests in flight finish
/// within the configured grace period and answers those still running 503.
///
/// Logs `listening on http(s)://ADDR` once bound, which scripts and tests parse to find the port.
///
/// `registry` holds the role's metric families; the bootstrap adds its HTTP ones and serves it all
/// on `/metrics`.
///
/// # Errors
/// Fails before serving when the TLS files are unusable; once serving, per-connection errors are
/// logged and never end the server.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &ServerConfig,
    mut registry: metrics::Registry,
    shutdown: CancellationToken,
    readiness: impl Readiness,
) -> anyhow::Result<()> {
    let tls = match config.tls_paths()? {
        Some((cert, key)) => Some(TlsAcceptor::from(tls::server_config(cert, key)?)),
        None => None,
    };
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };

    let metrics = Arc::new(HttpMetrics::register(&mut registry));
    let observed = Arc::clone(&metrics);
    let scraped = Arc::new(registry);
    let stopping = shutdown.clone();
    let readiness = Arc::new(readiness);
    let app = app
        .route("/livez", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || async move { ready_response(&stopping, &*readiness) }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        // Browsers ask for it with every page; a 404 would be a console error on every monitor.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/metrics",
            get(move |headers: HeaderMap| async move { metrics_response(&scraped, &headers) }),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            observe(Arc::clone(&observed), req, next)
        }));

    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    http.http2()
        .max_concurrent_streams(config.http2_max_concurrent_streams)
        .initial_stream_window_size(config.http2_window_bytes)
        .initial_connection_window_size(config.http2_window_bytes);
    let shared = Arc::new(Shared {
        app,
        metrics: Arc::clone(&metrics),
        tls,
        http,
        timeouts: Timeouts {
            header: config.header_read_timeout(),
            idle: config.idle_timeout(),
            body_stall: config.body_stall_timeout(),
            min_body_rate: config.min_body_bytes_per_second,
            tls_handshake: config.tls_handshake_timeout(),
            write: config.write_timeout(),
            min_write_rate: config.min_write_bytes_per_second,
            write_grace: config::seconds(config.write_rate_grace_seconds)
                .unwrap_or(limits::WRITE_RATE_GRACE),
        },
        uploads: UploadBudget::new(
            config.max_upload_bytes,
            config.max_upload_bytes_per_connection,
            Arc::clone(&metrics),
        ),
        draining: shutdown.clone(),
        hard_stop: CancellationToken::new(),
        kill: CancellationToken::new(),
        in_flight: Count::new(),
        connections: Count::new(),
    });
    let connections = Registry::new(
        config.max_http_connections,
        config.max_connections_per_ip,
        Arc::clone(&metrics),
    );
    info!("listening on {scheme}://{local}");
    notify_systemd_ready();
    let grace = config.shutdown_grace();
    // Set when shutdown starts: the end of the grace period.
    let mut grace_end: Option<tokio::time::Instant> = None;
    let mut accept_backoff = Duration::from_millis(10);
    loop {
        tokio::select! {
            () = shutdown.cancelled(), if grace_end.is_none() => {
                grace_end = Some(tokio::time::Instant::now() + grace);
                info!(
                    requests_in_flight = shared.in_flight.get(),
                    grace_s = grace.as_secs_f64(),
                    "shutting down: not ready, no new work; finishing requests in flight"
                );
            }
            // Connections close once their last answer is written (hyper's graceful shutdown,
            // or `Connection: close` on those accepted since), so this waits for every answer.
            () = shared.connections.zero(), if grace_end.is_some() => {
                info!("all requests in flight answered");
                break;
            }
            () = sleep_until_some(grace_end) => {
                warn!(
                    requests_in_flight = shared.in_flight.get(),
                    "grace period elapsed; answering the requests still running 503"
                );
                shared.hard_stop.cancel();
                let _ = tokio::time::timeout(limits::SHUTDOWN_ANSWER_TIME, shared.connections.zero()).await;
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    accept_backoff = Duration::from_millis(10);
                    accept(&shared, &connections, stream, peer);
                }
                Err(e) => {
                    // Accept errors (EMFILE, ECONNABORTED) are transient: back off instead of spinning.
                    warn!(cause = %e, "accept failed");
                    tokio::time::sleep(accept_backoff).await;
                    accept_backoff = (accept_backoff * 2).min(Duration::from_secs(1));
                }
            },
        }
    }
    drop(listener);
    shared.kill.cancel();
    Ok(())
}

/// Tells systemd that the server answers now, for `Type=notify` units: a unit ordered after this
/// one (the session server after the simulation server) then starts only once this one listens.
/// Outside systemd (`NOTIFY_SOCKET` unset) nothing happens.
fn notify_systemd_ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> std::io::Result<()> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram};
        let socket = UnixDatagram::unbound()?;
        // systemd's own socket is abstract, written with a leading `@`.
        let addr = match path.as_encoded_bytes().strip_prefix(b"@") {
            Some(name) => UnixAddr::from_abstract_name(name)?,
            None => UnixAddr::from_pathname(&path)?,
        };
        socket.send_to_addr(b"READY=1", &addr).map(drop)
    })();
    if let Err(e) = sent {
        warn!(cause = %e, "cannot tell systemd that the server is ready (NOTIFY_SOCKET)");
    }
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Gives a new connection its slot and task, or refuses it with a 503 when every connection
/// under its cap is busy.
fn accept(shared: &Arc<Shared>, registry: &Arc<Registry>, stream: TcpStream, peer: SocketAddr) {
    let Some(slot) = registry.admit(peer.ip()) else {
        shared.metrics.count_closed(reason::REFUSED);
        tracing::debug!(%peer, "connection refused: every connection busy");
        if shared.tls.is_none() {
            // Best effort and never waiting: the accept loop must not block on one client.
            let body = error_body::json(503, "too many connections; retry shortly");
            let reply = format!(
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.try_write(reply.as_bytes());
        }
        return;
    };
    let shared = Arc::clone(shared);
    // Counted before the task starts, so a shutdown starting now waits for it.
    let task = shared.connections.enter();
    tokio::spawn(
        async move {
            run_connection(shared, stream, slot, peer).await;
            drop(task);
        }
        .instrument(tracing::debug_span!("connection", %peer)),
    );
}

async fn run_connection(shared: Arc<Shared>, stream: TcpStream, slot: Slot, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let conn = Arc::clone(slot.conn());
    let io = TimedIo::new(stream, slot, &shared.timeouts, Arc::clone(&shared.metrics));
    let io = match &shared.tls {
        None => Either::Left(io),
        Some(acceptor) => {
            let handshake = tls_handshake(io, acceptor);
            let limit = shared.timeouts.tls_handshake;
            let stream = tokio::select! {
                done = tokio::time::timeout(limit, handshake) => match done {
                    Ok(Some(stream)) => stream,
                    Ok(None) => return,
                    Err(_) => {
                        shared.metrics.count_closed(reason::TLS_HANDSHAKE_TIMEOUT);
                        tracing::debug!(timeout_s = limit.as_secs_f64(), "TLS handshake timed out");
                        return;
                    }
                },
                () = conn.closing().cancelled() => return,
                () = shared.kill.cancelled() => return,
            };
            Either::Right(stream)
        }
    };
    let accepted_while_draining = shared.draining.is_cancelled();
    let handler = Arc::clone(&shared);
    let state = Arc::clone(&conn);
    let service = TowerToHyperService::new(tower::service_fn(
        move |req: Request<hyper::body::Incoming>| {
            let shared = Arc::clone(&handler);
            let conn = Arc::clone(&state);
            async move { Ok::<_, std::convert::Infallible>(answer(&shared, &conn, peer, req).await) }
        },
    ));
    let connection = shared
        .http
        .serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    // Connections accepted before shutdown are asked to finish; later ones close after their
    // answer, which carries `Connection: close`.
    let mut asked_to_finish = accepted_while_draining;
    loop {
        let deadline = conn.deadline(&shared.timeouts);
        tokio::select! {
            done = connection.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(cause = %e, "connection ended with an error");
                }
                return;
            }
            () = conn.closing().cancelled() => return,
            () = shared.kill.cancelled() => return,
            () = shared.draining.cancelled(), if !asked_to_finish => {
                asked_to_finish = true;
                connection.as_mut().graceful_shutdown();
            }
            () = conn.changed().notified() => {}
            () = sleep_until_some(deadline.map(|(at, _)| at)) => {
                // Re-read: a request may have started since the deadline was computed.
                if let Some((at, why)) = conn.deadline(&shared.timeouts) {
                    if at <= tokio::time::Instant::now() {
                        // The socket may have cut a slow reader first, and counted it.
                        if conn.reason().is_none() {
                            shared.metrics.count_closed(why);
                            if why == reason::WRITE_TOO_SLOW {
                                cut_log(why, shared.timeouts.write);
                            } else {
                                tracing::debug!(reason = why, "idle connection closed");
                            }
                        }
                        conn.close_with(why);
                        return;
                    }
                }
            }
        }
    }
}

/// One request: timed body in, the role's answer out, kept counted in flight until it is sent;
/// 503 for new work once shutdown has started, and for work still running when the grace ends.
async fn answer(
    shared: &Shared,
    conn: &Arc<ConnState>,
    peer: SocketAddr,
    req: Request<hyper::body::Incoming>,
) -> Response {
    let guard = RequestGuard::start(conn, &shared.in_flight);
    let draining = shared.draining.is_cancelled();
    let http1 = req.version() < Version::HTTP_2;
    let leftover = Leftover::default();
    let refused = Refused::default();
    let mut req = req.map(|body| {
        let timed = TimedBody::new(
            body,
            Arc::clone(conn),
            shared.timeouts,
            Arc::clone(&shared.metrics),
        );
        let returned = ReturnedBody::new(timed, Arc::clone(&leftover));
        Body::new(CountedUpload::new(
            returned,
            Arc::clone(&shared.uploads),
            Arc::clone(conn),
            Arc::clone(&refused),
        ))
    });
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = if draining && !ALWAYS_ANSWERED.contains(&req.uri().path()) {
        shutting_down()
    } else {
        tokio::select! {
            response = shared.app.clone().oneshot(req) => match response {
                Ok(response) => response,
                Err(never) => match never {},
            },
            () = shared.hard_stop.cancelled() => shutting_down(),
        }
    };
    // Whatever the role made of a body the upload budget refused, the client is told why.
    let response = match refused.get() {
        Some(&refusal) => shared.uploads.refused(refusal),
        None => response,
    };
    let unread = lock(&leftover).take();
    if let Some(unread) = unread.filter(|_| http1) {
        tokio::select! {
            () = drain(unread, limits::UNREAD_BODY_DRAIN_BYTES) => {}
            () = shared.hard_stop.cancelled() => {}
        }
    }
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        conn.mark_upgraded();
    }
    let (mut parts, body) = response.into_parts();
    if draining && http1 {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Response::from_parts(
        parts,
        Body::new(GuardedBody::new(body, guard, &shared.timeouts)),
    )
}

fn shutting_down() -> Response {
    let mut response = error_body::response(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is shutting down",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Completes a TLS handshake, or answers a plain-HTTP client with a 400 that says to use https.
async fn tls_handshake(
    mut stream: TimedIo<TcpStream>,
    acceptor: &TlsAcceptor,
) -> Option<tokio_rustls::server::TlsStream<TimedIo<TcpStream>>> {
    let mut first = [0u8; 1];
    match stream.get_ref().peek(&mut first).await {
        Ok(1) if first[0] != TLS_HANDSHAKE_RECORD => {
            let body = error_body::json(
                400,
                "this server speaks HTTPS: use an https:// or wss:// URL (pydrake's client has \
                 no TLS: run `gltf-cloud client --forward --server-base-url https://…` beside it \
                 and point base_url at that)",
            );
            let reply = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
            tracing::debug!("plain HTTP on a TLS listener refused");
            return None;
        }
        Ok(_) => {}
        Err(e) => {
            tracing::debug!(cause = %e, "connection closed before TLS");
            return None;
        }
    }
    match acceptor.accept(stream).await {
        Ok(stream) => Some(stream),
        Err(e) => {
            tracing::debug!(cause = %e, "TLS handshake failed");
            None
        }
    }
}

/// `/readyz`: 503 as soon as shutdown starts, else the role's answer.
fn ready_response(stopping: &CancellationToken, readiness: &dyn Readiness) -> Response {
    let state = if stopping.is_cancelled() {
        Err("shutting down".to_owned())
    } else {
        readiness.check()
    };
    match state {
        Ok(()) => "ready\n".into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// `/metrics`, in the format the scraper's `Accept` asks for.
fn metrics_response(registry: &metrics::Registry, headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .unwrap_or("");
    match metrics::exposition(registry, accept) {
        Ok((content_type, body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "cannot encode the metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
                .into_response()
        }
    }
}

/// One span and one metrics record per request. The route label is the matched route pattern, not
/// the raw path, so scanners probing random URLs cannot grow the metrics without bound.
async fn observe(metrics: Arc<HttpMetrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let quiet = ALWAYS_ANSWERED.contains(&route.as_str()) || route == "/favicon.ico";
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    metrics.answered(route, status.as_u16(), elapsed);
    let elapsed_ms = elapsed.as_secs_f64() * 1e3;
    span.in_scope(|| {
        if quiet {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "answered");
        } else {
            tracing::info!(status = status.as_u16(), elapsed_ms, "answered");
        }
    });
    response
}
