//! The session server on real loopback sockets, against scripted stub simulation servers whose
//! `/load` answer, status and delay each test changes while the session server runs.
//!
//! Over 600 lines on purpose: independent tests that share one harness (the scripted stubs) and are
//! read one at a time; split by subject, each part would need most of that harness.

use crate::common;

mod lines; // visitors sent into real simulation servers' waiting lines when all are full
mod vs_simulation; // the session server balancing between real simulation servers

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use gltf_cloud::core::config::ServerConfig;
use gltf_cloud::core::metrics;
use gltf_cloud::core::{server, tls};
use gltf_cloud::protocol::webots::session::NO_SERVER_AVAILABLE;
use gltf_cloud::roles::session_server::{run, Config, MailSecurity, SimulationServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Longest any awaited condition may take before the test fails; every wait is a bounded loop.
const PATIENCE: Duration = Duration::from_secs(20);

/// What a stub's `/load` answers.
#[derive(Clone)]
struct Script {
    status: StatusCode,
    body: String,
    delay: Duration,
}

#[derive(Default)]
struct StubState {
    script: Mutex<Option<Script>>,
    /// Polls answered or in progress, so tests can wait for "a poll happened" instead of sleeping.
    polls: AtomicUsize,
    in_flight: AtomicUsize,
    /// Polls answered with a non-2xx status.
    errors: AtomicUsize,
}

/// A scripted simulation server on 127.0.0.1:0 that can be stopped and restarted on its port.
struct Stub {
    addr: SocketAddr,
    state: Arc<StubState>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn load_handler(State(state): State<Arc<StubState>>) -> (StatusCode, String) {
    state.polls.fetch_add(1, Ordering::SeqCst);
    let script = state.script.lock().unwrap().clone().unwrap();
    // The poller drops slow requests at its timeout, which drops this future mid-sleep: the guard
    // keeps the count right either way.
    let _outstanding = InFlight::enter(&state);
    tokio::time::sleep(script.delay).await;
    if !script.status.is_success() {
        state.errors.fetch_add(1, Ordering::SeqCst);
    }
    (script.status, script.body)
}

/// Counts a `/load` request in `in_flight` for exactly as long as it is being answered.
struct InFlight<'a>(&'a StubState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a StubState) -> Self {
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Stub {
    async fn start(body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut stub = Self {
            addr: listener.local_addr().unwrap(),
            state: Arc::new(StubState::default()),
            task: None,
        };
        stub.answer(StatusCode::OK, body, Duration::ZERO);
        stub.serve(listener);
        stub
    }

    fn serve(&mut self, listener: TcpListener) {
        let app = Router::new()
            .route("/load", get(load_handler))
            .with_state(Arc::clone(&self.state));
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }));
    }

    fn answer(&self, status: StatusCode, body: &str, delay: Duration) {
        *self.state.script.lock().unwrap() = Some(Script {
            status,
            body: body.to_owned(),
            delay,
        });
    }

    fn load(&self, body: &str) {
        self.answer(StatusCode::OK, body, Duration::ZERO);
    }

    /// Closes the listening socket: connections are refused from now on.
    async fn stop(&mut self) {
        let task = self.task.take().unwrap();
        task.abort();
        let _ = task.await;
    }

    async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn entry(&self) -> String {
        self.addr.to_string()
    }

    fn errors(&self) -> usize {
        self.state.errors.load(Ordering::SeqCst)
    }

    fn polls(&self) -> usize {
        self.state.polls.load(Ordering::SeqCst)
    }

    /// Waits until this stub has received `more` further polls.
    async fn wait_polls(&self, more: usize) {
        let target = self.polls() + more;
        wait_until(&format!("{more} polls of {}", self.addr), || async {
            self.polls() >= target
        })
        .await;
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A session server with the ways these tests ask it for answers.
struct Session(common::Running);

impl std::ops::Deref for Session {
    type Target = common::Running;

    fn deref(&self) -> &common::Running {
        &self.0
    }
}

impl Session {
    async fn stop(self) {
        self.0.stop().await;
    }

    async fn text(&self, path: &str) -> String {
        let reply = tokio::time::timeout(PATIENCE, common::get(self.addr, path))
            .await
            .expect("answer");
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        reply.text()
    }

    async fn session(&self) -> String {
        self.text("/session").await
    }
}

fn public(stubs: &[&Stub]) -> Vec<SimulationServer> {
    stubs
        .iter()
        .map(|stub| SimulationServer {
            url: stub.entry(),
            repositories: Vec::new(),
        })
        .collect()
}

/// A config for loopback tests: plain ws/http, fast polls.
fn test_config(servers: Vec<SimulationServer>) -> Config {
    Config {
        simulation_servers: servers,
        ssl: false,
        port_rewrite: false,
        load_poll_period_seconds: 0.1,
        load_poll_timeout_seconds: 1.0,
        ..Config::default()
    }
}

/// Starts the session server; `run` returns to the caller only after its first poll, but the
/// listener is bound already, so requests may be sent at once.
async fn start(config: Config) -> Session {
    Session(common::start_session_server(config).await)
}

async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_session(session: &Session, expected: &str) {
    wait_until(&format!("/session == {expected}"), || async {
        session.session().await == expected
    })
    .await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(socket: &mut Socket) -> String {
    match tokio::time::timeout(PATIENCE, socket.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn received<T>(channel: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(PATIENCE, channel.recv())
        .await
        .expect("delivered in time")
        .expect("channel open")
}

fn ws(stub: &Stub) -> String {
    format!("ws://{}", stub.entry())
}

#[tokio::test]
async fn least_loaded_is_chosen_overloaded_skipped_ties_to_first() {
    let a = Stub::start("50").await;
    let b = Stub::start("20").await;
    let c = Stub::start("30").await;
    let session = start(test_config(public(&[&a, &b, &c]))).await;

    // The first poll completes before the first answer, so this is already the real choice.
    let reply = common::get(session.addr, "/session?url=https://github.com/x/y").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), ws(&b), "least loaded, no newline");
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    assert_eq!(
        reply.headers["access-control-allow-headers"],
        "x-requested-with"
    );
    assert_eq!(
        reply.headers["access-control-allow-methods"],
        "POST, GET, OPTIONS"
    );
    assert_eq!(reply.headers["content-type"], "text/html; charset=UTF-8");

    b.load("96");
    wait_for_session(&session, &ws(&c)).await;

    a.load("30");
    wait_for_session(&session, &ws(&a)).await; // 30 == 30: the first listed wins
    c.wait_polls(3).await;
    assert_eq!(
        session.session().await,
        ws(&a),
        "the tie stays with the first"
    );

    a.load("95"); // at the threshold counts as full
    c.load("99.5");
    wait_until("all full", || async {
        session.session().await == NO_SERVER_AVAILABLE
    })
    .await;
    // Errors keep status 200 and the CORS headers, and other methods get 405 with them too.
    let refused = common::get(session.addr, "/session").await;
    assert_eq!(refused.status, 200);
    assert_eq!(refused.text(), NO_SERVER_AVAILABLE);
    let stream = tokio::net::TcpStream::connect(session.addr).await.unwrap();
    let options = common::request_on(stream, "OPTIONS", "/session", Vec::new()).await;
    assert_eq!(options.status, 405);
    assert_eq!(options.headers["access-control-allow-origin"], "*");
    session.stop().await;
}

#[tokio::test]
async fn first_answers_reflect_the_first_poll() {
    // With the original's initial table ([0]*n) the first listed would win; with ours, before
    // the poll, nobody would; only a completed first poll gives the second one.
    let a = Stub::start("90").await;
    let b = Stub::start("10").await;
    let session = start(test_config(public(&[&a, &b]))).await;
    assert_eq!(session.session().await, ws(&b));
    session.stop().await;
}

#[tokio::test]
async fn a_server_that_stops_answering_is_skipped_and_chosen_again_on_recovery() {
    let mut a = Stub::start("10").await;
    let b = Stub::start("20").await;
    let session = start(test_config(public(&[&a, &b]))).await;
    assert_eq!(session.session().await, ws(&a));

    // The socket closes: connections are refused.
    a.stop().await;
    wait_for_session(&session, &ws(&b)).await;
    let monitor = session.text("/monitor").await;
    assert!(monitor.contains("N/A"), "{monitor}");
    assert_eq!(session.text("/load").await, "20.0");

    a.restart().await;
    wait_for_session(&session, &ws(&a)).await;

    // An HTTP error status counts as not answering too.
    a.answer(StatusCode::INTERNAL_SERVER_ERROR, "10", Duration::ZERO);
    wait_for_session(&session, &ws(&b)).await;
    a.load("10");
    wait_for_session(&session, &ws(&a)).await;
    session.stop().await;
}

#[tokio::test]
async fn a_server_is_skipped_after_one_failed_poll() {
    let a = Stub::start("10").await;
    let b = Stub::start("20").await;
    // A period long next to the wait loop's step, so the switch is seen before a second round.
    let mut config = test_config(public(&[&a, &b]));
    config.load_poll_period_seconds = 3.0;
    let session = start(config).await;
    assert_eq!(session.session().await, ws(&a));
    a.answer(StatusCode::SERVICE_UNAVAILABLE, "", Duration::ZERO);
    wait_for_session(&session, &ws(&b)).await;
    assert_eq!(a.errors(), 1, "skipped after a single failed poll");
    session.stop().await;
}

#[tokio::test]
async fn availability_socket_sends_the_state_on_open_then_only_changes() {
    let a = Stub::start("10").await;
    let session = start(test_config(public(&[&a]))).await;
    let url = format!("ws://{}/", session.addr);
    let (mut first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(next(&mut first).await, "1");

    // Several polls with the same state and an ignored client message; the next frame must be the
    // change, so no repeated "1" was sent in between.
    first.send(Message::Text("hello".into())).await.unwrap();
    a.wait_polls(3).await;
    a.load("99");
    assert_eq!(next(&mut first).await, "0");

    // A client connecting now is told the current state at once.
    let (mut second, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(next(&mut second).await, "0");

    a.wait_polls(3).await;
    a.load("5");
    assert_eq!(next(&mut first).await, "1");
    assert_eq!(next(&mut second).await, "1");

    // Unreachable counts as unavailable.
    a.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    assert_eq!(next(&mut first).await, "0");
    assert_eq!(next(&mut second).await, "0");

    // A plain GET on the socket's path is refused with a client error.
    let plain = common::get(session.addr, "/").await;
    assert!((400..500).contains(&plain.status), "{}", plain.status);

    // Shutdown closes the sockets, saying why in the close frame.
    session.stop().await;
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match first.next().await {
                Some(Ok(Message::Close(frame))) => break frame,
                None | Some(Err(_)) => break None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("socket closed at shutdown")
    .expect("a close frame");
    assert_eq!(closed.code, CloseCode::Away);
    assert_eq!(
        closed.reason.as_str(),
        gltf_cloud::protocol::webots::session::SHUTDOWN_CLOSE_REASON
    );
}

#[tokio::test]
async fn a_slow_server_does_not_delay_session_answers() {
    let fast = Stub::start("30").await;
    let slow = Stub::start("10").await;
    let mut config = test_config(public(&[&fast, &slow]));
    config.load_poll_timeout_seconds = 5.0;
    let session = start(config).await;
    assert_eq!(session.session().await, ws(&slow));

    slow.answer(StatusCode::OK, "10", Duration::from_secs(10));
    wait_until("a poll of the slow server to be outstanding", || async {
        slow.state.in_flight.load(Ordering::SeqCst) > 0
    })
    .await;
    // Answers come back while that poll is still outstanding: they never wait on it. The bound
    // is far below the 5 s poll timeout and the 10 s delay.
    for _ in 0..20 {
        let answer = tokio::time::timeout(Duration::from_secs(1), session.session())
            .await
            .expect("/session answered while a poll is outstanding");
        assert!(answer == ws(&slow) || answer == ws(&fast), "{answer}");
        let load = tokio::time::timeout(Duration::from_secs(1), session.text("/load"))
            .await
            .expect("/load answered while a poll is outstanding");
        assert!(!load.is_empty());
    }
    assert!(
        slow.state.in_flight.load(Ordering::SeqCst) > 0,
        "the slow poll was still outstanding during all those answers"
    );
    // After the poll timeout the slow server counts as unreachable.
    wait_for_session(&session, &ws(&fast)).await;
    session.stop().await;
}

#[tokio::test]
async fn a_thousand_concurrent_session_requests_are_all_answered() {
    let a = Stub::start("40").await;
    let b = Stub::start("25").await;
    let session = start(test_config(public(&[&a, &b]))).await;
    assert_eq!(session.session().await, ws(&b));
    let expected = ws(&b);
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let addr = session.addr;
        requests.spawn(async move { common::get(addr, "/session").await });
    }
    let mut answered = 0;
    let all = tokio::time::timeout(PATIENCE * 3, async {
        while let Some(reply) = requests.join_next().await {
            let reply = reply.unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.text(), expected);
            answered += 1;
        }
    })
    .await;
    assert!(all.is_ok(), "only {answered} of 1000 answered in time");
    assert_eq!(answered, 1000);
    session.stop().await;
}

#[tokio::test]
async fn monitor_lists_every_server_and_load_averages_reachable_ones() {
    let a = Stub::start("10").await;
    let b = Stub::start("30").await;
    let c = Stub::start("96.5").await;
    let session = start(test_config(public(&[&a, &b, &c]))).await;
    wait_until("/load of three servers", || async {
        session.text("/load").await == "45.5"
    })
    .await;

    c.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    wait_until("/load of the reachable servers", || async {
        session.text("/load").await == "20.0"
    })
    .await;
    let monitor = session.text("/monitor").await;
    assert!(
        monitor.contains("Managing 3 simulation servers:"),
        "{monitor}"
    );
    for (stub, load) in [(&a, "10.0%"), (&b, "30.0%")] {
        let row = format!(
            "<a href=\"http://{0}/monitor\">{0}</a></td><td>{load}</td>",
            stub.entry()
        );
        assert!(monitor.contains(&row), "{row} in {monitor}");
    }
    assert!(
        monitor.contains(&format!(
            "{0}</a></td><td><span class=\"full\">N/A</span>",
            c.entry()
        )),
        "{monitor}"
    );
    assert!(
        monitor.contains("average:</td><td><b>20.0%</b>"),
        "{monitor}"
    );
    assert!(
        !monitor.contains("<script src") && !monitor.contains("<link"),
        "{monitor}"
    );

    a.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    b.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    wait_until("/load with no reachable server", || async {
        session.text("/load").await == "-1"
    })
    .await;
    session.stop().await;
}

#[tokio::test]
async fn load_bodies_parse_like_python_float_and_bad_ones_keep_the_old_value() {
    let a = Stub::start(" 12.5\n").await;
    let b = Stub::start("1_3").await;
    let session = start(test_config(public(&[&a, &b]))).await;
    assert_eq!(session.session().await, ws(&a));
    a.load("1e2");
    wait_for_session(&session, &ws(&b)).await;
    a.load("12");
    wait_for_session(&session, &ws(&a)).await;

    for bad in ["twelve", "nan", "12%", ""] {
        a.load(bad);
        a.wait_polls(2).await;
        assert_eq!(session.session().await, ws(&a), "{bad:?} keeps 12");
        assert!(session.text("/monitor").await.contains("<td>12.0%</td>"));
    }
    session.stop().await;
}

#[tokio::test]
async fn dedicated_servers_take_their_repositories_and_only_those() {
    let public_server = Stub::start("50").await;
    let dedicated = Stub::start("10").await;
    let mut servers = public(&[&public_server, &dedicated]);
    servers[1].repositories = vec!["https://github.com/acme/".to_owned()];
    let session = start(test_config(servers)).await;
    let acme = "/session?url=https://github.com/acme/robot/blob/main/worlds/arena.wbt";
    assert_eq!(session.text(acme).await, ws(&dedicated));
    assert_eq!(
        session
            .text("/session?url=https://github.com/other/robot/blob/main/worlds/w.wbt")
            .await,
        ws(&public_server)
    );
    assert_eq!(session.session().await, ws(&public_server));
    public_server.load("99");
    wait_until("public server full", || async {
        session.session().await == NO_SERVER_AVAILABLE
    })
    .await;
    assert_eq!(session.text(acme).await, ws(&dedicated));
    session.stop().await;
}

#[tokio::test]
async fn metrics_expose_per_server_load_gauges() {
    let a = Stub::start("10").await;
    let b = Stub::start("20").await;
    let session = start(test_config(public(&[&a, &b]))).await;
    b.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    wait_for_session(&session, &ws(&a)).await;
    let value = |samples: &[(String, f64)], series: String| {
        samples.iter().find(|(s, _)| *s == series).map(|(_, v)| *v)
    };
    wait_until("b marked down in the metrics", || async {
        let samples = common::parse_prometheus(&session.text("/metrics").await);
        value(
            &samples,
            format!(
                "gltf_cloud_session_simulation_server_up{{server=\"{}\"}}",
                b.entry()
            ),
        ) == Some(0.0)
    })
    .await;
    let samples = common::parse_prometheus(&session.text("/metrics").await);
    let a_load = format!(
        "gltf_cloud_session_simulation_server_load_ratio{{server=\"{}\"}}",
        a.entry()
    );
    assert_eq!(value(&samples, a_load), Some(0.1));
    let a_up = format!(
        "gltf_cloud_session_simulation_server_up{{server=\"{}\"}}",
        a.entry()
    );
    assert_eq!(value(&samples, a_up), Some(1.0));
    assert_eq!(
        value(&samples, "gltf_cloud_session_available".to_owned()),
        Some(1.0)
    );
    let assigned = format!(
        "gltf_cloud_session_assignments_total{{server=\"{}\"}}",
        a.entry()
    );
    assert!(value(&samples, assigned).unwrap() >= 1.0);
    let build = format!(
        "gltf_cloud_build_info{{version=\"{}\",role=\"session\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&samples, build), Some(1.0));
    session.stop().await;
}

/// Where one fake SMTP dialogue ended.
enum Dialogue<S> {
    Finished,
    /// The client asked for STARTTLS and got its 220: the TLS handshake comes next.
    StartTls(S),
}

/// Answers SMTP commands on `stream`, offering the AUTH mechanism `auth` (PLAIN, or LOGIN with
/// its two challenges), and appending every line received to `transcript`.
async fn smtp_dialogue<S>(
    stream: S,
    greet: bool,
    auth: &str,
    transcript: &mut String,
) -> Dialogue<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut session = BufReader::new(stream);
    if greet {
        session
            .get_mut()
            .write_all(b"220 fake ESMTP\r\n")
            .await
            .unwrap();
    }
    let mut in_data = false;
    // AUTH LOGIN: how many of the two answers (user name, password) are still to come.
    let mut login_answers = 0;
    let ehlo = format!("250-fake\r\n250-STARTTLS\r\n250 AUTH {auth}\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if session.read_line(&mut line).await.unwrap_or(0) == 0 {
            return Dialogue::Finished;
        }
        let command = line.trim_end().to_owned();
        transcript.push_str(&command);
        transcript.push('\n');
        let reply: &[u8] = if in_data {
            if command != "." {
                continue;
            }
            in_data = false;
            b"250 queued\r\n"
        } else if login_answers > 0 {
            login_answers -= 1;
            if login_answers == 1 {
                b"334 UGFzc3dvcmQ6\r\n"
            } else {
                b"235 welcome\r\n"
            }
        } else if command == "AUTH LOGIN" {
            login_answers = 2;
            b"334 VXNlcm5hbWU6\r\n"
        } else if command.starts_with("EHLO") {
            ehlo.as_bytes()
        } else if command == "STARTTLS" {
            session
                .get_mut()
                .write_all(b"220 go ahead\r\n")
                .await
                .unwrap();
            return Dialogue::StartTls(session.into_inner());
        } else if command.starts_with("AUTH PLAIN") {
            b"235 welcome\r\n"
        } else if command == "DATA" {
            in_data = true;
            b"354 go ahead\r\n"
        } else if command == "QUIT" {
            session.get_mut().write_all(b"221 bye\r\n").await.unwrap();
            return Dialogue::Finished;
        } else {
            b"250 ok\r\n"
        };
        session.get_mut().write_all(reply).await.unwrap();
    }
}

/// A fake SMTP server on loopback that accepts every message (offering STARTTLS when given a
/// TLS acceptor) and hands each connection's transcript to the test.
async fn fake_smtp(
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (messages, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let messages = messages.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let mut transcript = String::new();
                if let Dialogue::StartTls(stream) =
                    smtp_dialogue(stream, true, "PLAIN", &mut transcript).await
                {
                    transcript.push_str("-- TLS --\n");
                    let acceptor = tls.expect("STARTTLS offered only with TLS");
                    let secure = acceptor.accept(stream).await.unwrap();
                    smtp_dialogue(secure, false, "PLAIN", &mut transcript).await;
                }
                let _ = messages.send(transcript);
            });
        }
    });
    (addr, received)
}

