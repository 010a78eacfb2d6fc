//! [`RenderClient`]: one render call as Drake's `RenderClient::RenderOnServer` makes it, with
//! Drake's error reports, for the CLI, the benchmark, the conformance suite and tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::camera::{Camera, SceneError};
use super::wire::{self, Answer, Form, Transport, TransportError};
use crate::protocol::drake::decode::{DecodeError, Decoded, Image};
use crate::protocol::drake::error_body;
use crate::protocol::drake::fields;
use crate::protocol::drake::image::ImageType;

/// Why a render call failed, worded as Drake words it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A non-success status, or no HTTP answer at all (`http_code` 0).
    #[error("RenderClient: error from POST:\n  URL:             {url}\n  Service Message: {service_message}\n  HTTP Code:       {http_code}\n  Server Message:  {server_message}")]
    Post {
        url: String,
        service_message: String,
        http_code: u16,
        server_message: String,
    },
    #[error("RenderClient: error from POST to {url}, HTTP code={http_code}: the server was supposed to respond with a file but did not.")]
    EmptyBody { url: String, http_code: u16 },
    #[error("RenderClient: while trying to render the scene '{scene}' with a sha256 hash of '{sha256}', the file returned by the server saved in '{file}' is not understood as an image type that is supported, i.e., PNG or TIFF.")]
    NotAnImage {
        scene: String,
        sha256: String,
        /// Where Drake saves an answer before sniffing it.
        file: String,
    },
    #[error(transparent)]
    Decode(DecodeError),
    #[error(transparent)]
    Scene(#[from] SceneError),
    #[error(transparent)]
    Setup(TransportError),
}

/// How a [`RenderClient`] talks to its server.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Reuse connections; Drake (libcurl, one handle per call) never does.
    pub keep_alive: bool,
    /// Gives up on a request after this long; Drake waits forever.
    pub timeout: Option<Duration>,
    /// An extra trusted root for `https://` servers.
    pub ca_cert: Option<std::path::PathBuf>,
    /// Sent as `Authorization: Bearer <token>` to a server that requires access tokens.
    pub token: Option<String>,
}

/// Sends render requests to one server and decodes the answers.
pub struct RenderClient {
    transport: Transport,
    timeout: Option<Duration>,
    /// Drake's per-process scene counter; the first request is `…0001`.
    scene_counter: AtomicU64,
}

impl RenderClient {
    /// A client for `base_url` + `render_endpoint`, normalised as Drake does.
    ///
    /// # Errors
    /// An unusable URL or CA file.
    pub fn new(
        base_url: &str,
        render_endpoint: &str,
        options: &ClientOptions,
    ) -> Result<Self, ClientError> {
        let url = wire::render_url(base_url, render_endpoint);
        let transport = Transport::new(&url, options.keep_alive, options.ca_cert.as_deref())
            .map_err(ClientError::Setup)?
            .with_token(options.token.as_deref());
        Ok(Self {
            transport,
            timeout: options.timeout,
            scene_counter: AtomicU64::new(0),
        })
    }

    /// The render URL.
    pub fn url(&self) -> &str {
        self.transport.url()
    }

