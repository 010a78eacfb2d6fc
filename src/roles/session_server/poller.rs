//! Load polling: every simulation server's `/load`, all at once, every period, each bounded by
//! the poll timeout, in one background task.
//!
//! The original joins its polling threads inside its event loop, so one slow simulation server
//! froze every request for up to five seconds. Here requests never wait on a poll: a round ends by
//! publishing a new load table into a `watch` channel, and handlers only read the latest table.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use hyper::Uri;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::balancer::{self, Table};
use super::config::SimulationServer;
use super::metrics::{self, SessionMetrics};
use super::notify::Notifier;
use crate::core::http_client::HttpClient;
use crate::core::quote::quote;
use crate::protocol::webots::alert::Change;
use crate::protocol::webots::load::{self, Slots, UNREACHABLE_LOAD};

/// What the handlers read: the last complete round.
pub type LoadTable = Arc<Table>;

/// What one poll of one server gave.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// A load, and the slots header if the server sent one.
    Load(f64, Option<Slots>),
    /// No answer in time, a connection error, or a non-2xx status.
    Unreachable(String),
    /// A 2xx answer whose body is not a number (or is NaN): the previous value is kept.
    Unparsable(String),
    /// A number outside 0…100 or not finite: no real load is, so the peer is broken or hostile
    /// (`-5` or `-inf` would win every session, `1e999` would make our own mean infinite) and
    /// counts as unavailable.
    OutOfRange(f64),
}

/// Whether a load a peer reports can be real: a percentage.
fn is_plausible(load: f64) -> bool {
    (0.0..=100.0).contains(&load)
}

/// The change a new outcome makes, given the previous load (`None` before the first answer or
/// failure). Mirrors the original's `retrieve_load`, except that a server already down or full at
/// start-up is reported too, and a server first seen below the threshold is not "available again".
fn change(previous: Option<f64>, new: Option<f64>, threshold: f64) -> Option<Change> {
    let was_unreachable = previous == Some(UNREACHABLE_LOAD);
    match (previous, new) {
        (_, None) if was_unreachable => None,
        (_, None) => Some(Change::NotResponding),
        (_, Some(load)) if was_unreachable => Some(Change::WorkingAgain { load }),
        (None, Some(load)) => (load >= threshold).then_some(Change::ReachedMaximumLoad { load }),
        (Some(before), Some(load)) if before < threshold && load >= threshold => {
            Some(Change::ReachedMaximumLoad { load })
        }
        (Some(before), Some(load)) if before >= threshold && load < threshold => {
            Some(Change::AvailableAgain { load })
        }
        _ => None,
    }
}

/// Owns the polling state; [`Poller::run`] is its task.
pub struct Poller {
    servers: Vec<SimulationServer>,
    urls: Vec<Uri>,
    client: HttpClient,
    period: Duration,
    timeout: Duration,
    threshold: f64,
    notifier: Notifier,
    metrics: SessionMetrics,
    /// The last known load of each server, `None` until its first poll answered or failed.
    known: Vec<Option<f64>>,
    /// The slots each server's last usable answer reported.
    slots: Vec<Option<Slots>>,
    /// Whether each server's last answer was out of range, so that is logged once, not per poll.
    out_of_range: Vec<bool>,
    loads: watch::Sender<LoadTable>,
    availability: watch::Sender<bool>,
}

/// What the request handlers read.
#[derive(Clone)]
pub struct Readings {
    pub loads: watch::Receiver<LoadTable>,
    pub availability: watch::Receiver<bool>,
}

/// The settings of a [`Poller`].
pub struct PollSettings {
    pub servers: Vec<SimulationServer>,
    pub urls: Vec<Uri>,
    pub period: Duration,
    pub timeout: Duration,
    pub threshold: f64,
}

impl Poller {
    pub fn new(
        settings: PollSettings,
        client: HttpClient,
        notifier: Notifier,
        metrics: SessionMetrics,
    ) -> (Self, Readings) {
        let count = settings.servers.len();
        let (loads, loads_rx) = watch::channel(LoadTable::new(Table {
            loads: vec![UNREACHABLE_LOAD; count],
            slots: vec![None; count],
        }));
        // The original starts unavailable; the first poll, before listening, sets the real value.
        let (availability, availability_rx) = watch::channel(false);
        let poller = Self {
            servers: settings.servers,
            urls: settings.urls,
            client,
            period: settings.period,
            timeout: settings.timeout,
            threshold: settings.threshold,
            notifier,
            metrics,
            known: vec![None; count],
            slots: vec![None; count],
            out_of_range: vec![false; count],
            loads,
            availability,
        };
        let readings = Readings {
            loads: loads_rx,
            availability: availability_rx,
        };
        (poller, readings)
    }

