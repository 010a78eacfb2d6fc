//! Forward mode (`--forward`): a plain-HTTP listener on this machine that hands each request on to
//! the render server at `--server-base-url`, for Drake's `RenderEngineGltfClient`, whose libcurl in
//! pydrake's wheels has no TLS (`https://` fails with "Unsupported protocol").
//!
//! Requests are forwarded as they come (method, path under the base URL's path, headers, body),
//! answers as they return; only the hop-by-hop headers, `Host` and, with a token, `Authorization`
//! are the forwarder's own. It
//! listens on loopback only: whoever reaches it uses the server with this machine's trust.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::Full;
use hyper::Uri;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::core::auth;
use crate::core::config::ServerConfig;
use crate::core::error_body;
use crate::core::http_client::{Answer, HttpClient, HttpError, Target};
use crate::core::{limits, server};

/// The role name in the forwarder's logs and `/metrics`.
const ROLE: &str = "render-client-forward";

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those the
/// forwarder writes itself: `Host` is the server's, the length is the body's as sent, and an
/// `Expect: 100-continue` was already answered by this listener.
const NOT_FORWARDED: [HeaderName; 10] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::CONTENT_LENGTH,
    header::EXPECT,
];

/// Where and how requests are forwarded.
pub struct Forwarder {
    client: HttpClient,
    /// The server's scheme, host and port, for connecting.
    target: Target,
    /// The base URL's path without its trailing `/`, put before each request's path.
    prefix: String,
    /// Gives up on the server after this long; the answer is then a 504.
    timeout: Duration,
    /// `Authorization: Bearer <token>` put on every request, in place of the client's own: Drake's
    /// client cannot send headers.
    authorization: Option<HeaderValue>,
}

impl Forwarder {
    /// A forwarder to `base_url` (`https://host:port[/prefix]`, or `http://`) through `client`,
    /// adding `token` to every request.
    ///
    /// # Errors
    /// A base URL that is not `http(s)://host[:port][/path]`, or a token a header cannot carry.
    pub fn new(
        base_url: &str,
        client: HttpClient,
        timeout: Duration,
        token: Option<String>,
    ) -> anyhow::Result<Self> {
        let uri: Uri = base_url
            .parse()
            .map_err(|e| anyhow::anyhow!("--server-base-url {base_url:?}: {e}"))?;
        let target = Target::parse(&uri).map_err(|e| match e {
            HttpError::Url { reason, .. } => {
                anyhow::anyhow!("--server-base-url {base_url}: {reason}")
            }
            other => other.into(),
        })?;
        anyhow::ensure!(
            uri.query().is_none(),
            "--server-base-url {base_url}: a base URL has no query"
        );
        let authorization = token
            .map(|token| HeaderValue::from_str(&auth::bearer(&token)))
            .transpose()
            .map_err(|_| anyhow::anyhow!("the access token holds characters a header cannot"))?;
        Ok(Self {
            prefix: uri.path().trim_end_matches('/').to_owned(),
            client,
            target,
            timeout,
            authorization,
        })
    }

    /// The server's URL for `path_and_query`, as messages name it.
    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}{path_and_query}", self.target.origin(), self.prefix)
    }
}

