//! The status page's pictures: the latest color, depth and label image the server rendered, for
//! either front door, so an operator sees what clients send and get.
//!
//! Nothing here may cost the renders: the worker that rendered an image keeps a subsample of it
//! (at most [`LONG_SIDE`] pixels on its long side, so at most 65 536 samples, read while the image
//! is still in its cache) as the latest of its type, replacing the one before; no full-size image
//! outlives its request and nothing is encoded per render. The PNG is made on the first request
//! for it after a newer image arrived, off the runtime, and kept until the next one replaces it.
//! Memory is fixed: three thumbnails and their PNGs.
//!
//! Previews show users' images to whoever may open `GET /`; `statusPreviews: false` turns them off
//! (no thumbnail is taken then, and the endpoints answer 404).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use tokio::task::JoinError;

use crate::core::sync::lock;
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::image::ImageType;
use crate::protocol::drake::{label, preview};
use crate::render::Image;

/// The longest side of a thumbnail, in pixels: enough to recognise a scene at a glance.
pub const LONG_SIDE: u32 = 256;

/// Which front door asked for an image, as the captions name it. Never a scene's id: the scene
/// API's ids are what lets a client use its scene, and the page may be open to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Drake's `POST /<endpoint>`.
    Drake,
    /// A scene API frame; the camera's index in the frame request.
    SceneApi { camera: usize },
}

impl Source {
    /// As the page's captions and `/status.json` give it.
    pub fn describe(self) -> String {
        match self {
            Self::Drake => "Drake".to_owned(),
            Self::SceneApi { camera } => format!("scene API, camera {camera}"),
        }
    }
}

/// The latest image of each type.
#[derive(Default)]
pub struct Previews {
    /// In [`ImageType::ALL`]'s order.
    latest: [Mutex<Option<Latest>>; 3],
    /// Numbers the images kept, so the page fetches one only when it is newer than what it shows.
    kept: AtomicU64,
}

/// One type's latest image.
struct Latest {
    sequence: u64,
    source: Source,
    /// The rendered image's size.
    width: u32,
    height: u32,
    rendered_at: SystemTime,
    /// For its age: the wall clock may jump.
    kept_at: Instant,
    thumbnail: Arc<Thumbnail>,
    /// Made on the first request after this image arrived.
    png: Option<Bytes>,
}

/// What `/status.json` says of one type's latest image.
pub struct Shown {
    pub sequence: u64,
    pub source: Source,
    pub width: u32,
    pub height: u32,
    pub preview_width: u32,
    pub preview_height: u32,
    pub rendered_at_unix_ms: u64,
    pub age_seconds: f64,
    /// Depth only: the nearest and farthest depth measured in the thumbnail, which its colours span.
    pub depth_range: Option<(f32, f32)>,
}

/// Where a worker leaves what it rendered ([`Previews::keep`]), with who asked for it.
pub struct Tap {
    pub previews: Arc<Previews>,
    pub source: Source,
}

impl Tap {
    pub fn keep(&self, image: &Image) {
        self.previews.keep(image, self.source);
    }
}

impl Previews {
    /// Keeps a thumbnail of `image` as the latest of its type.
    pub fn keep(&self, image: &Image, source: Source) {
        let Some(thumbnail) = Thumbnail::of(image) else {
            return;
        };
        let (width, height) = image_size(image);
        let mut slot = lock(&self.latest[index(image_type(image))]);
        // Numbered under the slot's lock, so the image kept last has the highest number.
        let sequence = self.kept.fetch_add(1, Ordering::Relaxed) + 1;
        *slot = Some(Latest {
            sequence,
            source,
            width,
            height,
            rendered_at: SystemTime::now(),
            kept_at: Instant::now(),
            thumbnail: Arc::new(thumbnail),
            png: None,
        });
    }

