//! Each server's Prometheus registry, from the Prometheus project's own `prometheus-client`, and
//! its exposition on `GET /metrics`.
//!
//! Each server owns one [`Registry`] (not a global), so several servers in one test process keep
//! separate figures. The crate writes what the formats require: the [`PREFIX`] on every name, a
//! counter's `_total`, an info metric's `_info`, a `# UNIT` where one is given, label escaping, and
//! OpenMetrics' `# EOF`. Code registers names without the prefix or a counter's `_total` (the crate
//! refuses `_total` in debug builds); help texts end without a full stop, which the crate adds.
//! Figures that live elsewhere (a queue, a cache) are read when scraped through [`scraped`].

use std::fmt;
use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, text, DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
pub use prometheus_client::registry::{Registry, Unit};

/// The namespace of every metric this project exports, so dashboards and alert rules can tell
/// gltf-cloud's series from those of other jobs scraped beside it.
pub const PREFIX: &str = "gltf_cloud";

/// Upper bounds, in seconds, of the duration histograms' buckets: 1 ms to 60 s, which spans a
/// health check and a large software render.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// What Prometheus asks for first and gets: OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct Build {
    version: &'static str,
    role: &'static str,
}

/// A server's registry, with `build_info{version,role}` (value 1): the series dashboards join on to
/// tell which version of which role is running.
pub fn registry(role: &'static str) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register(
        "build",
        "The running build (value 1), with its version and server role as labels",
        Info::new(Build {
            version: env!("CARGO_PKG_VERSION"),
            role,
        }),
    );
    registry
}

/// Duration histograms by a label set, each with [`DURATION_BUCKETS`].
pub type Durations<L> = Family<L, Histogram, fn() -> Histogram>;

/// A histogram of durations in seconds, with [`DURATION_BUCKETS`].
pub fn durations() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// An empty [`Durations`] family.
pub fn durations_by<L: Clone + std::hash::Hash + Eq>() -> Durations<L> {
    Family::new_with_constructor(durations)
}

/// The registry in the format the scraper's `Accept` header asks for: OpenMetrics, which
/// Prometheus asks for, else the classic text format (0.0.4) every other scraper and `curl` read.
/// Returns the content type and the body.
///
/// # Errors
/// A collector failed to write its figures.
pub fn exposition(registry: &Registry, accept: &str) -> Result<(&'static str, String), fmt::Error> {
    let mut body = String::new();
    if accept.contains("application/openmetrics-text") {
        text::encode(&mut body, registry)?;
        Ok((OPENMETRICS_CONTENT_TYPE, body))
    } else {
        prometheus_text::encode(&mut body, registry)?;
        Ok((prometheus_text::CONTENT_TYPE, body))
    }
}

/// Registers figures read when scraped from `source`, by `encode`; through a weak reference, so
/// the registry never keeps the source (a worker pool, a cache) alive, and a dropped one is left
/// out. For state that already counts what it holds, instead of copying each change to a gauge.
pub fn scraped<T: Send + Sync + 'static>(
    registry: &mut Registry,
    source: &Arc<T>,
    encode: fn(&T, &mut Figures<'_>) -> fmt::Result,
) {
    registry.register_collector(Box::new(Scraped {
        source: Arc::downgrade(source),
        encode,
    }));
}

struct Scraped<T> {
    source: Weak<T>,
    encode: fn(&T, &mut Figures<'_>) -> fmt::Result,
}

impl<T> fmt::Debug for Scraped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scraped")
    }
}

impl<T: Send + Sync + 'static> Collector for Scraped<T> {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        match self.source.upgrade() {
            Some(source) => (self.encode)(&source, &mut Figures(encoder)),
            None => Ok(()),
        }
    }
}

/// Where a [`scraped`] source writes its figures, named and described as registered ones are.
pub struct Figures<'a>(DescriptorEncoder<'a>);

impl Figures<'_> {
    /// One gauge; `unit` is the name's last word where it ends in one (`_bytes`).
    pub fn gauge(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        value: impl EncodeGaugeValue,
    ) -> fmt::Result {
        let help = format!("{help}.");
        let encoder = self
            .0
            .encode_descriptor(name, &help, unit.as_ref(), MetricType::Gauge)?;
        ConstGauge::new(value).encode(encoder)
    }

    /// One gauge per label set.
    pub fn gauges<L: EncodeLabelSet, V: EncodeGaugeValue>(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        series: impl IntoIterator<Item = (L, V)>,
    ) -> fmt::Result {
        let help = format!("{help}.");
        let mut family = self
            .0
            .encode_descriptor(name, &help, unit.as_ref(), MetricType::Gauge)?;
        for (labels, value) in series {
            ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// One counter, from a total kept by its source (which only grows).
    pub fn counter(&mut self, name: &str, help: &str, total: u64) -> fmt::Result {
        let help = format!("{help}.");
        let encoder = self
            .0
            .encode_descriptor(name, &help, None, MetricType::Counter)?;
        ConstCounter::new(total).encode(encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
    struct Route {
        route: String,
    }

    fn sample_registry() -> (Registry, Arc<u64>) {
        let mut registry = registry("render");
        let requests = Family::<Route, Counter>::default();
        registry.register("http_requests", "Requests", requests.clone());
        requests
            .get_or_create(&Route {
                route: "/a\"b".to_owned(),
            })
            .inc();
        let waiting = Arc::new(3);
        scraped(&mut registry, &waiting, |waiting, figures| {
            figures.gauge("queue_depth", "Queued", None, *waiting)?;
            figures.counter("skipped", "Skipped", 2)
        });
        (registry, waiting)
    }

    #[test]
    fn classic_text_names_counters_total_and_escapes_labels() {
        let (registry, _waiting) = sample_registry();
        let (content_type, text) = exposition(&registry, "*/*").unwrap();
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        for expected in [
            "# HELP gltf_cloud_http_requests_total Requests.\n",
            "# TYPE gltf_cloud_http_requests_total counter\n",
            "gltf_cloud_http_requests_total{route=\"/a\\\"b\"} 1\n",
            "# TYPE gltf_cloud_queue_depth gauge\ngltf_cloud_queue_depth 3\n",
            "# HELP gltf_cloud_skipped_total Skipped.\n",
            "gltf_cloud_skipped_total 2\n",
            &format!(
                "# TYPE gltf_cloud_build_info gauge\ngltf_cloud_build_info{{version=\"{}\",role=\"render\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
        assert!(!text.contains("# EOF"), "{text}");
    }

    #[test]
    fn openmetrics_when_asked_and_ends_with_eof() {
        let (registry, _waiting) = sample_registry();
        let accept =
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2";
        let (content_type, text) = exposition(&registry, accept).unwrap();
        assert_eq!(content_type, OPENMETRICS_CONTENT_TYPE);
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        for expected in [
            "# TYPE gltf_cloud_http_requests counter\n",
            "gltf_cloud_http_requests_total{route=\"/a\\\"b\"} 1\n",
            "# TYPE gltf_cloud_build info\n",
            "# TYPE gltf_cloud_skipped counter\ngltf_cloud_skipped_total 2\n",
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
    }

    #[test]
    fn a_dropped_source_is_left_out() {
        let (registry, waiting) = sample_registry();
        drop(waiting);
        let (_, text) = exposition(&registry, "").unwrap();
        assert!(!text.contains("queue_depth"), "{text}");
        assert!(text.contains("gltf_cloud_http_requests_total"), "{text}");
    }
}
