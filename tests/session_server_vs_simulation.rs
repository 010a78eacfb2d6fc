//! The session server balancing between two real in-process simulation servers, polling their own
//! `/load`: one stops and every session goes to the other.
#![allow(clippy::unwrap_used)] // a test that cannot set up should fail loudly

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use gltf_cloud::roles::{session_server, simulation_server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(20);

async fn start_simulation() -> (
    SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(simulation_server::run(
        listener,
        simulation_server::Config::default(),
        token.clone(),
    ));
    (addr, token, task)
}

#[tokio::test]
async fn balances_between_real_simulation_servers() {
    let (first, first_stop, first_task) = start_simulation().await;
    let (second, second_stop, second_task) = start_simulation().await;
    for addr in [first, second] {
        let load = common::get(addr, "/load").await;
        assert_eq!(load.status, 200);
        let value: f64 = load.text().trim().parse().unwrap();
        assert!((0.0..=100.0).contains(&value), "{value}");
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let session_addr = listener.local_addr().unwrap();
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
    let session_stop = CancellationToken::new();
    let session_task = tokio::spawn(session_server::run(listener, config, session_stop.clone()));

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
    first_stop.cancel();
    first_task.await.unwrap().unwrap();
    let expected = format!("ws://{second}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while common::get(session_addr, "/session").await.text() != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never switched to {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    session_stop.cancel();
    session_task.await.unwrap().unwrap();
    second_stop.cancel();
    second_task.await.unwrap().unwrap();
}
