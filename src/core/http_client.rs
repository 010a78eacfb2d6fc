//! The one outbound HTTP/1.1 client path, over plain TCP or TLS (settings from
//! [`super::tls::client_connector`]): the servers' load polls, webhooks and directory announcements
//! ([`HttpClient::get`], [`HttpClient::post`]), and the render client's byte-exact Drake requests
//! ([`HttpClient::connect`] + [`Connection::send`]).
//!
//! The servers open one connection per request, as the Webots originals' `urlopen`: a request every
//! few seconds gains nothing from pooling, and a fresh connection cannot carry a stuck state from
//! one request to the next. The caller bounds each call with a timeout; dropping the call closes
//! its socket.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::limits::MAX_PEER_RESPONSE_BYTES;

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL has no host, or a scheme other than http/https; `reason` says which.
    #[error("unsupported URL {url}")]
    Url { url: String, reason: String },
    /// The TCP connection could not be made.
    #[error("{0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed.
    #[error("{0}")]
    Tls(std::io::Error),
    /// The HTTP exchange failed.
    #[error("{0}")]
    Http(#[from] hyper::Error),
    /// The body was larger than the caller's limit or broke off.
    #[error("response body unreadable or over {0} bytes")]
    Body(usize),
}

/// A response read whole: status, headers and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    /// Read by callers that understand an extension a peer may add (the simulation servers'
    /// slots header on `/load`), and handed on by the render client's forward mode
    /// (`Retry-After`, `WWW-Authenticate`, …).
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// Where requests go, split for the socket, the TLS handshake and the request line.
#[derive(Debug, Clone)]
pub struct Target {
    secure: bool,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

impl Target {
    /// # Errors
    /// [`HttpError::Url`] for a URL without a host or with a scheme other than http/https.
    pub fn parse(url: &Uri) -> Result<Self, HttpError> {
        let unsupported = |reason: &str| HttpError::Url {
            url: url.to_string(),
            reason: reason.to_owned(),
        };
        let secure = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(unsupported("only http:// and https:// are supported")),
        };
        let authority = url.authority().ok_or_else(|| unsupported("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Self {
            secure,
            host: host.to_owned(),
            port: authority
                .port_u16()
                .unwrap_or(if secure { 443 } else { 80 }),
            authority: authority.as_str().to_owned(),
            path: url.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        })
    }

    /// Whether the target is `https://`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The `Host` header: the URL's authority as written, like curl and `urlopen`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The request target: path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The URL's scheme and authority (`https://host:8443`), without the path.
    pub fn origin(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }
}

/// Opens connections; cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    /// `None`: plain `http://` only.
    tls: Option<TlsConnector>,
    title_case_headers: bool,
}

impl HttpClient {
    pub fn new(tls: TlsConnector) -> Self {
        Self {
            tls: Some(tls),
            title_case_headers: false,
        }
    }

    /// A client for `http://` targets only, which needs no TLS settings.
    pub fn plain() -> Self {
        Self {
            tls: None,
            title_case_headers: false,
        }
    }

    /// Writes header names in Title-Case, as curl does: servers must not care, but captures compare.
    #[must_use]
    pub fn with_title_case_headers(mut self) -> Self {
        self.title_case_headers = true;
        self
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
        let target = Target::parse(url)?;
        let mut request = Request::builder()
            .method(method)
            .uri(target.path())
            .header(hyper::header::HOST, target.authority())
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
            .map_err(|e| HttpError::Url {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        self.connect(&target)
            .await?
            .send(request, Some(MAX_PEER_RESPONSE_BYTES))
            .await
    }

    /// Opens a connection to `target` (TCP, then TLS for `https://`).
    ///
    /// # Errors
    /// [`HttpError::Connect`], [`HttpError::Tls`], [`HttpError::Http`] for the HTTP handshake, or
    /// [`HttpError::Url`] for an `https://` target without TLS settings or a host that is not a
    /// server name.
    pub async fn connect(&self, target: &Target) -> Result<Connection, HttpError> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(HttpError::Connect)?;
        // A small request must not wait for Nagle (curl sets TCP_NODELAY too).
        let _ = tcp.set_nodelay(true);
        if !target.secure {
            return self.handshake(tcp).await;
        }
        let url_error = |reason: String| HttpError::Url {
            url: format!("https://{}{}", target.authority, target.path),
            reason,
        };
        let tls = self
            .tls
            .as_ref()
            .ok_or_else(|| url_error("https:// needs TLS settings".to_owned()))?;
        let name =
            ServerName::try_from(target.host.clone()).map_err(|e| url_error(e.to_string()))?;
        let stream = tls.connect(name, tcp).await.map_err(HttpError::Tls)?;
        self.handshake(stream).await
    }

    async fn handshake<S>(&self, stream: S) -> Result<Connection, HttpError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(self.title_case_headers)
            .handshake(TokioIo::new(stream))
            .await?;
        let io = AbortOnDrop(tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(cause = %e, "outbound connection ended with an error");
            }
        }));
        Ok(Connection { sender, _io: io })
    }
}

/// One open HTTP/1.1 connection. Dropping it closes the socket, even mid-request.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    _io: AbortOnDrop,
}

impl Connection {
    /// Sends `request` and reads the whole answer, at most `max_body` bytes of it when given.
    ///
    /// # Errors
    /// [`HttpError::Http`], or [`HttpError::Body`] for a body over `max_body`.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
        max_body: Option<usize>,
    ) -> Result<Answer, HttpError> {
        let response = self.sender.send_request(request).await?;
        read_answer(response, max_body).await
    }

    /// Whether the connection can take another request now (for pools).
    pub fn is_ready(&self) -> bool {
        self.sender.is_ready()
    }

    /// Whether the server or an error has closed the connection.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

async fn read_answer(
    response: Response<Incoming>,
    max_body: Option<usize>,
) -> Result<Answer, HttpError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = match max_body {
        Some(limit) => Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|_| HttpError::Body(limit))?
            .to_bytes(),
        None => response.into_body().collect().await?.to_bytes(),
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Aborts the connection task when its [`Connection`] is dropped (e.g. by the caller's timeout),
/// so a server that never answers does not keep a socket and a task alive.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
