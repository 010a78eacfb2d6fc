// The environment bakes, run once at start (vtk-effects.md §6): the irradiance cube map of an 8-bit
// map (`vtkPBRIrradianceTexture`) and the prefiltered specular cube map (`vtkPBRPrefilterTexture`).
// Prepended: direction.wgsl.

struct Bake {
    // 2.2 for an 8-bit map (its values are gamma-encoded), 1 for HDR.
    source_gamma: f32,
    // Roughness this mip is prefiltered at, and its GGX sample count.
    roughness: f32,
    sample_count: u32,
    // Side of the output face at this mip, in texels.
    face_size: u32,
    // Average solid angle of one source texel at mip 0: 4π / (width · height).
    source_texel_solid_angle: f32,
    source_mip_count: f32,
}

@group(0) @binding(0) var equirect: texture_2d<f32>;
@group(0) @binding(1) var equirect_sampler: sampler;
@group(0) @binding(2) var<uniform> bake: Bake;
@group(0) @binding(3) var output: texture_storage_2d_array<rgba16float, write>;

fn radiance(d: vec3<f32>, lod: f32) -> vec3<f32> {
    let texel = textureSampleLevel(equirect, equirect_sampler, env_equirect_uv(d), lod).rgb;
    return pow(max(texel, vec3<f32>(0.0)), vec3<f32>(bake.source_gamma));
}

// Irradiance over π at normal n: π/N · Σ_φ Σ_θ L(m·(sinθcosφ, sinθsinφ, cosθ))·cosθ·sinθ with
// Δ = π/64 (φ over [0, 2π), θ over [0, π/2)), m = [t, n×t, n], t ⟂ n and up: VTK's sums, so a
// uniform map of radiance L gives L (to 0.1 %).
@compute @workgroup_size(8, 8, 1)
fn irradiance(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= bake.face_size || id.y >= bake.face_size {
        return;
    }
    let n = env_cube_direction(id.z, id.xy, bake.face_size);
    // VTK builds t from the environment's up axis (world +z); at the poles any tangent will do.
    var t = cross(n, vec3<f32>(0.0, 0.0, 1.0));
    if dot(t, t) < 1e-12 {
        t = vec3<f32>(1.0, 0.0, 0.0);
    }
    t = normalize(t);
    let b = cross(n, t);
    let delta = ENV_PI / 64.0;
    var sum = vec3<f32>(0.0);
    for (var i = 0u; i < 128u; i++) {
        let phi = f32(i) * delta;
        for (var j = 0u; j < 32u; j++) {
            let theta = f32(j) * delta;
            let local = vec3<f32>(sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta));
            let d = t * local.x + b * local.y + n * local.z;
            sum += radiance(d, 0.0) * cos(theta) * sin(theta);
        }
    }
    let irradiance = ENV_PI * sum / f32(128u * 32u);
    textureStore(output, id.xy, id.z, vec4<f32>(irradiance, 1.0));
}

// One mip of the prefiltered specular map: GGX importance sampling around N = V = R, each sample
// weighted by N·L and read from the source mip whose texel matches the sample's solid angle.
@compute @workgroup_size(8, 8, 1)
fn prefilter(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= bake.face_size || id.y >= bake.face_size {
        return;
    }
    let n = env_cube_direction(id.z, id.xy, bake.face_size);
    if bake.roughness <= 0.0 {
        textureStore(output, id.xy, id.z, vec4<f32>(radiance(n, 0.0), 1.0));
        return;
    }
    let a = bake.roughness * bake.roughness;
    let a2 = a * a;
    var sum = vec3<f32>(0.0);
    var weight = 0.0;
    for (var i = 0u; i < bake.sample_count; i++) {
        let h = env_importance_sample_ggx(env_hammersley(i, bake.sample_count), n, bake.roughness);
        let l = normalize(2.0 * dot(n, h) * h - n);
        let n_dot_l = dot(n, l);
        if n_dot_l > 0.0 {
            let n_dot_h = max(dot(n, h), 0.0);
            let d = n_dot_h * n_dot_h * (a2 - 1.0) + 1.0;
            let pdf = a2 / (ENV_PI * d * d) / 4.0;
            let sample_solid_angle = 1.0 / (f32(bake.sample_count) * pdf + 1e-6);
            let lod = clamp(
                0.5 * log2(sample_solid_angle / bake.source_texel_solid_angle),
                0.0,
                bake.source_mip_count - 1.0,
            );
            sum += radiance(l, lod) * n_dot_l;
            weight += n_dot_l;
        }
    }
    textureStore(output, id.xy, id.z, vec4<f32>(sum / max(weight, 1e-6), 1.0));
}
