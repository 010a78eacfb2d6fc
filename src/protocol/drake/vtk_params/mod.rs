//! Drake's `RenderEngineVtkParams` (v1.51.1), the parameters a Drake user tunes RenderEngineVtk's
//! look with, in the shape `pydrake.common.yaml.yaml_dump_typed` writes them: snake_case keys,
//! `Rgba` as `{rgba: [r, g, b, a]}`, vectors as lists, the environment texture as a tagged variant
//! (`!EquirectangularMap {path: …}`, or `{}` for Drake's `NullTexture`). Every field is optional
//! with Drake's default, so a file written by any Drake version reads here.
//!
//! What each field means for a picture is `docs/looks.md` and `crate::render`'s look. Reading a
//! file (with its line numbers in errors, and warnings for fields a newer Drake may add) is
//! [`VtkParams::from_yaml`]'s job; [`VtkParams::validate`] refuses values no look can be made of,
//! naming the field, before the server starts.
//!
//! The types are here; `read.rs` reads them as Drake writes them, `validate.rs` refuses what no
//! look can be made of, and `describe.rs` says what they mean to an operator (warnings, notes,
//! the start-up summary).

mod describe;
mod read;
mod validate;

use std::fmt;

use serde::{Deserialize, Serialize};

/// `drake::geometry::RenderEngineVtkParams`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VtkParams {
    /// Diffuse colour of geometry that has no `("phong", "diffuse")` property.
    pub default_diffuse: Option<[f64; 4]>,
    /// Background, RGB in 0..=1 (Drake writes it as a plain 3-list, not an `Rgba`).
    pub default_clear_color: [f64; 3],
    /// Empty: one default light (a white directional camera light along +Z), unless an
    /// environment map lights the scene.
    pub lights: Vec<LightParameter>,
    pub environment_map: Option<EnvironmentMap>,
    /// Set (any value, 1 included): VTK's generic filmic tone mapping at this exposure.
    pub exposure: Option<f64>,
    pub ssao: Option<SsaoParameter>,
    pub cast_shadows: bool,
    pub shadow_map_size: u32,
    pub force_to_pbr: bool,
    /// Accepted for compatibility; has no meaning for this server (logged as such).
    pub gltf_extensions: serde_json::Value,
    /// Accepted for compatibility (VTK's OpenGL backend choice); has no meaning here.
    pub backend: String,
}

impl Default for VtkParams {
    fn default() -> Self {
        Self {
            default_diffuse: None,
            default_clear_color: [204.0 / 255.0, 229.0 / 255.0, 1.0],
            lights: Vec::new(),
            environment_map: None,
            exposure: None,
            ssao: None,
            cast_shadows: false,
            shadow_map_size: 256,
            force_to_pbr: false,
            gltf_extensions: serde_json::Value::Null,
            backend: String::new(),
        }
    }
}

/// `drake::geometry::render::LightParameter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LightParameter {
    #[serde(rename = "type")]
    pub kind: LightKind,
    pub color: Rgba,
    /// Constant, linear and quadratic attenuation (point and spot lights only).
    pub attenuation_values: [f64; 3],
    /// In `frame`; ignored for directional lights.
    pub position: [f64; 3],
    pub frame: LightFrame,
    pub intensity: f64,
    /// In `frame`; normalized when used. Ignored for point lights.
    pub direction: [f64; 3],
    /// Half-angle of a spot light's cone, in degrees.
    pub cone_angle: f64,
}

impl Default for LightParameter {
    fn default() -> Self {
        Self {
            kind: LightKind::Directional,
            color: Rgba::default(),
            attenuation_values: [1.0, 0.0, 0.0],
            position: [0.0; 3],
            frame: LightFrame::Camera,
            intensity: 1.0,
            direction: [0.0, 0.0, 1.0],
            cone_angle: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LightKind {
    Directional,
    Point,
    Spot,
}

/// The frame a light's position and direction are measured in. Camera: Drake's camera frame
/// (+X right, +Y down, +Z forward), so the light follows the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LightFrame {
    Camera,
    World,
}

/// `drake::geometry::Rgba` as Drake's YAML writes it: `{rgba: [r, g, b, a]}`. Like Drake, reading
/// also takes `[r, g, b]` (alpha 1) and refuses values outside 0..=1, at the value's line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "read::RgbaText")]
pub struct Rgba {
    pub rgba: [f64; 4],
}

impl Default for Rgba {
    fn default() -> Self {
        Self { rgba: [1.0; 4] }
    }
}

/// `drake::geometry::EnvironmentMap`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvironmentMap {
    /// Whether the map is also drawn as the background.
    pub skybox: bool,
    pub texture: EnvironmentTexture,
}

impl Default for EnvironmentMap {
    fn default() -> Self {
        Self {
            skybox: true,
            texture: EnvironmentTexture::NullTexture {},
        }
    }
}

/// `std::variant<NullTexture, EquirectangularMap>`; Drake writes the first untagged (`{}`) and the
/// second as `!EquirectangularMap {path: …}`. JSON, which has no tags, names the variant as the
/// one key instead: `{"EquirectangularMap": {"path": …}}` (or `{}`). Read in `read.rs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum EnvironmentTexture {
    /// No texture: RenderEngineVtk then warns and builds none of its render passes.
    NullTexture {},
    EquirectangularMap {
        /// An image on the *server's* disk: `.hdr`/`.pic` (linear), or `.png`/`.jpg` (8-bit).
        path: std::path::PathBuf,
    },
}

/// `drake::geometry::render::SsaoParameter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SsaoParameter {
    pub radius: f64,
    pub bias: f64,
    pub sample_count: u32,
    pub intensity_scale: f64,
    pub intensity_shift: f64,
    pub blur: bool,
}

impl Default for SsaoParameter {
    fn default() -> Self {
        Self {
            radius: 0.25,
            bias: 0.01,
            sample_count: 128,
            intensity_scale: 1.0,
            intensity_shift: 0.0,
            blur: true,
        }
    }
}

/// Why the params cannot be used: where they came from (a file, or the config key), the line and
/// column when the reader knows them, and the message, which starts with the field's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct VtkParamsError {
    /// The file, or `config key vtkParams`.
    pub origin: String,
    /// Line and column (1-based) of a parse error.
    pub position: Option<(usize, usize)>,
    /// `lights[1].cone_angle: …`.
    pub message: String,
}

impl fmt::Display for VtkParamsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "RenderEngineVtkParams from {}", self.origin)?;
        if let Some((line, column)) = self.position {
            write!(f, ", line {line} column {column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl VtkParamsError {
    fn invalid(origin: &str, field: &str, reason: impl fmt::Display) -> Self {
        Self {
            origin: origin.to_owned(),
            position: None,
            message: format!("{field}: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests;
