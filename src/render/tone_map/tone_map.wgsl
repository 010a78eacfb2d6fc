// VTK's generic filmic tone mapping with its Uncharted 2 presets, as RenderEngineVtk's `exposure`
// sets it up (vtk-effects.md §4; vtkToneMappingPass): every pixel of the float scene colour, the
// background included, read as gamma-encoded.

// Contrast a, shoulder d, and the clipping point b and toe speed c VTK derives from them (with
// mid-in = mid-out = 0.18 and HDR max 6.3704), computed in float as
// PreComputeAnchorCurveGenericFilmic does.
const CONTRAST: f32 = 1.1759;
const SHOULDER: f32 = 0.9746;
const CLIPPING_POINT: f32 = 0.9847995;
const TOE_SPEED: f32 = 0.6016135;

struct Params {
    // x = exposure.
    exposure: vec4<f32>,
}

@group(0) @binding(0) var scene_colour: texture_2d<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@fragment
fn fs_tone_map(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let pixel = textureLoad(scene_colour, vec2<i32>(position.xy), 0);
    let x = pow(max(pixel.rgb, vec3<f32>(0.0)), vec3<f32>(2.2)) * params.exposure.x;
    let mapped = clamp(
        pow(x, vec3<f32>(CONTRAST)) / (pow(x, vec3<f32>(CONTRAST * SHOULDER)) * CLIPPING_POINT + TOE_SPEED),
        vec3<f32>(0.0),
        vec3<f32>(1.0),
    );
    // VTK: mix(pixel, vec4(mapped^(1/2.2), pixel.a), pixel.a); the scene's alpha is 1.
    return mix(pixel, vec4<f32>(pow(mapped, vec3<f32>(1.0 / 2.2)), pixel.a), pixel.a);
}
