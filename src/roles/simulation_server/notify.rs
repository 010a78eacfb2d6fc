//! `notify`: announcing this server to directories such as webots.cloud's `setup.php` at start-up
//! (doc §3.11). Off unless URLs are configured, retried a few times, and never fatal: the original
//! crashed when every try failed.

use std::sync::Arc;

use super::state::AppState;
use crate::core::http_client::HttpClient;
use crate::core::limits;
use crate::core::tls;
use crate::protocol::webots::directory;

/// Posts this server's URL, idle-time share and allowed repositories to every `notify` URL.
pub async fn announce(state: Arc<AppState>, port: u16) {
    let config = &state.config;
    let form = directory::announcement(
        config.ssl(),
        &config.public_host(None),
        port,
        config.port_rewrite,
        config.share_idle_time,
        config.allowed_repositories.as_deref().unwrap_or_default(),
    );
    if config.notify.is_empty() {
        return;
    }
    let client = match tls::client_connector(None) {
        Ok(tls) => HttpClient::new(tls),
        Err(e) => {
            tracing::warn!(cause = %e, "cannot announce: no TLS client");
            return;
        }
    };
    for target in &config.notify {
        let url: hyper::Uri = match target.parse() {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(%target, cause = %e, "cannot announce: not a URL");
                continue;
            }
        };
        for attempt in 1..=limits::ANNOUNCE_TRIES {
            let outcome = tokio::select! {
                () = state.stop.cancelled() => return,
                outcome = tokio::time::timeout(
                    limits::ANNOUNCE_TRY_TIMEOUT,
                    client.post(&url, directory::CONTENT_TYPE, form.clone()),
                ) => outcome,
            };
            match outcome {
                Ok(Ok(answer)) if answer.status.is_success() => {
                    let reply = String::from_utf8_lossy(&answer.body);
                    tracing::info!(%target, status = answer.status.as_u16(), reply = %reply.trim(), "announced to directory");
                    break;
                }
                Ok(Ok(answer)) => {
                    let reply = String::from_utf8_lossy(&answer.body);
                    tracing::warn!(%target, status = answer.status.as_u16(), reply = %reply.trim(), attempt, "directory refused announcement");
                }
                Ok(Err(e)) => tracing::warn!(%target, cause = %e, attempt, "cannot announce"),
                Err(_) => tracing::warn!(%target, attempt, "announcement timed out"),
            }
            if attempt < limits::ANNOUNCE_TRIES {
                tokio::select! {
                    () = state.stop.cancelled() => return,
                    () = tokio::time::sleep(limits::ANNOUNCE_RETRY_PAUSE) => {}
                }
            }
        }
    }
}
