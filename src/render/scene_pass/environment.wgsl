// Image-based lighting (vtk-effects.md §6), the effects' part of the scene shader: group 2 bindings
// 0–4 (`look_group.rs`). Without an environment map `mode` is 0 and every lookup is 0, which
// is §3's "no ambient at all".

struct Environment {
    // Premultiplied spherical-harmonic coefficients (harmonics.rs), for an HDR map.
    harmonics: array<vec4<f32>, 9>,
    // x: 0 no environment map, 1 HDR (harmonics), 2 8-bit (irradiance cube map).
    mode: vec4<u32>,
}

@group(2) @binding(0) var<uniform> environment: Environment;
@group(2) @binding(1) var environment_irradiance_map: texture_cube<f32>;
@group(2) @binding(2) var environment_prefiltered_map: texture_cube<f32>;
@group(2) @binding(3) var environment_brdf_table: texture_2d<f32>;
@group(2) @binding(4) var environment_sampler: sampler;

// Diffuse irradiance over π for a unit world normal: a uniform map of radiance L gives L.
fn environment_irradiance(normal_world: vec3<f32>) -> vec3<f32> {
    switch environment.mode.x {
        case 1u: {
            // VTK evaluates the harmonics in the environment frame: x_e = x_W, y_e = z_W, z_e = −y_W.
            let x = normal_world.x;
            let y = normal_world.z;
            let z = -normal_world.y;
            let c = environment.harmonics;
            let e = c[0].rgb + c[1].rgb * y + c[2].rgb * z + c[3].rgb * x + c[4].rgb * (x * y)
                + c[5].rgb * (y * z) + c[6].rgb * (3.0 * z * z - 1.0) + c[7].rgb * (x * z)
                + c[8].rgb * (x * x - y * y);
            return max(e, vec3<f32>(0.0));
        }
        case 2u: {
            return textureSampleLevel(environment_irradiance_map, environment_sampler, normal_world, 0.0).rgb;
        }
        default: {
            return vec3<f32>(0.0);
        }
    }
}

// Prefiltered radiance along a world reflection vector: VTK reads mip roughness·4.
fn environment_prefiltered(reflected_world: vec3<f32>, roughness: f32) -> vec3<f32> {
    if environment.mode.x == 0u {
        return vec3<f32>(0.0);
    }
    return textureSampleLevel(environment_prefiltered_map, environment_sampler, reflected_world, roughness * 4.0).rgb;
}

// The split-sum BRDF table at (N·V, roughness), bilinear.
fn environment_brdf(n_dot_v: f32, roughness: f32) -> vec2<f32> {
    if environment.mode.x == 0u {
        return vec2<f32>(0.0);
    }
    return textureSampleLevel(environment_brdf_table, environment_sampler, vec2<f32>(n_dot_v, roughness), 0.0).rg;
}
