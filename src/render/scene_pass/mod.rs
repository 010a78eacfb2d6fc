//! The scene pass: clears the target and draws the draw list, opaque meshes first, then blended
//! ones, with the pipelines of the requested image kind. Its shader, `scene.wgsl` (with
//! `shadows.wgsl` and `environment.wgsl`), lights colour as the look says, writes label colours
//! and planar depth. The look's effects reach it as group 2 ([`look_group`](super::look_group)).

mod pipelines;
pub(in crate::render) mod uniforms;

use super::draw_list::{Draw, DrawList};
use super::image::ImageKind;
use super::look::LookDescription;
use super::look_group;
use super::resident::GpuMesh;
use super::textures::TextureBinding;
use pipelines::{ColourVariant, Coverage, Pipelines};

/// What is created once for the scene pass.
pub(in crate::render) struct ScenePass {
    pipelines: Pipelines,
    /// Group 0 of every pipeline: the frame uniform and the materials, which
    /// upload (`upload.rs`) binds.
    pub frame_layout: wgpu::BindGroupLayout,
    /// Group 1 for materials without textures, so one shader serves both.
    untextured: wgpu::BindGroup,
    /// Group 2's layout, which each look's bindings are created with.
    pub look_layout: wgpu::BindGroupLayout,
    /// Group 2 of a look without resources of its own.
    no_look_resources: wgpu::BindGroup,
}

/// Where the pass draws: the image's own target (for colour, FXAA's input) and the depth test.
pub(in crate::render) struct SceneTarget<'a> {
    pub color: &'a wgpu::TextureView,
    pub depth: &'a wgpu::TextureView,
}

/// A look's effects as the pass binds and draws them (none for a look without resources).
pub(in crate::render) struct Effects<'a> {
    /// Group 2: the environment's maps and the shadow maps.
    pub bind_group: &'a wgpu::BindGroup,
    /// A pass after this one reads the depth buffer (SSAO), so it is stored.
    pub keep_depth: bool,
    /// Drawn first, over the clear and under the geometry: the environment's skybox.
    pub background: Option<&'a dyn Fn(&mut wgpu::RenderPass<'_>)>,
}

/// The uploaded scene the draws refer to.
pub(in crate::render) struct Geometry<'a> {
    /// Resident meshes, indexed by [`Draw::mesh`].
    pub meshes: &'a [Option<&'a GpuMesh>],
    /// Frame and draw uniforms (group 0); each draw's at [`Draw::uniform_offset`].
    pub uniforms: &'a wgpu::BindGroup,
    /// Material textures (group 1), indexed by [`Draw::texture`].
    pub textures: &'a [wgpu::BindGroup],
    pub draws: &'a DrawList,
}

impl ScenePass {
    pub fn new(device: &wgpu::Device, textures: &TextureBinding) -> Self {
        let frame_layout = pipelines::frame_layout(device);
        let look_layout = look_group::layout(device);
        Self {
            pipelines: Pipelines::new(device, &frame_layout, &textures.layout, &look_layout),
            untextured: textures.untextured(device),
            no_look_resources: look_group::placeholder_bind_group(device, &look_layout),
            look_layout,
            frame_layout,
        }
    }

