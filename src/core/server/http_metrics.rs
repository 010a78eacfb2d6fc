//! The bootstrap's own `/metrics` families, the same on every server: requests by route and
//! status, connections open and closed, and uploads still arriving.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::core::metrics::{self, Durations, Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Closed {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Limit {
    limit: &'static str,
}

/// One listener's HTTP figures, registered in its server's registry.
pub(super) struct HttpMetrics {
    requests: Family<RouteStatus, Counter>,
    durations: Durations<Route>,
    connections_closed: Family<Closed, Counter>,
    uploads_refused: Family<Limit, Counter>,
    /// TCP connections open now.
    pub connections_in_flight: Gauge,
    /// Request body bytes handlers have read while their bodies are still arriving: the upload
    /// budget's own count, so the gauge cannot drift from what the budget enforces.
    pub upload_bytes_in_flight: Gauge<u64, AtomicU64>,
}

impl HttpMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let this = Self {
            requests: Family::default(),
            durations: metrics::durations_by(),
            connections_closed: Family::default(),
            uploads_refused: Family::default(),
            connections_in_flight: Gauge::default(),
            upload_bytes_in_flight: Gauge::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            this.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from request head to response head, by route",
            Unit::Seconds,
            this.durations.clone(),
        );
        registry.register(
            "http_connections_in_flight",
            "TCP connections currently open",
            this.connections_in_flight.clone(),
        );
        registry.register(
            "http_connections_closed",
            "Connections the server closed or refused to bound time and numbers, by reason",
            this.connections_closed.clone(),
        );
        registry.register(
            "http_upload_bytes_in_flight",
            "Request body bytes read by handlers while their bodies are still arriving (against maxUploadBytes)",
            this.upload_bytes_in_flight.clone(),
        );
        registry.register(
            "http_uploads_refused",
            "Uploads answered 503 because bodies still arriving held too much, by the limit reached",
            this.uploads_refused.clone(),
        );
        this
    }

    /// One request answered: the route label is the matched route pattern, not the raw path.
    pub fn answered(&self, route: String, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RouteStatus {
                route: route.clone(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&Route { route })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one connection closed (or refused) by the server for `reason`.
    pub fn count_closed(&self, reason: &'static str) {
        self.connections_closed
            .get_or_create(&Closed { reason })
            .inc();
    }

    /// Counts one upload refused by `limit` (listener or connection).
    pub fn count_refused(&self, limit: &'static str) {
        self.uploads_refused.get_or_create(&Limit { limit }).inc();
    }
}
