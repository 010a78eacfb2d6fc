//! The look of colour images: what the scene shader's light and the scene pass's clear colour are
//! made from.

/// Lighting and background of colour images. The default is RenderEngineVtk's default look, which
/// is what Drake's client expects since it sends no lights (protocol §3.7).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub background: [u8; 3],
    pub light_color: [f32; 3],
    pub light_intensity: f32,
}

impl Default for Look {
    fn default() -> Self {
        Self {
            background: [204, 229, 255],
            light_color: [1.0; 3],
            light_intensity: 1.0,
        }
    }
}
