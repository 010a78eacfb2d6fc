//! Decoded images written to disk with the protocol's encoders: color PNG, depth float32 TIFF,
//! label 16-bit PNG of the raw label values, and `*-preview.png` images for people (depth as a
//! colour map with too-near and too-far marked, labels in a palette of distinct colours).

use std::path::{Path, PathBuf};

use crate::protocol::drake::decode::{DepthImage, Image, LabelImage};
use crate::protocol::drake::encode::{self, Deflate};
use crate::protocol::drake::label::LABEL_DONT_CARE;

/// Preview colour of depth `0` (closer than `min_depth`).
const TOO_NEAR_RGB: [u8; 3] = [255, 0, 255];
/// Preview colour of depth `+inf` (past `max_depth`, or nothing there).
const TOO_FAR_RGB: [u8; 3] = [0, 0, 0];

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
            let preview = dir.join(format!("{stem}-depth-preview.png"));
            let rgb = depth_preview(depth);
            write(
                &preview,
                &encode::png_rgb8(depth.width, depth.height, &rgb, Deflate::Default),
            )?;
            Ok(vec![path, preview])
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
            let preview = dir.join(format!("{stem}-label-preview.png"));
            let rgb = label_preview(label);
            write(
                &preview,
                &encode::png_rgb8(label.width, label.height, &rgb, Deflate::Default),
            )?;
            Ok(vec![path, preview])
        }
    }
}

/// Depth as a blue (near) → red (far) ramp over the finite range present, with the sentinels in
/// their own colours.
fn depth_preview(depth: &DepthImage) -> Vec<u8> {
    let measured = depth
        .metres
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d > 0.0);
    let (near, far) = measured.fold((f32::MAX, f32::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    let span = (far - near).max(f32::EPSILON);
    depth
        .metres
        .iter()
        .flat_map(|&d| {
            if d <= 0.0 {
                TOO_NEAR_RGB
            } else if !d.is_finite() {
                TOO_FAR_RGB
            } else {
                let t = ((d - near) / span).clamp(0.0, 1.0);
                ramp(t)
            }
        })
        .collect()
}

/// A simple perceptually ordered ramp: blue → cyan → green → yellow → red.
fn ramp(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.1, 0.2, 0.9],
        [0.0, 0.8, 0.9],
        [0.2, 0.85, 0.2],
        [0.95, 0.9, 0.1],
        [0.9, 0.15, 0.1],
    ];
    let scaled = t * (STOPS.len() - 1) as f32;
    let index = (scaled.floor() as usize).min(STOPS.len() - 2);
    let f = scaled - index as f32;
    let (a, b) = (STOPS[index], STOPS[index + 1]);
    [0, 1, 2].map(|c| ((a[c] + (b[c] - a[c]) * f) * 255.0).round() as u8)
}

/// Labels in distinct colours (hue stepped by the golden angle), kDontCare white.
fn label_preview(label: &LabelImage) -> Vec<u8> {
    label
        .labels
        .iter()
        .flat_map(|&l| {
            if l == LABEL_DONT_CARE {
                return [255, 255, 255];
            }
            let hue = (f64::from(l) * 137.507_764).rem_euclid(360.0);
            hsv_to_rgb(hue, 0.7, 0.9)
        })
        .collect()
}

fn hsv_to_rgb(hue: f64, saturation: f64, value: f64) -> [u8; 3] {
    let c = value * saturation;
    let x = c * (1.0 - ((hue / 60.0).rem_euclid(2.0) - 1.0).abs());
    let m = value - c;
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r, g, b].map(|v| ((v + m) * 255.0).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_preview_marks_sentinels() {
        let depth = DepthImage {
            width: 4,
            height: 1,
            metres: vec![0.0, 1.0, 2.0, f32::INFINITY],
        };
        let rgb = depth_preview(&depth);
        assert_eq!(&rgb[0..3], &TOO_NEAR_RGB);
        assert_eq!(&rgb[9..12], &TOO_FAR_RGB);
        assert_eq!(&rgb[3..6], &ramp(0.0));
        assert_eq!(&rgb[6..9], &ramp(1.0));
        assert_ne!(ramp(0.0), ramp(1.0));
    }

    #[test]
    fn label_preview_separates_neighbouring_labels() {
        let label = LabelImage {
            width: 3,
            height: 1,
            labels: vec![1, 2, LABEL_DONT_CARE],
        };
        let rgb = label_preview(&label);
        assert_ne!(&rgb[0..3], &rgb[3..6]);
        assert_eq!(&rgb[6..9], &[255, 255, 255]);
    }
}