    /// Polls every period until `shutdown`, the first round one period after the call (the caller
    /// runs [`Poller::poll_round`] once before listening).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + self.period, self.period);
        // A round longer than the period (timeout > period) delays the next instead of bunching them.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.poll_round() => {}
            }
        }
        self.notifier.finish().await;
    }

    /// Polls every server concurrently, each for at most the timeout, then publishes the new loads
    /// and availability and reports the changes.
    pub async fn poll_round(&mut self) {
        let outcomes = join_all(self.urls.iter().map(|url| {
            let client = self.client.clone();
            let timeout = self.timeout;
            async move {
                match tokio::time::timeout(timeout, client.get(url)).await {
                    Err(_) => Outcome::Unreachable(format!("no answer within {timeout:?}")),
                    Ok(Err(e)) => Outcome::Unreachable(e.to_string()),
                    Ok(Ok(answer)) if !answer.status.is_success() => {
                        Outcome::Unreachable(format!("status {}", answer.status))
                    }
                    Ok(Ok(answer)) => {
                        let text = String::from_utf8_lossy(&answer.body);
                        let slots = answer
                            .headers
                            .get(load::SLOTS_HEADER)
                            .and_then(|value| value.to_str().ok())
                            .and_then(Slots::parse);
                        match load::parse(&text) {
                            Some(load) if is_plausible(load) => Outcome::Load(load, slots),
                            Some(load) => Outcome::OutOfRange(load),
                            None => Outcome::Unparsable(quote(&text)),
                        }
                    }
                }
            }
        }))
        .await;

        for (i, outcome) in outcomes.into_iter().enumerate() {
            let server = self.servers[i].url.as_str();
            let new = match &outcome {
                Outcome::Load(load, slots) => {
                    self.out_of_range[i] = false;
                    self.slots[i] = *slots;
                    Some(*load)
                }
                Outcome::Unreachable(cause) => {
                    if self.known[i] == Some(UNREACHABLE_LOAD) {
                        tracing::debug!(simulation_server = server, %cause, "load poll failed");
                    } else {
                        tracing::info!(simulation_server = server, %cause, "load poll failed");
                    }
                    None
                }
                Outcome::OutOfRange(load) => {
                    if !self.out_of_range[i] {
                        tracing::warn!(
                            simulation_server = server,
                            load = %load,
                            "/load answer is outside 0…100; the server counts as unavailable until it answers a real load"
                        );
                    }
                    self.out_of_range[i] = true;
                    None
                }
                Outcome::Unparsable(body) => {
                    tracing::warn!(
                        simulation_server = server,
                        body = %body,
                        "/load answer is not a number; keeping the previous load"
                    );
                    self.metrics.count_poll(server, "unparsable");
                    continue;
                }
            };
            let counted = match (&outcome, new) {
                (Outcome::OutOfRange(_), _) => "out_of_range",
                (_, Some(_)) => "ok",
                (_, None) => "unreachable",
            };
            self.metrics.count_poll(server, counted);
            if let Some(change) = change(self.known[i], new, self.threshold) {
                self.notifier.notify(server, change);
            }
            if new.is_none() {
                self.slots[i] = None;
            }
            self.known[i] = Some(new.unwrap_or(UNREACHABLE_LOAD));
        }

        let table = Table {
            loads: self
                .known
                .iter()
                .map(|load| load.unwrap_or(UNREACHABLE_LOAD))
                .collect(),
            slots: self.slots.clone(),
        };
        self.publish_gauges(&table);
        let available = balancer::available(&self.servers, &table, self.threshold);
        self.loads.send_replace(LoadTable::new(table));
        self.availability.send_if_modified(|current| {
            let changed = *current != available;
            *current = available;
            changed
        });
    }

    fn publish_gauges(&self, table: &Table) {
        for (i, (server, &load)) in self.servers.iter().zip(&table.loads).enumerate() {
            let labels = metrics::server(&server.url);
            let reachable = load != UNREACHABLE_LOAD;
            self.metrics
                .up
                .get_or_create(&labels)
                .set(i64::from(reachable));
            if reachable {
                self.metrics
                    .load_ratio
                    .get_or_create(&labels)
                    .set(load / 100.0);
            }
            if let Some(slots) = table.slots_of(i) {
                self.metrics
                    .waiting
                    .get_or_create(&labels)
                    .set(i64::try_from(slots.waiting).unwrap_or(i64::MAX));
            }
        }
        let available = balancer::available(&self.servers, table, self.threshold);
        self.metrics.available.set(i64::from(available));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_percentages_are_plausible_loads() {
        for load in [0.0, 42.5, 100.0] {
            assert!(is_plausible(load), "{load}");
        }
        for load in [
            -5.0,
            -0.01,
            100.01,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert!(!is_plausible(load), "{load}");
        }
    }

    #[test]
    fn changes_follow_the_original() {
        let t = 95.0;
        assert_eq!(change(Some(10.0), None, t), Some(Change::NotResponding));
        assert_eq!(change(None, None, t), Some(Change::NotResponding));
        assert_eq!(change(Some(UNREACHABLE_LOAD), None, t), None);
        assert_eq!(
            change(Some(UNREACHABLE_LOAD), Some(99.0), t),
            Some(Change::WorkingAgain { load: 99.0 })
        );
        assert_eq!(
            change(Some(50.0), Some(95.0), t),
            Some(Change::ReachedMaximumLoad { load: 95.0 })
        );
        assert_eq!(change(Some(96.0), Some(99.0), t), None);
        assert_eq!(
            change(Some(96.0), Some(94.0), t),
            Some(Change::AvailableAgain { load: 94.0 })
        );
        assert_eq!(change(Some(20.0), Some(30.0), t), None);
        assert_eq!(change(None, Some(30.0), t), None);
        assert_eq!(
            change(None, Some(100.0), t),
            Some(Change::ReachedMaximumLoad { load: 100.0 })
        );
    }
}
