//! Decoded images written to disk with the protocol's encoders: color PNG, depth float32 TIFF,
//! label 16-bit PNG of the raw label values, and `*-preview.png` images for people (their colours:
//! [`preview`]).

use std::path::{Path, PathBuf};

use crate::protocol::drake::decode::Image;
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::preview;

/// Why an image could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Writes encoded bytes to `path`.
fn write(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    std::fs::write(path, bytes).map_err(|e| OutputError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Writes `image` as `{stem}-{type}.{png|tiff}` (plus a preview for depth and label) into `dir`,
/// returning the paths written.
///
/// # Errors
/// [`OutputError`] naming the file that could not be written.
pub fn write_image(dir: &Path, stem: &str, image: &Image) -> Result<Vec<PathBuf>, OutputError> {
    match image {
        Image::Color(color) => {
            let path = dir.join(format!("{stem}-color.png"));
            let png = encode::png_rgba8(color.width, color.height, &color.rgba, Deflate::Default);
            write(&path, &png)?;
            Ok(vec![path])
        }
        Image::Depth(depth) => {
            let path = dir.join(format!("{stem}-depth.tiff"));
            write(
                &path,
                &encode::tiff_f32(depth.width, depth.height, &depth.metres),
            )?;
            let preview_path = dir.join(format!("{stem}-depth-preview.png"));
            let rgb = preview::depth_rgb(&depth.metres);
            write(
                &preview_path,
                &encode::png_rgb8(depth.width, depth.height, &rgb, Deflate::Default),
            )?;
            Ok(vec![path, preview_path])
        }
        Image::Label(label) => {
            // Raw label values: the bits of each i16, as a 16-bit grey PNG.
            let path = dir.join(format!("{stem}-label.png"));
            let raw: Vec<u16> = label
                .labels
                .iter()
                .map(|l| u16::from_ne_bytes(l.to_ne_bytes()))
                .collect();
            write(
                &path,
                &encode::png_gray16(label.width, label.height, &raw, Deflate::Default),
            )?;
            let preview_path = dir.join(format!("{stem}-label-preview.png"));
            let rgb: Vec<u8> = (label.labels.iter())
                .flat_map(|&l| preview::label_rgb(l))
                .collect();
            write(
                &preview_path,
                &encode::png_rgb8(label.width, label.height, &rgb, Deflate::Default),
            )?;
            Ok(vec![path, preview_path])
        }
    }
}
