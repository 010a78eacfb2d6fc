//! The bootstrap every server role shares: bind, accept (plain or TLS), serve an axum router with
//! `/healthz` and `/metrics` added, one span and one metrics record per request, and a graceful
//! shutdown when the token is cancelled.
//!
//! Roles build their own [`Router`] and hand it to [`serve`]; they never touch sockets themselves,
//! so TLS, connection limits and shutdown behave the same in all three servers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{info, warn, Instrument};

use super::config::ServerConfig;
use super::metrics::Metrics;
use super::tls;

/// The first byte of every TLS connection (a handshake record); anything else on a TLS port is a
/// client speaking plain HTTP, which gets a short explanation instead of a silent hang-up.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Binds the listener a role will serve on: `host:port` from the config, or the role's default port.
///
/// # Errors
/// An invalid host, or the OS refusing the bind (port in use, no permission).
pub async fn bind(config: &ServerConfig, default_port: u16) -> anyhow::Result<TcpListener> {
    let addr = config.bind_addr(default_port)?;
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets requests in flight finish
/// within the configured grace period.
///
/// Logs `listening on http(s)://ADDR` once bound, which scripts and tests parse to find the port.
///
/// # Errors
/// Fails before serving when the TLS files are unusable; once serving, per-connection errors are
/// logged and never end the server.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &ServerConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let tls = match config.tls_paths()? {
        Some((cert, key)) => Some(TlsAcceptor::from(tls::server_config(cert, key)?)),
        None => None,
    };
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };

    let observed = Arc::clone(&metrics);
    let scraped = Arc::clone(&metrics);
    let app = app
        .route("/healthz", get(|| async { "ok\n" }))
        // Browsers ask for it with every page; a 404 would be a console error on every monitor.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/metrics",
            get(move || async move { metrics_response(&scraped) }),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            observe(Arc::clone(&observed), req, next)
        }));

    info!("listening on {scheme}://{local}");
    let slots = Arc::new(Semaphore::new(config.max_http_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut accept_backoff = Duration::from_millis(10);
    loop {
        let slot = tokio::select! {
            () = shutdown.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => slot?,
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Accept errors (EMFILE, ECONNABORTED) are transient: back off instead of spinning.
                    warn!(cause = %e, "accept failed");
                    tokio::time::sleep(accept_backoff).await;
                    accept_backoff = (accept_backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        accept_backoff = Duration::from_millis(10);
        let connection = Connection {
            app: app.clone(),
            metrics: Arc::clone(&metrics),
            tls: tls.clone(),
            peer,
        };
        let watcher = graceful.watcher();
        tokio::spawn(
            async move {
                let _slot = slot;
                connection.run(stream, watcher).await;
            }
            .instrument(tracing::debug_span!("connection", %peer)),
        );
    }
    drop(listener);

    let open = graceful.count();
    let grace = config.shutdown_grace();
    info!(
        open_connections = open,
        grace_s = grace.as_secs_f64(),
        "stopped accepting; finishing requests in flight"
    );
    tokio::select! {
        () = graceful.shutdown() => info!("all connections closed"),
        () = tokio::time::sleep(grace) => warn!("grace period elapsed with connections still open; closing them"),
    }
    Ok(())
}

struct Connection {
    app: Router,
    metrics: Arc<Metrics>,
    tls: Option<TlsAcceptor>,
    peer: SocketAddr,
}

impl Connection {
    async fn run(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        let _ = stream.set_nodelay(true);
        let _gauge = ConnectionGauge::open(Arc::clone(&self.metrics));
        let stream = match &self.tls {
            None => Either::Left(stream),
            Some(acceptor) => match tls_handshake(stream, acceptor).await {
                Some(stream) => Either::Right(stream),
                None => return,
            },
        };
        let (app, peer) = (self.app, self.peer);
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            },
        ));
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        if let Err(e) = watcher.watch(connection).await {
            tracing::debug!(cause = %e, "connection ended with an error");
        }
    }
}

/// Completes a TLS handshake, or answers a plain-HTTP client with a 400 that says to use https.
async fn tls_handshake(
    mut stream: TcpStream,
    acceptor: &TlsAcceptor,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) if first[0] != TLS_HANDSHAKE_RECORD => {
            let body = "This server speaks HTTPS; use an https:// or wss:// URL.\n";
            let reply = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

/// Counts a connection in `http_connections_in_flight` for exactly as long as it lives.
struct ConnectionGauge(Arc<Metrics>);

impl ConnectionGauge {
    const NAME: &'static str = "http_connections_in_flight";
    const HELP: &'static str = "TCP connections currently open.";

    fn open(metrics: Arc<Metrics>) -> Self {
        metrics.gauge_add(Self::NAME, Self::HELP, &[], 1.0);
        Self(metrics)
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0.gauge_add(Self::NAME, Self::HELP, &[], -1.0);
    }
}

fn metrics_response(metrics: &Metrics) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        metrics.render(),
    )
        .into_response()
}

/// One span and one metrics record per request. The route label is the matched route pattern, not
/// the raw path, so scanners probing random URLs cannot grow the metrics without bound.
async fn observe(metrics: Arc<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let quiet = route == "/healthz" || route == "/metrics" || route == "/favicon.ico";
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    let status_text = status.as_u16().to_string();
    metrics.counter_add(
        "http_requests_total",
        "HTTP requests answered, by route and status.",
        &[("route", &route), ("status", &status_text)],
        1.0,
    );
    metrics.observe_seconds(
        "http_request_duration_seconds",
        "Time from request head to response head, by route.",
        &[("route", &route)],
        elapsed.as_secs_f64(),
    );
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
