//! The wgpu renderer: turns a [`Scene`](crate::scene::Scene) and Drake's intrinsics into the colour,
//! depth and label images RenderEngineVtk would produce.
//!
//! [`Gpu`] holds what is created once per process (device, queue, pipelines, samplers, layouts);
//! a [`Look`] is made once per `RenderEngineVtkParams` and passed with each render; each render
//! thread owns a [`Renderer`], which keeps its targets, upload and readback buffers between
//! requests and grows them when a scene or image needs more. It returns raw pixels; the wire
//! formats are [`crate::protocol::drake::encode`]'s.
//!
//! # Layout
//! In layers, each using only those below it (no module depends on one that depends on it back;
//! `tests/architecture/` checks it):
//! 1. **What every pass needs**: the device (`device.rs`: adapter choice and its log line), the
//!    texture formats (`formats.rs`), the material texture layout and samplers (`textures.rs`),
//!    meshes and textures on the GPU in the one vertex format (`resident.rs`, kept per content
//!    with the scene's meshes and textures, and so bounded by the scene cache), what to draw in
//!    which order (`draw_list.rs`), the full-screen triangle of post-passes (`fullscreen.rs`), the
//!    look's description (`look.rs`: plain data from `RenderEngineVtkParams`) and group 2 of the
//!    scene pipelines, where the look's effects meet the scene shader (`look_group.rs`); and
//!    `image.rs`, `error.rs`.
//! 2. **The passes**, each a folder owning its pipelines and shaders and taking only layer 1:
//!    `shadows/`, `environment/` (its bakes and the skybox), `scene_pass/`, `ssao/`,
//!    `tone_map/`, `fxaa/`.
//! 3. **The composition**: [`Gpu`] (`gpu.rs`) creates the device and each pass's pipelines once
//!    per process; a [`Look`] (`look_resources.rs`) is a description with the resources its
//!    effects share, and each renderer keeps its own bindings of the looks it renders with
//!    (shadow maps, skybox, SSAO state, group 2), a few at most; `targets.rs` (per image size)
//!    chains the passes' inputs and outputs, `upload.rs` (the per-request uniforms, and the
//!    material bind groups of live textures) and `readback.rs` are kept per renderer; and the
//!    [`Renderer`] (`renderer.rs`) runs the passes in order.
//!
//! A new pass is a folder in layer 2, its pipelines created in [`Gpu`] (a field and its
//! creation) and one step in `run_passes`: three places in the composition rather than one entry
//! in a list of passes, because the passes take different inputs (the shadow bake and SSAO run
//! through a look's bindings, which live in the composition), and a pass trait over one shared
//! frame context would have layer 2 import layer 3.
//!
//! One request ([`Renderer::render`], a scene and a look) runs these steps in order:
//! 1. `upload.rs`: the frame's uniforms (lights in the world), each instance's transforms and
//!    material; meshes and (colour only) textures made resident unless they already are;
//! 2. `draw_list.rs`: opaque and alpha-masked meshes in scene order, translucent ones back to
//!    front;
//! 3. `shadows/`: colour images of a look with `cast_shadows`, one map per casting light;
//! 4. `scene_pass/`: clear (or the environment's skybox) and draw (`scene.wgsl` with
//!    `shadows.wgsl` and `environment.wgsl`; uniforms in `uniforms.rs`), Phong or PBR;
//! 5. `ssao/`: colour images of a look with `ssao`;
//! 6. `tone_map/`: colour images with an exposure only, the float scene colour to 8 bits;
//! 7. `fxaa/`: colour images only, anti-aliasing (`fxaa.wgsl`);
//! 8. `readback.rs`: copy the image out and convert it.
//!
//! # The look, calibrated against RenderEngineVtk
//! Measured with pydrake 1.51.1 (`MakeRenderEngineVtk(RenderEngineVtkParams())`, 64×64 camera,
//! `QueryObject.RenderColorImage`), reading exact pixel values:
//! - A face-on box gives exactly `round(255 · base_color)`: (1,0,0) → 255, 0.5 → 128,
//!   (0.2,0.6,0.8) → (51,153,204), 0.1 → 26. No ambient term, no gamma, no tone mapping.
//! - A face tilted by θ gives `round(255 · base_color · cos θ)`: red at 30°/45°/60°/75° →
//!   221/180/128/66; (0.2,0.6,0.8) at 30° → (44,133,177). Pure Lambert, no specular highlight.
//! - A huge face-on plane seen through a 90° field of view is uniform to the corners (255 and 128
//!   at centre, edge and corner): the headlight is *directional* along the optical axis, not a
//!   point light at the camera.
//! - Background (204,229,255,255); alpha is 255 everywhere opaque.
//! - Red α = 0.5 box in front of opaque blue gives (192,0,63): both the box's back and front faces
//!   are blended (no culling, no depth write for translucent geometry), i.e. red·¾ + blue·¼, with
//!   8-bit rounding between the layers.
//! - A sphere's shading follows the analytic per-pixel `cos` of its surface normal to within one
//!   level across the whole profile: lighting is per fragment with interpolated normals.
//! - A texture is multiplied by the diffuse colour and then lit: a white texture with diffuse
//!   (0.5,0.5,1) gives (128,128,255) face-on and (64,64,128) at 60°.
//! - Translucent geometry is solid in depth and label images (depth 1.45 m at the α = 0.5 box).
//! - Translucent meshes: drawing each one's back faces before its front faces matched VTK *worse*
//!   on a 640×480 scene of 13 random boxes (3 translucent): 0.70 % of colour elements off by more
//!   than 20, against 0.34 % when triangles are drawn in mesh order with depth writes off, which
//!   is therefore what this renderer does. On that scene depth matched VTK to 0.12 mm (median 0)
//!   and labels matched exactly; colour differences are silhouette and crease anti-aliasing.
//!   The same scene at 333×250 with fx = 300, fy = 410, cx = 120.25, cy = 170.5: 1 label pixel
//!   of 83,250 differs (an edge tie), depth within 0.05 mm, 0.53 % of colour elements off by > 20.
//! - Silhouettes are anti-aliased with VTK's own FXAA (its steps and default options, see
//!   `fxaa/fxaa.wgsl`): the scene renders at one sample per pixel and a post-pass blends
//!   across luma contrast, leaving flat regions and gentle shading byte for byte as rendered.
//!   Against RenderEngineVtk (`tests/python/test_conformance.py`) colour elements off by more
//!   than 20 fell from 0.10–0.34 % with the 4× MSAA this replaced to 0.000–0.001 %, and 98–99.8 %
//!   of pixels are now identical. On lavapipe it is also cheaper: a 640×480 colour render of
//!   20k triangles took 77–82 ms with MSAA and 46 ms with FXAA (its label render: 31–35 ms).
//!   Classic 9-tap FXAA, tried first, blurred edges two pixels wide and doubled the difference.
//!
//! ## Looks from `RenderEngineVtkParams` (docs/upstream/vtk-effects.md §1–§4)
//! Each formula below was read from VTK/Drake and checked against pydrake 1.51.1 renders of an
//! 8 m plate under a camera 3 m up (64×64, 60°, diffuse 0.8/0.6/0.4); `tests/render/looks.rs`
//! asserts every measured value to ±1 level, and the formula at many pixels where the
//! measurement was a formula check:
//! - Lights (≤ 8): directional, point and spot, in the camera frame (X_WC·p_C, R_WC·d_C) or the
//!   world; attenuation 1/(k0 + k1·d + k2·d²); spots a hard cone with cos falloff (exponent 1);
//!   intensity × colour unclamped; no headlight beside the user's lights. Phong stays pure
//!   Lambert, two-sided, no ambient or specular: 60° → 102,76,51; ×3 → 255,230,153; two lights
//!   add.
//! - PBR (force_to_pbr, an environment map, or a scene holding a merged user glTF, as VTK's
//!   engine-wide switch): VTK's BRDF with Drake's roughness remap for direct lights and its
//!   multi-scattering IBL, then pow(1/2.2), clear colour not gamma'd: 144,129,112 at the centre,
//!   137,121,102 at (5,5), 60° ×2 → 135,119,100. VTK's content keeps metallic 0 / roughness 0.5;
//!   user glTF materials bring their factors (default 1), textures (metallic-roughness, normal
//!   with a derivative-based tangent frame, occlusion, emissive; KHR_texture_transform),
//!   COLOR_0, MASK/BLEND and single-sidedness (back faces culled).
//! - Exposure: the scene renders into Rgba16Float and VTK's generic filmic curve (Uncharted 2
//!   presets, b = 0.9847995, c = 0.6016135) maps it, background included, before FXAA:
//!   exposure 1 → plate 183,149,102 / background 183,196,207; values above 1 survive
//!   (255,246,223 at intensity 3).
//! - `default_clear_color` rounds to nearest (0.25,0.5,0.75 → 64,128,191); `default_diffuse`
//!   replaces the built-in Rgba(0.9,0.45,0.1,1) that Drake's client exports for geometry without
//!   a diffuse (the only way to recognise it in the glTF).
//!
//! - User glTF materials, measured here against RenderEngineVtk through Drake's client (a
//!   textured quad beside a box, 640×480, centre 80×80 pixels): factors, glTF's default factors,
//!   base colour, metallic-roughness, normal (± scale, both channels), occlusion, emissive,
//!   KHR_texture_transform (offset, scale, rotation), COLOR_0, single-sided and BLEND all within
//!   1 level. Three VTK behaviours were found that way and are followed: COLOR_0 replaces the
//!   base colour factor rather than multiplying it; an occlusion texture counts only beside a
//!   metallic-roughness texture (VTK's ORM packing); texture rotation and the normal map's green
//!   axis have the opposite sense from a literal reading of the glTF spec.
//!
//! Not matched: alphaMode MASK is cut at alphaCutoff as glTF says, where VTK blends it as
//! translucent (alpha 0.3: 86 here against 89,86,81); a `NullTexture` environment map (VTK's
//! quirk of skipping every pass) is treated as no map; texture coordinates other than
//! TEXCOORD_0 are not read.
//!
//! Against RenderEngineVtk itself (`tests/python/test_conformance.py`), the scene with a merged
//! user glTF (which switches VTK to PBR) went from 1.13–1.54 % of colour values off by more
//! than 20 to 0.007–0.107 %; the other scenes stay at 0.000 %. The conformance suite's
//! "primitives" and "textured-and-transparent" scenes with that glTF added (so both engines
//! shade everything PBR: sRGB-decoded textures, translucency, all primitives), on its three
//! cameras: 3.4–5.6 % off by more than 20 before (mean difference 5.7–7.2 levels), 0.010–0.137 %
//! now (mean 0.013–0.085).
//!
//! The default params keep the shader math they had before the looks, so `make demo`'s images
//! are byte-identical, with no float target and no tone-mapping pass. What the looks' generality
//! costs them is compiled out by pipeline constants (no positional lights, vertex colours,
//! shadows, environment map or material textures; the light count as a constant) and a narrow vertex stage without the interpolants
//! only those read. On lavapipe the default colour image's rasterising CPU (tabletop, median of
//! 9 interleaved rounds) is 16.8 ms before the looks, 19.3 ms with them unspecialised and 18.3 ms
//! now (docs/performance.md).
//!
//! Depth and label images never go through lighting, blending or anti-aliasing: depth writes the
//! planar depth's f32 bits to an `R32Uint` target (exact, and renderable on GL/llvmpipe where
//! `R32Float` is not), labels write `round(base_color · 255)` precomputed on the CPU.

mod device;
mod draw_list;
mod environment;
mod error;
mod formats;
mod fullscreen;
mod fxaa;
mod gpu;
mod image;
mod look;
mod look_group;
mod look_resources;
mod readback;
mod renderer;
mod resident;
mod scene_pass;
mod shadows;
mod ssao;
mod targets;
mod textures;
mod tone_map;
mod upload;

pub use device::{list_adapters, AdapterSummary, GpuOptions, ADAPTER_ENV};
pub use error::RenderError;
pub use gpu::Gpu;
pub use image::{Image, ImageKind};
pub use look::{Light, LookDescription, MAX_LIGHTS, VTK_DEFAULT_DIFFUSE};
pub use look_resources::Look;
pub use renderer::Renderer;

// The render server shares one `Gpu` and its looks between its worker threads and moves a
// `Renderer` into each.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shareable::<Gpu>();
    shareable::<Look>();
    movable::<Renderer>();
};
