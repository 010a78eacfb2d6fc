// World directions and the environment's textures (vtk-effects.md §6), shared by the bake shaders,
// the skybox and the scene shader's lookups. Names start with `env_` because this file is
// concatenated into other shaders.

const ENV_PI: f32 = 3.141592653589793;

// Equirectangular texture coordinates of unit world direction `d`, row 0 = the file's top row:
// u = 0.5 − atan2(y_W, x_W)/(2π) (+x_W is the centre column, −y_W is u = 0.75) and the file's
// top is world up (+z_W). VTK's environment frame is x_e = x_W, y_e = z_W, z_e = −y_W.
fn env_equirect_uv(d: vec3<f32>) -> vec2<f32> {
    let u = 0.5 - atan2(d.y, d.x) / (2.0 * ENV_PI);
    let v = 0.5 - asin(clamp(d.z, -1.0, 1.0)) / ENV_PI;
    return vec2<f32>(u, v);
}

// The world direction through the centre of texel `texel` of face `face` of a `size`² cube map,
// in wgpu's (Vulkan's) face order +X, −X, +Y, −Y, +Z, −Z with rows running down each face.
fn env_cube_direction(face: u32, texel: vec2<u32>, size: u32) -> vec3<f32> {
    let st = (vec2<f32>(texel) + 0.5) / f32(size) * 2.0 - 1.0;
    let s = st.x;
    let t = st.y;
    var d: vec3<f32>;
    switch face {
        case 0u: { d = vec3<f32>(1.0, -t, -s); }
        case 1u: { d = vec3<f32>(-1.0, -t, s); }
        case 2u: { d = vec3<f32>(s, 1.0, t); }
        case 3u: { d = vec3<f32>(s, -1.0, -t); }
        case 4u: { d = vec3<f32>(s, -t, 1.0); }
        default: { d = vec3<f32>(-s, -t, -1.0); }
    }
    return normalize(d);
}

// The i-th of n points of the Hammersley set (radical inverse in base 2).
fn env_hammersley(i: u32, n: u32) -> vec2<f32> {
    return vec2<f32>(f32(i) / f32(n), f32(reverseBits(i)) * 2.3283064365386963e-10);
}

// A half vector around `n` drawn from the GGX distribution of `roughness` (α = roughness²).
fn env_importance_sample_ggx(xi: vec2<f32>, n: vec3<f32>, roughness: f32) -> vec3<f32> {
    let a = roughness * roughness;
    let phi = 2.0 * ENV_PI * xi.x;
    let cos_theta = sqrt((1.0 - xi.y) / (1.0 + (a * a - 1.0) * xi.y));
    let sin_theta = sqrt(1.0 - cos_theta * cos_theta);
    let h = vec3<f32>(cos(phi) * sin_theta, sin(phi) * sin_theta, cos_theta);
    let up = select(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 0.0, 1.0), abs(n.z) < 0.999);
    let tangent = normalize(cross(up, n));
    let bitangent = cross(n, tangent);
    return normalize(tangent * h.x + bitangent * h.y + n * h.z);
}
