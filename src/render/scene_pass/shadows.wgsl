// Shadows (the effects' part of the scene shader; this is the stub without shadow maps).
// shadow_factor: how much of light `light`'s radiance reaches `world_position`, 0..=1; it multiplies
// that light's term (vtk-looks.md §5).

fn shadow_factor(light: u32, world_position: vec3<f32>) -> f32 {
    return 1.0;
}
