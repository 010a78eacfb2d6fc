//! Drake's request on the wire (drake-gltf-protocol §1): the multipart body libcurl builds from the
//! form fields, the URL normalisation of `RenderEngineGltfClientParams`, and one HTTP/1.1 exchange
//! with the same headers libcurl sends, over [`crate::core::http_client`].

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::Mutex;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Uri;

use crate::core::auth;
use crate::core::http_client::{Connection, HttpClient, HttpError, Target};
use crate::core::sync::lock;
use crate::protocol::drake::fields;
use crate::protocol::drake::image::{DepthRange, ImageType};
use crate::scene::camera::Intrinsics;

/// libcurl's boundary prefix: 24 dashes, followed by 22 random letters and digits.
const BOUNDARY_DASHES: &str = "------------------------";
const BOUNDARY_RANDOM_CHARS: usize = 22;

/// Why a request got no HTTP answer at all (Drake's "Service Message", with HTTP code 0).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("bad URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot read CA certificate {path}: {reason}")]
    CaCertificate { path: String, reason: String },
    #[error("Couldn't connect to server: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("HTTP exchange failed: {0}")]
    Http(HttpError),
    #[error("Timeout was reached after {0:?}")]
    Timeout(std::time::Duration),
}

/// One render request as Drake builds it: the text fields (kept sorted, as Drake's `std::map`
/// sends them) and the scene file part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub fields: BTreeMap<String, String>,
    pub scene: Vec<u8>,
    /// `{19-digit counter}-{type}.gltf`.
    pub scene_filename: String,
}

impl Form {
    /// The fields of protocol §1.3 for `image_type`; `depth_range` is only sent for depth.
    pub fn new(
        scene: Vec<u8>,
        scene_id: u64,
        image_type: ImageType,
        intrinsics: &Intrinsics,
        depth_range: DepthRange,
    ) -> Self {
        let mut fields = fields::write(image_type, intrinsics, depth_range);
        fields.insert(
            fields::SCENE_SHA256.to_owned(),
            fields::scene_sha256(&scene),
        );
        Self {
            fields,
            scene,
            scene_filename: format!("{scene_id:019}-{}.gltf", image_type.as_str()),
        }
    }

    /// The `multipart/form-data` body libcurl writes: text parts in field order, then `scene`.
    pub fn multipart_body(&self, boundary: &str) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.scene.len() + 2048);
        for (name, value) in &self.fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
                 Content-Type: model/gltf+json\r\n\r\n",
                fields::SCENE,
                self.scene_filename
            )
            .as_bytes(),
        );
        body.extend_from_slice(&self.scene);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        body
    }
}

/// A fresh boundary in libcurl's shape. Only uniqueness matters, so std's randomly keyed hasher is
/// enough of a random source.
pub fn new_boundary() -> String {
    const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let state = std::collections::hash_map::RandomState::new();
    let mut boundary = String::from(BOUNDARY_DASHES);
    for i in 0..BOUNDARY_RANDOM_CHARS {
        let mut hasher = state.build_hasher();
        hasher.write_usize(i);
        let index = usize::try_from(hasher.finish() % ALPHANUMERIC.len() as u64).unwrap_or(0);
        boundary.push(char::from(ALPHANUMERIC[index]));
    }
    boundary
}

/// Drake's URL rule (§4.1): trailing `/` off the base, leading `/` off the endpoint, joined by
/// `/`; a base without a scheme is `http://`, as curl assumes.
pub fn render_url(base_url: &str, render_endpoint: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let endpoint = render_endpoint.trim_start_matches('/');
    let url = format!("{base}/{endpoint}");
    if url.contains("://") {
        url
    } else {
        format!("http://{url}")
    }
}

/// An HTTP answer: status, headers and whole body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Read by the scene API's checks (`Location`, `Content-Type`, `Retry-After`).
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// Sends forms to one URL. Like libcurl in Drake, each request gets its own TCP connection unless
/// `keep_alive` is set, in which case idle connections are reused.
pub struct Transport {
    url: String,
    target: Target,
    keep_alive: bool,
    client: HttpClient,
    idle: Mutex<Vec<Connection>>,
    /// The `Authorization` header, for a server that requires access tokens (Drake sends none).
    authorization: Option<String>,
}