/// The address `--forward` listens on, which must be a loopback one.
///
/// # Errors
/// Not `HOST:PORT`, or a host other than `localhost`, `127.0.0.0/8` or `::1`.
pub fn listen_addr(text: &str) -> anyhow::Result<SocketAddr> {
    let resolved = match text.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.to_owned(),
    };
    let addr: SocketAddr = resolved.parse().map_err(|_| {
        anyhow::anyhow!("--forward {text:?}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    })?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "--forward {text}: the forwarder listens on this machine only (127.0.0.1 or ::1), since \
         whoever reaches it uses the server in this client's name"
    );
    Ok(addr)
}

/// Forwards requests arriving on `listener` until `shutdown` is cancelled; `/livez`, `/readyz`,
/// `/healthz` and `/metrics` are the forwarder's own.
///
/// # Errors
/// See [`server::serve`].
pub async fn run(
    listener: TcpListener,
    forwarder: Forwarder,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(
        to = %forwarder.url(""),
        "forwarding every request to the render server; point Drake's base_url at the address below"
    );
    let registry = crate::core::metrics::registry(ROLE);
    let app = Router::new()
        .fallback(forward)
        .with_state(Arc::new(forwarder));
    let config = ServerConfig::default();
    server::serve(listener, app, &config, registry, shutdown, || Ok(())).await
}

/// One request, handed on and answered with the server's answer, or with a JSON error body that
/// Drake shows in its exception when the server cannot be reached.
async fn forward(State(forwarder): State<Arc<Forwarder>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = forwarder.url(path);
    let body = match axum::body::to_bytes(body, limits::MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => {
            return error_body::response(
                StatusCode::BAD_REQUEST,
                &format!("the forwarder could not read the request body: {e}"),
            )
        }
    };
    let mut outgoing = hyper::Request::builder()
        .method(parts.method)
        .uri(format!("{}{path}", forwarder.prefix));
    let own_authorization = forwarder.authorization.is_some();
    for (name, value) in forwardable(&parts.headers) {
        if !(own_authorization && name == header::AUTHORIZATION) {
            outgoing = outgoing.header(name, value);
        }
    }
    if let Some(authorization) = &forwarder.authorization {
        outgoing = outgoing.header(header::AUTHORIZATION, authorization);
    }
    let outgoing = match outgoing
        .header(header::HOST, forwarder.target.authority())
        .body(Full::new(body))
    {
        Ok(request) => request,
        Err(e) => {
            return error_body::response(StatusCode::BAD_REQUEST, &format!("cannot forward: {e}"))
        }
    };
    let exchange = async {
        let mut connection = forwarder.client.connect(&forwarder.target).await?;
        connection.send(outgoing, None).await
    };
    match tokio::time::timeout(forwarder.timeout, exchange).await {
        Ok(Ok(answer)) => answered(answer),
        Ok(Err(e)) => {
            tracing::warn!(%url, cause = %e, "render server unreachable");
            error_body::response(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "the render client's forwarder cannot reach {url}: {}",
                    why(&e)
                ),
            )
        }
        Err(_) => error_body::response(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "{url} did not answer within {} s (the render client's --timeout)",
                forwarder.timeout.as_secs()
            ),
        ),
    }
}

/// The headers of `headers` that belong to the message rather than to this connection.
fn forwardable(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &header::HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| **name != header::HOST && !NOT_FORWARDED.contains(name))
}

/// The server's answer, as this listener's.
fn answered(answer: Answer) -> Response {
    let mut response = Body::from(answer.body).into_response();
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    for (name, value) in forwardable(&answer.headers) {
        headers.append(name, value.clone());
    }
    response
}

/// A failed exchange in the words an operator acts on.
fn why(error: &HttpError) -> String {
    match error {
        HttpError::Connect(e) => {
            format!("cannot connect ({e}); is the server up, and the URL right?")
        }
        HttpError::Tls(e) => format!(
            "TLS handshake failed ({e}); for a self-signed or private certificate give its CA \
             with --ca-cert"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_listened_on() {
        assert_eq!(
            listen_addr("localhost:8000").unwrap(),
            "127.0.0.1:8000".parse().unwrap()
        );
        assert!(listen_addr("[::1]:0").is_ok());
        let remote = listen_addr("0.0.0.0:8000").unwrap_err().to_string();
        assert!(remote.contains("this machine only"), "{remote}");
        assert!(listen_addr("8000").is_err());
    }

    #[test]
    fn the_base_urls_path_prefixes_every_request() {
        let forwarder = Forwarder::new(
            "https://render.example.org:8443/drake/",
            HttpClient::plain(),
            Duration::from_secs(1),
            None,
        )
        .unwrap();
        assert_eq!(
            forwarder.url("/render?x=1"),
            "https://render.example.org:8443/drake/render?x=1"
        );
        assert!(Forwarder::new("ftp://x", HttpClient::plain(), Duration::ZERO, None).is_err());
    }
}
