//! The environment map (vtk-effects.md §6): an equirectangular image on the server's disk that
//! lights every PBR surface (diffuse irradiance from spherical harmonics for HDR maps or a
//! baked irradiance cube map for 8-bit ones, specular from a prefiltered cube map and the
//! split-sum BRDF table) and, with `skybox: true`, is drawn as the background. Read and baked
//! once, when the look is built; the scene shader's lookups are `environment.wgsl`, the skybox
//! `skybox.wgsl`.

mod bake;
mod equirect;
mod harmonics;
mod skybox;

use std::time::Instant;

use crate::protocol::drake::vtk_params::{EnvironmentMap, EnvironmentTexture};
use crate::render::look_group::EnvironmentUniform;

use bake::Baked;
pub(in crate::render) use equirect::EnvironmentError;
use equirect::{Encoding, Equirect};
pub(in crate::render) use skybox::{Skybox, SkyboxPipeline};

/// A read and baked environment map.
pub(in crate::render) struct Environment {
    baked: Baked,
    pub uniform: EnvironmentUniform,
    /// With `skybox: true`: the pipeline that draws the map as the background.
    pub skybox: Option<SkyboxPipeline>,
}

impl Environment {
    /// Reads and bakes `map`'s image; `None` for Drake's `NullTexture`. The skybox draws into a
    /// scene target of `colour_format`.
    ///
    /// # Errors
    /// The image cannot be read or decoded; the message names its path.
    pub fn new(
        map: &EnvironmentMap,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        colour_format: wgpu::TextureFormat,
    ) -> Result<Option<Self>, EnvironmentError> {
        let EnvironmentTexture::EquirectangularMap { path } = &map.texture else {
            return Ok(None);
        };
        let started = Instant::now();
        let image = Equirect::read(path)?;
        let max = device.limits().max_texture_dimension_2d;
        if image.width > max || image.height > max {
            return Err(EnvironmentError::new(
                path,
                format!(
                    "{}x{} pixels is larger than the adapter's {max}-pixel textures",
                    image.width, image.height
                ),
            ));
        }
        let uniform = match image.encoding {
            Encoding::Linear => EnvironmentUniform {
                harmonics: harmonics::irradiance_coefficients(&image),
                mode: [1, 0, 0, 0],
            },
            Encoding::Gamma => EnvironmentUniform {
                harmonics: [[0.0; 4]; 9],
                mode: [2, 0, 0, 0],
            },
        };
        let baked = bake::bake(device, queue, &image);
        tracing::info!(
            path = %path.display(),
            width = image.width,
            height = image.height,
            hdr = image.encoding == Encoding::Linear,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "environment map read and baked"
        );
        Ok(Some(Self {
            baked,
            uniform,
            skybox: map
                .skybox
                .then(|| SkyboxPipeline::new(device, colour_format)),
        }))
    }

    /// A renderer's skybox over this map, when it has one.
    pub fn skybox_for_renderer(&self, device: &wgpu::Device) -> Option<Skybox> {
        let pipeline = self.skybox.as_ref()?;
        Some(Skybox::new(
            device,
            pipeline,
            &self.baked.equirect,
            &self.baked.equirect_sampler,
        ))
    }

    /// The irradiance cube map of an 8-bit map; `None` for HDR (harmonics instead).
    pub fn irradiance(&self) -> Option<&wgpu::TextureView> {
        self.baked.irradiance.as_ref()
    }

    pub fn prefiltered(&self) -> &wgpu::TextureView {
        &self.baked.prefiltered
    }

    pub fn brdf_lut(&self) -> &wgpu::TextureView {
        &self.baked.brdf_lut
    }
}
