//! The session server sending visitors into a real simulation server's waiting line once every
//! simulation server is full (issue 22), learnt from the slots header of their `/load`, beside an
//! original simulation server (a stub answering the bare load, without the header) that is still
//! chosen on its load alone.

use std::net::SocketAddr;

use super::{start, test_config, wait_for_session, Stub};
use crate::common;
use crate::simulation_server::{
    self as sim, demo_url, expect_ready, next_text, start_demo, Client,
};
use futures_util::SinkExt;
use gltf_cloud::roles::session_server::SimulationServer;
use tokio_tungstenite::tungstenite::Message;

fn entry(addr: SocketAddr) -> SimulationServer {
    SimulationServer {
        url: addr.to_string(),
        repositories: Vec::new(),
    }
}

async fn send_start(server: &sim::Server, client: &mut Client) {
    let start = format!(r#"{{"start":{{"url":"{}"}}}}"#, demo_url(server));
    client.send(Message::Text(start.into())).await.unwrap();
}

fn counter(metrics: &str, name: &str) -> f64 {
    common::parse_prometheus(metrics)
        .into_iter()
        .filter(|(series, _)| series.starts_with(name))
        .map(|(_, value)| value)
        .sum()
}

#[tokio::test]
async fn when_every_simulation_server_is_full_visitors_go_to_the_shortest_line() {
    // One simulator each, on ports nobody else takes meanwhile.
    let first_port = common::free_port_run(2);
    let a = sim::start(&[], |c| {
        c.max_connections = 1;
        c.first_simulator_port = Some(first_port);
    })
    .await;
    let b = sim::start(&[], |c| {
        c.max_connections = 1;
        c.first_simulator_port = Some(first_port + 1);
    })
    .await;
    let mut original = Stub::start("50").await;
    let mut config = test_config(vec![entry(a.addr), entry(b.addr), entry(original.addr)]);
    // The real servers report this machine's load, whatever it is: only slots decide here.
    config.load_threshold = 1000.0;
    let session = start(config).await;

    // Both real servers full: the original, which says nothing of slots, takes the visitor.
    let mut on_a = a.connect().await;
    start_demo(&a, &mut on_a).await;
    let mut on_b = b.connect().await;
    start_demo(&b, &mut on_b).await;
    wait_for_session(&session, &format!("ws://{}", original.addr)).await;

    // The original goes away; someone already waits at a, nobody at b: b's line is shorter.
    original.stop().await;
    let mut waiting_on_a = a.connect().await;
    send_start(&a, &mut waiting_on_a).await;
    assert_eq!(next_text(&mut waiting_on_a).await.unwrap(), "queue: 1");
    wait_for_session(&session, &format!("ws://{}", b.addr)).await;
    let monitor = session.text("/monitor").await;
    assert!(monitor.contains("1 waiting, 99 place(s) left"), "{monitor}");
    assert!(
        monitor.contains("0 waiting, 100 place(s) left"),
        "{monitor}"
    );

    // The visitor follows the answer, waits in b's line and starts when b's simulation ends.
    let answer = session.session().await;
    let (mut visitor, _) = tokio_tungstenite::connect_async(format!("{answer}/client"))
        .await
        .unwrap();
    send_start(&b, &mut visitor).await;
    assert_eq!(next_text(&mut visitor).await.unwrap(), "queue: 1");
    on_b.close(None).await.unwrap();
    drop(on_b);
    assert_eq!(expect_ready(&mut visitor).await, first_port + 1);

    let metrics = session.text("/metrics").await;
    assert!(
        counter(&metrics, "gltf_cloud_session_assignments_to_line_total") >= 1.0,
        "{metrics}"
    );
    drop((on_a, waiting_on_a, visitor));
    session.stop().await;
    a.stop().await;
    b.stop().await;
}
