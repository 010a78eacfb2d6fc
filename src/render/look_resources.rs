//! A look as rendered: its [description](super::look) with the GPU resources built from it. What
//! a look shares between renderers ([`LookResources`]: the environment map, read and baked once,
//! and the SSAO pipelines) is made with the [`Look`]; what each renderer keeps per look
//! ([`LookBindings`]: its shadow maps, skybox uniform, SSAO state and group 2 over them, all
//! rewritten every colour request) is made on the look's first render and kept in the renderer's
//! [`BoundLooks`]. A look without effects has neither; the scene pass binds its placeholder.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::protocol::drake::vtk_params::VtkParams;
use crate::scene::camera::Intrinsics;
use crate::scene::Scene;

use super::draw_list::Draw;
use super::environment::{Environment, Skybox, SkyboxPipeline};
use super::error::RenderError;
use super::formats::{COLOR_FORMAT, SCENE_FLOAT_FORMAT};
use super::gpu::Gpu;
use super::look::LookDescription;
use super::look_group::{self, EnvironmentUniform, Group2, Placeholders, ShadowsUniform};
use super::resident::GpuMesh;
use super::shadows::{self, ShadowMaps};
use super::ssao::{Ssao, SsaoPass};

/// The most looks a renderer keeps bindings for. A server renders with its configured look and,
/// with resident scenes, each scene's own; a look used again after more than this many others
/// has its bindings made again.
const LOOKS_PER_RENDERER: usize = 4;

/// A look, ready to render with: what it is and the resources every renderer shares. Cheap to
/// clone (the resources are shared); each look made gets its own identity, by which renderers
/// keep their bindings of it.
#[derive(Debug, Clone)]
pub struct Look {
    id: u64,
    description: LookDescription,
    /// `None` when the look has no effects.
    resources: Option<Arc<LookResources>>,
}

impl Default for Look {
    /// RenderEngineVtk's default look (no effects, so no GPU resources).
    fn default() -> Self {
        Self::new(LookDescription::default(), None)
    }
}

impl Look {
    /// The look `params` describe, with the resources its effects need created on `gpu`.
    ///
    /// # Errors
    /// [`RenderError::Look`] for more than [`MAX_LIGHTS`](super::MAX_LIGHTS) lights, a light
    /// without a direction, an unreadable environment map (naming its path) or a shadow map size
    /// the adapter cannot render.
    pub fn from_params(params: &VtkParams, gpu: &Gpu) -> Result<Look, RenderError> {
        let description = LookDescription::from_params(params)?;
        let resources = LookResources::new(&description, gpu)?.map(Arc::new);
        Ok(Self::new(description, resources))
    }

    fn new(description: LookDescription, resources: Option<Arc<LookResources>>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            description,
            resources,
        }
    }

    pub fn description(&self) -> &LookDescription {
        &self.description
    }
}

/// What a look shares between its renderers: the environment map, baked once, and the shadow
/// settings.
pub(super) struct LookResources {
    environment: Option<Environment>,
    /// `environment.uniform`, or "no environment".
    environment_uniform: wgpu::Buffer,
    /// `cast_shadows`: the side of each light's map (`shadow_map_size`).
    shadow_map_size: Option<u32>,
    /// `ssao`: its pipelines and parameters.
    ssao: Option<SsaoPass>,
}

impl std::fmt::Debug for LookResources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookResources")
            .field("environment", &self.environment.is_some())
            .field("shadow_map_size", &self.shadow_map_size)
            .field("ssao", &self.ssao.is_some())
            .finish()
    }
}

impl LookResources {
    /// The resources `look` needs; `None` when it needs none (the placeholder is bound). Reads
    /// and bakes the environment map here, once.
    fn new(look: &LookDescription, gpu: &Gpu) -> Result<Option<Self>, RenderError> {
        // The colour scene target the skybox and SSAO draw into: float when tone mapping follows
        // (an exposure), as `Targets` makes it.
        let colour_format = match look.exposure {
            Some(_) => SCENE_FLOAT_FORMAT,
            None => COLOR_FORMAT,
        };
        let environment = match &look.environment_map {
            Some(map) => Environment::new(map, &gpu.device, &gpu.queue, colour_format)
                .map_err(|err| RenderError::Look(err.to_string()))?,
            None => None,
        };
        let shadow_map_size = look.shadow_map_size;
        let max = gpu.device.limits().max_texture_dimension_2d;
        if let Some(size) = shadow_map_size.filter(|&s| s == 0 || s > max) {
            return Err(RenderError::Look(format!(
                "shadow_map_size {size} is outside what the adapter renders (1..={max})"
            )));
        }
        let ssao = look
            .ssao
            .as_ref()
            .map(|ssao| SsaoPass::new(&gpu.device, ssao, colour_format));
        if environment.is_none() && shadow_map_size.is_none() && ssao.is_none() {
            return Ok(None);
        }
        let uniform = environment
            .as_ref()
            .map_or_else(EnvironmentUniform::none, |e| e.uniform);
        let environment_uniform = look_group::uniform_buffer(&gpu.device, "environment", &uniform);
        Ok(Some(Self {
            environment,
            environment_uniform,
            shadow_map_size,
            ssao,
        }))
    }
}

