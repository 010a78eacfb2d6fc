//! The waiting line for simulator slots: a client that sent `start` while every port was taken
//! waits here, first come first served, instead of getting `Too many open connections` at once
//! (issue 22). Only the client at the head may take a freed port, so a newcomer never overtakes
//! anyone waiting; leaving the line (the socket closing) frees the place at once.
//!
//! Waiters are woken by a port being released or by the line moving, both published through
//! `watch` channels, so no change is missed between two looks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::watch;

use super::state::{PortLease, PortPool};
use crate::core::sync::lock;

/// One waiting client, as `/monitor` lists it.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub id: u64,
    pub url: String,
    pub since: SystemTime,
}

#[derive(Debug)]
pub struct WaitingLine {
    ports: Arc<PortPool>,
    max_length: usize,
    entries: Mutex<VecDeque<Waiting>>,
    /// Bumped whenever someone leaves the line (at its head or not).
    moved: watch::Sender<u64>,
}

/// What a client that sent `start` gets.
#[derive(Debug)]
pub enum Admission {
    /// A simulator port, at once: nobody was waiting and a port was free.
    Slot(PortLease),
    /// A place in the line.
    Queued(Place),
    /// Every port is taken and the line is full (or off): the original's refusal.
    Refused,
}

/// A client's place in the line; dropping it leaves the line.
#[derive(Debug)]
pub struct Place {
    id: u64,
    line: Arc<WaitingLine>,
    moved: watch::Receiver<u64>,
    released: watch::Receiver<u64>,
}

impl WaitingLine {
    /// A line of at most `max_length` clients (0: no line) in front of `ports`.
    pub fn new(ports: Arc<PortPool>, max_length: usize) -> Self {
        Self {
            ports,
            max_length,
            entries: Mutex::new(VecDeque::new()),
            moved: watch::Sender::new(0),
        }
    }

    /// A port when nobody waits and one is free, else a place at the end of the line if there is
    /// room.
    pub fn admit(self: &Arc<Self>, id: u64, url: String) -> Admission {
        let mut entries = lock(&self.entries);
        if entries.is_empty() {
            if let Some(lease) = self.ports.acquire() {
                return Admission::Slot(lease);
            }
        }
        if entries.len() >= self.max_length {
            return Admission::Refused;
        }
        entries.push_back(Waiting {
            id,
            url,
            since: SystemTime::now(),
        });
        Admission::Queued(Place {
            id,
            line: Arc::clone(self),
            moved: self.moved.subscribe(),
            released: self.ports.watch_releases(),
        })
    }

    /// The clients waiting, head first.
    pub fn list(&self) -> Vec<Waiting> {
        lock(&self.entries).iter().cloned().collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        lock(&self.entries).is_empty()
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    fn leave(&self, id: u64) {
        let mut entries = lock(&self.entries);
        if let Some(index) = entries.iter().position(|w| w.id == id) {
            entries.remove(index);
            drop(entries);
            self.moved
                .send_modify(|generation| *generation = generation.wrapping_add(1));
        }
    }
}

impl Place {
    /// 1 for the head of the line (the next to start), then 2, 3…
    pub fn position(&self) -> usize {
        lock(&self.line.entries)
            .iter()
            .position(|w| w.id == self.id)
            .map_or(0, |index| index + 1)
    }

    /// A port, if this place is at the head of the line and one is free; the place is then left.
    pub fn take_port(&self) -> Option<PortLease> {
        let lease = {
            let mut entries = lock(&self.line.entries);
            if entries.front().is_none_or(|w| w.id != self.id) {
                return None;
            }
            let lease = self.line.ports.acquire()?;
            entries.pop_front();
            lease
        };
        self.line
            .moved
            .send_modify(|generation| *generation = generation.wrapping_add(1));
        Some(lease)
    }

    /// Completes when a port was released or the line moved since the last call (or since the
    /// place was taken): the moments [`Place::take_port`] and [`Place::position`] may change.
    pub async fn changed(&mut self) {
        // Both senders live as long as the line this place holds, so neither `changed` fails.
        tokio::select! {
            _ = self.moved.changed() => {}
            _ = self.released.changed() => {}
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.line.leave(self.id);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A pool of one port that no other process holds: a port of this machine bound nowhere now.
    fn one_port_line(max_length: usize) -> (Arc<PortPool>, Arc<WaitingLine>) {
        let probe = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let ports = Arc::new(PortPool::new(port, 1));
        let line = Arc::new(WaitingLine::new(Arc::clone(&ports), max_length));
        (ports, line)
    }

    fn queued(admission: Admission) -> Place {
        match admission {
            Admission::Queued(place) => place,
            other => panic!("expected a place, got {other:?}"),
        }
    }

    #[test]
    fn first_come_first_served_and_nobody_overtakes() {
        let (_ports, line) = one_port_line(2);
        let Admission::Slot(running) = line.admit(1, "a".into()) else {
            panic!("the free port is taken at once");
        };
        let first = queued(line.admit(2, "b".into()));
        let second = queued(line.admit(3, "c".into()));
        assert!(matches!(line.admit(4, "d".into()), Admission::Refused));
        assert_eq!((first.position(), second.position()), (1, 2));
        assert!(first.take_port().is_none(), "no port is free yet");
        drop(running);
        // The second in line may not take the freed port, nor may a newcomer.
        assert!(second.take_port().is_none());
        assert!(matches!(line.admit(5, "e".into()), Admission::Refused));
        let lease = first.take_port().unwrap();
        assert_eq!(second.position(), 1);
        assert_eq!(line.len(), 1);
        drop(lease);
        assert!(second.take_port().is_some());
        assert!(line.is_empty());
    }

    #[test]
    fn leaving_frees_the_place_at_once() {
        let (_ports, line) = one_port_line(3);
        let Admission::Slot(_running) = line.admit(1, "a".into()) else {
            panic!("the free port is taken at once");
        };
        let first = queued(line.admit(2, "b".into()));
        let second = queued(line.admit(3, "c".into()));
        drop(first);
        assert_eq!(second.position(), 1);
        assert_eq!(line.list().iter().map(|w| w.id).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn without_a_line_a_full_server_refuses() {
        let (_ports, line) = one_port_line(0);
        let Admission::Slot(_running) = line.admit(1, "a".into()) else {
            panic!("the free port is taken at once");
        };
        assert!(matches!(line.admit(2, "b".into()), Admission::Refused));
    }

    #[tokio::test]
    async fn a_released_port_wakes_the_waiter() {
        let (_ports, line) = one_port_line(1);
        let Admission::Slot(running) = line.admit(1, "a".into()) else {
            panic!("the free port is taken at once");
        };
        let mut place = queued(line.admit(2, "b".into()));
        let waiter = tokio::spawn(async move {
            loop {
                if let Some(lease) = place.take_port() {
                    return lease.port;
                }
                place.changed().await;
            }
        });
        let port = running.port;
        drop(running);
        assert_eq!(waiter.await.unwrap(), port);
    }
}