    /// Records the pass; `geometry` is `None` when the draw list is empty (only the clear, and
    /// the effects' background over it). `shading` is `None` for label and depth images.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        target: &SceneTarget<'_>,
        kind: ImageKind,
        look: &LookDescription,
        shading: Option<Shading>,
        effects: Option<Effects<'_>>,
        geometry: Option<Geometry<'_>>,
    ) {
        let keep_depth = effects.as_ref().is_some_and(|e| e.keep_depth);
        let mut pass = begin_pass(encoder, target, clear_color(kind, look), keep_depth);
        if let Some(background) = effects.as_ref().and_then(|e| e.background) {
            background(&mut pass);
        }
        let Some(geometry) = geometry else {
            return;
        };
        let look_resources = effects.map_or(&self.no_look_resources, |e| e.bind_group);
        pass.set_bind_group(2, look_resources, &[]);
        match (shading, kind) {
            (_, ImageKind::Label | ImageKind::Depth { .. }) => {
                let mut current = None;
                let mut pipeline_for = |draw: &Draw| {
                    (current != Some(draw.hidden))
                        .then(|| {
                            current = Some(draw.hidden);
                            self.pipelines.non_colour(kind, draw.hidden)
                        })
                        .flatten()
                };
                self.draw(
                    &mut pass,
                    &geometry,
                    &geometry.draws.opaque,
                    &mut pipeline_for,
                );
                self.draw(
                    &mut pass,
                    &geometry,
                    &geometry.draws.blended,
                    &mut pipeline_for,
                );
            }
            (shading, ImageKind::Color) => {
                let shading = shading.unwrap_or_default();
                let variant = |draw: &Draw, blended: bool| ColourVariant {
                    pbr: shading.pbr,
                    coverage: match (blended, draw.masked) {
                        (true, _) => Coverage::Blended,
                        (false, true) => Coverage::Masked,
                        (false, false) => Coverage::Opaque,
                    },
                    cull: draw.cull.or(draw.hidden),
                    float_target: shading.float_target,
                    positional_lights: shading.positional_lights,
                    vertex_colors: draw.vertex_colors,
                    shadows: shading.shadows,
                    lights: shading.lights,
                    environment: shading.environment,
                    // Lavapipe (Mesa 22.3) smashes its stack drawing a shader that loads
                    // the shadow maps but samples no texture, so a look that casts shadows
                    // keeps the sampling branches.
                    textured: draw.texture.is_some() || shading.shadows,
                };
                let mut current = None;
                let mut pipeline_for = |draw: &Draw, blended: bool| {
                    let wanted = variant(draw, blended);
                    (current != Some(wanted)).then(|| {
                        current = Some(wanted);
                        self.pipelines.colour(wanted)
                    })
                };
                self.draw(&mut pass, &geometry, &geometry.draws.opaque, |d| {
                    pipeline_for(d, false)
                });
                self.draw(&mut pass, &geometry, &geometry.draws.blended, |d| {
                    pipeline_for(d, true)
                });
            }
        }
    }

    /// Issues `draws`; `pipeline` gives the pipeline to switch to before a draw, if any.
    fn draw<'p>(
        &'p self,
        pass: &mut wgpu::RenderPass<'_>,
        geometry: &Geometry<'_>,
        draws: &[Draw],
        mut pipeline: impl FnMut(&Draw) -> Option<&'p wgpu::RenderPipeline>,
    ) {
        let mut bound_mesh = None;
        for draw in draws {
            let Some(Some(mesh)) = geometry.meshes.get(draw.mesh) else {
                continue; // upload made every drawn mesh resident
            };
            if let Some(pipeline) = pipeline(draw) {
                pass.set_pipeline(pipeline);
            }
            if bound_mesh != Some(draw.mesh) {
                pass.set_vertex_buffer(0, mesh.vertices.slice(..));
                pass.set_index_buffer(mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
                bound_mesh = Some(draw.mesh);
            }
            pass.set_bind_group(0, geometry.uniforms, &[draw.uniform_offset]);
            let texture = draw
                .texture
                .map_or(&self.untextured, |i| &geometry.textures[i]);
            pass.set_bind_group(1, texture, &[]);
            pass.draw_indexed(draw.indices.clone(), 0, 0..1);
        }
    }
}

/// How a colour image is shaded: per request, from the look and the scene.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(in crate::render) struct Shading {
    /// PBR instead of Phong ([`LookDescription::pbr`]).
    pub pbr: bool,
    /// Into the float target tone mapping reads (the look has an exposure).
    pub float_target: bool,
    /// The look has point or spot lights.
    pub positional_lights: bool,
    /// The look casts shadows.
    pub shadows: bool,
    /// The look's light count (at most [`MAX_LIGHTS`](crate::render::MAX_LIGHTS)).
    pub lights: u8,
    /// The look has an environment map (image-based lighting).
    pub environment: bool,
}

/// The background for colour, white for labels, and for depth the bits of +inf, "nothing hit"
/// (integer targets clear to the value itself).
fn clear_color(kind: ImageKind, look: &LookDescription) -> wgpu::Color {
    match kind {
        ImageKind::Color => {
            let [r, g, b] = look.background;
            wgpu::Color { r, g, b, a: 1.0 }
        }
        ImageKind::Label => wgpu::Color::WHITE,
        ImageKind::Depth { .. } => wgpu::Color {
            r: f64::from(f32::INFINITY.to_bits()),
            g: 0.0,
            b: 0.0,
            a: 0.0,
        },
    }
}

fn begin_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    target: &SceneTarget<'_>,
    clear: wgpu::Color,
    keep_depth: bool,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("scene"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target.color,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(clear),
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
            view: target.depth,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                // Kept only for SSAO, which reads it after the pass.
                store: if keep_depth {
                    wgpu::StoreOp::Store
                } else {
                    wgpu::StoreOp::Discard
                },
            }),
            stencil_ops: None,
        }),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}
