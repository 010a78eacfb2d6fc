// The split-sum BRDF table of `vtkPBRLUTTexture` (vtk-effects.md §6): x = N·V, y = roughness, each
// at its texel centre; (A, B) = (Σ (1−Fc)·G_vis, Σ Fc·G_vis) / N over 1024 Hammersley GGX samples,
// Schlick-GGX with k = roughness²/2. Prepended: direction.wgsl.

@group(0) @binding(0) var table: texture_storage_2d<rgba16float, write>;

const SAMPLES: u32 = 1024u;

fn geometry_schlick_ggx(n_dot: f32, k: f32) -> f32 {
    return n_dot / (n_dot * (1.0 - k) + k);
}

@compute @workgroup_size(8, 8, 1)
fn brdf_lut(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(table);
    if id.x >= size.x || id.y >= size.y {
        return;
    }
    let n_dot_v = (f32(id.x) + 0.5) / f32(size.x);
    let roughness = (f32(id.y) + 0.5) / f32(size.y);
    let v = vec3<f32>(sqrt(1.0 - n_dot_v * n_dot_v), 0.0, n_dot_v);
    let n = vec3<f32>(0.0, 0.0, 1.0);
    let k = roughness * roughness / 2.0;
    var a = 0.0;
    var b = 0.0;
    for (var i = 0u; i < SAMPLES; i++) {
        let h = env_importance_sample_ggx(env_hammersley(i, SAMPLES), n, roughness);
        let l = normalize(2.0 * dot(v, h) * h - v);
        let n_dot_l = max(l.z, 0.0);
        if n_dot_l > 0.0 {
            let n_dot_h = max(h.z, 0.0);
            let v_dot_h = max(dot(v, h), 0.0);
            let g = geometry_schlick_ggx(n_dot_v, k) * geometry_schlick_ggx(n_dot_l, k);
            let g_vis = g * v_dot_h / (n_dot_h * n_dot_v);
            let fc = pow(1.0 - v_dot_h, 5.0);
            a += (1.0 - fc) * g_vis;
            b += fc * g_vis;
        }
    }
    textureStore(table, id.xy, vec4<f32>(a / f32(SAMPLES), b / f32(SAMPLES), 0.0, 1.0));
}
