//! The session server balancing between two real in-process simulation servers, polling their own
//! `/load`: one stops and every session goes to the other.

use crate::common;

use std::time::Duration;

use gltf_cloud::roles::{session_server, simulation_server};

const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn balances_between_real_simulation_servers() {
    let first_server = common::start_simulation_server(simulation_server::Config::default()).await;
    let second_server = common::start_simulation_server(simulation_server::Config::default()).await;
    let (first, second) = (first_server.addr, second_server.addr);
    for addr in [first, second] {
        let load = common::get(addr, "/load").await;
        assert_eq!(load.status, 200);
        let value: f64 = load.text().trim().parse().unwrap();
        assert!((0.0..=100.0).contains(&value), "{value}");
    }

    let config = session_server::Config {
        simulation_servers: [first, second]
            .iter()
            .map(|addr| session_server::SimulationServer {
                url: addr.to_string(),
                repositories: Vec::new(),
            })
            .collect(),
        ssl: false,
        port_rewrite: false,
        // A test machine may be busy: no real server must count as full here.
        load_threshold: 1000.0,
        load_poll_period_seconds: 0.2,
        load_poll_timeout_seconds: 2.0,
        ..session_server::Config::default()
    };
    let session = common::start_session_server(config).await;
    let session_addr = session.addr;

    let answer = common::get(session_addr, "/session").await.text();
    assert!(
        answer == format!("ws://{first}") || answer == format!("ws://{second}"),
        "{answer}"
    );
    let monitor = common::get(session_addr, "/monitor").await.text();
    assert!(monitor.contains(&first.to_string()) && monitor.contains(&second.to_string()));
    assert!(
        !monitor.contains("N/A"),
        "both real servers answer: {monitor}"
    );

    // One simulation server stops: every session goes to the other.
    first_server.stop().await;
    let expected = format!("ws://{second}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while common::get(session_addr, "/session").await.text() != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never switched to {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    session.stop().await;
    second_server.stop().await;
}