    /// The latest image of `image_type`, `None` before the first.
    pub fn shown(&self, image_type: ImageType) -> Option<Shown> {
        let slot = lock(&self.latest[index(image_type)]);
        let latest = slot.as_ref()?;
        let since_epoch = latest.rendered_at.duration_since(UNIX_EPOCH);
        Some(Shown {
            sequence: latest.sequence,
            source: latest.source,
            width: latest.width,
            height: latest.height,
            preview_width: latest.thumbnail.width,
            preview_height: latest.thumbnail.height,
            rendered_at_unix_ms: since_epoch.map_or(0, |d| d.as_millis() as u64),
            age_seconds: latest.kept_at.elapsed().as_secs_f64(),
            depth_range: latest.thumbnail.depth_range,
        })
    }

    /// The latest image of `image_type` as PNG, encoded on a blocking thread the first time it is
    /// asked for; `None` before the first image.
    ///
    /// # Errors
    /// When the encoding thread panicked.
    pub async fn png(&self, image_type: ImageType) -> Result<Option<Bytes>, JoinError> {
        let slot = &self.latest[index(image_type)];
        let (sequence, thumbnail) = match &*lock(slot) {
            None => return Ok(None),
            Some(Latest { png: Some(png), .. }) => return Ok(Some(png.clone())),
            Some(latest) => (latest.sequence, Arc::clone(&latest.thumbnail)),
        };
        let png = tokio::task::spawn_blocking(move || Bytes::from(thumbnail.png())).await?;
        if let Some(latest) = lock(slot).as_mut() {
            // A newer image may have arrived meanwhile; it gets its own PNG.
            if latest.sequence == sequence {
                latest.png = Some(png.clone());
            }
        }
        Ok(Some(png))
    }
}

fn index(image_type: ImageType) -> usize {
    match image_type {
        ImageType::Color => 0,
        ImageType::Depth => 1,
        ImageType::Label => 2,
    }
}

fn image_type(image: &Image) -> ImageType {
    match image {
        Image::Color { .. } => ImageType::Color,
        Image::Depth { .. } => ImageType::Depth,
        Image::Label { .. } => ImageType::Label,
    }
}

fn image_size(image: &Image) -> (u32, u32) {
    match image {
        Image::Color { width, height, .. }
        | Image::Depth { width, height, .. }
        | Image::Label { width, height, .. } => (*width, *height),
    }
}

/// A subsampled image, its samples as rendered (depth in metres, labels as Drake's colours), so the
/// preview's colours are chosen only when someone looks.
struct Thumbnail {
    width: u32,
    height: u32,
    samples: Samples,
    depth_range: Option<(f32, f32)>,
}

enum Samples {
    Rgba(Vec<u8>),
    Metres(Vec<f32>),
    LabelRgb(Vec<u8>),
}

impl Thumbnail {
    /// Every `n`th pixel of `image` (nearest, never blended: a label or a depth between two
    /// surfaces would be neither), `None` for an image whose pixels do not match its size.
    fn of(image: &Image) -> Option<Self> {
        let (width, height) = image_size(image);
        let size = thumbnail_size(width, height);
        let from = (width as usize, height as usize);
        let (samples, depth_range) = match image {
            Image::Color { rgba, .. } => (Samples::Rgba(subsample(rgba, 4, from, size)?), None),
            Image::Depth { metres, .. } => {
                let sampled = subsample(metres, 1, from, size)?;
                let range = preview::measured_range(&sampled);
                (Samples::Metres(sampled), range)
            }
            Image::Label { rgb, .. } => (Samples::LabelRgb(subsample(rgb, 3, from, size)?), None),
        };
        Some(Self {
            width: size.0 as u32,
            height: size.1 as u32,
            samples,
            depth_range,
        })
    }

