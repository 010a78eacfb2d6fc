//! Drake's front door, `POST /<endpoint>` (drake-gltf-protocol §1–2): one multipart form, one
//! image. What is Drake's own here: reading the form ([`form`]), loading its glTF through the
//! scene cache with the static scene merged in, the covered-pixel count of that glTF, and the
//! PNG/TIFF answer. Admission, memory, deadline, workers and the answer are [`Pipeline`]'s.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Multipart, State};
use axum::response::{IntoResponse, Response};

use super::budget::{self, CoverageMemo};
use super::error::ApiError;
use super::form::{self, FormLimits, RenderRequest};
use super::pipeline::{answer, Pipeline, View};
use super::previews::Source;
use super::state::AppState;
use super::{Config, DepthFormat};
use crate::core::config::config_key;
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::image::{metres_to_millimetres, ImageType};
use crate::render::Image;
use crate::scene::cache::KeyHasher;
use crate::scene::camera::Intrinsics;
use crate::scene::merge::{Appearance, StaticScene};
use crate::scene::{self, LoadOptions, SceneCache, SceneError};

/// `POST /<endpoint>`: one image per request.
pub async fn render(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let started = Instant::now();
    let mut image_type = None;
    let result = render_inner(&state, peer.ip(), multipart, &mut image_type).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) if e.status().is_client_error() => "rejected",
        Err(_) => "failed",
    };
    let elapsed = started.elapsed();
    state.pipeline.metrics.request(
        image_type.map_or("unknown", ImageType::as_str),
        outcome,
        elapsed,
    );
    match result {
        Ok(response) => {
            if let Some(image_type) = image_type {
                state.stats.record(image_type, elapsed);
            }
            response
        }
        Err(error) => {
            let reason = if error.status().as_u16() == 503 {
                "busy"
            } else if error.status().is_client_error() {
                "bad_request"
            } else {
                "internal"
            };
            state.pipeline.metrics.rejected(reason);
            error.into_response()
        }
    }
}

/// One render request; sets `image_type` as soon as the form names it, so a failure after that
/// point is counted under its type.
async fn render_inner(
    state: &AppState,
    client: IpAddr,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    image_type: &mut Option<ImageType>,
) -> Result<Response, ApiError> {
    let pipeline = &state.pipeline;
    let multipart = multipart?;
    let reading = Instant::now();
    let form = form::read(multipart, pipeline.config.max_body_bytes).await?;
    let request = form.into_request(FormLimits {
        max_image_dimension: pipeline.config.max_image_dimension,
    })?;
    let requested = request.image_type;
    *image_type = Some(requested);
    // Admitted only now that the request is complete and valid: a client whose body is still
    // arriving (or stalled) holds no render slot, so it cannot lock out complete requests
    // (issue 21). What it holds meanwhile is bounded by the connection limits and maxBodyBytes.
    let admitted = pipeline.admit(client)?;
    let ticket = &admitted.ticket;
    tracing::debug!(
        image_type = requested.as_str(),
        width = request.intrinsics.width,
        height = request.intrinsics.height,
        scene_bytes = request.scene.len(),
        "render request"
    );
    pipeline.reserve(ticket, request.scene.len() as u64)?;
    let read_ms = reading.elapsed().as_secs_f64() * 1e3;

    let deadline = pipeline.deadline();
    let rendering = render_request(state, request, ticket, deadline, read_ms);
    pipeline.within_deadline(deadline, rendering).await
}

