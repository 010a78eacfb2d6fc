//! `POST /v1/scenes/{id}/frames`: the poses that changed, then every camera's images, answered
//! together in one `GCI1` body.
//!
//! In order: the whole body read and parsed (no slot is held while it arrives) → every pose's
//! geometry checked against the scene → admission → the covered-pixel bound of each camera
//! ([`super::coverage`], O(geometries)) → the poses committed → one view per camera × image type,
//! each rendered by the pipeline's workers (so several workers share a frame), all under one
//! ticket and one deadline → encoded on a blocking thread → answered. A refused frame changes no
//! pose; a client that hangs up abandons the ticket and its queued images are skipped.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::response::Response;
use futures_util::future::try_join_all;
use glam::DMat4;

use super::build::{self, Appearance, Placed};
use super::coverage;
use super::error::SceneApiError;
use super::{read_body, SceneApi};
use crate::core::config::config_key;
use crate::core::sync::lock;
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::label::LABEL_EMPTY;
use crate::protocol::scene_api::error::{FieldError, Reason};
use crate::protocol::scene_api::frame::{
    self, AnswerImage, Encoding, FrameError, FrameLimits, ImageFormat, ImageName,
};
use crate::protocol::scene_api::pose;
use crate::render::{Image, ImageKind};
use crate::roles::render_server::pipeline::{answer, View};
use crate::roles::render_server::previews::Source;
use crate::roles::render_server::Config;

