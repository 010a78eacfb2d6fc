//! Who gets a simulator: sockets that never send `start` hold none and are closed at the start
//! deadline or pushed out by newer ones (issue 21), so a client that starts promptly is never
//! kept waiting by them.

use std::time::{Duration, Instant};

use super::{demo_url, expect_error, expect_ready, send, start, Client, Server, STEP};
use crate::common;

async fn send_start(server: &Server, client: &mut Client) {
    send(
        client,
        &format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(server)),
    )
    .await;
}

/// `/monitor.json`'s count of sockets awaiting their start message, once it equals `expected`
/// (each socket is counted when its session task runs, just after the upgrade answer).
async fn wait_awaiting_start(server: &Server, expected: u64) {
    let deadline = Instant::now() + STEP;
    loop {
        let monitor: serde_json::Value =
            serde_json::from_str(&common::get(server.addr, "/monitor.json").await.text()).unwrap();
        if monitor["awaitingStart"].as_u64() == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "awaitingStart stayed {} instead of {expected}",
            monitor["awaitingStart"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sessions_ended(metrics: &str, outcome: &str) -> f64 {
    let name = format!("gltf_cloud_simulation_sessions_total{{outcome=\"{outcome}\"}}");
    common::parse_prometheus(metrics)
        .into_iter()
        .find(|(series, _)| *series == name)
        .map_or(0.0, |(_, value)| value)
}

#[tokio::test]
async fn a_silent_socket_holds_no_simulator_and_is_closed_at_the_start_deadline() {
    let first_port = common::free_port_run(1);
    let server = start(&[], |c| {
        c.max_connections = 1;
        c.first_simulator_port = Some(first_port);
        c.client_start_timeout_seconds = 0.5;
    })
    .await;
    let started = Instant::now();
    let mut silent = server.connect().await;
    wait_awaiting_start(&server, 1).await;
    // The only simulator goes to the client that asks for it, silent socket or not.
    let mut prompt = server.connect().await;
    send_start(&server, &mut prompt).await;
    assert_eq!(expect_ready(&mut prompt).await, first_port);
    let error = expect_error(&mut silent, "no start message within 0.5 s").await;
    let took = started.elapsed();
    println!("a /client socket silent before start closed after {took:?}: {error}");
    assert!(error.contains("clientStartTimeoutSeconds"), "{error}");
    assert!(took >= Duration::from_millis(450), "{took:?}");
    wait_awaiting_start(&server, 0).await;
    let metrics = common::get(server.addr, "/metrics").await.text();
    assert_eq!(sessions_ended(&metrics, "no_start"), 1.0, "{metrics}");
    drop(prompt);
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_silent_sockets_pushes_itself_out_and_a_prompt_client_starts() {
    const CAP: usize = 8;
    const FLOOD: usize = 40;
    let first_port = common::free_port_run(1);
    let server = start(&[], |c| {
        c.max_connections = 1;
        c.first_simulator_port = Some(first_port);
        c.max_clients_awaiting_start = CAP;
        // Long: here only the cap may close silent sockets.
        c.client_start_timeout_seconds = 300.0;
    })
    .await;
    let mut flood = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        flood.push(server.connect().await);
        // In order, so the oldest is known: each socket is counted before the next one opens.
        wait_awaiting_start(&server, flood.len().min(CAP) as u64).await;
    }
    // Every socket but the newest CAP was told and closed; the newest still wait.
    for silent in &mut flood[..FLOOD - CAP] {
        let error = expect_error(silent, "maxClientsAwaitingStart").await;
        assert_eq!(
            error,
            format!(
                "loading: Error: no start message while {CAP} newer sockets opened \
                 (maxClientsAwaitingStart)"
            )
        );
    }
    let started = Instant::now();
    let mut prompt = server.connect().await;
    send_start(&server, &mut prompt).await;
    assert_eq!(expect_ready(&mut prompt).await, first_port);
    println!(
        "with {CAP} silent sockets open (and {} pushed out), a prompt client got its simulator \
         in {:?}",
        FLOOD - CAP,
        started.elapsed()
    );
    // Its own arrival pushed out one more silent socket; its start then left the cap's count.
    expect_error(&mut flood[FLOOD - CAP], "maxClientsAwaitingStart").await;
    wait_awaiting_start(&server, (CAP - 1) as u64).await;
    let metrics = common::get(server.addr, "/metrics").await.text();
    assert_eq!(
        sessions_ended(&metrics, "no_start"),
        (FLOOD - CAP + 1) as f64,
        "{metrics}"
    );
    drop(prompt);
    drop(flood);
    server.stop().await;
}
