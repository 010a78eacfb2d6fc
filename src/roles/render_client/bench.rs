//! Benchmark mode: N render requests with C in flight, cycling through the scenes and image types,
//! summarised as counts, latency percentiles and images per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::camera::Camera;
use super::client::RenderClient;
use crate::protocol::drake::image::ImageType;

/// One request the benchmark cycles through: a scene with its camera already written in.
pub struct Job {
    pub scene: Arc<Vec<u8>>,
    pub image_type: ImageType,
}

/// Latency percentiles in milliseconds, over successful requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// What `--frames` prints (and `--json` prints as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    /// Requests sent.
    pub count: usize,
    pub concurrency: usize,
    /// Requests whose answer decoded to a valid image.
    pub succeeded: usize,
    pub errors: usize,
    /// The first error, in Drake's words, so a failing run says why.
    pub first_error: Option<String>,
    pub latency_ms: Percentiles,
    pub images_per_second: f64,
    pub elapsed_seconds: f64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "count {}  concurrency {}  ok {}  errors {}",
            self.count, self.concurrency, self.succeeded, self.errors
        )?;
        writeln!(
            f,
            "latency p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
            self.latency_ms.p50, self.latency_ms.p95, self.latency_ms.p99
        )?;
        write!(
            f,
            "{:.2} images/s over {:.2} s",
            self.images_per_second, self.elapsed_seconds
        )?;
        if let Some(error) = &self.first_error {
            write!(f, "\nfirst error: {error}")?;
        }
        Ok(())
    }
}

/// Nearest-rank percentile of sorted values.
pub(super) fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Sends `count` requests, `concurrency` at a time; `progress` draws a bar on standard error.
pub async fn run(
    client: &RenderClient,
    jobs: &[Job],
    camera: &Camera,
    count: usize,
    concurrency: usize,
    progress: bool,
) -> BenchReport {
    let bar = if progress {
        indicatif::ProgressBar::new(count as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let outcomes: Vec<Result<Duration, String>> = stream::iter(0..count)
        .map(|n| {
            let job = &jobs[n % jobs.len().max(1)];
            let bar = &bar;
            async move {
                let sent = Instant::now();
                let result = client
                    .render_prepared(job.scene.as_ref().clone(), camera, job.image_type)
                    .await
                    .map(|_| sent.elapsed())
                    .map_err(|e| e.to_string());
                bar.inc(1);
                result
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().copied())
        .collect();
    latencies.sort_unstable();
    let first_error = outcomes.iter().find_map(|o| o.as_ref().err().cloned());
    BenchReport {
        count,
        concurrency: concurrency.max(1),
        succeeded: latencies.len(),
        errors: count - latencies.len(),
        first_error,
        latency_ms: Percentiles {
            p50: percentile(&latencies, 0.50),
            p95: percentile(&latencies, 0.95),
            p99: percentile(&latencies, 0.99),
        },
        images_per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        elapsed_seconds: elapsed.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.50), 50.0);
        assert_eq!(percentile(&values, 0.95), 95.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&values[..1], 0.99), 1.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
