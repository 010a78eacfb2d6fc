// The skybox (vtk-effects.md §6): every pixel of the background shows the environment map along its
// viewing ray, pow(texel, 1/2.2) read bilinearly from mip 0, as `vtkOpenGLSkybox` with
// `GammaCorrectOn` does. Drawn first in the scene pass, so geometry covers it. Prepended:
// direction.wgsl.

struct Sky {
    // Maps (pixel x, pixel y, 1), pixel centres at +0.5, to a world direction along the ray.
    pixel_to_world: mat3x3<f32>,
}

@group(0) @binding(0) var<uniform> sky: Sky;
@group(0) @binding(1) var equirect: texture_2d<f32>;
@group(0) @binding(2) var equirect_sampler: sampler;

@vertex
fn vs_skybox(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the viewport.
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 1.0, 1.0);
}

@fragment
fn fs_skybox(@builtin(position) pixel: vec4<f32>) -> @location(0) vec4<f32> {
    let direction = normalize(sky.pixel_to_world * vec3<f32>(pixel.xy, 1.0));
    let texel = textureSampleLevel(equirect, equirect_sampler, env_equirect_uv(direction), 0.0).rgb;
    return vec4<f32>(pow(max(texel, vec3<f32>(0.0)), vec3<f32>(1.0 / 2.2)), 1.0);
}
