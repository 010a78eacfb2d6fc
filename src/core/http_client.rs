//! The servers' outbound HTTP: a minimal HTTP/1.1 client (GET for load polls, POST for webhooks
//! and directory announcements) over plain TCP or TLS (settings from [`super::tls::client_connector`]).
//!
//! One connection per request, as the Webots originals' `urlopen`: a request every few seconds
//! gains nothing from pooling, and a fresh connection cannot carry a stuck state from one request to
//! the next. The caller bounds each call with a timeout; dropping the call closes its socket.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::limits::MAX_PEER_RESPONSE_BYTES;

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL has no host, or a scheme other than http/https.
    #[error("unsupported URL {0}")]
    Url(String),
    /// TCP connect, TLS handshake or the HTTP exchange failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The HTTP exchange failed.
    #[error("{0}")]
    Http(#[from] hyper::Error),
    /// The body was larger than [`MAX_PEER_RESPONSE_BYTES`] or broke off.
    #[error("response body unreadable or over {MAX_PEER_RESPONSE_BYTES} bytes")]
    Body,
}

/// A status and a body, the only parts of a response the session server looks at.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Sends requests; cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    tls: TlsConnector,
}

impl HttpClient {
    pub fn new(tls: TlsConnector) -> Self {
        Self { tls }
    }

    /// `GET url`.
    ///
    /// # Errors
    /// See [`HttpError`]; a non-2xx status is an [`Answer`], not an error.
    pub async fn get(&self, url: &Uri) -> Result<Answer, HttpError> {
        self.send(Method::GET, url, None).await
    }

    /// `POST url` with a body of the given content type.
    ///
    /// # Errors
    /// See [`HttpError`].
    pub async fn post(
        &self,
        url: &Uri,
        content_type: &'static str,
        body: String,
    ) -> Result<Answer, HttpError> {
        self.send(Method::POST, url, Some((content_type, body)))
            .await
    }

    async fn send(
        &self,
        method: Method,
        url: &Uri,
        body: Option<(&'static str, String)>,
    ) -> Result<Answer, HttpError> {
        let unsupported = || HttpError::Url(url.to_string());
        let host = url.host().ok_or_else(unsupported)?;
        let secure = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(unsupported()),
        };
        let port = url.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = TcpStream::connect((bare_host, port)).await?;
        let _ = tcp.set_nodelay(true);
        let authority = url.authority().map_or(host, |a| a.as_str());
        let path = url.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, authority)
            .header(
                hyper::header::USER_AGENT,
                concat!("gltf-cloud/", env!("CARGO_PKG_VERSION")),
            );
        let body = match body {
            Some((content_type, body)) => {
                request = request.header(hyper::header::CONTENT_TYPE, content_type);
                body
            }
            None => String::new(),
        };
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| unsupported())?;
        if secure {
            let name = ServerName::try_from(bare_host.to_owned()).map_err(|_| unsupported())?;
            let stream = self.tls.connect(name, tcp).await?;
            exchange(stream, request).await
        } else {
            exchange(tcp, request).await
        }
    }
}

/// Aborts the connection task when the request is dropped (e.g. by the caller's timeout), so a
/// server that never answers does not keep a socket and a task alive.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn exchange<S>(stream: S, request: Request<Full<Bytes>>) -> Result<Answer, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let _connection = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(cause = %e, "outbound connection ended with an error");
        }
    }));
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_PEER_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|_| HttpError::Body)?
        .to_bytes();
    Ok(Answer { status, body })
}
