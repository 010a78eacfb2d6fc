//! What valid `RenderEngineVtkParams` mean to an operator: settings that do not do what they
//! seem (warnings), fields that mean nothing here (notes), and the start-up log's one line.

use super::{EnvironmentMap, EnvironmentTexture, VtkParams};

impl VtkParams {
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
