// Shadows (vtk-effects.md §5), the effects' part of the scene shader: group 2 bindings 5–6
// (`look_group.rs`). Each casting light has an exponential shadow map holding
// exp(80·light depth) of the first opaque surface it sees (its bits in an R32Uint layer);
// `shadow_factor` is VTK's `vtkShadowMapPass` receiver.

struct ShadowLight {
    // World → map: x, y in [0, 1] after the divide by w (row 0 of the map is y = 0); z is the
    // parallel light depth, w the distance along a spot's axis.
    map_from_world: mat4x4<f32>,
    // x: the light's map layer, or −1 when it casts no shadow; y: 1 for a parallel projection;
    // z, w: a spot's near and far distances.
    params: vec4<f32>,
}

struct Shadows {
    lights: array<ShadowLight, 8>,
}

@group(2) @binding(5) var<uniform> shadows: Shadows;
@group(2) @binding(6) var shadow_maps: texture_2d_array<u32>;

const SHADOW_EXPONENT: f32 = 80.0;

fn shadow_map_texel(texel: vec2<i32>, layer: i32, size: vec2<i32>) -> f32 {
    let clamped = clamp(texel, vec2<i32>(0), size - 1);
    return bitcast<f32>(textureLoad(shadow_maps, clamped, layer, 0).r);
}

// How much of light `light`'s radiance reaches `world_position`: min(1, map·exp(−80·depth)) with
// the map read bilinearly (by hand: 32-bit float textures are not filterable everywhere),
// clamp-to-edge. Outside the map VTK keeps its initial 8.
fn shadow_factor(light: u32, world_position: vec3<f32>) -> f32 {
    let caster = shadows.lights[light];
    if caster.params.x < 0.0 {
        return 1.0;
    }
    let s = caster.map_from_world * vec4<f32>(world_position, 1.0);
    if s.w <= 0.0 {
        return 8.0;
    }
    let uv = s.xy / s.w;
    if any(uv < vec2<f32>(0.0)) || any(uv > vec2<f32>(1.0)) {
        return 8.0;
    }
    var depth = s.z;
    if caster.params.y == 0.0 {
        depth = (s.w - caster.params.z) / (caster.params.w - caster.params.z);
    }
    let size = vec2<i32>(textureDimensions(shadow_maps));
    let layer = i32(caster.params.x);
    let p = uv * vec2<f32>(size) - 0.5;
    let base = floor(p);
    let f = p - base;
    let i = vec2<i32>(base);
    let top = mix(shadow_map_texel(i, layer, size), shadow_map_texel(i + vec2<i32>(1, 0), layer, size), f.x);
    let bottom = mix(shadow_map_texel(i + vec2<i32>(0, 1), layer, size), shadow_map_texel(i + vec2<i32>(1, 1), layer, size), f.x);
    return min(1.0, mix(top, bottom, f.y) * exp(-SHADOW_EXPONENT * depth));
}