/// A fake SMTPS server (TLS from the first byte, as on port 465) offering only AUTH LOGIN.
async fn fake_smtps(
    tls: tokio_rustls::TlsAcceptor,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (messages, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let messages = messages.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let mut transcript = String::new();
                if let Ok(secure) = tls.accept(stream).await {
                    smtp_dialogue(secure, true, "LOGIN", &mut transcript).await;
                }
                let _ = messages.send(transcript);
            });
        }
    });
    (addr, received)
}

async fn webhook_sink() -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (posts, received) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let app = Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let posts = posts.clone();
            async move {
                posts.send(body).unwrap();
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, received)
}

#[tokio::test]
async fn state_changes_are_sent_by_email_and_webhook() {
    let a = Stub::start("10").await;
    let (smtp_addr, mut mails) = fake_smtp(None).await;
    let (hook_addr, mut hooks) = webhook_sink().await;
    let mut config = test_config(public(&[&a]));
    config.server_name = "session.example.org".to_owned();
    config.administrator = Some("admin@example.org".to_owned());
    config.mail_server = Some("127.0.0.1".to_owned());
    config.mail_server_port = Some(smtp_addr.port());
    config.mail_sender = Some("robot@example.org".to_owned());
    config.webhook_url = Some(format!("http://{hook_addr}/hook"));
    let session = start(config).await;
    assert_eq!(session.session().await, ws(&a));

    a.load("97");
    let mail = received(&mut mails).await;
    assert!(mail.contains("MAIL FROM:<robot@example.org>"), "{mail}");
    assert!(mail.contains("RCPT TO:<admin@example.org>"), "{mail}");
    assert!(
        !mail.contains("STARTTLS") && !mail.contains("AUTH"),
        "no password, no login: {mail}"
    );
    assert!(
        mail.contains("Subject: Simulation server reached maximum load"),
        "{mail}"
    );
    // lettre writes the headers the hand-written client lacked.
    assert!(
        mail.contains("\nDate: ") && mail.contains("\nMessage-ID: <"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!(
            "{} simulation server has reached maximum load (97.0%).",
            a.entry()
        )),
        "{mail}"
    );
    let port = session.addr.port();
    assert!(
        mail.contains(&format!(
            "Check it at http://session.example.org:{port}/monitor"
        )),
        "{mail}"
    );
    let hook = received(&mut hooks).await;
    assert_eq!(hook["event"], "reachedMaximumLoad");
    assert_eq!(hook["simulationServer"], a.entry());
    assert_eq!(hook["load"], 97.0);

    a.answer(StatusCode::BAD_GATEWAY, "", Duration::ZERO);
    assert!(received(&mut mails)
        .await
        .contains("Subject: Simulation server not responding"));
    assert_eq!(received(&mut hooks).await["event"], "notResponding");

    a.load("20");
    assert!(received(&mut mails)
        .await
        .contains("Subject: Simulation server working again"));
    let hook = received(&mut hooks).await;
    assert_eq!(hook["event"], "workingAgain");
    assert_eq!(hook["subject"], "Simulation server working again");
    session.stop().await;
}

