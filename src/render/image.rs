//! What a request asks for and what the renderer answers: the image kind and the image.

/// Which image a request asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageKind {
    Color,
    /// Planar depth with Drake's sentinels: `z ≤ min_depth` → 0, `z ≥ max_depth` → +inf.
    Depth {
        min_depth: f64,
        max_depth: f64,
    },
    Label,
}

/// A rendered image, top row first, without row padding.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    Color {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
    /// Planar depth in metres; +inf where nothing was hit or beyond `max_depth`.
    Depth {
        width: u32,
        height: u32,
        metres: Vec<f32>,
    },
    Label {
        width: u32,
        height: u32,
        rgb: Vec<u8>,
    },
}
