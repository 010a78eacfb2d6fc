//! A scene's own look: the `RenderEngineVtkParams` it was registered with, made into a
//! [`Look`] once (its environment map read and baked), then used by every image of the scene.
//!
//! The environment map is a client's asset here, not the operator's file: its size is read from
//! its header and held to `maxTexturePixels` and the adapter's texture size before anything is
//! decoded, and charged to the request's ticket. The renderer reads an environment map from a
//! path, so the asset is written to a file of the server's own naming, read, and removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use ring::rand::{SecureRandom, SystemRandom};

use super::assets::AssetStore;
use super::error::SceneApiError;
use crate::core::config::config_key;
use crate::protocol::drake::vtk_params::{EnvironmentMap, EnvironmentTexture};
use crate::protocol::scene_api::check::CheckedLook;
use crate::protocol::scene_api::error::{FieldError, Reason};
use crate::render::{Gpu, Look};
use crate::scene::{LoadOptions, SceneError};

/// Bytes a decoded environment texel costs: linear RGB as floats, and a copy while baking.
const ENVIRONMENT_TEXEL_BYTES: u64 = 32;

/// Builds the look `checked` describes on `gpu`, its environment map from `assets`.
///
/// # Errors
/// 409 when the environment map's asset was evicted meanwhile; 413 for an image over
/// `maxTexturePixels` or the adapter's textures; 400 for params or an image the renderer cannot
/// use; 503 when `reserve` refuses its memory.
pub fn build(
    checked: &CheckedLook,
    assets: &AssetStore,
    gpu: &Gpu,
    options: &LoadOptions,
    mut reserve: impl FnMut(u64) -> Result<(), SceneError>,
) -> Result<Look, SceneApiError> {
    let mut params = checked.params.clone();
    let mut written = None;
    if let Some((path, asset)) = &checked.environment {
        let bytes = assets
            .get(asset)
            .ok_or_else(|| SceneApiError::missing_assets(vec![asset.clone()]))?;
        let (width, height) = environment_size(&bytes, path).map_err(|reason| {
            SceneApiError::field(Reason::BadRequest, FieldError::new("look_files", reason))
        })?;
        let pixels = u64::from(width) * u64::from(height);
        let max_side = gpu.max_texture_dimension();
        if pixels > options.max_texture_pixels || width.max(height) > max_side {
            return Err(SceneApiError::field(
                Reason::TooLarge,
                FieldError::new(
                    "look_files",
                    format!(
                        "the environment map is {width}x{height} pixels; the limits are {} \
                         pixels (config key {}) and {max_side} per side (the adapter's)",
                        options.max_texture_pixels,
                        config_key!(LoadOptions, max_texture_pixels)
                    ),
                ),
            ));
        }
        reserve(pixels.saturating_mul(ENVIRONMENT_TEXEL_BYTES)).map_err(|error| match error {
            SceneError::Refused(message) => SceneApiError::new(Reason::Busy, message),
            other => SceneApiError::new(Reason::BadRequest, other.to_string()),
        })?;
        let file = TemporaryFile::write(&bytes, path)?;
        if let Some(EnvironmentMap { texture, .. }) = &mut params.environment_map {
            *texture = EnvironmentTexture::EquirectangularMap {
                path: file.path.clone(),
            };
        }
        written = Some(file);
    }
    let look = Look::from_params(&params, gpu).map_err(|error| {
        // The renderer names the file it read, this server's temporary copy: the client is
        // told the name it gave (and the server's temporary folder stays unseen).
        let mut message = error.to_string();
        if let (Some(file), Some((path, _))) = (&written, &checked.environment) {
            message = message.replace(
                &file.path.display().to_string(),
                &path.display().to_string(),
            );
        }
        SceneApiError::field(Reason::BadRequest, FieldError::new("look", message))
    });
    drop(written);
    look
}

/// The width and height an environment image's header declares, read without decoding it, by
/// the reader its extension picks (as the renderer picks it).
fn environment_size(bytes: &Bytes, path: &Path) -> Result<(u32, u32), String> {
    let extension = (path.extension().and_then(|e| e.to_str()))
        .unwrap_or("")
        .to_ascii_lowercase();
    let cursor = std::io::Cursor::new(&bytes[..]);
    match extension.as_str() {
        "png" => {
            let mut decoder = png::Decoder::new(cursor);
            let info = decoder
                .read_header_info()
                .map_err(|e| format!("bad PNG: {e}"))?;
            Ok((info.width, info.height))
        }
        "jpg" | "jpeg" => {
            let mut decoder = jpeg_decoder::Decoder::new(cursor);
            decoder.read_info().map_err(|e| format!("bad JPEG: {e}"))?;
            let info = decoder.info().ok_or("bad JPEG: no frame header")?;
            Ok((u32::from(info.width), u32::from(info.height)))
        }
        _ => {
            use image::ImageDecoder;
            let decoder = image::codecs::hdr::HdrDecoder::new(cursor)
                .map_err(|e| format!("not a readable Radiance HDR image: {e}"))?;
            Ok(decoder.dimensions())
        }
    }
}

/// A file of the server's own naming in the system's temporary folder, removed when dropped.
struct TemporaryFile {
    path: PathBuf,
}

impl TemporaryFile {
    /// Writes `bytes` to a new file with `like`'s extension (the renderer picks its reader by it).
    fn write(bytes: &[u8], like: &Path) -> Result<Self, SceneApiError> {
        let internal = |what: &str, error: &dyn std::fmt::Display| {
            SceneApiError::new(Reason::Internal, format!("{what}: {error}"))
        };
        let mut random = [0u8; 16];
        SystemRandom::new()
            .fill(&mut random)
            .map_err(|_| internal("the random source failed", &"no entropy"))?;
        let extension = like.extension().and_then(|e| e.to_str()).unwrap_or("hdr");
        let path = std::env::temp_dir().join(format!(
            "gltf-cloud-environment-{}.{extension}",
            hex::encode(random)
        ));
        let mut handle = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| internal("cannot write the environment map", &e))?;
        // Removed from here on, whatever happens next.
        let file = Self { path };
        handle
            .write_all(bytes)
            .map_err(|e| internal("cannot write the environment map", &e))?;
        Ok(file)
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
