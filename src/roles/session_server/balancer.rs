//! Choosing a simulation server, and the figures derived from the load table: pure functions of
//! the config's entries and the latest loads, so every rule is unit-tested without sockets.

use super::config::SimulationServer;
use crate::protocol::webots::load::UNREACHABLE_LOAD;

/// The least-loaded server below `threshold` among those that may run `simulation_url`, as an
/// index into `servers` (and `loads`, which is parallel to it).
///
/// As in the original, a strict `<` makes the first listed server win a tie. Servers reserved for
/// repositories (see [`SimulationServer::repositories`]) only take URLs matching their prefixes,
/// and such a URL goes only to them; every other request goes to the public servers. Without
/// reserved entries every server is public and the choice is the original's exactly.
pub fn choose(
    servers: &[SimulationServer],
    loads: &[f64],
    threshold: f64,
    simulation_url: Option<&str>,
) -> Option<usize> {
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
    for i in candidates {
        let Some(&load) = loads.get(i) else { continue };
        // NaN never reaches the table (the poller keeps the old value), but must not win either.
        if load.is_nan() || load >= threshold {
            continue;
        }
        if best.is_none_or(|(_, minimum)| load < minimum) {
            best = Some((i, load));
        }
    }
    best.map(|(i, _)| i)
}

/// Whether a request without a repository URL would get a server: the value the availability
/// WebSocket sends (`any(load < threshold)` in the original, over the public servers here).
pub fn available(servers: &[SimulationServer], loads: &[f64], threshold: f64) -> bool {
    choose(servers, loads, threshold, None).is_some()
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

    fn public(names: &[&str]) -> Vec<SimulationServer> {
        names
            .iter()
            .map(|url| SimulationServer {
                url: (*url).to_owned(),
                repositories: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn least_loaded_below_threshold_wins() {
        let servers = public(&["a", "b", "c"]);
        assert_eq!(choose(&servers, &[50.0, 20.0, 30.0], 95.0, None), Some(1));
        assert_eq!(choose(&servers, &[50.0, 96.0, 30.0], 95.0, None), Some(2));
        // At the threshold counts as full, as in the original's `load >= LOAD_THRESHOLD`.
        assert_eq!(choose(&servers, &[95.0, 95.0, 94.9], 95.0, None), Some(2));
        assert_eq!(choose(&servers, &[95.0, 1000.0, 99.0], 95.0, None), None);
        assert_eq!(choose(&servers, &[98.0, 1000.0, 99.0], 99.0, None), Some(0));
    }

    #[test]
    fn ties_go_to_the_first_listed() {
        let servers = public(&["a", "b", "c"]);
        assert_eq!(choose(&servers, &[40.0, 10.0, 10.0], 95.0, None), Some(1));
        assert_eq!(choose(&servers, &[0.0, 0.0, 0.0], 95.0, None), Some(0));
    }

    #[test]
    fn nan_and_missing_loads_are_never_chosen() {
        let servers = public(&["a", "b", "c"]);
        assert_eq!(choose(&servers, &[f64::NAN, 80.0], 95.0, None), Some(1));
        assert_eq!(choose(&servers, &[f64::NAN], 95.0, None), None);
    }

    #[test]
    fn url_is_ignored_without_dedicated_servers() {
        let servers = public(&["a", "b"]);
        let url = Some("https://github.com/acme/robot/blob/main/worlds/w.wbt");
        assert_eq!(choose(&servers, &[30.0, 20.0], 95.0, url), Some(1));
    }

    #[test]
    fn dedicated_servers_take_only_their_repositories() {
        let mut servers = public(&["public1", "acme", "public2"]);
        servers[1].repositories = vec!["https://github.com/acme/".to_owned()];
        let loads = [50.0, 60.0, 40.0];
        let acme = Some("https://github.com/acme/robot/blob/main/worlds/w.wbt");
        let other = Some("https://github.com/other/robot/blob/main/worlds/w.wbt");
        assert_eq!(choose(&servers, &loads, 95.0, acme), Some(1));
        assert_eq!(choose(&servers, &loads, 95.0, other), Some(2));
        assert_eq!(choose(&servers, &loads, 95.0, None), Some(2));
        // A busy dedicated server does not send its repositories to the public ones.
        assert_eq!(choose(&servers, &[50.0, 99.0, 40.0], 95.0, acme), None);
        // Nor does an idle dedicated server take other requests.
        assert_eq!(choose(&servers, &[99.0, 0.0, 99.0], 95.0, other), None);
        assert!(!available(&servers, &[99.0, 0.0, 99.0], 95.0));
        assert!(available(&servers, &[99.0, 0.0, 94.0], 95.0));
    }

    #[test]
    fn average_skips_unreachable_servers() {
        assert_eq!(average_of_reachable(&[10.0, 1000.0, 30.0]), Some(20.0));
        assert_eq!(average_of_reachable(&[1000.0, 1000.0]), None);
        assert_eq!(average_of_reachable(&[]), None);
    }
}
