//! [`SceneApiClient`]: the scene API's requests (docs/scene-api.md) from Rust, over the render
//! client's [`Transport`] (the same TLS roots, `--ca-cert` and access token as Drake mode). The
//! wire vocabulary (JSON types, the `GCF1`/`GCI1` layouts, error bodies) is
//! [`crate::protocol::scene_api`]'s; this module only moves it.

use std::time::Duration;

use hyper::body::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::scene_api::error::ErrorBody;
use crate::protocol::scene_api::frame::{self, AnswerImage, FrameHeader, PoseRecord};
use crate::protocol::scene_api::scene::{
    ApiInfo, AssetList, MissingAssets, PatchRequest, SceneCreated, SceneRequest, SceneSummary,
};
use crate::protocol::scene_api::AFFINITY_HEADER;
use crate::roles::render_client::client::ClientOptions;
use crate::roles::render_client::wire::{self, Answer, Transport, TransportError};

/// Why a scene API call failed.
#[derive(Debug, thiserror::Error)]
pub enum SceneApiError {
    /// No HTTP answer at all.
    #[error("{method} {url}: {source}")]
    Transport {
        method: &'static str,
        url: String,
        source: TransportError,
    },
    /// An answer other than the one the call expects: the status and the server's reason.
    #[error("{method} {url}: HTTP {status}: {}", refusal(.body, .text))]
    Refused {
        method: &'static str,
        url: String,
        status: u16,
        /// The API's error body, when the answer is one.
        body: Option<Box<ErrorBody>>,
        /// The answer's first bytes otherwise (a proxy's page).
        text: String,
    },
    /// A success whose body is not what the API says it is.
    #[error("{method} {url}: the answer does not follow docs/scene-api.md: {reason}")]
    BadAnswer {
        method: &'static str,
        url: String,
        reason: String,
    },
}

fn refusal(body: &Option<Box<ErrorBody>>, text: &str) -> String {
    match body {
        Some(body) => {
            let field = body
                .field
                .as_deref()
                .map_or_else(String::new, |f| format!(" (field {f})"));
            format!("{:?}{field}: {}", body.reason, body.message)
        }
        None => text.to_owned(),
    }
}

/// A frame's answer with what it cost on the wire.
#[derive(Debug, Clone)]
pub struct FrameAnswer {
    /// The scene's frame counter after this frame.
    pub frame: u64,
    pub images: Vec<AnswerImage>,
    /// The request body's bytes.
    pub sent_bytes: usize,
    /// The answer body's bytes.
    pub received_bytes: usize,
}

/// The lowercase hex SHA-256 that names an asset: the digest Drake's `scene_sha256` field carries.
pub fn asset_name(bytes: &[u8]) -> String {
    crate::protocol::drake::fields::scene_sha256(bytes)
}

/// Talks to one server's `/v1`. Connections are always reused: a scene client sends many small
/// frames, as the Python package does with its keep-alive session.
pub struct SceneApiClient {
    transport: Transport,
    timeout: Option<Duration>,
    /// This client's [`AFFINITY_HEADER`] value ([`affinity_key`]).
    affinity: String,
}

impl SceneApiClient {
    /// A client for `base_url` (normalised as Drake's: no scheme means `http://`) + `/v1`.
    ///
    /// # Errors
    /// An unusable URL or CA file.
    pub fn new(base_url: &str, options: &ClientOptions) -> Result<Self, TransportError> {
        let url = wire::render_url(base_url, "v1");
        let transport = Transport::new(&url, true, options.ca_cert.as_deref())?
            .with_token(options.token.as_deref());
        Ok(Self {
            transport,
            timeout: options.timeout,
            affinity: affinity_key(),
        })
    }

    /// `…/v1`.
    pub fn url(&self) -> &str {
        self.transport.url()
    }

    /// Whether there is a server to talk to at all (one connection opened and closed).
    ///
    /// # Errors
    /// The connection or TLS failure, or the timeout.
    pub async fn probe(&self) -> Result<(), TransportError> {
        self.bounded(self.transport.probe()).await
    }

    /// Any request to `/v1{suffix}`, its answer whatever the status (the checks judge those).
    ///
    /// # Errors
    /// No HTTP answer.
    pub async fn raw(
        &self,
        method: &'static str,
        suffix: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, SceneApiError> {
        let path = format!("{}{suffix}", self.transport.path().trim_end_matches('/'));
        let mut request = self.transport.request(method, &path);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let request = self
            .transport
            .with_authorization(request)
            .header(AFFINITY_HEADER, &self.affinity)
            .header("Content-Length", body.len());
        self.bounded(self.transport.send(request, Bytes::from(body)))
            .await
            .map_err(|source| SceneApiError::Transport {
                method,
                url: self.url_of(suffix),
                source,
            })
    }

    /// A request whose answer must have status `expected`, its body read as `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        suffix: &str,
        body: Option<&impl Serialize>,
        expected: u16,
    ) -> Result<T, SceneApiError> {
        let (content_type, bytes) = match body {
            Some(body) => (
                Some("application/json"),
                serde_json::to_vec(body).unwrap_or_default(),
            ),
            None => (None, Vec::new()),
        };
        let answer = self.raw(method, suffix, content_type, bytes).await?;
        self.expect(method, suffix, &answer, expected)?;
        serde_json::from_slice(&answer.body).map_err(|e| SceneApiError::BadAnswer {
            method,
            url: self.url_of(suffix),
            reason: e.to_string(),
        })
    }

