//! The least rate at which a client must take what the server writes to it, so a client that
//! does not read (or reads a byte now and then) cannot pin its answer's memory for long.
//!
//! Kept as a balance of bytes rather than as an average since the start: every byte the client
//! takes adds to it, every second the server waits for the client takes `rate` bytes from it, and
//! it never holds more than `rate × grace`. An average would let the first megabytes, which
//! vanish into socket buffers without the client reading anything, or an hour of fast reading on
//! a keep-alive connection, buy minutes of silence; the cap means a client that stops taking
//! bytes is cut within `grace`, whatever it took before, while one that keeps up with the rate is
//! never cut. Only time spent waiting for the client counts: an answer the server is slow to
//! produce costs the client nothing.

use std::time::Duration;

use tokio::time::Instant;

/// A deadline beyond any real wait, for a grace too long to add to an instant.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// One meter of the write rate: for a connection's socket, or for one answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct WriteFloor {
    /// Bytes per second the client must take while the server waits for it.
    rate: f64,
    /// The most credit a client can hold: the grace, in bytes.
    cap: f64,
    /// Bytes the client may still fall behind before it is cut.
    balance: f64,
    /// Start of the current wait for the client, if the server is waiting.
    waiting_since: Option<Instant>,
}

impl WriteFloor {
    /// A meter for `bytes_per_second` after `grace`; `None` when the rate is 0 (the rule is off).
    pub fn new(bytes_per_second: u64, grace: Duration) -> Option<Self> {
        (bytes_per_second > 0).then(|| {
            let rate = bytes_per_second as f64;
            let cap = rate * grace.as_secs_f64();
            Self {
                rate,
                cap,
                balance: cap,
                waiting_since: None,
            }
        })
    }

    /// The server waits for the client (from `now`, unless it already was): the instant by which
    /// the client must take something or be cut.
    pub fn waiting(&mut self, now: Instant) -> Instant {
        let since = *self.waiting_since.get_or_insert(now);
        let left =
            Duration::try_from_secs_f64(self.balance.max(0.0) / self.rate).unwrap_or(FOREVER);
        since.checked_add(left).unwrap_or_else(|| since + FOREVER)
    }

    /// The client took `bytes` at `now`, ending the wait if there was one.
    pub fn took(&mut self, bytes: usize, now: Instant) {
        if let Some(since) = self.waiting_since.take() {
            self.balance -= self.rate * now.saturating_duration_since(since).as_secs_f64();
        }
        self.balance = (self.balance + bytes as f64).min(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter() -> (WriteFloor, Instant) {
        // 1000 B/s after a 2 s grace.
        let floor = WriteFloor::new(1000, Duration::from_secs(2)).unwrap();
        (floor, Instant::now())
    }

    #[test]
    fn a_client_that_takes_nothing_is_cut_after_the_grace_whatever_it_took_before() {
        let (mut floor, start) = meter();
        // Megabytes into socket buffers first: credit beyond the grace is not kept.
        floor.took(50_000_000, start);
        assert_eq!(floor.waiting(start), start + Duration::from_secs(2));
        // Asking again later does not move the deadline.
        let later = start + Duration::from_secs(1);
        assert_eq!(floor.waiting(later), start + Duration::from_secs(2));
    }

    #[test]
    fn a_client_at_the_rate_keeps_its_credit_and_a_slower_one_loses_it() {
        let (mut floor, start) = meter();
        let mut now = start;
        for _ in 0..100 {
            floor.waiting(now);
            now += Duration::from_secs(1);
            floor.took(1000, now);
        }
        assert_eq!(floor.waiting(now), now + Duration::from_secs(2));
        let (mut slow, mut now) = meter();
        // 500 B/s: half a second of credit lost per second waited.
        for _ in 0..3 {
            slow.waiting(now);
            now += Duration::from_secs(1);
            slow.took(500, now);
        }
        assert_eq!(slow.waiting(now), now + Duration::from_millis(500));
    }

    #[test]
    fn no_rate_no_rule() {
        assert!(WriteFloor::new(0, Duration::from_secs(2)).is_none());
    }
}
