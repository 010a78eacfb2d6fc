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

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, EnumAccess, IgnoredAny, MapAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::core::config::strip_position;
use crate::core::unknown_keys::{self, UnknownKey};

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
#[serde(try_from = "RgbaText")]
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
/// one key instead: `{"EquirectangularMap": {"path": …}}` (or `{}`). Read by [`TextureVisitor`].
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

/// [`Rgba`] as written, before its length and range are checked.
#[derive(Deserialize)]
struct RgbaText {
    rgba: Vec<f64>,
}

impl TryFrom<RgbaText> for Rgba {
    type Error = String;

    fn try_from(text: RgbaText) -> Result<Self, String> {
        let rgba = match text.rgba[..] {
            [r, g, b] => [r, g, b, 1.0],
            [r, g, b, a] => [r, g, b, a],
            _ => {
                return Err(format!(
                    "rgba must have 3 or 4 values (given {})",
                    text.rgba.len()
                ))
            }
        };
        check_unit_interval(&rgba).map_err(|e| format!("rgba {e}"))?;
        Ok(Self { rgba })
    }
}

/// Colour components must lie in 0..=1, as Drake's `Rgba` demands.
fn check_unit_interval(values: &[f64]) -> Result<(), String> {
    if values.iter().all(|v| (0.0..=1.0).contains(v)) {
        Ok(())
    } else {
        Err(format!("values must lie in 0..=1 (given {values:?})"))
    }
}

impl<'de> Deserialize<'de> for EnvironmentTexture {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextureVisitor)
    }
}

/// Reads the texture from a YAML tag (`!EquirectangularMap {path: …}`), from a map with the
/// variant as its one key (JSON), or from `{}` (Drake's untagged `NullTexture`).
struct TextureVisitor;

/// The fields of `!EquirectangularMap`.
#[derive(Deserialize)]
struct EquirectangularFields {
    path: std::path::PathBuf,
}

/// The (no) fields of `!NullTexture`; a field given anyway is an unknown-field warning.
#[derive(Deserialize)]
struct NullFields {}

const TEXTURE_VARIANTS: &[&str] = &["NullTexture", "EquirectangularMap"];

