//! Shutdown signalling: one [`CancellationToken`] per process, cancelled on SIGINT or SIGTERM.
//!
//! Every role takes the token in its `run` function, so tests cancel it directly instead of sending
//! signals, and the binary wires it to the real signals here.

use tokio_util::sync::CancellationToken;

/// Returns a token that is cancelled when the process receives SIGINT or SIGTERM.
///
/// # Errors
/// Fails only if the signal handlers cannot be installed (no tokio runtime with signal support).
pub fn on_signals() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{signal, SignalKind};
    let token = CancellationToken::new();
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let cancel = token.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutting down");
        cancel.cancel();
    });
    Ok(token)
}
