// The shadow-map bake (vtk-effects.md §5, `vtkShadowMapBakerPass`): every opaque mesh drawn from a
// casting light, writing exp(80·light depth) (its f32 bits: R32Uint is renderable everywhere)
// with the nearest surface kept by the depth test.

struct Caster {
    // Model → the light's clip space.
    model_to_light_clip: mat4x4<f32>,
    // x: 1 for a parallel projection (light depth = clip z); y, z: a spot's near and far distances
    // (light depth = (distance − near)/(far − near), the distance being clip w).
    params: vec4<f32>,
}

@group(0) @binding(0) var<uniform> caster: Caster;

struct Fragment {
    @builtin(position) clip: vec4<f32>,
    @location(0) light_depth: f32,
}

@vertex
fn vs_shadow(@location(0) position: vec3<f32>) -> Fragment {
    var out: Fragment;
    out.clip = caster.model_to_light_clip * vec4<f32>(position, 1.0);
    out.light_depth = out.clip.z;
    if caster.params.x == 0.0 {
        out.light_depth = (out.clip.w - caster.params.y) / (caster.params.z - caster.params.y);
    }
    return out;
}

@fragment
fn fs_shadow(in: Fragment) -> @location(0) u32 {
    return bitcast<u32>(exp(80.0 * in.light_depth));
}