impl<'de> Visitor<'de> for TextureVisitor {
    type Value = EnvironmentTexture;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`{}` or `!EquirectangularMap {path: …}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(variant) = map.next_key::<String>()? else {
            return Ok(EnvironmentTexture::NullTexture {});
        };
        let texture = match variant.as_str() {
            "EquirectangularMap" => EnvironmentTexture::EquirectangularMap {
                path: map.next_value::<EquirectangularFields>()?.path,
            },
            "NullTexture" => {
                map.next_value::<NullFields>()?;
                EnvironmentTexture::NullTexture {}
            }
            other => return Err(de::Error::unknown_variant(other, TEXTURE_VARIANTS)),
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "an environment texture names one variant, not several",
            ));
        }
        Ok(texture)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let (variant, fields) = data.variant::<String>()?;
        match variant.as_str() {
            "EquirectangularMap" => Ok(EnvironmentTexture::EquirectangularMap {
                path: fields.newtype_variant::<EquirectangularFields>()?.path,
            }),
            "NullTexture" => {
                fields.newtype_variant::<NullFields>()?;
                Ok(EnvironmentTexture::NullTexture {})
            }
            other => Err(de::Error::unknown_variant(other, TEXTURE_VARIANTS)),
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

/// The SSAO kernel sizes VTK accepts (`vtkSSAOPass::SetKernelSize` clamps to this range).
const SSAO_SAMPLE_COUNTS: std::ops::RangeInclusive<u32> = 1..=1000;

/// Environment image formats the server reads (by extension, as VTK picks its reader).
const ENVIRONMENT_EXTENSIONS: [&str; 5] = ["hdr", "pic", "png", "jpg", "jpeg"];

impl VtkParams {
    /// Reads params as `pydrake.common.yaml.yaml_dump_typed(RenderEngineVtkParams(…))` writes them
    /// (JSON reads too: it is YAML), then [`Self::validate`]s them. `path` names the file in errors.
    ///
    /// Returns the params and one warning per field this version does not know (ignored, as a
    /// newer Drake may write fields this server predates, or a typo), naming its path
    /// (`lights[0].colour`) and the known field it likely meant.
    ///
    /// # Errors
    /// Malformed YAML, a value of the wrong type, an unknown light type or frame (with the line and
    /// column), or a value [`Self::validate`] refuses.
    pub fn from_yaml(text: &str, path: &Path) -> Result<(Self, Vec<String>), VtkParamsError> {
        let origin = path.display().to_string();
        let mut unknown_paths = Vec::new();
        let deserializer = serde_norway::Deserializer::from_str(text);
        let params: Self = serde_ignored::deserialize(deserializer, |field| {
            unknown_paths.push(field_path(&field));
        })
        .map_err(|error| VtkParamsError {
            origin: origin.clone(),
            position: error.location().map(|at| (at.line(), at.column())),
            message: strip_position(&error.to_string()),
        })?;
        params.validate(&origin)?;
        let known = serde_json::to_value(&params).unwrap_or_default();
        let unknown = unknown_paths
            .into_iter()
            .map(|path| {
                let candidates = unknown_keys::siblings(&known, &path);
                let key = UnknownKey::new(path, candidates);
                let why = match key.suggestion() {
                    Some(known) => format!("did you mean {known}?"),
                    None => "written by a newer Drake?".to_owned(),
                };
                format!("{origin}: unknown field {} ignored ({why})", key.path)
            })
            .collect();
        Ok((params, unknown))
    }

    /// Refuses values no look can be made of, naming the field. Stricter than Drake where Drake
    /// would render nonsense silently (a negative light, a spot cone of 0° or over 90°, SSAO with
    /// 0 samples); as strict as Drake on colours (0..=1).
    ///
    /// # Errors
    /// The first invalid value, with `origin` (the file or config key) and the field's path.
    pub fn validate(&self, origin: &str) -> Result<(), VtkParamsError> {
        let invalid = |field: &str, reason: &dyn fmt::Display| {
            Err(VtkParamsError::invalid(origin, field, reason))
        };
        if let Some(diffuse) = &self.default_diffuse {
            check_unit_interval(diffuse).or_else(|e| invalid("default_diffuse", &e))?;
        }
        check_unit_interval(&self.default_clear_color)
            .or_else(|e| invalid("default_clear_color", &e))?;
        for (index, light) in self.lights.iter().enumerate() {
            light
                .validate()
                .or_else(|(field, reason)| invalid(&format!("lights[{index}].{field}"), &reason))?;
        }
        if let Some(EnvironmentMap {
            texture: EnvironmentTexture::EquirectangularMap { path },
            ..
        }) = &self.environment_map
        {
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !ENVIRONMENT_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(extension))
            {
                return invalid(
                    "environment_map.texture.path",
                    &format!(
                        "{} is not one of the formats read (.{})",
                        path.display(),
                        ENVIRONMENT_EXTENSIONS.join(", .")
                    ),
                );
            }
        }
        if let Some(exposure) = self.exposure {
            if !(exposure.is_finite() && exposure > 0.0) {
                return invalid("exposure", &format!("must be above 0 (given {exposure})"));
            }
        }
        if let Some(ssao) = &self.ssao {
            ssao.validate()
                .or_else(|(field, reason)| invalid(&format!("ssao.{field}"), &reason))?;
        }
        if self.cast_shadows && self.shadow_map_size == 0 {
            return invalid("shadow_map_size", &"must be at least 1 with cast_shadows");
        }
        Ok(())
    }

    /// Checks that the environment map's image exists, so a missing one stops the server at start
    /// instead of failing every colour image. A relative path is relative to the working
    /// directory, as in Drake.
    ///
    /// # Errors
    /// The path, when it is not a readable file.
    pub fn check_environment_map(&self, origin: &str) -> Result<(), VtkParamsError> {
        if let Some(EnvironmentMap {
            texture: EnvironmentTexture::EquirectangularMap { path },
            ..
        }) = &self.environment_map
        {
            if let Err(error) = std::fs::File::open(path) {
                return Err(VtkParamsError::invalid(
                    origin,
                    "environment_map.texture.path",
                    format!("cannot read {}: {error}", path.display()),
                ));
            }
        }
        Ok(())
    }

    /// Checks `shadow_map_size` against the adapter's largest 2-D texture.
    ///
    /// # Errors
    /// A shadow map the adapter cannot hold, naming both sizes.
    pub fn check_shadow_map_size(
        &self,
        origin: &str,
        max_texture_dimension: u32,
    ) -> Result<(), VtkParamsError> {
        if self.cast_shadows && self.shadow_map_size > max_texture_dimension {
            return Err(VtkParamsError::invalid(
                origin,
                "shadow_map_size",
                format!(
                    "{} is larger than this adapter's largest texture ({max_texture_dimension})",
                    self.shadow_map_size
                ),
            ));
        }
        Ok(())
    }

    /// Valid settings that do not do what a reader may expect, as RenderEngineVtk behaves.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(EnvironmentMap {
            texture: EnvironmentTexture::NullTexture {},
            ..
        }) = self.environment_map
        {
            warnings.push(
                "environment_map has no texture: RenderEngineVtk then ignores exposure, ssao \
                 and cast_shadows too (and so does this server)"
                    .to_owned(),
            );
        }
        warnings
    }

    /// The fields accepted for compatibility that mean nothing to this server, when set.
    pub fn not_applicable(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.backend.is_empty() {
            notes.push(format!(
                "backend {:?} is not applicable (VTK's OpenGL backend choice); ignored",
                self.backend
            ));
        }
        if !self.gltf_extensions.is_null() {
            notes.push(
                "gltf_extensions is not applicable (the server's glTF loader decides which \
                 extensions it reads); ignored"
                    .to_owned(),
            );
        }
        notes
    }

    /// One line for the start-up log: the lights, when PBR is on, exposure, shadows, the
    /// environment and SSAO.
    pub fn summary(&self) -> String {
        let lights = if self.lights.is_empty() {
            match self.environment_map {
                Some(EnvironmentMap {
                    texture: EnvironmentTexture::EquirectangularMap { .. },
                    ..
                }) => "none (image-based only)".to_owned(),
                _ => "default camera headlight".to_owned(),
            }
        } else {
            let each: Vec<String> = (self.lights.iter())
                .map(|light| format!("{:?}/{:?}", light.kind, light.frame).to_lowercase())
                .collect();
            each.join(", ")
        };
        let environment = match &self.environment_map {
            None => "none".to_owned(),
            Some(EnvironmentMap {
                texture: EnvironmentTexture::NullTexture {},
                ..
            }) => "empty (no passes)".to_owned(),
            Some(EnvironmentMap {
                skybox,
                texture: EnvironmentTexture::EquirectangularMap { path },
            }) => format!(
                "{}{}",
                path.display(),
                if *skybox { " with skybox" } else { "" }
            ),
        };
        let pbr = if self.force_to_pbr {
            "forced"
        } else if environment_is_image(self) {
            "on (environment map)"
        } else {
            "per scene (user glTF meshes)"
        };
        let exposure = self
            .exposure
            .map_or_else(|| "off".to_owned(), |e| e.to_string());
        let shadows = if self.cast_shadows {
            format!("{} px", self.shadow_map_size)
        } else {
            "off".to_owned()
        };
        let ssao = self.ssao.as_ref().map_or_else(
            || "off".to_owned(),
            |s| format!("{} samples, radius {}", s.sample_count, s.radius),
        );
        format!(
            "lights: {lights}; pbr: {pbr}; exposure: {exposure}; shadows: {shadows}; \
             environment: {environment}; ssao: {ssao}"
        )
    }
}

/// Whether an environment image lights the scene (an empty texture does not).
fn environment_is_image(params: &VtkParams) -> bool {
    matches!(
        params.environment_map,
        Some(EnvironmentMap {
            texture: EnvironmentTexture::EquirectangularMap { .. },
            ..
        })
    )
}

impl LightParameter {
    /// The first invalid field of this light, and why.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_unit_interval(&self.color.rgba).map_err(|e| ("color", e))?;
        if !(self.intensity.is_finite() && self.intensity >= 0.0) {
            return Err((
                "intensity",
                format!("must be 0 or more (given {})", self.intensity),
            ));
        }
        if !self.position.iter().all(|v| v.is_finite()) {
            return Err(("position", "must be finite".to_owned()));
        }
        if self.kind != LightKind::Directional {
            let [k0, k1, k2] = self.attenuation_values;
            let valid = [k0, k1, k2].iter().all(|k| k.is_finite() && *k >= 0.0);
            if !valid || k0 + k1 + k2 == 0.0 {
                return Err((
                    "attenuation_values",
                    format!(
                        "must be 0 or more and not all 0 (given {:?})",
                        self.attenuation_values
                    ),
                ));
            }
        }
        if self.kind != LightKind::Point {
            let length = self.direction.iter().map(|v| v * v).sum::<f64>().sqrt();
            if !(length.is_finite() && length > 0.0) {
                return Err((
                    "direction",
                    format!(
                        "must be a finite, non-zero vector (given {:?})",
                        self.direction
                    ),
                ));
            }
        }
        if self.kind == LightKind::Spot && !(self.cone_angle > 0.0 && self.cone_angle <= 90.0) {
            return Err((
                "cone_angle",
                format!(
                    "a spot light's half-angle must lie in (0, 90] degrees (given {})",
                    self.cone_angle
                ),
            ));
        }
        Ok(())
    }
}

impl SsaoParameter {
    /// The first invalid field, and why.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.radius.is_finite() && self.radius > 0.0) {
            return Err(("radius", format!("must be above 0 (given {})", self.radius)));
        }
        if !(self.bias.is_finite() && self.bias >= 0.0) {
            return Err(("bias", format!("must be 0 or more (given {})", self.bias)));
        }
        if !SSAO_SAMPLE_COUNTS.contains(&self.sample_count) {
            return Err((
                "sample_count",
                format!(
                    "must lie in {}..={} (given {})",
                    SSAO_SAMPLE_COUNTS.start(),
                    SSAO_SAMPLE_COUNTS.end(),
                    self.sample_count
                ),
            ));
        }
        if !(self.intensity_scale.is_finite() && self.intensity_shift.is_finite()) {
            return Err((
                "intensity_scale",
                "intensity_scale and intensity_shift must be finite".to_owned(),
            ));
        }
        Ok(())
    }
}

/// `lights[0].colour`, from serde_ignored's path.
fn field_path(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        P::Map { parent, key } => match field_path(parent) {
            prefix if prefix.is_empty() => key.clone(),
            prefix => format!("{prefix}.{key}"),
        },
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            field_path(parent)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A fixture written by pydrake 1.51.1's `yaml_dump_typed` (tests/fixtures/vtk_params).
    fn fixture(name: &str) -> (String, PathBuf) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vtk_params")
            .join(name);
        (std::fs::read_to_string(&path).unwrap(), path)
    }

    fn read(name: &str) -> VtkParams {
        let (text, path) = fixture(name);
        let (params, unknown) = VtkParams::from_yaml(&text, &path).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        params
    }

    /// `text` as if it were the file `params.yaml`.
    fn parse(text: &str) -> Result<(VtkParams, Vec<String>), VtkParamsError> {
        VtkParams::from_yaml(text, Path::new("params.yaml"))
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn drakes_default_params_read_as_the_default() {
        let params = read("default.yaml");
        assert_eq!(
            params,
            VtkParams {
                gltf_extensions: serde_json::json!({
                    "KHR_texture_basisu": {"warn_unimplemented": false}
                }),
                ..VtkParams::default()
            }
        );
        // Drake always writes gltf_extensions: a note, not a warning.
        assert!(params.warnings().is_empty());
        assert_eq!(params.not_applicable().len(), 1);
        assert!(params.not_applicable()[0].starts_with("gltf_extensions is not applicable"));
    }

    #[test]
    fn lights_exposure_and_diffuse_read_field_for_field() {
        let params = read("lights.yaml");
        assert_eq!(params.default_diffuse, Some([0.8, 0.6, 0.4, 1.0]));
        assert_eq!(params.default_clear_color, [0.0; 3]);
        assert_eq!(params.exposure, Some(0.5));
        let kinds: Vec<_> = params.lights.iter().map(|l| (l.kind, l.frame)).collect();
        assert_eq!(
            kinds,
            [
                (LightKind::Directional, LightFrame::World),
                (LightKind::Point, LightFrame::Camera),
                (LightKind::Spot, LightFrame::World),
            ]
        );
        assert_eq!(params.lights[0].color.rgba, [1.0, 0.5, 0.25, 1.0]);
        assert_eq!(params.lights[0].direction, [0.866, 0.0, -0.5]);
        assert_eq!(params.lights[1].attenuation_values, [0.5, 0.5, 0.0]);
        assert_eq!(params.lights[1].intensity, 2.0);
        assert_eq!(
            (params.lights[2].position, params.lights[2].cone_angle),
            ([0.0, 0.0, 1.0], 30.0)
        );
        assert_eq!(
            params.summary(),
            "lights: directional/world, point/camera, spot/world; pbr: per scene (user glTF \
             meshes); exposure: 0.5; shadows: off; environment: none; ssao: off"
        );
    }

    #[test]
    fn effects_read_and_a_missing_environment_image_is_named() {
        let params = read("effects.yaml");
        assert_eq!(
            params.environment_map,
            Some(EnvironmentMap {
                skybox: false,
                texture: EnvironmentTexture::EquirectangularMap {
                    path: "/missing/sky.hdr".into()
                },
            })
        );
        let ssao = params.ssao.clone().unwrap();
        assert_eq!(
            (ssao.radius, ssao.sample_count, ssao.blur),
            (0.1, 64, false)
        );
        assert!(params.cast_shadows && params.force_to_pbr);
        assert_eq!(params.shadow_map_size, 512);
        assert!(params.summary().contains("pbr: forced"));
        let missing = params.check_environment_map("effects.yaml").unwrap_err();
        assert!(
            missing.to_string().starts_with(
                "RenderEngineVtkParams from effects.yaml: environment_map.texture.path: cannot \
                 read /missing/sky.hdr: "
            ),
            "{missing}"
        );
        assert!(params.check_shadow_map_size("x", 512).is_ok());
        assert_eq!(
            params
                .check_shadow_map_size("x", 256)
                .unwrap_err()
                .to_string(),
            "RenderEngineVtkParams from x: shadow_map_size: 512 is larger than this adapter's \
             largest texture (256)"
        );
    }

    #[test]
    fn an_empty_texture_reads_and_warns_as_vtk_behaves() {
        let params = read("null_texture.yaml");
        assert_eq!(
            params.environment_map,
            Some(EnvironmentMap {
                skybox: true,
                texture: EnvironmentTexture::NullTexture {},
            })
        );
        assert!(params.warnings()[0].contains("ignores exposure, ssao and cast_shadows"));
        assert!(params.check_environment_map("x").is_ok());
        let tagged = parse("environment_map: {texture: !NullTexture {}}")
            .unwrap()
            .0;
        assert_eq!(tagged.environment_map, params.environment_map);
    }

    /// The config file's `vtkParams` is JSON, which has no tags: the variant is the one key.
    #[test]
    fn json_names_the_texture_variant_as_its_key() {
        let params: VtkParams = serde_json::from_str(
            r#"{"environment_map": {"texture": {"EquirectangularMap": {"path": "/x.png"}}},
                "lights": [{"type": "point", "color": {"rgba": [1, 0, 0]}}]}"#,
        )
        .unwrap();
        assert_eq!(
            params.environment_map.unwrap().texture,
            EnvironmentTexture::EquirectangularMap {
                path: "/x.png".into()
            }
        );
        assert_eq!(params.lights[0].color.rgba, [1.0, 0.0, 0.0, 1.0]);
        let error = serde_json::from_str::<VtkParams>(
            r#"{"environment_map": {"texture": {"CubeMap": {}}}}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown variant `CubeMap`"),
            "{error}"
        );
    }

    #[test]
    fn unknown_fields_are_warnings_naming_their_path() {
        let (text, path) = fixture("lights.yaml");
        let text = text
            .replacen(
                "  cone_angle: 30.0\n",
                "  cone_angle: 30.0\n  penumbra: 5\n",
                1,
            )
            .replacen(
                "backend: ''",
                "backend: ''\nfuture_option: true\nexposur: 2",
                1,
            );
        let (params, unknown) = VtkParams::from_yaml(&text, &path).unwrap();
        assert_eq!(params.lights[2].cone_angle, 30.0);
        let origin = path.display();
        assert_eq!(
            unknown,
            [
                format!("{origin}: unknown field lights[2].penumbra ignored (written by a newer Drake?)"),
                format!("{origin}: unknown field future_option ignored (written by a newer Drake?)"),
                format!("{origin}: unknown field exposur ignored (did you mean exposure?)"),
            ]
        );
    }

    /// Parse errors name the file, the line and column, and the field.
    #[test]
    fn an_unknown_light_type_or_malformed_yaml_names_file_line_and_field() {
        let (text, path) = fixture("lights.yaml");
        let text = text.replacen("- type: spot\n", "- type: spotlight\n", 1);
        let line = 1 + text.lines().position(|l| l == "- type: spotlight").unwrap();
        let unknown = VtkParams::from_yaml(&text, &path).unwrap_err();
        assert_eq!(unknown.position, Some((line, 9)));
        assert_eq!(
            unknown.to_string(),
            format!(
                "RenderEngineVtkParams from {}, line {line} column 9: lights[2].type: unknown \
                 variant `spotlight`, expected one of `directional`, `point`, `spot`",
                path.display()
            )
        );
        assert_eq!(
            error("lights: [\n"),
            "RenderEngineVtkParams from params.yaml, line 2 column 1: did not find expected \
             node content"
        );
        assert!(error("shadow_map_size: big").starts_with(
            "RenderEngineVtkParams from params.yaml, line 1 column 18: shadow_map_size: invalid type"
        ));
        assert_eq!(
            error("lights:\n- color: {rgba: [2, 0, 0]}"),
            "RenderEngineVtkParams from params.yaml, line 2 column 3: lights[0]: rgba values \
             must lie in 0..=1 (given [2.0, 0.0, 0.0, 1.0])"
        );
    }

    #[test]
    fn values_no_look_can_be_made_of_are_refused_by_field() {
        for (text, message) in [
            ("lights: [{intensity: -1}]", "lights[0].intensity: must be 0 or more (given -1)"),
            ("lights: [{type: spot}]", "lights[0].cone_angle: a spot light's half-angle must lie in (0, 90] degrees (given 0)"),
            ("lights: [{type: spot, cone_angle: 91}]", "lights[0].cone_angle: a spot light's half-angle must lie in (0, 90] degrees (given 91)"),
            ("lights: [{type: point, attenuation_values: [0, 0, 0]}]", "lights[0].attenuation_values: must be 0 or more and not all 0 (given [0.0, 0.0, 0.0])"),
            ("lights: [{}, {direction: [0, 0, 0]}]", "lights[1].direction: must be a finite, non-zero vector (given [0.0, 0.0, 0.0])"),
            ("default_clear_color: [1.5, 0, 0]", "default_clear_color: values must lie in 0..=1 (given [1.5, 0.0, 0.0])"),
            ("default_diffuse: [0, 0, 0, -1]", "default_diffuse: values must lie in 0..=1 (given [0.0, 0.0, 0.0, -1.0])"),
            ("exposure: 0", "exposure: must be above 0 (given 0)"),
            ("ssao: {sample_count: 0}", "ssao.sample_count: must lie in 1..=1000 (given 0)"),
            ("ssao: {radius: 0}", "ssao.radius: must be above 0 (given 0)"),
            ("cast_shadows: true\nshadow_map_size: 0", "shadow_map_size: must be at least 1 with cast_shadows"),
            ("environment_map: {texture: !EquirectangularMap {path: sky.exr}}", "environment_map.texture.path: sky.exr is not one of the formats read (.hdr, .pic, .png, .jpg, .jpeg)"),
        ] {
            assert_eq!(
                error(text),
                format!("RenderEngineVtkParams from params.yaml: {message}"),
                "{text}"
            );
        }
        // Without cast_shadows the size is not used, as in Drake; a point light's cone is unused.
        assert!(parse("shadow_map_size: 0\nlights: [{type: point}]").is_ok());
    }

    #[test]
    fn backend_is_noted_as_not_applicable() {
        let params = parse("backend: GLX").unwrap().0;
        assert_eq!(
            params.not_applicable(),
            ["backend \"GLX\" is not applicable (VTK's OpenGL backend choice); ignored"]
        );
    }
}