/// A renderer's [`LookBindings`], by look identity, the most recently used first, at most
/// [`LOOKS_PER_RENDERER`].
#[derive(Default)]
pub(super) struct BoundLooks(Vec<(u64, LookBindings)>);

impl BoundLooks {
    /// This renderer's bindings of `look`, made on its first render; `None` for a look without
    /// effects.
    pub fn of(&mut self, gpu: &Gpu, look: &Look) -> Option<&mut LookBindings> {
        let resources = look.resources.as_ref()?;
        match self.0.iter().position(|(id, _)| *id == look.id) {
            Some(0) => {}
            Some(index) => {
                let entry = self.0.remove(index);
                self.0.insert(0, entry);
            }
            None => {
                self.0.truncate(LOOKS_PER_RENDERER - 1);
                let bindings = LookBindings::new(gpu, &look.description, Arc::clone(resources));
                self.0.insert(0, (look.id, bindings));
            }
        }
        self.0.first_mut().map(|(_, bindings)| bindings)
    }
}

/// One renderer's group 2 over its look's resources, with its own shadow maps and skybox
/// uniform (both rewritten every colour request).
pub(super) struct LookBindings {
    bind_group: wgpu::BindGroup,
    shadows: ShadowMaps,
    /// Whether the look casts shadows (otherwise `shadows` is the 1×1 placeholder, never baked).
    cast_shadows: bool,
    skybox: Option<Skybox>,
    ssao: Option<Ssao>,
    resources: Arc<LookResources>,
}

impl LookBindings {
    fn new(gpu: &Gpu, look: &LookDescription, resources: Arc<LookResources>) -> Self {
        let device = &gpu.device;
        let casting = look.lights.iter().filter(|l| shadows::casts(l)).count() as u32;
        let shadows = match resources.shadow_map_size {
            Some(size) => ShadowMaps::new(device, size, casting),
            None => ShadowMaps::new(device, 1, 1),
        };
        gpu.queue.write_buffer(
            &shadows.uniform,
            0,
            bytemuck::bytes_of(&ShadowsUniform::none()),
        );
        let environment = resources.environment.as_ref();
        let group = Group2 {
            environment: &resources.environment_uniform,
            irradiance: environment.and_then(Environment::irradiance),
            prefiltered: environment.map(Environment::prefiltered),
            brdf_lut: environment.map(Environment::brdf_lut),
            shadows: &shadows.uniform,
            shadow_maps: &shadows.maps_view,
        };
        let placeholders = Placeholders::new(device);
        let bind_group =
            look_group::bind_group(device, &gpu.scene.look_layout, &placeholders, &group);
        Self {
            bind_group,
            cast_shadows: resources.shadow_map_size.is_some(),
            skybox: environment.and_then(|e| e.skybox_for_renderer(device)),
            ssao: resources
                .ssao
                .as_ref()
                .map(|pass| Ssao::new(device, &gpu.queue, pass)),
            shadows,
            resources,
        }
    }

    /// Whether the look casts shadows: the scene shader then reads the maps.
    pub fn casts_shadows(&self) -> bool {
        self.cast_shadows
    }

    /// Whether the look has an environment map: PBR surfaces then read it (image-based lighting).
    pub fn lights_with_environment(&self) -> bool {
        self.resources.environment.is_some()
    }

    /// Group 2 of the scene pipelines.
    pub fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }

    /// Whether a pass after the scene pass reads its depth buffer (SSAO), which must then be
    /// stored rather than discarded.
    pub fn reads_depth(&self) -> bool {
        self.ssao.is_some()
    }

    /// Shadow maps: bakes each casting light's map for this request (colour images of a look
    /// with `cast_shadows` only).
    pub fn encode_shadow_maps(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        scene: &Scene,
        look: &LookDescription,
        opaque: &[Draw],
        meshes: &[Option<&GpuMesh>],
    ) {
        let (true, Some(camera)) = (self.cast_shadows, scene.camera) else {
            return;
        };
        let lights: Vec<_> = look
            .lights
            .iter()
            .map(|light| {
                let (position, direction) = light.in_world(camera.camera_to_world);
                (*light, position, direction)
            })
            .collect();
        self.shadows.encode(
            &gpu.device,
            &gpu.queue,
            &gpu.shadows,
            encoder,
            scene,
            &lights,
            opaque,
            meshes,
            look.background[0] as f32,
        );
    }

    /// SSAO over the scene pass's `colour` from its `depth` (colour images of a look with `ssao`).
    pub fn encode_ssao(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        intrinsics: &Intrinsics,
        colour: &wgpu::TextureView,
        depth: &wgpu::TextureView,
    ) {
        let (Some(ssao), Some(pass)) = (self.ssao.as_mut(), self.resources.ssao.as_ref()) else {
            return;
        };
        ssao.encode(
            &gpu.device,
            &gpu.queue,
            pass,
            encoder,
            intrinsics,
            colour,
            depth,
        );
    }

    /// The skybox, with this request's camera rays written; `None` without one.
    pub fn skybox(
        &self,
        gpu: &Gpu,
        scene: &Scene,
        intrinsics: &Intrinsics,
    ) -> Option<(&Skybox, &SkyboxPipeline)> {
        let skybox = self.skybox.as_ref()?;
        let pipeline = self.resources.environment.as_ref()?.skybox.as_ref()?;
        skybox.update(&gpu.queue, scene, intrinsics);
        Some((skybox, pipeline))
    }
}
