//! The renderer: one per render thread, running the passes in order over the process-wide
//! [`Gpu`] and keeping what it reuses between requests (targets, upload and readback buffers, its
//! bindings of the looks it renders with).

use std::sync::Arc;

use crate::scene::camera::Intrinsics;
use crate::scene::Scene;

use super::draw_list::DrawList;
use super::error::RenderError;
use super::gpu::Gpu;
use super::image::{Image, ImageKind};
use super::look::MAX_LIGHTS;
use super::look_resources::{BoundLooks, Look};
use super::readback::ReadbackBuffer;
use super::scene_pass::uniforms::{CameraMatrices, FrameUniform};
use super::scene_pass::{Effects, Geometry, Shading};
use super::targets::Targets;
use super::upload::SceneUpload;

/// One render thread's renderer. Not shared: it owns mutable buffers reused across requests.
pub struct Renderer {
    gpu: Arc<Gpu>,
    upload: SceneUpload,
    targets: Targets,
    readback: ReadbackBuffer,
    /// Shadow maps, skybox and group 2 of each look with effects it rendered lately.
    looks: BoundLooks,
}

impl Renderer {
    pub fn new(gpu: Arc<Gpu>) -> Self {
        Self {
            upload: SceneUpload::new(&gpu),
            targets: Targets::default(),
            readback: ReadbackBuffer::default(),
            looks: BoundLooks::default(),
            gpu,
        }
    }

    /// Renders one image of `scene` with `look`. Blocks until the GPU is done; call it from a
    /// dedicated thread.
    ///
    /// # Errors
    /// [`RenderError::TooLarge`] for a size the adapter cannot render, [`RenderError::Gpu`] when
    /// wgpu reports a validation or out-of-memory error (captured, never a panic).
    pub fn render(
        &mut self,
        scene: &Scene,
        look: &Look,
        intrinsics: &Intrinsics,
        kind: ImageKind,
    ) -> Result<Image, RenderError> {
        let (width, height) = (intrinsics.width, intrinsics.height);
        let max = self.gpu.max_texture_dimension();
        if width == 0 || height == 0 || width > max || height > max {
            return Err(RenderError::TooLarge { width, height, max });
        }
        // Error scopes are thread-local, so concurrent renderers on one device see only their own.
        let out_of_memory = self
            .gpu
            .device
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self
            .gpu
            .device
            .push_error_scope(wgpu::ErrorFilter::Validation);
        let result = self.run_passes(scene, look, intrinsics, kind);
        self.upload.end_request();
        let validation = pollster::block_on(validation.pop());
        let out_of_memory = pollster::block_on(out_of_memory.pop());
        if let Some(error) = validation.or(out_of_memory) {
            return Err(RenderError::Gpu(error.to_string()));
        }
        result
    }

    /// The steps of one image, in order.
    fn run_passes(
        &mut self,
        scene: &Scene,
        look: &Look,
        intrinsics: &Intrinsics,
        kind: ImageKind,
    ) -> Result<Image, RenderError> {
        let gpu = &self.gpu;
        let description = look.description();
        let size = (intrinsics.width, intrinsics.height);
        self.targets.ensure_size(size.0, size.1);
        let mut effects = self.looks.of(gpu, look);

        // 1. Upload: textures are sampled by colour images only.
        let frame = FrameUniform::new(scene, kind, description);
        let camera = CameraMatrices::new(scene, intrinsics);
        let colour = matches!(kind, ImageKind::Color).then_some(description);
        let (uploaded, meshes) = match &scene.camera {
            Some(_) => self.upload.upload(gpu, scene, &frame, &camera, colour)?,
            None => (Vec::new(), Vec::new()),
        };
        // 2. Draw list.
        let draws = DrawList::new(scene, uploaded);
        let attachments = self.targets.for_kind(gpu, kind, description.exposure);
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("render"),
            });
        let colour = matches!(kind, ImageKind::Color);
        // 3. Shadow maps: colour images of a look that casts shadows.
        if let Some(effects) = effects.as_mut().filter(|_| colour) {
            effects.encode_shadow_maps(
                gpu,
                &mut encoder,
                scene,
                description,
                &draws.opaque,
                &meshes,
            );
        }
        // 4. Scene pass: the skybox (colour, with an environment map's skybox), opaque, blended.
        let skybox = (effects.as_ref())
            .filter(|_| colour)
            .and_then(|effects| effects.skybox(gpu, scene, intrinsics));
        let draw_skybox = skybox.map(|(skybox, pipeline)| {
            move |pass: &mut wgpu::RenderPass<'_>| skybox.draw(pipeline, pass)
        });
        let geometry = match self.upload.bindings() {
            Some((uniforms, textures)) if !draws.is_empty() => Some(Geometry {
                meshes: &meshes,
                uniforms,
                textures,
                draws: &draws,
            }),
            _ => None,
        };
        let shading = colour.then(|| Shading {
            pbr: description.pbr(scene),
            float_target: description.exposure.is_some(),
            positional_lights: description.has_positional_lights(),
            shadows: effects.as_ref().is_some_and(|e| e.casts_shadows()),
            lights: description.lights.len().min(MAX_LIGHTS) as u8,
            environment: effects
                .as_ref()
                .is_some_and(|e| e.lights_with_environment()),
        });
        let scene_effects = effects.as_ref().map(|effects| Effects {
            bind_group: effects.bind_group(),
            keep_depth: effects.reads_depth(),
            background: draw_skybox
                .as_ref()
                .map(|draw| draw as &dyn Fn(&mut wgpu::RenderPass<'_>)),
        });
        gpu.scene.encode(
            &mut encoder,
            &attachments.scene,
            kind,
            description,
            shading,
            scene_effects,
            geometry,
        );
        // 5. SSAO: colour images of a look with `ssao`, on the scene pass's colour and depth.
        if let Some(effects) = effects.as_mut().filter(|_| colour) {
            let scene_target = &attachments.scene;
            effects.encode_ssao(
                gpu,
                &mut encoder,
                intrinsics,
                scene_target.color,
                scene_target.depth,
            );
        }
        // 6. Post-processing: colour only; tone mapping only with an exposure.
        if let Some(tone_map) = &attachments.tone_map {
            gpu.tone_map.encode(&mut encoder, tone_map);
        }
        if let Some(fxaa) = &attachments.fxaa {
            gpu.fxaa.encode(&mut encoder, fxaa);
        }
        // 7. Readback.
        self.readback
            .read_image(gpu, encoder, attachments.readable, kind, size)
    }
}
