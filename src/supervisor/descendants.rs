//! The processes a child started that left its process group: a `setsid()` (a daemonising
//! controller, a double fork) puts a process outside the group, where `killpg` cannot reach it.
//!
//! Found in `/proc` two ways, each closing the other's gap:
//! - ancestry: every process whose parent chain leads to the group leader or to a process already
//!   found, scanned periodically and at stop time, so a process is kept even after its parent
//!   died and it was re-parented to this server (the subreaper);
//! - the environment marker [`MARKER_ENV`], unique per spawned child and inherited by everything it
//!   starts: an orphan re-parented to this server between two scans is recognised by it.
//!
//! Each process is remembered with its start time, so a pid the kernel reused for an unrelated
//! process is never signalled. What escapes both (a process that cleared its environment and
//! double-forked between two scans) would need a cgroup per child, which this server does not
//! create: the machines it runs on rarely delegate a writable cgroup v2 subtree.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

/// Set in every supervised child's environment to a value unique to that child.
pub const MARKER_ENV: &str = "GLTF_CLOUD_SUPERVISED";

/// A process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy)]
struct Stat {
    ppid: i32,
    /// Clock ticks after boot: with the pid, names one process across pid reuse.
    start: u64,
    zombie: bool,
}

/// The descendants of one supervised child.
#[derive(Debug)]
pub struct Descendants {
    leader: i32,
    /// `MARKER_ENV=<value>`, as it appears in `/proc/<pid>/environ`.
    marker: String,
    /// Found so far, by pid, with their start times; the leader is never in it (tokio reaps it).
    known: Mutex<HashMap<i32, u64>>,
}

impl Descendants {
    /// A fresh marker value for a child about to be spawned.
    pub fn new_marker() -> String {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Tracks the descendants of `leader`, which was spawned with `MARKER_ENV=marker`.
    pub fn new(leader: i32, marker: &str) -> Self {
        Self {
            leader,
            marker: format!("{MARKER_ENV}={marker}"),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Reads `/proc` once: forgets processes that are gone, adds every new descendant.
    pub fn scan(&self) {
        let table = process_table();
        let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let mut known = self.lock();
        known.retain(|pid, start| table.get(pid).is_some_and(|stat| stat.start == *start));
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for (pid, stat) in &table {
            children.entry(stat.ppid).or_default().push(*pid);
        }
        let mut stack: Vec<i32> = known.keys().copied().collect();
        stack.push(self.leader);
        // Orphans re-parented to this server before a scan saw them under the leader.
        stack.extend(
            children
                .get(&me)
                .into_iter()
                .flatten()
                .copied()
                .filter(|pid| {
                    *pid != self.leader && !known.contains_key(pid) && self.carries_marker(*pid)
                }),
        );
        let mut seen = HashSet::new();
        while let Some(pid) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            if pid != self.leader {
                if let Some(stat) = table.get(&pid) {
                    known.insert(pid, stat.start);
                }
            }
            stack.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }

    /// Sends `signal` to every process found that is still the one found (same start time).
    pub fn signal(&self, signal: Signal) {
        for (pid, start) in self.lock().iter() {
            if stat(*pid).is_some_and(|stat| stat.start == *start && !stat.zombie) {
                match kill(Pid::from_raw(*pid), signal) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => {
                        tracing::warn!(pid, %signal, cause = %e, "cannot signal a descendant")
                    }
                }
            }
        }
    }

    /// Reaps the processes found that died as this server's children (re-parented orphans)
    /// without blocking; true once none of them is still running. A zombie whose parent is
    /// another descendant is left to that parent.
    pub fn reap(&self) -> bool {
        let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        self.lock().retain(|pid, start| match stat(*pid) {
            // The start time is checked first: a reused pid may be another child of ours, whose
            // status is not ours to take.
            Some(stat) if stat.start == *start => {
                if stat.zombie && stat.ppid == me {
                    let _ = waitpid(Pid::from_raw(*pid), Some(WaitPidFlag::WNOHANG));
                }
                !stat.zombie
            }
            _ => false,
        });
        self.lock().is_empty()
    }

    /// How many processes outside the group leader are tracked (for logs and tests).
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn carries_marker(&self, pid: i32) -> bool {
        std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|entry| entry == self.marker.as_bytes())
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, u64>> {
        // A panic while holding the lock leaves the map consistent: each step is one insert or
        // remove, so a poisoned lock is still usable.
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Every process in `/proc` by pid.
fn process_table() -> HashMap<i32, Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Fields after the command name, which is in parentheses and may itself contain `)` and spaces:
/// state (3rd field), ppid (4th), start time (22nd).
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        zombie: *fields.first()? == "Z",
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line =
            "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.ppid, stat.start, stat.zombie), (17, 987_654, false));
        assert!(parse_stat("12 (x) Z 1").is_none());
    }

    #[test]
    fn this_process_is_in_the_table_with_its_parent() {
        let table = process_table();
        let me = i32::try_from(std::process::id()).unwrap();
        let parent = i32::try_from(std::os::unix::process::parent_id()).unwrap();
        assert_eq!(table[&me].ppid, parent);
    }
}
