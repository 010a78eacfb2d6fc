//! Choosing a simulation server, and the figures derived from the load table: pure functions of
//! the config's entries and the latest poll round, so every rule is unit-tested without sockets.

use super::config::SimulationServer;
use super::poller::Table;
use crate::protocol::webots::load::UNREACHABLE_LOAD;

/// Where a session request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// A server below the threshold with a simulator free (or one that does not say): the
    /// original's choice.
    Start(usize),
    /// No such server: the one with the shortest waiting line among those offering a place.
    Queue(usize),
}

impl Choice {
    pub fn index(self) -> usize {
        match self {
            Choice::Start(i) | Choice::Queue(i) => i,
        }
    }
}

/// The server for a session request that may run `simulation_url`, as an index into `servers`
/// (and into the table's columns, which are parallel to it).
///
/// First the original's rule: the least-loaded server below `threshold`, a strict `<` making the
/// first listed win a tie; a server whose `/load` said it has no simulator free is skipped, as a
/// visitor sent there would wait. When none is left, a visitor is sent into the shortest line
/// (issue 22) of a reachable server that offers a place in one, ties going to the lower load and
/// then to the first listed: joining a line adds no load, since a simulation starts from it only
/// when another ends. Original simulation servers say nothing about slots: they are chosen on
/// their load alone, as before, and never get a queued visitor.
///
/// Servers reserved for repositories (see [`SimulationServer::repositories`]) only take URLs
/// matching their prefixes, and such a URL goes only to them; every other request goes to the
/// public servers. Without reserved entries every server is public.
pub fn choose(
    servers: &[SimulationServer],
    table: &Table,
    threshold: f64,
    simulation_url: Option<&str>,
) -> Option<Choice> {
    let dedicated: Vec<usize> = match simulation_url {
        Some(url) => (0..servers.len())
            .filter(|&i| servers[i].is_dedicated_to(url))
            .collect(),
        None => Vec::new(),
    };
    let candidates: Vec<usize> = if dedicated.is_empty() {
        (0..servers.len())
            .filter(|&i| servers[i].is_public())
            .collect()
    } else {
        dedicated
    };
    let mut best: Option<(usize, f64)> = None;
    for &i in &candidates {
        let Some(&load) = table.loads.get(i) else {
            continue;
        };
        // NaN never reaches the table (the poller keeps the old value), but must not win either.
        if load.is_nan() || load >= threshold {
            continue;
        }
        if table.slots_of(i).is_some_and(|slots| slots.free == 0) {
            continue;
        }
        if best.is_none_or(|(_, minimum)| load < minimum) {
            best = Some((i, load));
        }
    }
    if let Some((i, _)) = best {
        return Some(Choice::Start(i));
    }
    let mut shortest: Option<(usize, usize, f64)> = None;
    for &i in &candidates {
        let (Some(&load), Some(slots)) = (table.loads.get(i), table.slots_of(i)) else {
            continue;
        };
        if load == UNREACHABLE_LOAD || load.is_nan() || slots.free > 0 || slots.room == 0 {
            continue;
        }
        let shorter = shortest.is_none_or(|(_, waiting, minimum)| {
            slots.waiting < waiting || (slots.waiting == waiting && load < minimum)
        });
        if shorter {
            shortest = Some((i, slots.waiting, load));
        }
    }
    shortest.map(|(i, _, _)| Choice::Queue(i))
}

/// Whether a request without a repository URL would get a server (a start or a place in a line):
/// the value the availability WebSocket sends (`any(load < threshold)` in the original, over the
/// public servers here).
pub fn available(servers: &[SimulationServer], table: &Table, threshold: f64) -> bool {
    choose(servers, table, threshold, None).is_some()
}

