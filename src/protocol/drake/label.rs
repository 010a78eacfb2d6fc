//! Render labels as colours (protocol §2.4): Drake writes label `l` as the flat colour
//! `R = l & 0xFF`, `G = (l >> 8) & 0xFF`, `B = 0`, and reads a label image back as `R | G << 8`,
//! with pure white meaning "don't care".

/// Drake's `RenderLabel::kDontCare`, what pure white decodes to.
pub const LABEL_DONT_CARE: i16 = 32764;
/// Drake's `RenderLabel::kEmpty`.
pub const LABEL_EMPTY: i16 = 32766;
/// Drake's `RenderLabel::kDoNotRender`.
pub const LABEL_DO_NOT_RENDER: i16 = 32765;
/// Drake's `RenderLabel::kUnspecified`.
pub const LABEL_UNSPECIFIED: i16 = 32767;

/// The red and green bytes Drake writes for `label` (blue is 0).
pub fn to_red_green(label: i16) -> [u8; 2] {
    label.to_le_bytes()
}

/// The label Drake's client reads from one pixel: white is kDontCare, otherwise `R | G << 8`,
/// blue ignored.
pub fn from_rgb([r, g, b]: [u8; 3]) -> i16 {
    match (r, g, b) {
        (255, 255, 255) => LABEL_DONT_CARE,
        _ => i16::from_le_bytes([r, g]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_decode_as_drakes_table_says() {
        assert_eq!(from_rgb([42, 0, 0]), 42);
        assert_eq!(from_rgb([254, 127, 0]), LABEL_EMPTY);
        assert_eq!(from_rgb([255, 255, 255]), LABEL_DONT_CARE);
        assert_eq!(from_rgb([10, 20, 30]), 5130);
        assert_eq!(from_rgb([42, 1, 99]), 298);
    }

    #[test]
    fn labels_round_trip_through_their_colour() {
        for label in [0, 42, 300, 5130, 32763] {
            let [r, g] = to_red_green(label);
            assert_eq!(from_rgb([r, g, 0]), label);
        }
    }
}