/// The request from its loaded body to the answer, every stage under `deadline`.
async fn render_request(
    state: &AppState,
    request: RenderRequest,
    ticket: &Arc<budget::Ticket>,
    deadline: Instant,
    read_ms: f64,
) -> Result<Response, ApiError> {
    let pipeline: &Pipeline = &state.pipeline;
    let kind = request.kind;
    let requested = request.image_type;
    let body_bytes = request.scene.len() as u64;
    let options = pipeline.config.load_options(requested == ImageType::Color);
    let max_covered_pixels = pipeline.config.max_covered_pixels;
    let reserve = pipeline.loader_reserve(ticket);
    let loading = Instant::now();
    let cache = Arc::clone(&state.cache);
    let static_scene = Arc::clone(&pipeline.static_scene);
    let coverage = Arc::clone(&state.coverage);
    let (scene, intrinsics) = pipeline
        .blocking("scene loading", move || {
            prepare(
                request,
                &options,
                &cache,
                &coverage,
                &static_scene,
                max_covered_pixels,
                reserve,
            )
        })
        .await?;
    // The body was dropped with the request once loaded.
    ticket.release(body_bytes);
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    let triangles: usize = (scene.instances.iter())
        .map(|instance| scene.meshes[instance.mesh].indices.len() / 3)
        .sum();

    let view = View {
        scene,
        look: Arc::clone(pipeline.pool.default_look()),
        intrinsics,
        kind,
        source: Source::Drake,
    };
    let rendered = pipeline.render(view, ticket, deadline).await?;
    let image = rendered.image;
    let depth_format = pipeline.config.depth_format;
    let encoding = Instant::now();
    let (bytes, content_type) = pipeline
        .blocking("encoding", move || Ok(encode_image(&image, depth_format)))
        .await?;
    tracing::debug!(
        image_type = requested.as_str(),
        triangles,
        read_ms,
        load_ms,
        render_ms = rendered.elapsed.as_secs_f64() * 1e3,
        encode_ms = encoding.elapsed().as_secs_f64() * 1e3,
        bytes = bytes.len(),
        "rendered"
    );
    Ok(answer(Bytes::from(bytes), content_type, Arc::clone(ticket)))
}

/// Loads the scene, merges the static scene into it (white in labels, untextured in depth),
/// resolves what the form left to the glTF (a near plane sent as 0), and refuses an image that
/// would cost more than `maxCoveredPixels` to rasterize, the static scene included.
fn prepare(
    request: RenderRequest,
    options: &LoadOptions,
    cache: &SceneCache,
    coverage: &CoverageMemo,
    static_scene: &StaticScene,
    max_covered_pixels: u64,
    mut reserve: impl FnMut(u64) -> Result<(), SceneError>,
) -> Result<(scene::Scene, Intrinsics), ApiError> {
    // A document seen before is rebuilt from the cache without parsing it (see `SceneCache::scene`).
    let document = KeyHasher::document(&request.scene_digest, options);
    let mut scene = match cache.scene(&document) {
        Some(scene) => scene,
        None => {
            let scene = scene::load_within(&request.scene, options, Some(cache), &mut reserve)?;
            cache.keep_scene(document, &scene);
            scene
        }
    };
    let appearance = match request.image_type {
        ImageType::Color => Appearance::Materials,
        ImageType::Depth | ImageType::Label => Appearance::White,
    };
    static_scene.merge_into(&mut scene, appearance);
    let mut intrinsics = request.intrinsics;
    if intrinsics.near == 0.0 {
        intrinsics.near = scene.camera.map_or(0.0, |camera| camera.znear);
        if intrinsics.near <= 0.0 || intrinsics.near >= intrinsics.far {
            return Err(ApiError::BadRequest(
                "near: 0 was sent and the glTF camera has no usable znear".to_owned(),
            ));
        }
    }
    let covered = coverage.covered(&document, &intrinsics, || {
        budget::covered_pixels(&scene, &intrinsics, max_covered_pixels)
    });
    if covered > max_covered_pixels {
        return Err(ApiError::BadRequest(format!(
            "the image would cover more than {max_covered_pixels} pixels (at least {covered}, \
             summed over the triangles); the limit is {max_covered_pixels} (config key {})",
            config_key!(Config, max_covered_pixels)
        )));
    }
    Ok((scene, intrinsics))
}

/// The answer for a rendered image (protocol §2.2), with its content type.
fn encode_image(image: &Image, depth_format: DepthFormat) -> (Vec<u8>, &'static str) {
    match image {
        Image::Color {
            width,
            height,
            rgba,
        } => (
            encode::png_rgba8(*width, *height, rgba, Deflate::Fast),
            "image/png",
        ),
        Image::Label { width, height, rgb } => (
            encode::png_label(*width, *height, rgb, Deflate::Fast),
            "image/png",
        ),
        Image::Depth {
            width,
            height,
            metres,
        } => match depth_format {
            DepthFormat::Tiff32 => (encode::tiff_f32(*width, *height, metres), "image/tiff"),
            DepthFormat::Png16 => (
                encode::png_gray16(
                    *width,
                    *height,
                    &metres_to_millimetres(metres),
                    Deflate::Fast,
                ),
                "image/png",
            ),
        },
    }
}
