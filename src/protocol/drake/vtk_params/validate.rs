//! Refusing `RenderEngineVtkParams` values no look can be made of, naming the field, before the
//! server starts (or a scene is registered with them).

use std::fmt;

use super::{
    EnvironmentMap, EnvironmentTexture, LightKind, LightParameter, SsaoParameter, VtkParams,
    VtkParamsError,
};

/// Colour components must lie in 0..=1, as Drake's `Rgba` demands.
pub(super) fn check_unit_interval(values: &[f64]) -> Result<(), String> {
    if values.iter().all(|v| (0.0..=1.0).contains(v)) {
        Ok(())
    } else {
        Err(format!("values must lie in 0..=1 (given {values:?})"))
    }
}

/// The SSAO kernel sizes VTK accepts (`vtkSSAOPass::SetKernelSize` clamps to this range).
const SSAO_SAMPLE_COUNTS: std::ops::RangeInclusive<u32> = 1..=1000;

/// Environment image formats the server reads (by extension, as VTK picks its reader).
const ENVIRONMENT_EXTENSIONS: [&str; 5] = ["hdr", "pic", "png", "jpg", "jpeg"];

impl VtkParams {
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
