//! A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
//! exposition format on `GET /metrics`.
//!
//! Each server owns one [`Metrics`] (not a global), so several servers in one test process keep
//! separate figures. Code names a metric without its namespace (`http_requests_total`); the scrape
//! prefixes every name with [`PREFIX`] here, in one place, so no family can be left unprefixed.
//! Names are in base units (`_seconds`, `_bytes`) and counters end in `_total`, as Prometheus asks. Values that live elsewhere (queue depth, per-server loads) are read at scrape
//! time through [`Metrics::add_collector`] instead of being copied on every change.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::sync::lock;

/// The namespace of every metric this project exports, so dashboards and alert rules can tell
/// gltf-cloud's series from those of other jobs scraped beside it.
pub const PREFIX: &str = "gltf_cloud_";

/// Upper bounds, in seconds, of the duration histograms' buckets: 1 ms to 60 s, which spans a
/// health check and a large software render.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

enum Series {
    Value(f64),
    Histogram {
        counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
}

struct Family {
    help: &'static str,
    kind: Kind,
    /// Keyed by the rendered label set, e.g. `route="/render",status="200"`.
    series: BTreeMap<String, Series>,
}

type Collector = Box<dyn Fn(&Metrics) + Send + Sync>;

/// One server's metrics.
#[derive(Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
    collectors: Mutex<Vec<Collector>>,
}

/// A label set: `(name, value)` pairs in a fixed order.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

impl Metrics {
    /// A server's registry, with `build_info{version,role}` set to 1: the series dashboards join on
    /// to tell which version of which role is running.
    pub fn for_role(role: &str) -> Self {
        let metrics = Self::default();
        metrics.gauge_set(
            "build_info",
            "The running build (value 1), with its version and server role as labels.",
            &[("version", env!("CARGO_PKG_VERSION")), ("role", role)],
            1.0,
        );
        metrics
    }

    /// Adds `by` to a counter.
    pub fn counter_add(&self, name: &'static str, help: &'static str, labels: Labels<'_>, by: f64) {
        self.update(name, help, Kind::Counter, labels, |series| {
            if let Series::Value(v) = series {
                *v += by;
            }
        });
    }

    /// Sets a counter to a total kept elsewhere (read by a collector); the source only grows.
    pub fn counter_set(
        &self,
        name: &'static str,
        help: &'static str,
        labels: Labels<'_>,
        total: f64,
    ) {
        self.update(name, help, Kind::Counter, labels, |series| {
            *series = Series::Value(total)
        });
    }

    /// Sets a gauge.
    pub fn gauge_set(
        &self,
        name: &'static str,
        help: &'static str,
        labels: Labels<'_>,
        value: f64,
    ) {
        self.update(name, help, Kind::Gauge, labels, |series| {
            *series = Series::Value(value)
        });
    }

    /// Adds `by` (possibly negative) to a gauge.
    pub fn gauge_add(&self, name: &'static str, help: &'static str, labels: Labels<'_>, by: f64) {
        self.update(name, help, Kind::Gauge, labels, |series| {
            if let Series::Value(v) = series {
                *v += by;
            }
        });
    }

    /// Records one observation, in seconds, in a histogram with [`DURATION_BUCKETS`].
    pub fn observe_seconds(
        &self,
        name: &'static str,
        help: &'static str,
        labels: Labels<'_>,
        seconds: f64,
    ) {
        self.update(name, help, Kind::Histogram, labels, |series| {
            if let Series::Histogram { counts, sum, count } = series {
                for (bound, n) in DURATION_BUCKETS.iter().zip(counts.iter_mut()) {
                    if seconds <= *bound {
                        *n += 1;
                    }
                }
                *sum += seconds;
                *count += 1;
            }
        });
    }

    /// Registers a function run before each scrape, to set gauges from state owned elsewhere.
    pub fn add_collector(&self, collector: impl Fn(&Metrics) + Send + Sync + 'static) {
        lock(&self.collectors).push(Box::new(collector));
    }

    /// The whole registry in Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        for collector in lock(&self.collectors).iter() {
            collector(self);
        }
        let families = lock(&self.families);
        let mut out = String::new();
        for (name, family) in families.iter() {
            let name = format!("{PREFIX}{name}");
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.name());
            for (labels, series) in &family.series {
                match series {
                    Series::Value(v) => {
                        let _ = writeln!(out, "{name}{} {}", braces(labels), number(*v));
                    }
                    Series::Histogram { counts, sum, count } => {
                        let sep = if labels.is_empty() { "" } else { "," };
                        for (bound, n) in DURATION_BUCKETS.iter().zip(counts) {
                            let _ =
                                writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
                        }
                        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
                        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), number(*sum));
                        let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
                    }
                }
            }
        }
        out
    }

    fn update(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: Labels<'_>,
        f: impl FnOnce(&mut Series),
    ) {
        let mut families = lock(&self.families);
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        if family.kind != kind {
            tracing::error!(
                metric = name,
                "metric used with two different types; update ignored"
            );
            return;
        }
        let series = family
            .series
            .entry(render_labels(labels))
            .or_insert_with(|| match kind {
                Kind::Histogram => Series::Histogram {
                    counts: vec![0; DURATION_BUCKETS.len()],
                    sum: 0.0,
                    count: 0,
                },
                Kind::Counter | Kind::Gauge => Series::Value(0.0),
            });
        f(series);
    }
}

fn render_labels(labels: Labels<'_>) -> String {
    let mut out = String::new();
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{name}=\"{escaped}\"");
    }
    out
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_all_kinds_with_escaped_labels() {
        let m = Metrics::default();
        m.counter_add(
            "http_requests_total",
            "Requests.",
            &[("route", "/a\"b"), ("status", "200")],
            1.0,
        );
        m.counter_add(
            "http_requests_total",
            "Requests.",
            &[("route", "/a\"b"), ("status", "200")],
            1.0,
        );
        m.gauge_set("queue_depth", "Queued.", &[], 3.0);
        m.observe_seconds("duration_seconds", "Time.", &[("type", "color")], 0.02);
        let text = m.render();
        assert!(
            text.contains("gltf_cloud_http_requests_total{route=\"/a\\\"b\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE gltf_cloud_queue_depth gauge\ngltf_cloud_queue_depth 3\n"),
            "{text}"
        );
        assert!(
            text.contains("gltf_cloud_duration_seconds_bucket{type=\"color\",le=\"0.01\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("gltf_cloud_duration_seconds_bucket{type=\"color\",le=\"0.025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("gltf_cloud_duration_seconds_count{type=\"color\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn build_info_names_version_and_role() {
        let text = Metrics::for_role("render").render();
        let expected = format!(
            "# TYPE gltf_cloud_build_info gauge\ngltf_cloud_build_info{{version=\"{}\",role=\"render\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&expected), "{text}");
    }

    #[test]
    fn collectors_run_at_scrape_time() {
        let m = Metrics::default();
        m.add_collector(|m| m.gauge_set("answer", "Set by a collector.", &[], 42.0));
        assert!(m.render().contains("\ngltf_cloud_answer 42\n"));
    }
}
