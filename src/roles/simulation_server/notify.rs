//! `notify`: announcing this server to directories such as webots.cloud's `setup.php` at start-up
//! (doc §3.11). Off unless URLs are configured, retried a few times, and never fatal: the original
//! crashed when every try failed.

use std::sync::Arc;
use std::time::Duration;

use super::state::ServerState;
use crate::core::http_client::HttpClient;
use crate::core::tls;

/// Tries per URL, and the pause between them: the original's 6 tries, 5 s apart.
const TRIES: u32 = 6;
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// Longest one try (connect, TLS, request, response) may take.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts this server's URL, idle-time share and allowed repositories to every `notify` URL.
pub async fn announce(state: Arc<ServerState>, port: u16) {
    let config = &state.config;
    let scheme = if config.ssl() { "https" } else { "http" };
    let separator = if config.port_rewrite { '/' } else { ':' };
    let own_url = format!("{scheme}://{}{separator}{port}", config.public_host(None));
    let form = form_encode(&[
        ("url", own_url.as_str()),
        (
            "shareIdleTime",
            &crate::core::pyfloat::format(config.share_idle_time),
        ),
        (
            "allowedRepositories",
            &config
                .allowed_repositories
                .clone()
                .unwrap_or_default()
                .join(","),
        ),
    ]);
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
        for attempt in 1..=TRIES {
            let outcome = tokio::select! {
                () = state.stop.cancelled() => return,
                outcome = tokio::time::timeout(
                    TRY_TIMEOUT,
                    client.post(&url, "application/x-www-form-urlencoded", form.clone()),
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
            if attempt < TRIES {
                tokio::select! {
                    () = state.stop.cancelled() => return,
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                }
            }
        }
    }
}

/// `application/x-www-form-urlencoded`.
fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("url", "https://h/2000"), ("a", "x y,z")]),
            "url=https%3A%2F%2Fh%2F2000&a=x+y%2Cz"
        );
    }
}