#[tokio::test]
async fn a_dead_mail_server_delays_nothing() {
    // A mail server that accepts connections and never greets: each e-mail waits for its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = Arc::clone(&held);
    let accept = tokio::spawn(async move {
        loop {
            let (stream, _) = silent.accept().await.unwrap();
            holder.lock().unwrap().push(stream);
        }
    });
    let a = Stub::start("10").await;
    let b = Stub::start("20").await;
    let mut config = test_config(public(&[&a, &b]));
    config.administrator = Some("admin@example.org".to_owned());
    config.mail_server = Some("127.0.0.1".to_owned());
    config.mail_server_port = Some(silent_port);
    config.mail_sender = Some("robot@example.org".to_owned());
    let session = start(config).await;
    assert_eq!(session.session().await, ws(&a));
    a.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    wait_until("an e-mail attempt to hang", || async {
        !held.lock().unwrap().is_empty()
    })
    .await;
    // Polling and answering go on while the e-mail hangs.
    wait_for_session(&session, &ws(&b)).await;
    a.load("5");
    wait_for_session(&session, &ws(&a)).await;
    session.stop().await;
    accept.abort();
}

#[tokio::test]
async fn invalid_entries_are_refused_at_start() {
    let mut config = test_config(Vec::new());
    config.simulation_servers = vec![SimulationServer {
        url: "http://sim:2000".to_owned(),
        repositories: Vec::new(),
    }];
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = run(listener, config, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("http://sim:2000"), "{err}");
}