    /// The thumbnail as people see it ([`preview`]'s colours), as PNG.
    fn png(&self) -> Vec<u8> {
        let (width, height) = (self.width, self.height);
        match &self.samples {
            Samples::Rgba(rgba) => encode::png_rgba8(width, height, rgba, Deflate::Fast),
            Samples::Metres(metres) => {
                encode::png_rgb8(width, height, &preview::depth_rgb(metres), Deflate::Fast)
            }
            Samples::LabelRgb(rgb) => {
                let colours: Vec<u8> = (rgb.chunks_exact(3))
                    .flat_map(|p| preview::label_rgb(label::from_rgb([p[0], p[1], p[2]])))
                    .collect();
                encode::png_rgb8(width, height, &colours, Deflate::Fast)
            }
        }
    }
}

/// `width × height` scaled to at most [`LONG_SIDE`] on the long side, aspect kept, at least 1.
fn thumbnail_size(width: u32, height: u32) -> (usize, usize) {
    let long = width.max(height).max(1) as usize;
    let (width, height) = (width as usize, height as usize);
    let side = LONG_SIDE as usize;
    if long <= side {
        return (width.max(1), height.max(1));
    }
    let scale = |n: usize| ((n * side + long / 2) / long).max(1);
    (scale(width), scale(height))
}

/// The pixel nearest each thumbnail pixel's centre, `channels` values each; `None` when `pixels`
/// does not hold `from`'s pixels.
fn subsample<T: Copy>(
    pixels: &[T],
    channels: usize,
    (width, height): (usize, usize),
    (to_width, to_height): (usize, usize),
) -> Option<Vec<T>> {
    if pixels.len() != width * height * channels || width == 0 || height == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(to_width * to_height * channels);
    for row in 0..to_height {
        let y = (2 * row + 1) * height / (2 * to_height);
        for column in 0..to_width {
            let x = (2 * column + 1) * width / (2 * to_width);
            let at = (y * width + x) * channels;
            out.extend_from_slice(&pixels[at..at + channels]);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_keep_the_aspect_within_the_long_side() {
        assert_eq!(thumbnail_size(640, 480), (256, 192));
        assert_eq!(thumbnail_size(480, 640), (192, 256));
        assert_eq!(thumbnail_size(64, 48), (64, 48));
        assert_eq!(thumbnail_size(8192, 1), (256, 1));
        assert_eq!(thumbnail_size(1, 8192), (1, 256));
    }

    #[test]
    fn subsampling_takes_the_pixel_at_each_centre() {
        // A 4×2 image halved: each 2×2 block's centre lies between pixels; the one below and to
        // the right of it is taken, (1, 1) and (3, 1).
        let pixels: Vec<u8> = (0..8).collect();
        assert_eq!(subsample(&pixels, 1, (4, 2), (2, 1)), Some(vec![5, 7]));
        assert_eq!(subsample(&pixels, 1, (4, 2), (4, 2)), Some(pixels.clone()));
        assert_eq!(subsample(&pixels, 1, (4, 3), (2, 1)), None);
    }

    #[test]
    fn the_latest_image_of_each_type_replaces_the_one_before() {
        let previews = Previews::default();
        assert!(previews.shown(ImageType::Color).is_none());
        let color = |value| Image::Color {
            width: 600,
            height: 300,
            rgba: vec![value; 600 * 300 * 4],
        };
        previews.keep(&color(1), Source::Drake);
        previews.keep(&color(2), Source::SceneApi { camera: 3 });
        let shown = previews.shown(ImageType::Color).unwrap();
        assert_eq!(
            (shown.sequence, shown.source),
            (2, Source::SceneApi { camera: 3 })
        );
        assert_eq!((shown.width, shown.height), (600, 300));
        assert_eq!((shown.preview_width, shown.preview_height), (256, 128));
        assert!(previews.shown(ImageType::Depth).is_none());
        let slot = lock(&previews.latest[0]);
        let Samples::Rgba(samples) = &slot.as_ref().unwrap().thumbnail.samples else {
            panic!("a colour thumbnail holds RGBA");
        };
        assert!(samples.iter().all(|&v| v == 2));
    }
}