    /// Opens one connection to the server (TCP, then TLS for `https://`) and closes it: whether
    /// there is a server to talk to at all, in the words of the transport's failure.
    ///
    /// # Errors
    /// The connection or TLS failure, or the timeout.
    pub async fn probe(&self) -> Result<(), TransportError> {
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, self.transport.probe())
                .await
                .unwrap_or(Err(TransportError::Timeout(limit))),
            None => self.transport.probe().await,
        }
    }

    /// Renders `gltf` (glTF JSON) after writing `camera` into it, as Drake's exporter does.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn render(
        &self,
        gltf: &[u8],
        camera: &Camera,
        image_type: ImageType,
    ) -> Result<Image, ClientError> {
        let scene = camera.write_into(gltf)?;
        self.render_prepared(scene, camera, image_type).await
    }

    /// [`Self::render`] for an image type known at compile time, returning its own image type.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn render_as<T: Decoded>(
        &self,
        gltf: &[u8],
        camera: &Camera,
    ) -> Result<T, ClientError> {
        let scene = camera.write_into(gltf)?;
        self.render_prepared_as(scene, camera).await
    }

    /// Renders a scene that already holds its camera node, byte for byte as given.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn render_prepared(
        &self,
        scene: Vec<u8>,
        camera: &Camera,
        image_type: ImageType,
    ) -> Result<Image, ClientError> {
        match image_type {
            ImageType::Color => self
                .render_prepared_as(scene, camera)
                .await
                .map(Image::Color),
            ImageType::Depth => self
                .render_prepared_as(scene, camera)
                .await
                .map(Image::Depth),
            ImageType::Label => self
                .render_prepared_as(scene, camera)
                .await
                .map(Image::Label),
        }
    }

    /// [`Self::render_prepared`] for an image type known at compile time.
    ///
    /// # Errors
    /// See [`ClientError`].
    pub async fn render_prepared_as<T: Decoded>(
        &self,
        scene: Vec<u8>,
        camera: &Camera,
    ) -> Result<T, ClientError> {
        let form = self.form(scene, camera, T::IMAGE_TYPE);
        let answer = self.post(&form).await?;
        self.decode(&form, camera, &answer)
    }

    /// The form Drake would send for the next render call.
    pub fn form(&self, scene: Vec<u8>, camera: &Camera, image_type: ImageType) -> Form {
        let scene_id = self.scene_counter.fetch_add(1, Ordering::Relaxed) + 1;
        Form::new(
            scene,
            scene_id,
            image_type,
            &camera.intrinsics,
            camera.depth_range,
        )
    }

    /// Posts any form (the conformance suite sends malformed ones) and returns the raw answer.
    ///
    /// # Errors
    /// [`ClientError::Post`] with HTTP code 0 when no answer came.
    pub async fn post_raw(&self, form: &Form) -> Result<Answer, ClientError> {
        let exchange = self.transport.post(form);
        let result = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, exchange)
                .await
                .unwrap_or(Err(TransportError::Timeout(limit))),
            None => exchange.await,
        };
        result.map_err(|e| ClientError::Post {
            url: self.url().to_owned(),
            service_message: e.to_string(),
            http_code: 0,
            server_message: "None.".to_owned(),
        })
    }

    /// Posts and applies Drake's success rule: `200 ≤ code < 400`.
    async fn post(&self, form: &Form) -> Result<Answer, ClientError> {
        let answer = self.post_raw(form).await?;
        if (200..400).contains(&answer.status) {
            return Ok(answer);
        }
        Err(ClientError::Post {
            url: self.url().to_owned(),
            service_message: "None.".to_owned(),
            http_code: answer.status,
            server_message: error_body::server_message(&answer.body),
        })
    }

    fn decode<T: Decoded>(
        &self,
        form: &Form,
        camera: &Camera,
        answer: &Answer,
    ) -> Result<T, ClientError> {
        if answer.body.is_empty() {
            return Err(ClientError::EmptyBody {
                url: self.url().to_owned(),
                http_code: answer.status,
            });
        }
        // The name Drake saves the answer under, so messages point where Drake's would.
        let stem = form.scene_filename.trim_end_matches(".gltf");
        let k = &camera.intrinsics;
        T::decode(&answer.body, k.width, k.height, stem).map_err(|e| match e {
            DecodeError::NotAnImage => ClientError::NotAnImage {
                scene: form.scene_filename.clone(),
                sha256: form
                    .fields
                    .get(fields::SCENE_SHA256)
                    .cloned()
                    .unwrap_or_default(),
                file: format!("{stem}.curl"),
            },
            other => ClientError::Decode(other),
        })
    }
}
