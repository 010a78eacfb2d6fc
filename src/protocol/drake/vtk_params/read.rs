//! Reading `RenderEngineVtkParams` as pydrake's `yaml_dump_typed` writes them (and as JSON, for
//! the config key): `Rgba`'s two forms, the environment texture's tagged variant, the file's
//! line numbers in errors and its unknown fields as warnings.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, EnumAccess, IgnoredAny, MapAccess, VariantAccess, Visitor};
use serde::Deserialize;

use super::validate::check_unit_interval;
use super::{EnvironmentTexture, Rgba, VtkParams, VtkParamsError};
use crate::core::config::strip_position;
use crate::core::unknown_keys::{self, UnknownKey};

/// [`Rgba`] as written, before its length and range are checked.
#[derive(Deserialize)]
pub(super) struct RgbaText {
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

impl VtkParams {
    /// Reads params as `pydrake.common.yaml.yaml_dump_typed(RenderEngineVtkParams(…))` writes them
    /// (JSON reads too: it is YAML), then [`Self::validate`]s them. `path` names the file in errors.
    ///
    /// Returns the params and one warning per field this version does not know (ignored, as a
    /// newer Drake may write fields this server predates), naming its path (`lights[0].colour`).
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
