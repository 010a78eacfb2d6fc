//! One way to start a server under test: bind `127.0.0.1:0`, spawn the role's
//! `run(listener, config, shutdown)`, and stop it by cancelling the token and awaiting the task.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use gltf_cloud::roles::{render_server, session_server, simulation_server};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a stopped server may take to finish: a simulation server stops its simulators (with
/// the tests' one-second grace) and a render server its renders, on a loaded 2-core machine.
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// A server running in this process on a port of its own.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    /// What `run` returned; tests of start-up failures await it themselves.
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cancels the server and waits for `run` to return `Ok`.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(STOP_PATIENCE, self.task)
            .await
            .expect("server stops in time")
            .expect("server task did not panic")
            .expect("server stops without error");
    }
}

/// Binds port 0 and spawns `run` on it. The listener is bound before `run` starts, so requests
/// may be sent at once: they wait in the backlog while `run` prepares (a GPU device, a first poll).
pub async fn start<F, Fut>(run: F) -> Running
where
    F: FnOnce(TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(listener, shutdown.clone()));
    Running {
        addr,
        shutdown,
        task,
    }
}

/// The shared bootstrap alone (`core::server::serve`) serving `app`: no role, no readiness check,
/// metrics into a registry nobody scrapes. For tests of the connection layer itself.
pub async fn start_router(
    app: axum::Router,
    config: gltf_cloud::core::config::ServerConfig,
) -> Running {
    start(|listener, token| async move {
        gltf_cloud::core::server::serve(
            listener,
            app,
            &config,
            gltf_cloud::core::metrics::registry("test"),
            token,
            || Ok(()),
        )
        .await
    })
    .await
}

pub async fn start_render_server(config: render_server::Config) -> Running {
    start(|listener, shutdown| render_server::run(listener, config, shutdown)).await
}

pub async fn start_simulation_server(config: simulation_server::Config) -> Running {
    start(|listener, shutdown| simulation_server::run(listener, config, shutdown)).await
}

pub async fn start_session_server(config: session_server::Config) -> Running {
    start(|listener, shutdown| session_server::run(listener, config, shutdown)).await
}
