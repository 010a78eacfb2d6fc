// The scene pass: one vertex stage, one fragment entry point per image kind.
// Vertices arrive in model coordinates; each draw (one instance of a mesh) carries its transforms.

struct Frame {
    // World-space direction the headlight shines in (the camera's optical axis), unit length.
    light_direction: vec4<f32>,
    // Light colour × intensity.
    light_radiance: vec4<f32>,
    // x = min_depth, y = max_depth (depth pass only).
    depth_range: vec4<f32>,
}

struct Draw {
    // Model → clip: Drake's projection (§3.5, wgpu depth range) × view × the instance's transform.
    model_view_proj: mat4x4<f32>,
    // Row 2 of view × model: dot(model_view_z, p) is the view-space z, whose negation is planar depth.
    model_view_z: vec4<f32>,
    // Model → world for normals: the inverse transpose of the instance's linear part.
    normal_matrix: mat3x3<f32>,
    // Linear base colour factor.
    base_color: vec4<f32>,
    // round(base_color × 255) / 255, computed on the CPU so the Unorm write gives the exact byte.
    label_color: vec4<f32>,
    // 1 when a base colour texture is bound: untextured meshes skip sampling, which a software
    // rasteriser pays for per fragment.
    textured: u32,
    // 1 when the transform mirrors: counter-clockwise model faces then arrive clockwise.
    mirrored: u32,
}

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<uniform> draw: Draw;
@group(1) @binding(0) var base_color_texture: texture_2d<f32>;
@group(1) @binding(1) var base_color_sampler: sampler;

struct VertexOutput {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) tex_coord: vec2<f32>,
    @location(2) planar_depth: f32,
}

@vertex
fn vs_main(
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) tex_coord: vec2<f32>,
) -> VertexOutput {
    let model = vec4<f32>(position, 1.0);
    var out: VertexOutput;
    out.clip = draw.model_view_proj * model;
    let world_normal = draw.normal_matrix * normal;
    // Unit at the vertices, as normals computed in the world frame were; +Z if degenerate.
    out.normal = select(vec3<f32>(0.0, 0.0, 1.0), normalize(world_normal), dot(world_normal, world_normal) > 0.0);
    out.tex_coord = tex_coord;
    out.planar_depth = -dot(draw.model_view_z, model);
    return out;
}

// RenderEngineVtk's default look, measured: Lambert diffuse from a directional headlight along the
// optical axis, no ambient, no specular, back faces lit with the flipped normal (two-sided lighting).
fn shade(in: VertexOutput, front_facing: bool) -> vec4<f32> {
    var normal = normalize(in.normal);
    if front_facing == (draw.mirrored != 0u) {
        normal = -normal;
    }
    let lambert = max(dot(normal, -frame.light_direction.xyz), 0.0);
    var base = draw.base_color;
    if draw.textured != 0u {
        base *= textureSampleLevel(base_color_texture, base_color_sampler, in.tex_coord, 0.0);
    }
    return vec4<f32>(base.rgb * frame.light_radiance.rgb * lambert, base.a);
}

@fragment
fn fs_color_opaque(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return vec4<f32>(shade(in, front_facing).rgb, 1.0);
}

@fragment
fn fs_color_blended(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return shade(in, front_facing);
}

@fragment
fn fs_label(in: VertexOutput) -> @location(0) vec4<f32> {
    return draw.label_color;
}

// The planar depth itself, bit for bit, with Drake's sentinels: 0 for too close, +inf for too far.
@fragment
fn fs_depth(in: VertexOutput) -> @location(0) u32 {
    let z = in.planar_depth;
    if z <= frame.depth_range.x {
        return 0u;
    }
    if z >= frame.depth_range.y {
        return 0x7f800000u;
    }
    return bitcast<u32>(z);
}