/// A self-signed certificate for 127.0.0.1 (written into `dir`), which tests trust explicitly.
fn certificate(dir: &std::path::Path) -> tls::CertFiles {
    tls::write_self_signed(
        &["127.0.0.1".to_owned(), "localhost".to_owned()],
        dir,
        false,
    )
    .unwrap()
}

/// A TLS stub simulation server answering `/load` with `load`, through the shared bootstrap.
async fn tls_stub(load: &'static str, files: &tls::CertFiles) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerConfig {
        ssl_certificate: Some(files.cert.clone()),
        ssl_key: Some(files.key.clone()),
        ..ServerConfig::default()
    };
    let token = CancellationToken::new();
    let stop = token.clone();
    let app = Router::new().route("/load", get(move || async move { load }));
    tokio::spawn(async move {
        server::serve(
            listener,
            app,
            &config,
            metrics::registry("test"),
            stop,
            || Ok(()),
        )
        .await
        .unwrap();
    });
    (addr, token)
}

fn tls_client(files: &tls::CertFiles) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_file(&files.cert).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn ssl_polls_over_https_answers_wss_and_serves_tls_itself() {
    let dir = tempfile::tempdir().unwrap();
    let files = certificate(dir.path());
    let (stub, stub_stop) = tls_stub("15", &files).await;
    let entry = vec![SimulationServer {
        url: stub.to_string(),
        repositories: Vec::new(),
    }];

    // The certificate is from no public CA: without the extra root the poll fails verification.
    let mut untrusting = test_config(entry.clone());
    untrusting.ssl = true;
    let session = start(untrusting).await;
    assert_eq!(session.session().await, NO_SERVER_AVAILABLE);
    session.stop().await;

    let mut config = test_config(entry);
    config.ssl = true;
    config.extra_root_certificates = Some(files.cert.clone());
    config.server.ssl_certificate = Some(files.cert.clone());
    config.server.ssl_key = Some(files.key.clone());
    let session = start(config).await;
    let stream = tokio::net::TcpStream::connect(session.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let secure = tls_client(&files).connect(name, stream).await.unwrap();
    let reply = common::request_on(secure, "GET", "/session", Vec::new()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), format!("wss://{stub}"));
    session.stop().await;
    stub_stop.cancel();
}