    /// An error unless `answer` has status `expected`.
    ///
    /// # Errors
    /// [`SceneApiError::Refused`] with the server's reason.
    pub fn expect(
        &self,
        method: &'static str,
        suffix: &str,
        answer: &Answer,
        expected: u16,
    ) -> Result<(), SceneApiError> {
        if answer.status == expected {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]);
        Err(SceneApiError::Refused {
            method,
            url: self.url_of(suffix),
            status: answer.status,
            body: ErrorBody::parse(&answer.body).map(Box::new),
            text: text.into_owned(),
        })
    }

    /// `GET /v1`.
    ///
    /// # Errors
    /// See [`SceneApiError`].
    pub async fn info(&self) -> Result<ApiInfo, SceneApiError> {
        self.call("GET", "", None::<&()>, 200).await
    }

    /// Uploads the assets the server lacks (`POST /v1/assets/missing`, then `PUT` each).
    ///
    /// # Errors
    /// See [`SceneApiError`].
    pub async fn upload_missing(&self, assets: &[Vec<u8>]) -> Result<usize, SceneApiError> {
        let names: Vec<String> = assets.iter().map(|a| asset_name(a)).collect();
        let missing: MissingAssets = self
            .call(
                "POST",
                "/assets/missing",
                Some(&AssetList {
                    sha256: names.clone(),
                }),
                200,
            )
            .await?;
        let mut uploaded = 0;
        for (name, bytes) in names.iter().zip(assets) {
            if missing.missing.contains(name) {
                let suffix = format!("/assets/{name}");
                let answer = self
                    .raw(
                        "PUT",
                        &suffix,
                        Some("application/octet-stream"),
                        bytes.clone(),
                    )
                    .await?;
                self.expect("PUT", &suffix, &answer, 201)?;
                uploaded += 1;
            }
        }
        Ok(uploaded)
    }

    /// `POST /v1/scenes`.
    ///
    /// # Errors
    /// See [`SceneApiError`].
    pub async fn create_scene(&self, scene: &SceneRequest) -> Result<SceneCreated, SceneApiError> {
        self.call("POST", "/scenes", Some(scene), 201).await
    }

    /// `PATCH /v1/scenes/{id}`.
    ///
    /// # Errors
    /// See [`SceneApiError`].
    pub async fn patch_scene(
        &self,
        id: &str,
        patch: &PatchRequest,
    ) -> Result<SceneSummary, SceneApiError> {
        self.call("PATCH", &format!("/scenes/{id}"), Some(patch), 200)
            .await
    }

    /// `GET /v1/scenes/{id}`.
    ///
    /// # Errors
    /// See [`SceneApiError`].
    pub async fn scene_summary(&self, id: &str) -> Result<SceneSummary, SceneApiError> {
        self.call("GET", &format!("/scenes/{id}"), None::<&()>, 200)
            .await
    }

    /// `DELETE /v1/scenes/{id}`.
    ///
    /// # Errors
    /// See [`SceneApiError`].
    pub async fn delete_scene(&self, id: &str) -> Result<(), SceneApiError> {
        let suffix = format!("/scenes/{id}");
        let answer = self.raw("DELETE", &suffix, None, Vec::new()).await?;
        self.expect("DELETE", &suffix, &answer, 204)
    }

    /// `POST /v1/scenes/{id}/frames`: the poses, then every camera's images.
    ///
    /// # Errors
    /// See [`SceneApiError`]; an answer that does not parse is [`SceneApiError::BadAnswer`].
    pub async fn frame(
        &self,
        id: &str,
        header: &FrameHeader,
        poses: &[PoseRecord],
    ) -> Result<FrameAnswer, SceneApiError> {
        let suffix = format!("/scenes/{id}/frames");
        let body = frame::write_request(header, poses);
        let sent_bytes = body.len();
        let answer = self
            .raw("POST", &suffix, Some("application/octet-stream"), body)
            .await?;
        self.expect("POST", &suffix, &answer, 200)?;
        let (frame, images) =
            frame::parse_answer(&answer.body).map_err(|e| SceneApiError::BadAnswer {
                method: "POST",
                url: self.url_of(&suffix),
                reason: e.to_string(),
            })?;
        Ok(FrameAnswer {
            frame,
            images,
            sent_bytes,
            received_bytes: answer.body.len(),
        })
    }

    fn url_of(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.url())
    }

    async fn bounded<T>(
        &self,
        exchange: impl std::future::Future<Output = Result<T, TransportError>>,
    ) -> Result<T, TransportError> {
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .unwrap_or(Err(TransportError::Timeout(limit))),
            None => exchange.await,
        }
    }
}

/// A key for [`AFFINITY_HEADER`]: a proxy routes by it, so it must differ between clients but need
/// not be secret. The standard library's per-process random hash keys, over the time and the
/// process id.
fn affinity_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(since_epoch.as_nanos());
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}
