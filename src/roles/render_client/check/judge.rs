//! Judging an answer against its analytic expectation: per-pixel comparisons that skip pixels near
//! a projected edge (rasterisers may legitimately differ there), with the tolerances Drake's own
//! tests use, summarised as a [`Verdict`].

use crate::protocol::drake::decode::{DepthImage, LabelImage};
use crate::protocol::drake::label;

/// Pixels whose centre is this close to a projected edge are not judged.
pub(super) const EDGE_MARGIN_PX: f64 = 2.0;

/// Depth tolerance (drake-blender's and Drake's own test threshold).
pub(super) const DEPTH_TOLERANCE_M: f64 = 0.001;

/// How far a marker's centroid may land from the predicted pixel.
pub(super) const MARKER_TOLERANCE_PX: f64 = 0.75;

/// How far a lit face's hue may stray from its base colour's hue.
pub(super) const HUE_TOLERANCE_DEG: f64 = 40.0;

/// A case's verdict before it is named.
pub(super) struct Verdict {
    pub(super) passed: bool,
    pub(super) measured: String,
    pub(super) detail: String,
}

impl Verdict {
    pub(super) fn new(
        passed: bool,
        measured: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            passed,
            measured: measured.into(),
            detail: detail.into(),
        }
    }
}

/// An axis-aligned rectangle in continuous pixel coordinates.
#[derive(Debug, Clone, Copy)]
pub(super) struct PixelRect {
    pub(super) u: (f64, f64),
    pub(super) v: (f64, f64),
}

impl PixelRect {
    pub(super) fn contains(&self, u: f64, v: f64, margin: f64) -> bool {
        u > self.u.0 + margin
            && u < self.u.1 - margin
            && v > self.v.0 + margin
            && v < self.v.1 - margin
    }
}

/// Pixel centres of a `width`×`height` image with their row-major index.
pub(super) fn pixel_centres(width: u32, height: u32) -> impl Iterator<Item = (usize, f64, f64)> {
    (0..height).flat_map(move |j| {
        (0..width).map(move |i| {
            (
                (j * width + i) as usize,
                f64::from(i) + 0.5,
                f64::from(j) + 0.5,
            )
        })
    })
}

/// Compares a depth image with an expectation per pixel; `None` means "not judged".
pub(super) fn judge_depth(
    image: &DepthImage,
    expected: impl Fn(f64, f64) -> Option<f64>,
) -> (f64, usize, String) {
    let mut worst = 0.0_f64;
    let mut wrong = 0;
    let mut first = String::new();
    for (index, u, v) in pixel_centres(image.width, image.height) {
        let Some(want) = expected(u, v) else { continue };
        let got = f64::from(image.metres[index]);
        let ok = if want.is_finite() {
            let error = (got - want).abs();
            if got.is_finite() {
                worst = worst.max(error);
            }
            error <= DEPTH_TOLERANCE_M
        } else {
            got == want
        };
        if !ok {
            wrong += 1;
            if first.is_empty() {
                first = format!(
                    "pixel ({}, {}): got {got} m, expected {want} m",
                    u - 0.5,
                    v - 0.5
                );
            }
        }
    }
    (worst, wrong, first)
}

/// Compares a label image with an expectation per pixel; `None` means "not judged".
pub(super) fn judge_labels(
    image: &LabelImage,
    expected: impl Fn(f64, f64) -> Option<i16>,
) -> (usize, String) {
    let mut wrong = 0;
    let mut first = String::new();
    for (index, u, v) in pixel_centres(image.width, image.height) {
        let Some(want) = expected(u, v) else { continue };
        let got = image.labels[index];
        if got != want {
            wrong += 1;
            if first.is_empty() {
                let [r, g] = label::to_red_green(got);
                first = format!(
                    "pixel ({}, {}): got label {got} (R={r}, G={g}), expected {want}",
                    u - 0.5,
                    v - 0.5
                );
            }
        }
    }
    (wrong, first)
}

/// Hue in degrees of an RGB colour, `None` for greys.
pub(super) fn hue_degrees(rgb: [f64; 3]) -> Option<f64> {
    let max = rgb.iter().copied().fold(f64::MIN, f64::max);
    let min = rgb.iter().copied().fold(f64::MAX, f64::min);
    let chroma = max - min;
    if chroma <= 1e-9 {
        return None;
    }
    let [r, g, b] = rgb;
    let sector = if max == r {
        ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        (b - r) / chroma + 2.0
    } else {
        (r - g) / chroma + 4.0
    };
    Some(sector * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hue_of_primaries() {
        assert_eq!(hue_degrees([1.0, 0.0, 0.0]), Some(0.0));
        assert_eq!(hue_degrees([0.0, 1.0, 0.0]), Some(120.0));
        assert_eq!(hue_degrees([0.0, 0.0, 1.0]), Some(240.0));
        assert_eq!(hue_degrees([0.5, 0.5, 0.5]), None);
    }
}
