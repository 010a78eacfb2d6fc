//! Depth and label images as people look at them: the render client's `*-preview.png` files and the
//! render server's status page draw them with these colours, so an image reads the same in both.
//!
//! - Depth: a blue (near) → cyan → green → yellow → red (far) ramp over the image's own measured
//!   range, so any scene uses the whole ramp; Drake's sentinels in colours off the ramp: `0` (closer
//!   than `min_depth`) magenta, `+inf` (past `max_depth`, or nothing hit: Drake's image does not
//!   tell them apart) black.
//! - Labels: each label its own hue (stepped by the golden angle, so neighbouring ids differ
//!   clearly); Drake's reserved labels in greys the hues never take: kDontCare white (what Drake's
//!   wire sends for it), kEmpty black, kDoNotRender dark grey, kUnspecified mid grey.

use super::label::{LABEL_DONT_CARE, LABEL_DO_NOT_RENDER, LABEL_EMPTY, LABEL_UNSPECIFIED};

/// Depth `0`: closer than `min_depth`.
pub const TOO_NEAR_RGB: [u8; 3] = [255, 0, 255];
/// Depth `+inf`: past `max_depth`, or nothing there.
pub const TOO_FAR_RGB: [u8; 3] = [0, 0, 0];

/// Drake's reserved labels and their preview colours.
pub const RESERVED_LABEL_RGB: [(i16, &str, [u8; 3]); 4] = [
    (LABEL_DONT_CARE, "kDontCare", [255, 255, 255]),
    (LABEL_EMPTY, "kEmpty", [0, 0, 0]),
    (LABEL_DO_NOT_RENDER, "kDoNotRender", [64, 64, 64]),
    (LABEL_UNSPECIFIED, "kUnspecified", [128, 128, 128]),
];

/// The nearest and farthest measured depth (neither sentinel), `None` when nothing was measured.
pub fn measured_range(metres: &[f32]) -> Option<(f32, f32)> {
    (metres.iter().copied())
        .filter(|d| d.is_finite() && *d > 0.0)
        .fold(None, |range, d| match range {
            None => Some((d, d)),
            Some((near, far)) => Some((near.min(d), far.max(d))),
        })
}

/// RGB8 pixels of a depth image: the ramp over [`measured_range`], the sentinels in their colours.
pub fn depth_rgb(metres: &[f32]) -> Vec<u8> {
    let (near, far) = measured_range(metres).unwrap_or((0.0, 0.0));
    let span = (far - near).max(f32::EPSILON);
    (metres.iter())
        .flat_map(|&d| {
            if d <= 0.0 {
                TOO_NEAR_RGB
            } else if !d.is_finite() {
                TOO_FAR_RGB
            } else {
                ramp(((d - near) / span).clamp(0.0, 1.0))
            }
        })
        .collect()
}

/// A perceptually ordered ramp from `t = 0` (near) to `t = 1` (far).
pub fn ramp(t: f32) -> [u8; 3] {
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

/// The preview colour of one render label.
pub fn label_rgb(label: i16) -> [u8; 3] {
    if let Some((_, _, rgb)) = RESERVED_LABEL_RGB.iter().find(|(l, _, _)| *l == label) {
        return *rgb;
    }
    let hue = (f64::from(label) * 137.507_764).rem_euclid(360.0);
    hsv_to_rgb(hue, 0.7, 0.9)
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
    fn depth_marks_sentinels_and_spans_the_measured_range() {
        let rgb = depth_rgb(&[0.0, 1.0, 2.0, f32::INFINITY]);
        assert_eq!(&rgb[0..3], &TOO_NEAR_RGB);
        assert_eq!(&rgb[3..6], &ramp(0.0));
        assert_eq!(&rgb[6..9], &ramp(1.0));
        assert_eq!(&rgb[9..12], &TOO_FAR_RGB);
        assert_ne!(ramp(0.0), ramp(1.0));
        assert_eq!(measured_range(&[0.0, f32::INFINITY]), None);
        assert_eq!(measured_range(&[3.0, 0.5, 0.0]), Some((0.5, 3.0)));
    }

    #[test]
    fn labels_get_distinct_colours_and_reserved_ones_their_greys() {
        let users: Vec<[u8; 3]> = (0..64).map(label_rgb).collect();
        for (i, a) in users.iter().enumerate() {
            assert!(a[0] != a[1] || a[1] != a[2], "label {i} drawn grey");
            if let Some(b) = users.get(i + 1) {
                assert_ne!(a, b, "labels {i} and {} share a colour", i + 1);
            }
        }
        assert_eq!(label_rgb(LABEL_DONT_CARE), [255, 255, 255]);
        assert_eq!(label_rgb(LABEL_EMPTY), [0, 0, 0]);
        assert_eq!(label_rgb(LABEL_DO_NOT_RENDER), [64, 64, 64]);
        assert_eq!(label_rgb(LABEL_UNSPECIFIED), [128, 128, 128]);
    }
}
