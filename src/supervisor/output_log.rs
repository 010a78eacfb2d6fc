//! What of a child's output reaches the server log: each line cut to a length, at most so many
//! lines a second, and the lines left out counted and reported in one summary now and then. The
//! caller still sees every line it reads; only the log is bounded.

use std::borrow::Cow;
use std::time::{Duration, Instant};

/// Length of the rate window.
const WINDOW: Duration = Duration::from_secs(1);

/// The output lines left out of the log since the last summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeftOut {
    pub lines: u64,
    pub bytes: u64,
}

/// The log's budget for one child's output.
#[derive(Debug)]
pub struct OutputLog {
    max_chars: usize,
    lines_per_second: u32,
    summary_period: Duration,
    window_start: Instant,
    logged_in_window: u32,
    left_out: LeftOut,
    last_summary: Instant,
}

impl OutputLog {
    /// A budget of `lines_per_second` lines of at most `max_chars` characters, with a summary of
    /// what was left out at most every `summary_period`.
    pub fn new(max_chars: usize, lines_per_second: u32, summary_period: Duration) -> Self {
        let now = Instant::now();
        Self {
            max_chars,
            lines_per_second,
            summary_period,
            window_start: now,
            logged_in_window: 0,
            left_out: LeftOut { lines: 0, bytes: 0 },
            last_summary: now,
        }
    }

    /// The text to log for `line` read at `now`, cut to the length limit, or `None` when the
    /// rate limit leaves it out (it is counted).
    pub fn admit<'a>(&mut self, line: &'a str, now: Instant) -> Option<Cow<'a, str>> {
        if now.duration_since(self.window_start) >= WINDOW {
            self.window_start = now;
            self.logged_in_window = 0;
        }
        if self.logged_in_window >= self.lines_per_second {
            self.left_out.lines += 1;
            self.left_out.bytes += u64::try_from(line.len()).unwrap_or(u64::MAX);
            return None;
        }
        self.logged_in_window += 1;
        Some(match line.char_indices().nth(self.max_chars) {
            Some((cut, _)) => Cow::Owned(format!(
                "{}… ({} more bytes)",
                &line[..cut],
                line.len() - cut
            )),
            None => Cow::Borrowed(line),
        })
    }

    /// What was left out since the last summary, once the summary period has passed at `now`.
    pub fn summary_due(&mut self, now: Instant) -> Option<LeftOut> {
        if now.duration_since(self.last_summary) < self.summary_period {
            return None;
        }
        self.flush_at(now)
    }

    /// What was left out since the last summary, if anything: for the end of the output.
    pub fn flush(&mut self) -> Option<LeftOut> {
        self.flush_at(Instant::now())
    }

    fn flush_at(&mut self, now: Instant) -> Option<LeftOut> {
        self.last_summary = now;
        let left_out = std::mem::replace(&mut self.left_out, LeftOut { lines: 0, bytes: 0 });
        (left_out.lines > 0).then_some(left_out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn long_lines_are_cut_and_a_flood_is_counted_then_summarised() {
        let mut log = OutputLog::new(10, 3, Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(log.admit("short", start).unwrap(), "short");
        assert_eq!(
            log.admit("ééééééééééxyz", start).unwrap(),
            "éééééééééé… (3 more bytes)"
        );
        assert!(log.admit("third", start).is_some());
        for _ in 0..100 {
            assert!(log.admit("flood", start).is_none());
        }
        assert_eq!(log.summary_due(start + Duration::from_secs(5)), None);
        // A new window admits lines again; the summary comes once its period is over.
        assert!(log.admit("later", start + WINDOW).is_some());
        assert_eq!(
            log.summary_due(start + Duration::from_secs(10)),
            Some(LeftOut {
                lines: 100,
                bytes: 500
            })
        );
        assert_eq!(log.flush(), None);
        assert!(log.admit("a", start + 2 * WINDOW).is_some());
    }
}
