//! `notify`: announcing this server to directories such as webots.cloud's `setup.php` at start-up
//! (doc §3.11). Off unless URLs are configured, retried a few times, and never fatal: the original
//! crashed when every try failed.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::state::ServerState;

/// Tries per URL, and the pause between them: the original's 6 tries, 5 s apart.
const TRIES: u32 = 6;
const RETRY_PAUSE: Duration = Duration::from_secs(5);

/// Longest one try (connect, TLS, request, response) may take.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest response body read (it is only logged).
const MAX_RESPONSE_BYTES: usize = 4096;

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
            &super::protocol::python_float(config.share_idle_time),
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
    for target in &config.notify {
        for attempt in 1..=TRIES {
            let outcome = tokio::select! {
                () = state.stop.cancelled() => return,
                outcome = tokio::time::timeout(TRY_TIMEOUT, post(target, form.clone())) => outcome,
            };
            match outcome {
                Ok(Ok((status, body))) if (200..300).contains(&status) => {
                    tracing::info!(%target, status, reply = %body.trim(), "announced to directory");
                    break;
                }
                Ok(Ok((status, body))) => {
                    tracing::warn!(%target, status, reply = %body.trim(), attempt, "directory refused announcement");
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

/// One POST over HTTP/1.1, plain or TLS (web PKI roots).
async fn post(url: &str, form: String) -> anyhow::Result<(u16, String)> {
    let uri: hyper::Uri = url.parse()?;
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("no host in {url}"))?
        .to_owned();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => anyhow::bail!("only http:// and https:// notify URLs are supported"),
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host.as_str(), port)).await?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if https {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(host.clone())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await?;
        send(stream, &host, &path, form).await
    } else {
        send(tcp, &host, &path, form).await
    }
}

async fn send<S>(stream: S, host: &str, path: &str, form: String) -> anyhow::Result<(u16, String)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header("host", host)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    connection.abort();
    Ok((status, body))
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
