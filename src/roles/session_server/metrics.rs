//! The session server's own `/metrics` figures: what its load polls found of each simulation
//! server, and where it sent sessions.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::core::metrics::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Server {
    pub server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Poll {
    server: String,
    outcome: &'static str,
}

#[derive(Clone)]
pub struct SessionMetrics {
    polls: Family<Poll, Counter>,
    pub up: Family<Server, Gauge>,
    pub load_ratio: Family<Server, Gauge<f64, AtomicU64>>,
    pub waiting: Family<Server, Gauge>,
    pub available: Gauge,
    pub assignments: Family<Server, Counter>,
    pub assignments_to_line: Family<Server, Counter>,
    pub refusals: Counter,
}

impl SessionMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let this = Self {
            polls: Family::default(),
            up: Family::default(),
            load_ratio: Family::default(),
            waiting: Family::default(),
            available: Gauge::default(),
            assignments: Family::default(),
            assignments_to_line: Family::default(),
            refusals: Counter::default(),
        };
        registry.register(
            "session_load_polls",
            "Load polls of simulation servers, by server and outcome (ok, unreachable, unparsable, out_of_range)",
            this.polls.clone(),
        );
        registry.register(
            "session_simulation_server_up",
            "1 when the simulation server answered its last load poll",
            this.up.clone(),
        );
        registry.register(
            "session_simulation_server_load_ratio",
            "Last load reported by the simulation server (its percent / 100, a ratio as Prometheus asks); kept while it is down",
            this.load_ratio.clone(),
        );
        registry.register(
            "session_simulation_server_waiting",
            "Clients in the simulation server's waiting line, as its last load poll said (servers that say so only)",
            this.waiting.clone(),
        );
        registry.register(
            "session_available",
            "1 when a session request without a repository URL would get a server",
            this.available.clone(),
        );
        registry.register(
            "session_assignments",
            "Sessions sent to each simulation server",
            this.assignments.clone(),
        );
        registry.register(
            "session_assignments_to_line",
            "Sessions sent into a simulation server's waiting line, every server being full",
            this.assignments_to_line.clone(),
        );
        registry.register(
            "session_refusals",
            "Session requests answered with no simulation server available",
            this.refusals.clone(),
        );
        this
    }

    /// Counts one load poll of `server` (ok, unreachable, unparsable or out_of_range).
    pub fn count_poll(&self, server: &str, outcome: &'static str) {
        self.polls
            .get_or_create(&Poll {
                server: server.to_owned(),
                outcome,
            })
            .inc();
    }
}

/// The label set of one simulation server.
pub fn server(url: &str) -> Server {
    Server {
        server: url.to_owned(),
    }
}