/// The mean load of the servers that answered their last poll, `None` when none did (the
/// session server's `/load` then says `-1`).
pub fn average_of_reachable(loads: &[f64]) -> Option<f64> {
    let reachable: Vec<f64> = loads
        .iter()
        .copied()
        .filter(|&load| load != UNREACHABLE_LOAD)
        .collect();
    if reachable.is_empty() {
        None
    } else {
        Some(reachable.iter().sum::<f64>() / reachable.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::webots::load::Slots;

    fn public(names: &[&str]) -> Vec<SimulationServer> {
        names
            .iter()
            .map(|url| SimulationServer {
                url: (*url).to_owned(),
                repositories: Vec::new(),
            })
            .collect()
    }

    /// A round of original simulation servers: loads, no slots header.
    fn loads(loads: &[f64]) -> Table {
        Table {
            loads: loads.to_vec(),
            slots: vec![None; loads.len()],
        }
    }

    /// The original's rule: the index chosen from loads alone.
    fn pick(
        servers: &[SimulationServer],
        loads_: &[f64],
        threshold: f64,
        url: Option<&str>,
    ) -> Option<usize> {
        choose(servers, &loads(loads_), threshold, url).map(|choice| {
            assert!(matches!(choice, Choice::Start(_)), "{choice:?}");
            choice.index()
        })
    }

    fn slots(free: usize, waiting: usize, room: usize) -> Option<Slots> {
        Some(Slots {
            free,
            waiting,
            room,
        })
    }

    #[test]
    fn least_loaded_below_threshold_wins() {
        let servers = public(&["a", "b", "c"]);
        assert_eq!(pick(&servers, &[50.0, 20.0, 30.0], 95.0, None), Some(1));
        assert_eq!(pick(&servers, &[50.0, 96.0, 30.0], 95.0, None), Some(2));
        // At the threshold counts as full, as in the original's `load >= LOAD_THRESHOLD`.
        assert_eq!(pick(&servers, &[95.0, 95.0, 94.9], 95.0, None), Some(2));
        assert_eq!(pick(&servers, &[95.0, 1000.0, 99.0], 95.0, None), None);
        assert_eq!(pick(&servers, &[98.0, 1000.0, 99.0], 99.0, None), Some(0));
    }

    #[test]
    fn ties_go_to_the_first_listed() {
        let servers = public(&["a", "b", "c"]);
        assert_eq!(pick(&servers, &[40.0, 10.0, 10.0], 95.0, None), Some(1));
        assert_eq!(pick(&servers, &[0.0, 0.0, 0.0], 95.0, None), Some(0));
    }

    #[test]
    fn nan_and_missing_loads_are_never_chosen() {
        let servers = public(&["a", "b", "c"]);
        assert_eq!(pick(&servers, &[f64::NAN, 80.0], 95.0, None), Some(1));
        assert_eq!(pick(&servers, &[f64::NAN], 95.0, None), None);
    }

    #[test]
    fn url_is_ignored_without_dedicated_servers() {
        let servers = public(&["a", "b"]);
        let url = Some("https://github.com/acme/robot/blob/main/worlds/w.wbt");
        assert_eq!(pick(&servers, &[30.0, 20.0], 95.0, url), Some(1));
    }

    #[test]
    fn dedicated_servers_take_only_their_repositories() {
        let mut servers = public(&["public1", "acme", "public2"]);
        servers[1].repositories = vec!["https://github.com/acme/".to_owned()];
        let round = [50.0, 60.0, 40.0];
        let acme = Some("https://github.com/acme/robot/blob/main/worlds/w.wbt");
        let other = Some("https://github.com/other/robot/blob/main/worlds/w.wbt");
        assert_eq!(pick(&servers, &round, 95.0, acme), Some(1));
        assert_eq!(pick(&servers, &round, 95.0, other), Some(2));
        assert_eq!(pick(&servers, &round, 95.0, None), Some(2));
        // A busy dedicated server does not send its repositories to the public ones.
        assert_eq!(pick(&servers, &[50.0, 99.0, 40.0], 95.0, acme), None);
        // Nor does an idle dedicated server take other requests.
        assert_eq!(pick(&servers, &[99.0, 0.0, 99.0], 95.0, other), None);
        assert!(!available(&servers, &loads(&[99.0, 0.0, 99.0]), 95.0));
        assert!(available(&servers, &loads(&[99.0, 0.0, 94.0]), 95.0));
    }

    #[test]
    fn a_server_with_no_simulator_free_is_skipped_while_another_has_one() {
        let servers = public(&["full", "original", "roomy"]);
        let table = Table {
            loads: vec![10.0, 30.0, 20.0],
            slots: vec![slots(0, 0, 100), None, slots(3, 0, 100)],
        };
        assert_eq!(choose(&servers, &table, 95.0, None), Some(Choice::Start(2)));
        // An original server is chosen on its load alone.
        let table = Table {
            loads: vec![10.0, 30.0, 40.0],
            slots: vec![slots(0, 0, 100), None, slots(3, 0, 100)],
        };
        assert_eq!(choose(&servers, &table, 95.0, None), Some(Choice::Start(1)));
    }

    #[test]
    fn when_every_server_is_full_the_shortest_line_with_room_wins() {
        let servers = public(&["a", "b", "c", "d", "original"]);
        let table = Table {
            loads: vec![40.0, 99.0, 30.0, 20.0, 99.0],
            // a: 2 waiting; b: 1 waiting (over the threshold, still a line); c: line full;
            // d: no line at all; the original: over the threshold, no header.
            slots: vec![
                slots(0, 2, 8),
                slots(0, 1, 9),
                slots(0, 0, 0),
                slots(0, 0, 0),
                None,
            ],
        };
        assert_eq!(choose(&servers, &table, 95.0, None), Some(Choice::Queue(1)));
        // Equal lines: the lower load, then the first listed.
        let table = Table {
            loads: vec![40.0, 30.0, 30.0],
            slots: vec![slots(0, 1, 9), slots(0, 1, 9), slots(0, 1, 9)],
        };
        let three = public(&["a", "b", "c"]);
        assert_eq!(choose(&three, &table, 95.0, None), Some(Choice::Queue(1)));
        assert!(available(&three, &table, 95.0));
        // An unreachable server's last header does not count, nor does a full line anywhere.
        let table = Table {
            loads: vec![UNREACHABLE_LOAD, 50.0],
            slots: vec![slots(0, 0, 9), slots(0, 4, 0)],
        };
        assert_eq!(choose(&public(&["a", "b"]), &table, 95.0, None), None);
    }

    #[test]
    fn a_busy_server_with_simulators_free_gets_no_visitor() {
        // Over the threshold with slots free: a visitor would start there and add load.
        let servers = public(&["a"]);
        let table = Table {
            loads: vec![99.0],
            slots: vec![slots(2, 0, 10)],
        };
        assert_eq!(choose(&servers, &table, 95.0, None), None);
    }

    #[test]
    fn dedicated_lines_stay_dedicated() {
        let mut servers = public(&["public", "acme"]);
        servers[1].repositories = vec!["https://github.com/acme/".to_owned()];
        let table = Table {
            loads: vec![10.0, 50.0],
            slots: vec![slots(0, 0, 10), slots(0, 3, 7)],
        };
        let acme = Some("https://github.com/acme/robot/blob/main/worlds/w.wbt");
        assert_eq!(choose(&servers, &table, 95.0, acme), Some(Choice::Queue(1)));
        assert_eq!(choose(&servers, &table, 95.0, None), Some(Choice::Queue(0)));
    }

    #[test]
    fn average_skips_unreachable_servers() {
        assert_eq!(average_of_reachable(&[10.0, 1000.0, 30.0]), Some(20.0));
        assert_eq!(average_of_reachable(&[1000.0, 1000.0]), None);
        assert_eq!(average_of_reachable(&[]), None);
    }
}
