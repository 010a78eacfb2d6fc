//! The images Drake asks for (the `image_type` values), the depth range a depth image is cut to,
//! and Drake's 16-bit depth: millimetres with 65535 as "too far" (protocol §1.3, §2.3).

/// The uint16 depth value meaning "too far" (`kTooFar`), in either direction of the conversion.
pub const MILLIMETRES_TOO_FAR: u16 = u16::MAX;
/// Largest millimetre value that is not the "too far" sentinel.
const MAX_MILLIMETRES: u16 = MILLIMETRES_TOO_FAR - 1;

/// The three images Drake asks for; the text is the `image_type` form value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Color,
    Depth,
    Label,
}

impl ImageType {
    /// Every type, in the order Drake's docs list them.
    pub const ALL: [Self; 3] = [Self::Color, Self::Depth, Self::Label];

    /// The `image_type` form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Color => "color",
            Self::Depth => "depth",
            Self::Label => "label",
        }
    }

    /// The type an `image_type` form value names, exactly as Drake writes it.
    pub fn from_wire(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// The range of depths a depth camera reports (Drake's `DepthRange`), in metres: closer reads 0,
/// farther reads +inf.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthRange {
    pub min_depth: f64,
    pub max_depth: f64,
}

/// Drake's 16-bit depth: millimetres, `+inf` → 65535 (too far), 0 → 0 (too close), otherwise
/// `round(z·1000)` clamped to 65534 so no real depth reads back as "too far".
pub fn metres_to_millimetres(metres: &[f32]) -> Vec<u16> {
    metres
        .iter()
        .map(|&z| {
            if z.is_nan() || z == f32::INFINITY {
                MILLIMETRES_TOO_FAR
            } else {
                (f64::from(z) * 1000.0)
                    .round()
                    .clamp(0.0, f64::from(MAX_MILLIMETRES)) as u16
            }
        })
        .collect()
}

/// How Drake's client reads 16-bit depth: 65535 → +inf, otherwise `0.001·v` metres (0 stays 0).
pub fn millimetres_to_metres(value: u16) -> f32 {
    if value == MILLIMETRES_TOO_FAR {
        f32::INFINITY
    } else {
        f32::from(value) * 0.001
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_types_round_trip_their_wire_names() {
        for image_type in ImageType::ALL {
            assert_eq!(ImageType::from_wire(image_type.as_str()), Some(image_type));
        }
        assert_eq!(ImageType::from_wire("normals"), None);
        assert_eq!(ImageType::from_wire("Color"), None);
    }

    #[test]
    fn millimetres_follow_drake_sentinels_and_rounding() {
        let metres = [
            f32::INFINITY,
            0.0,
            1.2344,
            1.2346,
            0.0004,
            70.0,
            65.5344,
            f32::NAN,
        ];
        assert_eq!(
            metres_to_millimetres(&metres),
            [65535, 0, 1234, 1235, 0, 65534, 65534, 65535]
        );
    }

    #[test]
    fn sixteen_bit_depth_maps_sentinels() {
        assert_eq!(millimetres_to_metres(0), 0.0);
        assert_eq!(millimetres_to_metres(65535), f32::INFINITY);
        assert!((millimetres_to_metres(1500) - 1.5).abs() < 1e-6);
    }
}
