//! Who gets a simulator: sockets that never send `start` hold none and are closed at the start
//! deadline or pushed out by newer ones (issue 21), so a client that starts promptly is never
//! kept waiting by them; when every simulator is taken, clients that sent `start` wait in line
//! (issue 22).

use std::time::{Duration, Instant};

use super::{demo_url, expect_error, expect_ready, next_text, send, start, Client, Server, STEP};
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

/// `/load`'s slots header, as a session server reads it.
async fn slots_header(server: &Server) -> String {
    let load = common::get(server.addr, "/load").await;
    assert_eq!(load.status, 200);
    let value: f64 = load.text().trim().parse().unwrap();
    assert!(
        (0.0..=100.0).contains(&value),
        "the body stays the bare load: {value}"
    );
    load.headers["x-simulation-slots"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_full_server_keeps_a_line_in_order_and_leaving_it_frees_the_place_at_once() {
    let first_port = common::free_port_run(1);
    let server = start(&[], |c| {
        c.max_connections = 1;
        c.first_simulator_port = Some(first_port);
        c.max_queue_length = 2;
    })
    .await;
    assert_eq!(slots_header(&server).await, "free=1, waiting=0, room=2");
    let mut running = server.connect().await;
    send_start(&server, &mut running).await;
    assert_eq!(expect_ready(&mut running).await, first_port);
    // Silent sockets take no place in the line.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(server.connect().await);
    }
    wait_awaiting_start(&server, 3).await;
    let mut first = server.connect().await;
    send_start(&server, &mut first).await;
    assert_eq!(next_text(&mut first).await.unwrap(), "queue: 1");
    let mut second = server.connect().await;
    send_start(&server, &mut second).await;
    assert_eq!(next_text(&mut second).await.unwrap(), "queue: 2");
    // The line is full: the original's refusal.
    let mut refused = server.connect().await;
    send_start(&server, &mut refused).await;
    assert_eq!(
        expect_error(&mut refused, "Too many").await,
        "loading: Error: Too many open connections"
    );
    assert_eq!(slots_header(&server).await, "free=0, waiting=2, room=0");
    let monitor = common::get(server.addr, "/monitor").await.text();
    assert!(monitor.contains("2 waiting (at most 2)"), "{monitor}");
    assert!(
        monitor.contains("<h2>Waiting for a simulator</h2>"),
        "{monitor}"
    );

    // The first in line leaves: the second is told its new place at once.
    first.close(None).await.unwrap();
    drop(first);
    assert_eq!(next_text(&mut second).await.unwrap(), "queue: 1");
    let mut third = server.connect().await;
    send_start(&server, &mut third).await;
    assert_eq!(next_text(&mut third).await.unwrap(), "queue: 2");

    // The simulation ends: the head of the line starts, with its whole time limit.
    running.close(None).await.unwrap();
    drop(running);
    assert_eq!(expect_ready(&mut second).await, first_port);
    assert_eq!(next_text(&mut third).await.unwrap(), "queue: 1");
    assert_eq!(slots_header(&server).await, "free=0, waiting=1, room=1");
    let monitor: serde_json::Value =
        serde_json::from_str(&common::get(server.addr, "/monitor.json").await.text()).unwrap();
    assert_eq!(monitor["line"], 1, "{monitor}");
    assert_eq!(monitor["waiting"][0]["url"], demo_url(&server), "{monitor}");
    drop((second, third, silent));
    server.stop().await;
}

#[tokio::test]
async fn a_client_waits_no_longer_than_the_maximum_then_gets_the_original_error() {
    let first_port = common::free_port_run(1);
    let server = start(&[], |c| {
        c.max_connections = 1;
        c.first_simulator_port = Some(first_port);
        c.max_queue_wait_seconds = 0.5;
    })
    .await;
    let mut running = server.connect().await;
    send_start(&server, &mut running).await;
    expect_ready(&mut running).await;
    let mut waiting = server.connect().await;
    send_start(&server, &mut waiting).await;
    let started = Instant::now();
    assert_eq!(next_text(&mut waiting).await.unwrap(), "queue: 1");
    assert_eq!(
        expect_error(&mut waiting, "Too many").await,
        "loading: Error: Too many open connections"
    );
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert_eq!(slots_header(&server).await, "free=0, waiting=0, room=100");
    drop(running);
    server.stop().await;
}