/// Renders one frame of the scene `id`.
pub async fn render(
    State(api): State<Arc<SceneApi>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, SceneApiError> {
    let started = Instant::now();
    let scene = api.scenes.get(&id)?;
    let look = Arc::clone(&scene.look);
    let body = read_body(&api, body).await?;
    let config = api.config();
    let limits = FrameLimits {
        max_cameras: config.max_cameras_per_frame,
        max_image_dimension: config.max_image_dimension,
    };
    let frame = frame::parse_request(&body, limits).map_err(|error| match error {
        FrameError::Field(field) => SceneApiError::from(field),
        FrameError::OverLimit(field) => {
            let key = if field.field == "cameras" {
                config_key!(Config, max_cameras_per_frame)
            } else {
                config_key!(Config, max_image_dimension)
            };
            SceneApiError::field(
                Reason::TooLarge,
                FieldError::new(field.field, format!("{} (config key {key})", field.message)),
            )
        }
    })?;
    drop(body);

    // The scene as this frame sees it; the poses are committed only once it is admitted.
    let mut placed: Vec<(u64, Placed)> = {
        let state = lock(&scene.state);
        for (index, record) in frame.poses.iter().enumerate() {
            if !state.geometries.contains_key(&record.id) {
                return Err(FieldError::new(
                    format!("poses[{index}]"),
                    format!("geometry {} is not in the scene", record.id),
                )
                .into());
            }
        }
        (state.geometries.iter())
            .map(|(id, placed)| (*id, placed.clone()))
            .collect()
    };
    let moved: Vec<(u64, DMat4)> = (frame.poses.iter())
        .map(|record| (record.id, pose::to_matrix(&record.x_wg)))
        .collect();
    for (id, pose) in &moved {
        if let Ok(at) = placed.binary_search_by_key(id, |(id, _)| *id) {
            placed[at].1.pose = *pose;
        }
    }

    let pipeline = &api.pipeline;
    let admitted = pipeline.admit(peer.ip())?;
    let deadline = pipeline.deadline();
    let cameras = frame.header.cameras;
    let encoding = frame.header.encoding;
    let work = async {
        let checking = Arc::clone(&api);
        let (placed, cameras) = pipeline
            .blocking("the coverage bound", move || {
                Ok(check_coverage(&checking, &placed, &cameras).map(|()| (placed, cameras)))
            })
            .await??;
        let number = {
            let mut state = lock(&scene.state);
            for (id, pose) in &moved {
                // A geometry an edit removed meanwhile stays removed.
                if let Some(geometry) = state.geometries.get_mut(id) {
                    geometry.pose = *pose;
                }
            }
            state.frames += 1;
            state.frames
        };
        let geometries: Vec<Placed> = placed.into_iter().map(|(_, placed)| placed).collect();
        let mut views = Vec::new();
        let mut wanted = Vec::new();
        for (index, camera) in cameras.iter().enumerate() {
            for &image in &camera.images {
                let (appearance, kind) = match image {
                    ImageName::Color => (Appearance::Color, ImageKind::Color),
                    ImageName::Label => (Appearance::Label, ImageKind::Label),
                    ImageName::Depth => {
                        let range = camera.depth_range().ok_or_else(|| {
                            FieldError::new(
                                format!("cameras[{index}].depth_range"),
                                "required with a depth image",
                            )
                        })?;
                        (
                            Appearance::Depth,
                            ImageKind::Depth {
                                min_depth: range.min_depth,
                                max_depth: range.max_depth,
                            },
                        )
                    }
                };
                let scene = build::frame_scene(
                    &geometries,
                    &pipeline.static_scene,
                    appearance,
                    &pose::to_matrix(&camera.x_wc),
                    camera.near,
                );
                views.push(View {
                    scene,
                    look: Arc::clone(&look),
                    intrinsics: camera.intrinsics(),
                    kind,
                    source: Source::SceneApi { camera: index },
                });
                wanted.push((index, image));
            }
        }
        let ticket = &admitted.ticket;
        let rendering = views
            .into_iter()
            .map(|view| pipeline.render(view, ticket, deadline));
        let rendered = try_join_all(rendering).await?;
        let images: Vec<(usize, ImageName, Image)> = (wanted.into_iter())
            .zip(rendered)
            .map(|((camera, name), rendered)| (camera, name, rendered.image))
            .collect();
        let count = images.len();
        let body = pipeline
            .blocking("encoding", move || {
                Ok(encode_answer(number, &images, encoding))
            })
            .await?;
        Ok::<_, SceneApiError>((body, count))
    };
    let (body, count) = pipeline.within_deadline(deadline, work).await?;
    api.frames.fetch_add(1, Ordering::Relaxed);
    api.images.fetch_add(count as u64, Ordering::Relaxed);
    pipeline.metrics.frame(started.elapsed());
    Ok(answer(
        Bytes::from(body),
        "application/octet-stream",
        Arc::clone(&admitted.ticket),
    ))
}

/// Refuses a camera whose image could cost more than `maxCoveredPixels` to rasterize, bounded from
/// the geometries' clusters (see [`coverage`]) and the static scene's.
fn check_coverage(
    api: &SceneApi,
    placed: &[(u64, Placed)],
    cameras: &[frame::Camera],
) -> Result<(), SceneApiError> {
    let limit = api.config().max_covered_pixels;
    for (index, camera) in cameras.iter().enumerate() {
        let view = coverage::Camera::new(&camera.intrinsics(), &pose::to_matrix(&camera.x_wc));
        let mut bound = view.bound(&DMat4::IDENTITY, &api.static_clusters);
        for (_, geometry) in placed {
            bound += view.bound(&geometry.pose, &geometry.content.clusters);
            if bound > limit as f64 {
                return Err(SceneApiError::field(
                    Reason::TooLarge,
                    FieldError::new(
                        format!("cameras[{index}]"),
                        format!(
                            "the image may cover more than {limit} pixels (bounded from the \
                             geometries' areas and distances); the limit is {limit} (config key \
                             {})",
                            config_key!(Config, max_covered_pixels)
                        ),
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The answer's bytes: every image in Drake's buffer layout (raw) or as PNG/TIFF.
fn encode_answer(number: u64, images: &[(usize, ImageName, Image)], encoding: Encoding) -> Vec<u8> {
    let answered: Vec<AnswerImage> = images
        .iter()
        .map(|(camera, name, image)| {
            let (width, height, format, data) = encode_image(image, encoding);
            AnswerImage {
                camera: *camera,
                kind: *name,
                width,
                height,
                format,
                data,
            }
        })
        .collect();
    frame::write_answer(number, &answered)
}

fn encode_image(image: &Image, encoding: Encoding) -> (u32, u32, ImageFormat, Vec<u8>) {
    match (image, encoding) {
        (
            Image::Color {
                width,
                height,
                rgba,
            },
            Encoding::Raw,
        ) => (*width, *height, ImageFormat::Rgba8, rgba.clone()),
        (
            Image::Color {
                width,
                height,
                rgba,
            },
            Encoding::Png,
        ) => (
            *width,
            *height,
            ImageFormat::Png,
            encode::png_rgba8(*width, *height, rgba, Deflate::Fast),
        ),
        (
            Image::Depth {
                width,
                height,
                metres,
            },
            Encoding::Raw,
        ) => (
            *width,
            *height,
            ImageFormat::F32,
            metres.iter().flat_map(|z| z.to_le_bytes()).collect(),
        ),
        (
            Image::Depth {
                width,
                height,
                metres,
            },
            Encoding::Png,
        ) => (
            *width,
            *height,
            ImageFormat::Tiff,
            encode::tiff_f32(*width, *height, metres),
        ),
        (Image::Label { width, height, rgb }, Encoding::Raw) => (
            *width,
            *height,
            ImageFormat::I16,
            labels(rgb).flat_map(i16::to_le_bytes).collect(),
        ),
        (Image::Label { width, height, rgb }, Encoding::Png) => {
            // Labels are never negative (check_geometry), so their u16 bits are their values.
            let values: Vec<u16> = labels(rgb).map(|label| label as u16).collect();
            (
                *width,
                *height,
                ImageFormat::Png,
                encode::png_gray16(*width, *height, &values, Deflate::Fast),
            )
        }
    }
}

/// The label of each pixel of a label image as this front door draws it: each geometry in its
/// label's colour (`label::to_red_green`, blue 0), over a white clear colour. White encodes no
/// label a geometry may carry (its blue is 255), so here it decodes to `kEmpty`: nothing was hit,
/// as RenderEngineVtk answers. (Drake's own path reads white as `kDontCare`; this one draws
/// `kDontCare` geometry, the static scene included, in that label's colour instead.)
fn labels(rgb: &[u8]) -> impl Iterator<Item = i16> + '_ {
    rgb.chunks_exact(3).map(|pixel| match pixel {
        [255, 255, 255] => LABEL_EMPTY,
        [r, g, _] => i16::from_le_bytes([*r, *g]),
        _ => LABEL_EMPTY,
    })
}
