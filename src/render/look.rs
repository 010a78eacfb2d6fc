//! The look of colour images as the user's `RenderEngineVtkParams` describe it, resolved: the
//! lights, the background, the default diffuse colour, what switches shading to PBR, the exposure,
//! and what the effects need (environment map, shadow map size, SSAO). Plain data: the GPU
//! resources built from it are `look_resources.rs`'s. How each maps to pixels is
//! `docs/upstream/vtk-effects.md`; the calibration is in the [module docs](super).

use glam::{DMat4, DVec3};

use crate::protocol::drake::vtk_params::{
    EnvironmentMap, EnvironmentTexture, LightFrame, LightKind, LightParameter, SsaoParameter,
    VtkParams,
};

use super::error::RenderError;

/// The most lights a look may have: the frame uniform holds a fixed array of them.
pub const MAX_LIGHTS: usize = 8;

/// The diffuse colour RenderEngineVtk gives geometry without `("phong", "diffuse")`. Drake's client
/// always exports such geometry with exactly this `baseColorFactor` (its internal engine runs with
/// default params), so a server-side `default_diffuse` can only be honoured by recognising it.
pub const VTK_DEFAULT_DIFFUSE: [f32; 4] = [0.9, 0.45, 0.1, 1.0];

/// How colour images are lit and cleared, and which effects they have.
#[derive(Debug, Clone)]
pub struct LookDescription {
    /// `default_clear_color`, 0..=1 (the 8-bit target rounds it to nearest).
    pub background: [f64; 3],
    /// Resolved lights, at most [`MAX_LIGHTS`]; camera-frame ones follow each request's camera.
    pub lights: Vec<Light>,
    /// `default_diffuse`: replaces [`VTK_DEFAULT_DIFFUSE`] on VTK-exported geometry.
    pub default_diffuse: Option<[f32; 4]>,
    /// `force_to_pbr`, or an environment map: every scene is shaded PBR. Otherwise only scenes with
    /// user glTF content ([`Scene::user_gltf`](crate::scene::Scene::user_gltf)) are.
    pub force_pbr: bool,
    /// `exposure`: VTK's generic filmic tone mapping at this exposure.
    pub exposure: Option<f32>,
    /// `environment_map`: image-based lighting, and the skybox.
    pub environment_map: Option<EnvironmentMap>,
    /// `shadow_map_size` when `cast_shadows`: the side of each casting light's map.
    pub shadow_map_size: Option<u32>,
    /// `ssao`: screen-space ambient occlusion with these parameters.
    pub ssao: Option<SsaoParameter>,
}

/// One light as the scene shader uses it (vtk-effects.md §1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Light {
    pub kind: LightKind,
    pub frame: LightFrame,
    /// Colour × intensity (VTK's `lightColor`); alpha is ignored, as VTK does.
    pub radiance: [f32; 3],
    /// In `frame`: Drake's camera frame (+X right, +Y down, +Z forward) or the world.
    pub position: DVec3,
    /// Unit direction the light shines in, in `frame`.
    pub direction: DVec3,
    /// Constant, linear and quadratic attenuation; (1, 0, 0) for directional lights.
    pub attenuation: [f32; 3],
    /// Half-angle of the cone in degrees; 90 or more: no cone (point lights use 90, as Drake sets).
    pub cone_angle: f64,
}

impl Light {
    /// Drake's `MakeVtkLight`: the direction normalized, point lights with VTK's 90° cone.
    fn from_param(param: &LightParameter) -> Result<Self, RenderError> {
        let [r, g, b, _] = param.color.rgba;
        let intensity = param.intensity;
        let direction = DVec3::from(param.direction).normalize_or_zero();
        if param.kind != LightKind::Point && direction == DVec3::ZERO {
            return Err(RenderError::Look(format!(
                "a {:?} light's direction {:?} has no length",
                param.kind, param.direction
            )));
        }
        let (attenuation, cone_angle) = match param.kind {
            LightKind::Directional => ([1.0, 0.0, 0.0], 90.0),
            LightKind::Point => (param.attenuation_values, 90.0),
            LightKind::Spot => (param.attenuation_values, param.cone_angle),
        };
        Ok(Self {
            kind: param.kind,
            frame: param.frame,
            radiance: [r, g, b].map(|c| (c * intensity) as f32),
            position: DVec3::from(param.position),
            direction,
            attenuation: attenuation.map(|k| k as f32),
            cone_angle,
        })
    }

