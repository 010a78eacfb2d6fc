// Screen-space ambient occlusion (vtk-effects.md §7, `vtkSSAOPass`), after the scene pass on the
// float colour image: `fs_occlusion` computes each pixel's AO from the depth buffer (view-space
// positions and normals reconstructed from it) into an R8 target, as VTK stores it;
// `fs_combine` multiplies the colour by it (3×3 blurred or not) through the blend state, so the
// background (AO 1) is unchanged.

struct Ssao {
    // x, y: focal lengths in pixels; z, w: principal point in pixels.
    focal_center: vec4<f32>,
    // x, y: depth → view z (z = −y / (depth + x)); z: radius; w: bias.
    depth_radius_bias: vec4<f32>,
    // x: intensity scale; y: intensity shift; z: sample count; w: 1 to blur.
    intensity_count_blur: vec4<f32>,
    // VTK's kernel (kernel.rs), in the surface's tangent frame.
    kernel: array<vec4<f32>, 1000>,
}

@group(0) @binding(0) var<uniform> ssao: Ssao;
@group(0) @binding(1) var depth_buffer: texture_2d<f32>;
@group(0) @binding(2) var occlusion: texture_2d<f32>;

fn depth_at(pixel: vec2<i32>) -> f32 {
    let size = vec2<i32>(textureDimensions(depth_buffer));
    return textureLoad(depth_buffer, clamp(pixel, vec2<i32>(0), size - 1), 0).r;
}

// The view-space (OpenGL: +y up, −z forward) position seen at pixel centre `pixel` at `depth`.
fn view_position(pixel: vec2<f32>, depth: f32) -> vec3<f32> {
    let z = -ssao.depth_radius_bias.y / (depth + ssao.depth_radius_bias.x);
    let forward = -z;
    let x = (pixel.x - ssao.focal_center.z) / ssao.focal_center.x * forward;
    let y = (pixel.y - ssao.focal_center.w) / ssao.focal_center.y * forward;
    return vec3<f32>(x, -y, z);
}

fn view_position_at(pixel: vec2<i32>) -> vec3<f32> {
    return view_position(vec2<f32>(pixel) + 0.5, depth_at(pixel));
}

// The pixel a view-space point projects to.
fn project(p: vec3<f32>) -> vec2<f32> {
    let forward = -p.z;
    return vec2<f32>(
        ssao.focal_center.x * p.x / forward + ssao.focal_center.z,
        ssao.focal_center.y * -p.y / forward + ssao.focal_center.w,
    );
}

// Per-pixel rotation of the kernel (VTK tiles a blue-noise texture; interleaved gradient noise is
// the closest procedural equivalent).
fn noise(pixel: vec2<f32>) -> f32 {
    return fract(52.9829189 * fract(dot(pixel, vec2<f32>(0.06711056, 0.00583715))));
}

@fragment
fn fs_occlusion(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    let pixel = vec2<i32>(frag.xy);
    let depth = depth_at(pixel);
    // Background (and nothing drawn): no occlusion.
    if depth <= 0.0 || depth >= 1.0 {
        return vec4<f32>(1.0);
    }
    let p = view_position(frag.xy, depth);
    // The normal from the neighbours on the side whose depth is closer, so silhouettes do not
    // bend it; turned towards the camera.
    let right = view_position_at(pixel + vec2<i32>(1, 0)) - p;
    let left = p - view_position_at(pixel - vec2<i32>(1, 0));
    let down = view_position_at(pixel + vec2<i32>(0, 1)) - p;
    let up = p - view_position_at(pixel - vec2<i32>(0, 1));
    let dx = select(left, right, abs(right.z) < abs(left.z));
    let dy = select(up, down, abs(down.z) < abs(up.z));
    var n = normalize(cross(dx, dy));
    if dot(n, -p) < 0.0 {
        n = -n;
    }
    let angle = 2.0 * 3.141592653589793 * noise(frag.xy);
    let random = vec3<f32>(cos(angle), sin(angle), 0.0);
    var tangent = random - n * dot(random, n);
    if dot(tangent, tangent) < 1e-8 {
        tangent = vec3<f32>(0.0, 1.0, 0.0) - n * n.y;
    }
    tangent = normalize(tangent);
    let tbn = mat3x3<f32>(tangent, cross(n, tangent), n);
    let radius = ssao.depth_radius_bias.z;
    let bias = ssao.depth_radius_bias.w;
    let count = u32(ssao.intensity_count_blur.z);
    var occluded = 0.0;
    for (var i = 0u; i < count; i++) {
        let s = p + tbn * ssao.kernel[i].xyz * radius;
        let sample_pixel = vec2<i32>(floor(project(s)));
        let sample_z = view_position_at(sample_pixel).z;
        let range = smoothstep(0.0, 1.0, radius / abs(p.z - sample_z));
        occluded += select(0.0, 1.0, sample_z >= s.z + bias) * range;
    }
    let scaled = (occluded / f32(count) - ssao.intensity_count_blur.y) * ssao.intensity_count_blur.x;
    return vec4<f32>(1.0 - clamp(scaled, 0.0, 1.0));
}

@fragment
fn fs_combine(@builtin(position) frag: vec4<f32>) -> @location(0) vec4<f32> {
    let pixel = vec2<i32>(frag.xy);
    // The background stays as cleared, even beside an occluded edge the blur would reach.
    if depth_at(pixel) >= 1.0 {
        return vec4<f32>(1.0);
    }
    let size = vec2<i32>(textureDimensions(occlusion));
    var ao = textureLoad(occlusion, pixel, 0).r;
    if ssao.intensity_count_blur.w != 0.0 {
        // VTK's 3×3 weights.
        ao = 0.0;
        for (var dy = -1; dy <= 1; dy++) {
            for (var dx = -1; dx <= 1; dx++) {
                let taps = abs(dx) + abs(dy);
                let weight = select(select(0.077847, 0.123317, taps == 1), 0.195346, taps == 0);
                let at = clamp(pixel + vec2<i32>(dx, dy), vec2<i32>(0), size - 1);
                ao += weight * textureLoad(occlusion, at, 0).r;
            }
        }
    }
    return vec4<f32>(vec3<f32>(ao), 1.0);
}
