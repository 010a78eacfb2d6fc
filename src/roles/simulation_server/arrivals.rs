//! `/client` sockets that have not sent `start` (or `init`) yet: they hold no simulator slot, only
//! one of `maxClientsAwaitingStart` places here, and making room for a new one closes the oldest.
//!
//! Issue 21: 1 100 sockets that opened and stayed silent held every simulator slot, and a real
//! browser was refused for the whole start deadline. A silent socket is now bounded twice: by the
//! start deadline (seconds), and by this cap, which also keeps silent sockets from holding the
//! HTTP connections (`maxHttpConnections`) a browser needs to get in, since an upgraded
//! connection never counts as idle there.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::core::sync::lock;

/// The sockets awaiting their start message, by session id (ids grow, so the first is the oldest).
#[derive(Debug)]
pub struct Arrivals {
    max: usize,
    waiting: Mutex<BTreeMap<u64, CancellationToken>>,
}

/// One socket's place among the arrivals; dropping it (once `start` came, or the socket ended)
/// frees the place.
#[derive(Debug)]
pub struct Arrival {
    id: u64,
    pushed_out: CancellationToken,
    arrivals: Arc<Arrivals>,
}

impl Arrivals {
    /// A cap below 1 is read as 1: a socket needs a moment to send its start message.
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            waiting: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes a place for session `id`, pushing out the oldest sockets while more than the cap
    /// would be waiting.
    pub fn admit(self: &Arc<Self>, id: u64) -> Arrival {
        let pushed_out = CancellationToken::new();
        let mut waiting = lock(&self.waiting);
        waiting.insert(id, pushed_out.clone());
        while waiting.len() > self.max {
            if let Some((_, oldest)) = waiting.pop_first() {
                oldest.cancel();
            }
        }
        Arrival {
            id,
            pushed_out,
            arrivals: Arc::clone(self),
        }
    }

    /// Sockets open without a start message now.
    pub fn count(&self) -> usize {
        lock(&self.waiting).len()
    }

    pub fn capacity(&self) -> usize {
        self.max
    }
}

impl Arrival {
    /// Completes once newer sockets pushed this one out.
    pub fn pushed_out(&self) -> WaitForCancellationFuture<'_> {
        self.pushed_out.cancelled()
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        lock(&self.arrivals.waiting).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_are_pushed_out_and_leaving_frees_a_place() {
        let arrivals = Arc::new(Arrivals::new(2));
        let first = arrivals.admit(1);
        let second = arrivals.admit(2);
        assert_eq!(arrivals.count(), 2);
        let third = arrivals.admit(3);
        assert!(first.pushed_out.is_cancelled());
        assert!(!second.pushed_out.is_cancelled() && !third.pushed_out.is_cancelled());
        assert_eq!(arrivals.count(), 2);
        // The pushed-out socket's own drop does not remove a newer one.
        drop(first);
        assert_eq!(arrivals.count(), 2);
        drop(second);
        assert_eq!(arrivals.count(), 1);
        let fourth = arrivals.admit(4);
        assert!(!third.pushed_out.is_cancelled() && !fourth.pushed_out.is_cancelled());
    }
}
