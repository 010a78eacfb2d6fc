// Image-based lighting (the effects' part of the scene shader; this is the stub without an
// environment map, which is vtk-looks.md §3's "no ambient at all").
// environment_irradiance: diffuse irradiance / π for a world normal (VTK's `irradiance`).
// environment_prefiltered: prefiltered radiance along a world reflection vector at `roughness`.
// environment_brdf: the split-sum BRDF LUT at (N·V, roughness).

fn environment_irradiance(normal_world: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(0.0);
}

fn environment_prefiltered(reflected_world: vec3<f32>, roughness: f32) -> vec3<f32> {
    return vec3<f32>(0.0);
}

fn environment_brdf(n_dot_v: f32, roughness: f32) -> vec2<f32> {
    return vec2<f32>(0.0);
}
