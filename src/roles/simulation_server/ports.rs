//! The simulator ports a simulation server hands out: one per running session, each tested with a
//! bind first, returned when its lease is dropped, with a signal for the clients waiting in line.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::core::sync::lock;

/// Simulator ports `first … first+count−1`, each tested with a bind before it is handed out.
#[derive(Debug)]
pub struct PortPool {
    /// Kept as `u32` so a range ending at port 65535 needs no special case.
    ports: std::ops::Range<u32>,
    held: Mutex<BTreeSet<u16>>,
    /// Bumped each time a port is given back, for the clients waiting in line.
    released: watch::Sender<u64>,
}

/// A port handed to one session; dropping it returns the port.
#[derive(Debug)]
pub struct PortLease {
    pub port: u16,
    pool: Arc<PortPool>,
}

impl PortPool {
    pub fn new(first: u16, count: u16) -> Self {
        let first = u32::from(first);
        Self {
            ports: first..(first + u32::from(count)).min(u32::from(u16::MAX) + 1),
            held: Mutex::new(BTreeSet::new()),
            released: watch::Sender::new(0),
        }
    }

    /// Sees each port given back from now on.
    pub fn watch_releases(&self) -> watch::Receiver<u64> {
        self.released.subscribe()
    }

    /// The lowest port not held by a session and free to bind on all interfaces (the simulator
    /// binds it), or `None` when the range is exhausted.
    pub fn acquire(self: &Arc<Self>) -> Option<PortLease> {
        let mut held = lock(&self.held);
        let port = self
            .ports
            .clone()
            .filter_map(|p| u16::try_from(p).ok())
            .find(|p| !held.contains(p) && std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok())?;
        held.insert(port);
        Some(PortLease {
            port,
            pool: Arc::clone(self),
        })
    }

    /// Whether a port is not held by a session (its bind is tested only when it is handed out):
    /// the simulation server's readiness.
    pub fn has_free(&self) -> bool {
        self.free() > 0
    }

    /// Ports not held by a session (some may still be taken by other processes).
    pub fn free(&self) -> usize {
        self.ports.len().saturating_sub(lock(&self.held).len())
    }

    /// The size of the range, for error messages.
    pub fn capacity(&self) -> u16 {
        u16::try_from(self.ports.len()).unwrap_or(u16::MAX)
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        lock(&self.pool.held).remove(&self.port);
        self.pool
            .released
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ports_skip_held_and_busy_ones_and_run_out() {
        // A range of three around a port held here: whatever other processes hold next to it,
        // the held port is never handed out, a port is never handed out twice, and the range
        // runs out after at most the two others.
        let probe = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let busy_port = probe.local_addr().unwrap().port();
        let pool = Arc::new(PortPool::new(busy_port - 1, 3));
        assert_eq!(pool.capacity(), 3);
        let leases: Vec<PortLease> = std::iter::from_fn(|| pool.acquire()).collect();
        assert!(leases.len() <= 2);
        assert!(leases.iter().all(|lease| lease.port != busy_port));
        if let [a, b] = &leases[..] {
            assert_ne!(a.port, b.port);
        }
        let first = leases.first().map(|lease| lease.port);
        drop(leases);
        assert_eq!(
            pool.acquire().map(|lease| lease.port),
            first,
            "freed ports come back"
        );
    }

    #[test]
    fn a_range_may_end_at_the_last_port() {
        assert_eq!(PortPool::new(u16::MAX, 5).capacity(), 1);
    }

    #[test]
    fn zero_capacity_pool_is_always_exhausted() {
        let pool = Arc::new(PortPool::new(40000, 0));
        assert!(pool.acquire().is_none());
        assert_eq!(pool.capacity(), 0);
    }
}