#[tokio::test]
async fn a_mail_password_means_starttls_then_auth_plain() {
    let dir = tempfile::tempdir().unwrap();
    let files = certificate(dir.path());
    let acceptor =
        tokio_rustls::TlsAcceptor::from(tls::server_config(&files.cert, &files.key).unwrap());
    let (smtp_addr, mut mails) = fake_smtp(Some(acceptor)).await;
    let a = Stub::start("10").await;
    let mut config = test_config(public(&[&a]));
    config.administrator = Some("admin@example.org".to_owned());
    config.mail_server = Some("127.0.0.1".to_owned());
    config.mail_server_port = Some(smtp_addr.port());
    config.mail_sender = Some("robot@example.org".to_owned());
    config.mail_sender_user = Some("robot".to_owned());
    config.mail_sender_password = Some("s3cret".to_owned());
    config.extra_root_certificates = Some(files.cert.clone());
    let session = start(config).await;
    assert_eq!(session.session().await, ws(&a));
    a.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    let transcript = received(&mut mails).await;
    let (clear, secure) = transcript
        .split_once("-- TLS --\n")
        .expect("STARTTLS happened");
    assert!(
        clear.contains("STARTTLS") && !clear.contains("AUTH"),
        "{transcript}"
    );
    let token = secure
        .lines()
        .find_map(|line| line.strip_prefix("AUTH PLAIN "))
        .unwrap_or_else(|| panic!("no AUTH PLAIN in {transcript}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    assert_eq!(decoded, b"\0robot\0s3cret");
    assert!(
        secure.contains("Subject: Simulation server not responding"),
        "{transcript}"
    );
    session.stop().await;
}

#[tokio::test]
async fn implicit_tls_auth_login_and_a_password_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let files = certificate(dir.path());
    let acceptor =
        tokio_rustls::TlsAcceptor::from(tls::server_config(&files.cert, &files.key).unwrap());
    let (smtp_addr, mut mails) = fake_smtps(acceptor).await;
    // A name no other test uses: the variable is process-wide.
    std::env::set_var("GLTF_CLOUD_TEST_SMTPS_PASSWORD", "fr0m-env");
    let a = Stub::start("10").await;
    let mut config = test_config(public(&[&a]));
    config.administrator = Some("admin@example.org".to_owned());
    config.mail_server = Some("127.0.0.1".to_owned());
    config.mail_server_port = Some(smtp_addr.port());
    config.mail_security = Some(MailSecurity::Tls);
    config.mail_sender = Some("robot@example.org".to_owned());
    config.mail_sender_password_env = Some("GLTF_CLOUD_TEST_SMTPS_PASSWORD".to_owned());
    config.extra_root_certificates = Some(files.cert.clone());
    let session = start(config).await;
    assert_eq!(session.session().await, ws(&a));
    a.answer(StatusCode::NOT_FOUND, "", Duration::ZERO);
    let transcript = received(&mut mails).await;
    let lines: Vec<&str> = transcript.lines().collect();
    let login = lines
        .iter()
        .position(|line| *line == "AUTH LOGIN")
        .unwrap_or_else(|| panic!("no AUTH LOGIN in {transcript}"));
    let answer = |i: usize| {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(lines[login + i])
            .unwrap();
        String::from_utf8(decoded).unwrap()
    };
    assert_eq!(
        answer(1),
        "robot@example.org",
        "the login defaults to mailSender"
    );
    assert_eq!(answer(2), "fr0m-env");
    assert!(
        transcript.contains("\nDate: ") && transcript.contains("\nMessage-ID: <"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Subject: Simulation server not responding"),
        "{transcript}"
    );
    session.stop().await;
}

#[tokio::test]
async fn an_unset_password_variable_is_refused_at_start() {
    let mut config = test_config(Vec::new());
    config.administrator = Some("admin@example.org".to_owned());
    config.mail_server = Some("127.0.0.1".to_owned());
    config.mail_sender = Some("robot@example.org".to_owned());
    config.mail_sender_password_env = Some("GLTF_CLOUD_TEST_NEVER_SET".to_owned());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = run(listener, config, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mailSenderPasswordEnv") && err.contains("GLTF_CLOUD_TEST_NEVER_SET"),
        "{err}"
    );
}

/// Starts the binary as `session --config CONFIG --port 0 --simulation-server STUB
/// --load-poll-period 0.2` plus `extra`, and waits for its listening line.
async fn spawn_binary(
    config: &str,
    stub: &Stub,
    extra: &[&str],
) -> (tokio::process::Child, SocketAddr) {
    let mut child = tokio::process::Command::new(common::binary())
        .args([
            "session",
            "--config",
            config,
            "--port",
            "0",
            "--simulation-server",
        ])
        .arg(stub.entry())
        .args(["--load-poll-period", "0.2"])
        .args(extra)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr: SocketAddr = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.trim().parse().unwrap();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("listening line");
    // Keeps reading, so the server's later log lines never meet a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// `--ssl false` over a file that leaves `ssl` at its default (true): plain `ws://` answers, and
/// the stub, which speaks plain HTTP, is polled successfully.
#[tokio::test]
async fn the_ssl_flag_overrides_the_file() {
    let a = Stub::start("42").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("session.json");
    std::fs::write(&config, "{}").unwrap();
    let (mut child, addr) = spawn_binary(config.to_str().unwrap(), &a, &["--ssl", "false"]).await;
    assert_eq!(common::get(addr, "/session").await.text(), ws(&a));
    child.kill().await.unwrap();
}

/// The binary with the shipped config: the flags point it at a stub and pick a free port.
#[tokio::test]
async fn the_binary_runs_with_the_shipped_config() {
    let a = Stub::start("42").await;
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config/session/default.json");
    let (mut child, addr) = spawn_binary(config, &a, &[]).await;
    let reply = common::get(addr, "/session").await;
    assert_eq!(reply.text(), ws(&a));
    assert_eq!(common::get(addr, "/load").await.text(), "42.0");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_peer_load_outside_0_to_100_or_not_finite_makes_it_unavailable() {
    let honest = Stub::start("50").await;
    let liar = Stub::start("-5").await;
    let session = start(test_config(public(&[&liar, &honest]))).await;
    for lie in ["-5", "-inf", "1e999", "100.5", "inf"] {
        liar.load(lie);
        liar.wait_polls(2).await;
        assert_eq!(session.session().await, ws(&honest), "{lie} must not win");
        // Our own mean counts only the honest server: never `inf`.
        assert_eq!(session.text("/load").await, "50.0", "after {lie}");
    }
    // A real load again makes it a candidate again.
    liar.load("10");
    wait_for_session(&session, &ws(&liar)).await;
    let metrics = session.text("/metrics").await;
    assert!(
        metrics.contains(&format!(
            r#"session_load_polls_total{{outcome="out_of_range",server="{}"}}"#,
            liar.entry()
        )) || metrics.contains(&format!(
            r#"session_load_polls_total{{server="{}",outcome="out_of_range"}}"#,
            liar.entry()
        )),
        "{metrics}"
    );
    let ready = common::get(session.addr, "/readyz").await;
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));
    session.stop().await;
}