    /// Position and direction in the world, for a camera whose glTF node (looking down its −Z)
    /// is `camera_to_world`: VTK's camera lights net to X_WC·p_C and R_WC·d_C.
    pub fn in_world(&self, camera_to_world: DMat4) -> (DVec3, DVec3) {
        match self.frame {
            LightFrame::World => (self.position, self.direction),
            LightFrame::Camera => {
                let drake_to_node = |v: DVec3| DVec3::new(v.x, -v.y, -v.z);
                (
                    camera_to_world.transform_point3(drake_to_node(self.position)),
                    camera_to_world
                        .transform_vector3(drake_to_node(self.direction))
                        .normalize_or_zero(),
                )
            }
        }
    }
}

impl Default for LookDescription {
    /// RenderEngineVtk's default look, which is what Drake's client expects since it sends no
    /// lights (protocol §3.7): `VtkParams::default()`.
    fn default() -> Self {
        Self::from_params(&VtkParams::default()).expect("the default params resolve")
    }
}

impl LookDescription {
    /// The look `params` describe.
    ///
    /// # Errors
    /// [`RenderError::Look`] for more than [`MAX_LIGHTS`] lights or a light without a direction.
    pub fn from_params(params: &VtkParams) -> Result<Self, RenderError> {
        let environment_map = params.environment_map.as_ref().is_some_and(|map| {
            matches!(map.texture, EnvironmentTexture::EquirectangularMap { .. })
        });
        // vtk-effects.md §1: no lights → one default camera light, unless an environment map
        // lights the scene.
        let fallback = [LightParameter::default()];
        let params_lights: &[LightParameter] = match (params.lights.is_empty(), environment_map) {
            (false, _) => &params.lights,
            (true, false) => &fallback,
            (true, true) => &[],
        };
        if params_lights.len() > MAX_LIGHTS {
            return Err(RenderError::Look(format!(
                "{} lights given; at most {MAX_LIGHTS} are supported",
                params_lights.len()
            )));
        }
        let lights = params_lights
            .iter()
            .map(Light::from_param)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            background: params.default_clear_color,
            lights,
            default_diffuse: params.default_diffuse.map(|c| c.map(|v| v as f32)),
            force_pbr: params.force_to_pbr || environment_map,
            exposure: params.exposure.map(|e| e as f32),
            environment_map: params.environment_map.clone(),
            shadow_map_size: params.cast_shadows.then_some(params.shadow_map_size),
            ssao: params.ssao.clone(),
        })
    }

    /// Whether any light is a point or spot light (which needs world positions per fragment).
    pub fn has_positional_lights(&self) -> bool {
        self.lights
            .iter()
            .any(|light| light.kind != LightKind::Directional)
    }

    /// Whether `scene` is shaded PBR (vtk-effects.md §3: sticky, engine-wide in VTK; here decided
    /// per scene, which is the same for a client that always sends its user glTFs).
    pub fn pbr(&self, scene: &crate::scene::Scene) -> bool {
        self.force_pbr || scene.user_gltf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_params_give_one_white_camera_light_along_the_view() {
        let look = LookDescription::default();
        assert_eq!(look.lights.len(), 1);
        let light = look.lights[0];
        assert_eq!(
            (light.kind, light.frame, light.radiance),
            (LightKind::Directional, LightFrame::Camera, [1.0; 3])
        );
        assert_eq!(look.background, [0.8, 229.0 / 255.0, 1.0]);
        assert!(!look.force_pbr && look.exposure.is_none());
        // A camera at (0, 0, 3) looking down: the light shines along world −Z from the camera.
        let camera = DMat4::from_translation(DVec3::new(0.0, 0.0, 3.0));
        let (position, direction) = light.in_world(camera);
        assert_eq!(
            (position, direction),
            (DVec3::new(0.0, 0.0, 3.0), DVec3::NEG_Z)
        );
    }

    #[test]
    fn too_many_lights_name_the_count() {
        let params = VtkParams {
            lights: vec![LightParameter::default(); MAX_LIGHTS + 1],
            ..VtkParams::default()
        };
        let error = LookDescription::from_params(&params)
            .unwrap_err()
            .to_string();
        assert!(error.contains("9 lights") && error.contains('8'), "{error}");
    }

    #[test]
    fn an_environment_map_removes_the_fallback_light_and_forces_pbr() {
        let params = VtkParams {
            environment_map: Some(crate::protocol::drake::vtk_params::EnvironmentMap {
                skybox: false,
                texture: EnvironmentTexture::EquirectangularMap {
                    path: "/x.hdr".into(),
                },
            }),
            ..VtkParams::default()
        };
        let look = LookDescription::from_params(&params).unwrap();
        assert!(look.lights.is_empty() && look.force_pbr);
    }
}
