//! Drake's request on the wire (drake-gltf-protocol §1): the form fields with their `%f` text, the
//! multipart body libcurl builds from them, the URL normalisation of `RenderEngineGltfClientParams`,
//! and one HTTP/1.1 exchange with the same headers libcurl sends.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::Mutex;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::decode::ImageType;
use crate::core::sync::lock;
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
    Http(#[from] hyper::Error),
    #[error("Timeout was reached after {0:?}")]
    Timeout(std::time::Duration),
}

/// The range of depths a depth camera reports (Drake's `DepthRange`), in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthRange {
    pub min_depth: f64,
    pub max_depth: f64,
}

/// C's `%f`, which is what `std::to_string(double)` writes: fixed point, six decimals.
pub fn format_double(value: f64) -> String {
    format!("{value:.6}")
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
        let (w, h) = (f64::from(intrinsics.width), f64::from(intrinsics.height));
        let fov_x = 2.0 * (w / (2.0 * intrinsics.focal_x)).atan();
        let fov_y = 2.0 * (h / (2.0 * intrinsics.focal_y)).atan();
        let mut fields = BTreeMap::new();
        let mut add = |name: &str, value: String| fields.insert(name.to_owned(), value);
        add("center_x", format_double(intrinsics.center_x));
        add("center_y", format_double(intrinsics.center_y));
        add("far", format_double(intrinsics.far));
        add("focal_x", format_double(intrinsics.focal_x));
        add("focal_y", format_double(intrinsics.focal_y));
        add("fov_x", format_double(fov_x));
        add("fov_y", format_double(fov_y));
        add("height", intrinsics.height.to_string());
        add("image_type", image_type.as_str().to_owned());
        add("near", format_double(intrinsics.near));
        add("scene_sha256", hex::encode(Sha256::digest(&scene)));
        add("submit", "Render".to_owned());
        add("width", intrinsics.width.to_string());
        if image_type == ImageType::Depth {
            add("max_depth", format_double(depth_range.max_depth));
            add("min_depth", format_double(depth_range.min_depth));
        }
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
                "--{boundary}\r\nContent-Disposition: form-data; name=\"scene\"; filename=\"{}\"\r\n\
                 Content-Type: model/gltf+json\r\n\r\n",
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

/// Where requests go, split for the socket, the TLS handshake and the request line.
#[derive(Debug, Clone)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority as written, like curl.
    authority: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |reason: &str| TransportError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("only http:// and https:// are supported")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Self {
            https,
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_owned(),
            path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        })
    }
}

/// An HTTP answer: status and whole body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Sends forms to one URL. Like libcurl in Drake, each request gets its own TCP connection unless
/// `keep_alive` is set, in which case idle connections are reused.
pub struct Transport {
    url: String,
    target: Target,
    keep_alive: bool,
    tls: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
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
        let target = Target::parse(url)?;
        let tls = if target.https {
            Some(crate::core::tls::client_connector(ca_cert).map_err(|e| {
                TransportError::CaCertificate {
                    path: ca_cert.map(|p| p.display().to_string()).unwrap_or_default(),
                    reason: e.to_string(),
                }
            })?)
        } else {
            None
        };
        Ok(Self {
            url: url.to_owned(),
            target,
            keep_alive,
            tls,
            idle: Mutex::new(Vec::new()),
        })
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
        let request = hyper::Request::builder()
            .method("POST")
            .uri(self.target.path.as_str())
            .header("Host", self.target.authority.as_str())
            .header("Accept", "*/*")
            .header("Content-Length", body.len())
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| TransportError::BadUrl {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        let mut sender = match self.reusable_connection() {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        if self.keep_alive && !sender.is_closed() {
            lock(&self.idle).push(sender);
        }
        Ok(Answer { status, body })
    }

    fn reusable_connection(&self) -> Option<SendRequest<Full<Bytes>>> {
        if !self.keep_alive {
            return None;
        }
        let mut idle = lock(&self.idle);
        while let Some(sender) = idle.pop() {
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let stream = TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .map_err(TransportError::Connect)?;
        // Like curl's TCP_NODELAY default: a small request must not wait for Nagle.
        stream.set_nodelay(true).map_err(TransportError::Connect)?;
        match &self.tls {
            None => handshake(stream).await,
            Some(connector) => {
                let name = ServerName::try_from(self.target.host.clone()).map_err(|e| {
                    TransportError::BadUrl {
                        url: self.url.clone(),
                        reason: e.to_string(),
                    }
                })?;
                let tls = connector
                    .connect(name, stream)
                    .await
                    .map_err(TransportError::Tls)?;
                handshake(tls).await
            }
        }
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Title-case header names, as curl writes them; servers must not care, but captures compare.
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(stream))
        .await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(cause = %e, "render connection closed with an error");
        }
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_are_written_like_c_percent_f() {
        assert_eq!(format_double(579.411_254_691_248_5), "579.411255");
        assert_eq!(format_double(319.5), "319.500000");
        assert_eq!(format_double(0.01), "0.010000");
        assert_eq!(format_double(4e-7), "0.000000");
        assert_eq!(format_double(1e9), "1000000000.000000");
    }

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