impl Transport {
    /// `ca_cert` adds a PEM root to the web PKI roots for `https://` URLs (e.g. a self-signed
    /// development certificate from `gltf-cloud make-cert`).
    ///
    /// # Errors
    /// A URL that is not `http(s)://host[:port]/path`, or an unreadable CA file.
    pub fn new(
        url: &str,
        keep_alive: bool,
        ca_cert: Option<&Path>,
    ) -> Result<Self, TransportError> {
        let bad = |reason: String| TransportError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()))?;
        let target = Target::parse(&uri).map_err(|e| match e {
            HttpError::Url { reason, .. } => bad(reason),
            other => bad(other.to_string()),
        })?;
        let client = if target.is_secure() {
            HttpClient::new(crate::core::tls::client_connector(ca_cert).map_err(|e| {
                TransportError::CaCertificate {
                    path: ca_cert.map(|p| p.display().to_string()).unwrap_or_default(),
                    reason: e.to_string(),
                }
            })?)
        } else {
            HttpClient::plain()
        };
        Ok(Self {
            url: url.to_owned(),
            target,
            keep_alive,
            client: client.with_title_case_headers(),
            idle: Mutex::new(Vec::new()),
            authorization: None,
        })
    }

    /// Sends `token` with every request, as `Authorization: Bearer <token>`.
    #[must_use]
    pub fn with_token(mut self, token: Option<&str>) -> Self {
        self.authorization = token.map(auth::bearer);
        self
    }

    /// The full render URL, as Drake prints it in errors.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs one form and reads the whole answer.
    ///
    /// # Errors
    /// Connection, TLS or HTTP-level failures; any HTTP status is an [`Answer`].
    pub async fn post(&self, form: &Form) -> Result<Answer, TransportError> {
        let boundary = new_boundary();
        let body = form.multipart_body(&boundary);
        let request = self
            .request("POST", self.target.path())
            .header("Accept", "*/*");
        let request = self
            .with_authorization(request)
            .header("Content-Length", body.len())
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            );
        self.send(request, Bytes::from(body)).await
    }

    /// A request to `path` on this transport's host, its `Host` header set (the scene API's client
    /// adds its own headers, then [`Self::send`]s it).
    pub fn request(&self, method: &str, path: &str) -> hyper::http::request::Builder {
        hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("Host", self.target.authority())
    }

    /// Adds `Authorization` when a token was given.
    pub fn with_authorization(
        &self,
        request: hyper::http::request::Builder,
    ) -> hyper::http::request::Builder {
        match &self.authorization {
            Some(authorization) => request.header("Authorization", authorization),
            None => request,
        }
    }

    /// The path of the transport's URL (a base URL's prefix, for the scene API's paths).
    pub fn path(&self) -> &str {
        self.target.path()
    }

    /// Sends one request with `body` on a reused or new connection and reads the whole answer.
    ///
    /// # Errors
    /// Connection, TLS or HTTP-level failures; any HTTP status is an [`Answer`].
    pub async fn send(
        &self,
        request: hyper::http::request::Builder,
        body: Bytes,
    ) -> Result<Answer, TransportError> {
        let request = request
            .body(Full::new(body))
            .map_err(|e| TransportError::BadUrl {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        let mut connection = match self.reusable_connection() {
            Some(connection) => connection,
            None => self
                .client
                .connect(&self.target)
                .await
                .map_err(|e| self.transport_error(e))?,
        };
        // Answers are images of any size: Drake reads them whole, and so does this client.
        let answer = connection
            .send(request, None)
            .await
            .map_err(|e| self.transport_error(e))?;
        if self.keep_alive && !connection.is_closed() {
            lock(&self.idle).push(connection);
        }
        Ok(Answer {
            status: answer.status.as_u16(),
            headers: answer.headers,
            body: answer.body,
        })
    }

    /// Opens a connection and drops it.
    ///
    /// # Errors
    /// As [`Self::post`] would fail before sending.
    pub async fn probe(&self) -> Result<(), TransportError> {
        self.client
            .connect(&self.target)
            .await
            .map(drop)
            .map_err(|e| self.transport_error(e))
    }

    fn reusable_connection(&self) -> Option<Connection> {
        if !self.keep_alive {
            return None;
        }
        let mut idle = lock(&self.idle);
        while let Some(connection) = idle.pop() {
            if connection.is_ready() {
                return Some(connection);
            }
        }
        None
    }

    /// Words a failed exchange as curl's "Service Message" would.
    fn transport_error(&self, error: HttpError) -> TransportError {
        match error {
            HttpError::Url { reason, .. } => TransportError::BadUrl {
                url: self.url.clone(),
                reason,
            },
            HttpError::Connect(e) => TransportError::Connect(e),
            HttpError::Tls(e) => TransportError::Tls(e),
            other => TransportError::Http(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_follows_drake_normalisation() {
        assert_eq!(
            render_url("http://127.0.0.1:8000/", "/render"),
            "http://127.0.0.1:8000/render"
        );
        assert_eq!(
            render_url("127.0.0.1:8000", "render"),
            "http://127.0.0.1:8000/render"
        );
        assert_eq!(
            render_url("https://host/prefix", "v1/render"),
            "https://host/prefix/v1/render"
        );
    }

    #[test]
    fn boundary_has_curl_shape_and_varies() {
        let a = new_boundary();
        assert_eq!(a.len(), 46);
        assert!(a.starts_with(BOUNDARY_DASHES));
        assert!(a[24..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, new_boundary());
    }

    #[test]
    fn depth_form_has_fifteen_fields_and_color_thirteen() {
        let k = Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
        let range = DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        };
        let color = Form::new(b"{}".to_vec(), 1, ImageType::Color, &k, range);
        assert_eq!(color.fields.len(), 13);
        assert_eq!(color.scene_filename, "0000000000000000001-color.gltf");
        let depth = Form::new(b"{}".to_vec(), 2, ImageType::Depth, &k, range);
        assert_eq!(depth.fields.len(), 15);
        assert_eq!(depth.fields["min_depth"], "0.050000");
        assert_eq!(depth.fields["fov_x"], "1.009191");
        assert_eq!(depth.fields["fov_y"], "0.785398");
        assert_eq!(depth.fields["focal_x"], "579.411255");
    }
}
