// The scene pass: one vertex stage, one fragment entry point per image kind.
// Vertices arrive in model coordinates; each draw (one instance of a mesh) carries its transforms.
// Assembled with shadows.wgsl and environment.wgsl (see pipelines.rs): shadow_factor and the
// environment_* functions come from there. Lighting is done in the world frame: every dot product
// VTK takes in view coordinates is the same there.

const MAX_LIGHTS: u32 = 8u;

// Set per pipeline (pipelines.rs): false when the look has only directional lights and the mesh
// no COLOR_0, so the compiler drops the positional-light code, which a software rasteriser pays
// for per fragment (the default look is 25% cheaper on lavapipe). Pipelines with all three false
// and Phong shading also leave out the interpolants only they would read (vs_plain).
override positional_lights: bool = true;
override vertex_colors: bool = true;
// False unless the look casts shadows: the receiver's map lookups then compile out (the default
// look's colour render stage on lavapipe: 16.5 ms with them compiled in, 11 ms without).
override cast_shadows: bool = true;
// False unless the look has an environment map: PBR's image-based lighting then compiles out.
// Without a map its lookups return 0, but lavapipe (llvmpipe's SIMD lanes run both sides of a
// branch under a mask) would still sample the three maps per fragment.
override environment_lighting: bool = true;
// False for a draw whose material binds no texture: every sampling branch compiles out, for the
// same reason (a uniform `draw.textures` bit does not spare lavapipe the samples).
override textured: bool = true;
// The look's light count: a constant loop bound lets the compiler unroll the light loop and
// index the lights statically (with the default look's one light, about 1 ms less rasterising
// per 640×480 image on lavapipe than a bound read from the frame uniform).
override light_count: u32 = 1u;

fn received(light: u32, p: vec3<f32>) -> f32 {
    if cast_shadows {
        return shadow_factor(light, p);
    }
    return 1.0;
}

// One light, resolved into the world for this frame (render/look.rs, vtk-effects.md §1).
struct Light {
    // xyz: position; w: 1 for positional lights (point, spot), 0 for directional ones.
    position: vec4<f32>,
    // xyz: unit direction the light shines in; w: cos(cone half-angle), or -2 without a cone.
    direction: vec4<f32>,
    // rgb: colour × intensity (VTK's lightColor).
    color: vec4<f32>,
    // xyz: constant, linear and quadratic attenuation (positional lights).
    attenuation: vec4<f32>,
}

struct Frame {
    // xyz: the camera's position in the world (the view vector of PBR).
    camera_position: vec4<f32>,
    // x = min_depth, y = max_depth (depth pass only).
    depth_range: vec4<f32>,
    lights: array<Light, MAX_LIGHTS>,
}

struct Draw {
    // Model → clip: Drake's projection (§3.5, wgpu depth range) × view × the instance's transform.
    model_view_proj: mat4x4<f32>,
    // Model → world: positional lights and the view vector need world positions.
    model: mat4x4<f32>,
    // Row 2 of view × model: dot(model_view_z, p) is the view-space z, whose negation is planar depth.
    model_view_z: vec4<f32>,
    // Model → world for normals: the inverse transpose of the instance's linear part.
    normal_matrix: mat3x3<f32>,
    // Linear base colour factor.
    base_color: vec4<f32>,
    // round(base_color × 255) / 255, computed on the CPU so the Unorm write gives the exact byte.
    label_color: vec4<f32>,
    // PBR: x = metallic, y = roughness, z = normal scale, w = occlusion strength.
    pbr: vec4<f32>,
    // rgb: emissive factor (PBR); w: alpha cutoff of alphaMode MASK.
    emissive: vec4<f32>,
    // Per material texture kind (see TEXTURE_*), the two rows of its KHR_texture_transform.
    uv_transforms: array<vec4<f32>, 10>,
    // Bit i: texture kind i is bound. Untextured materials skip sampling, which a software
    // rasteriser pays for per fragment.
    textures: u32,
    // 1 when the transform mirrors: counter-clockwise model faces then arrive clockwise.
    mirrored: u32,
}

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<uniform> draw: Draw;
// The material's textures (white where it has none), in TEXTURE_* order.
@group(1) @binding(0) var base_color_texture: texture_2d<f32>;
@group(1) @binding(1) var base_color_sampler: sampler;
@group(1) @binding(2) var metallic_roughness_texture: texture_2d<f32>;
@group(1) @binding(3) var metallic_roughness_sampler: sampler;
@group(1) @binding(4) var normal_texture: texture_2d<f32>;
@group(1) @binding(5) var normal_sampler: sampler;
@group(1) @binding(6) var occlusion_texture: texture_2d<f32>;
@group(1) @binding(7) var occlusion_sampler: sampler;
@group(1) @binding(8) var emissive_texture: texture_2d<f32>;
@group(1) @binding(9) var emissive_sampler: sampler;

const TEXTURE_BASE_COLOR: u32 = 0u;
const TEXTURE_METALLIC_ROUGHNESS: u32 = 1u;
const TEXTURE_NORMAL: u32 = 2u;
const TEXTURE_OCCLUSION: u32 = 3u;
const TEXTURE_EMISSIVE: u32 = 4u;

fn has_texture(kind: u32) -> bool {
    return textured && (draw.textures & (1u << kind)) != 0u;
}

// TEXCOORD_0 through texture `kind`'s transform.
fn uv(in: VertexOutput, kind: u32) -> vec2<f32> {
    let p = vec3<f32>(in.tex_coord, 1.0);
    return vec2<f32>(dot(draw.uv_transforms[2u * kind].xyz, p), dot(draw.uv_transforms[2u * kind + 1u].xyz, p));
}
// Group 2 ("look resources": shadow maps, environment textures) is declared by shadows.wgsl and
// environment.wgsl.

struct VertexOutput {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) tex_coord: vec2<f32>,
    @location(2) planar_depth: f32,
    @location(3) world_position: vec3<f32>,
    // COLOR_0 (white without one): it replaces the base colour factor, as in VTK.
    @location(4) color: vec4<f32>,
}

// What the default look, depth and label read: no world position (only positional lights,
// shadows and PBR need it) and no vertex colour. A software rasteriser sets up and interpolates
// every output the vertex stage writes, used or not: the two left out cost the default look's
// 640×480 colour image about 1 ms of lavapipe's rasterising.
struct PlainVertexOutput {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) tex_coord: vec2<f32>,
    @location(2) planar_depth: f32,
}

struct VertexInput {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) tex_coord: vec2<f32>,
    @location(3) color: vec4<f32>,
}

@vertex
fn vs_main(vertex: VertexInput) -> VertexOutput {
    let plain = plain_vertex(vertex);
    let world_position = (draw.model * vec4<f32>(vertex.position, 1.0)).xyz;
    return VertexOutput(plain.clip, plain.normal, plain.tex_coord, plain.planar_depth, world_position, vertex.color);
}

@vertex
fn vs_plain(vertex: VertexInput) -> PlainVertexOutput {
    return plain_vertex(vertex);
}

fn plain_vertex(vertex: VertexInput) -> PlainVertexOutput {
    let model = vec4<f32>(vertex.position, 1.0);
    var out: PlainVertexOutput;
    out.clip = draw.model_view_proj * model;
    let world_normal = draw.normal_matrix * vertex.normal;
    // Unit at the vertices, as normals computed in the world frame were; +Z if degenerate.
    out.normal = select(vec3<f32>(0.0, 0.0, 1.0), normalize(world_normal), dot(world_normal, world_normal) > 0.0);
    out.tex_coord = vertex.tex_coord;
    out.planar_depth = -dot(draw.model_view_z, model);
    return out;
}

// The plain output as the shading functions take it; pipelines that use it compile out every
// read of the two stand-ins (positional_lights, vertex_colors and cast_shadows are false).
fn widened(in: PlainVertexOutput) -> VertexOutput {
    return VertexOutput(in.clip, in.normal, in.tex_coord, in.planar_depth, vec3<f32>(0.0), vec4<f32>(1.0));
}

// The unit vector light `i` travels along to reach `p`, and its attenuation there (VTK's
// positional case: 1/(k0 + k1·d + k2·d²), times cos from the axis inside a hard spot cone with
// exponent 1, 0 outside). Directional lights: their direction, attenuation 1.
struct Incidence {
    l: vec3<f32>,
    attenuation: f32,
}

fn incidence(light: Light, p: vec3<f32>) -> Incidence {
    if !positional_lights || light.position.w == 0.0 {
        return Incidence(light.direction.xyz, 1.0);
    }
    let to_p = p - light.position.xyz;
    let distance = length(to_p);
    let l = to_p / distance;
    let k = light.attenuation.xyz;
    var attenuation = 1.0 / (k.x + k.y * distance + k.z * distance * distance);
    if light.direction.w > -1.5 {
        let c = dot(l, light.direction.xyz);
        attenuation *= select(0.0, c, c >= light.direction.w);
    }
    return Incidence(l, attenuation);
}

// The normal facing the viewer's side: back faces are lit with the flipped normal (VTK's
// two-sided lighting).
fn facing_normal(in: VertexOutput, front_facing: bool) -> vec3<f32> {
    var normal = normalize(in.normal);
    if front_facing == (draw.mirrored != 0u) {
        normal = -normal;
    }
    return normal;
}

fn base_color(in: VertexOutput) -> vec4<f32> {
    var base = draw.base_color;
    if vertex_colors {
        // VTK maps COLOR_0 as scalars, which replace the material's colour (measured: the
        // factor made no difference), keeping its opacity.
        base = vec4<f32>(in.color.rgb, base.a * in.color.a);
    }
    if has_texture(TEXTURE_BASE_COLOR) {
        base *= textureSampleLevel(base_color_texture, base_color_sampler, uv(in, TEXTURE_BASE_COLOR), 0.0);
    }
    return base;
}

// RenderEngineVtk's Phong path (vtk-effects.md §2), measured: Lambert diffuse from every light, no
// ambient, no specular, no gamma; the texel multiplies the diffuse colour undecoded.
fn shade_phong(in: VertexOutput, front_facing: bool) -> vec4<f32> {
    let normal = facing_normal(in, front_facing);
    var lit = vec3<f32>(0.0);
    for (var i = 0u; i < light_count; i++) {
        let light = frame.lights[i];
        let incoming = incidence(light, in.world_position);
        let diffuse = max(0.0, incoming.attenuation * dot(normal, -incoming.l));
        lit += diffuse * received(i, in.world_position) * light.color.rgb;
    }
    let base = base_color(in);
    return vec4<f32>(base.rgb * lit, base.a);
}

// The sRGB transfer function's inverse: PBR reads colour textures as sRGB (VTK promotes them to
// sRGB textures), Phong reads their bytes as they are.
fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    return select(pow((c + 0.055) / 1.055, vec3<f32>(2.4)), c / 12.92, c <= vec3<f32>(0.04045));
}

const PI: f32 = 3.14159265358979;

// RenderEngineVtk's PBR path (vtk-effects.md §3): VTK's BRDF with Drake's two patches (roughness
// remapped to 0.95·r + 0.05 for direct lights; multi-scattering image-based lighting), then a
// plain 2.2 gamma. Returns linear colour before gamma, and the opacity.
fn shade_pbr(in: VertexOutput, front_facing: bool) -> vec4<f32> {
    // Screen-space derivatives first, in uniform control flow, for the normal map's frame.
    let dp_dx = dpdx(in.world_position);
    let dp_dy = dpdy(in.world_position);
    let normal_uv = uv(in, TEXTURE_NORMAL);
    let duv_dx = dpdx(normal_uv);
    let duv_dy = dpdy(normal_uv);

    var n = facing_normal(in, front_facing);
    if has_texture(TEXTURE_NORMAL) {
        let texel = textureSampleLevel(normal_texture, normal_sampler, normal_uv, 0.0).xyz;
        let tangent_normal = (texel * 2.0 - 1.0) * vec3<f32>(draw.pbr.z, draw.pbr.z, 1.0);
        n = perturbed_normal(n, dp_dx, dp_dy, duv_dx, duv_dy, tangent_normal);
    }
    let v = normalize(frame.camera_position.xyz - in.world_position);
    var base = draw.base_color;
    if vertex_colors {
        // VTK maps COLOR_0 as scalars, which replace the material's colour (measured: the
        // factor made no difference), keeping its opacity.
        base = vec4<f32>(in.color.rgb, base.a * in.color.a);
    }
    if has_texture(TEXTURE_BASE_COLOR) {
        let texel = textureSampleLevel(base_color_texture, base_color_sampler, uv(in, TEXTURE_BASE_COLOR), 0.0);
        base *= vec4<f32>(srgb_to_linear(texel.rgb), texel.a);
    }
    let albedo = base.rgb;
    var metallic = draw.pbr.x;
    var roughness = draw.pbr.y;
    if has_texture(TEXTURE_METALLIC_ROUGHNESS) {
        let texel = textureSampleLevel(metallic_roughness_texture, metallic_roughness_sampler, uv(in, TEXTURE_METALLIC_ROUGHNESS), 0.0);
        roughness *= texel.g;
        metallic *= texel.b;
    }
    let n_dot_v = clamp(dot(n, v), 1e-5, 1.0);
    let f0 = mix(vec3<f32>(0.04), albedo, metallic);
    let f90 = mix(vec3<f32>(clamp(dot(f0, vec3<f32>(16.5)), 0.0, 1.0)), vec3<f32>(1.0), metallic);

    // Direct lights.
    let r = 0.95 * roughness + 0.05;
    let alpha = r * r;
    let alpha2 = alpha * alpha;
    var lo = vec3<f32>(0.0);
    for (var i = 0u; i < light_count; i++) {
        let light = frame.lights[i];
        let incoming = incidence(light, in.world_position);
        let l = -incoming.l;
        let h = normalize(v + l);
        let n_dot_l = clamp(dot(n, l), 1e-5, 1.0);
        let n_dot_h = clamp(dot(n, h), 1e-5, 1.0);
        let h_dot_l = clamp(dot(h, l), 1e-5, 1.0);
        let radiance = light.color.rgb * received(i, in.world_position) * incoming.attenuation;
        let d_denominator = (n_dot_h * alpha2 - n_dot_h) * n_dot_h + 1.0;
        let distribution = alpha2 / (PI * d_denominator * d_denominator);
        // VTK's k is alpha itself (not alpha²).
        let k = alpha;
        let visibility = 0.5 / (n_dot_l * sqrt(k + n_dot_v * (n_dot_v - k * n_dot_v))
            + n_dot_v * sqrt(k + n_dot_l * (n_dot_l - k * n_dot_l)));
        let fresnel = f0 + (f90 - f0) * pow(1.0 - h_dot_l, 5.0);
        let diffuse = (1.0 - metallic) * (1.0 - fresnel) * albedo / PI;
        lo += radiance * (diffuse + distribution * visibility * fresnel) * n_dot_l;
    }

    // Image-based lighting (zero without an environment map, so left out).
    var colour = vec3<f32>(0.0);
    if environment_lighting {
        let brdf = environment_brdf(n_dot_v, roughness);
        let irradiance = environment_irradiance(n);
        let prefiltered = environment_prefiltered(reflect(-v, n), roughness);
        let fss_ess = (f0 + (max(vec3<f32>(1.0 - roughness), f0) - f0) * pow(1.0 - n_dot_v, 5.0)) * brdf.x
            + f90 * brdf.y;
        let ems = 1.0 - brdf.x - brdf.y;
        let f_avg = f0 + (1.0 - f0) / 21.0;
        let fms_ems = ems * fss_ess * f_avg / (1.0 - f_avg * ems);
        let k_d = (1.0 - metallic) * (1.0 - 0.04) * albedo * (1.0 - fss_ess - fms_ems);
        colour = (fms_ems + k_d) * irradiance + fss_ess * prefiltered;
    }

    colour += lo;
    if has_texture(TEXTURE_OCCLUSION) {
        let ao = textureSampleLevel(occlusion_texture, occlusion_sampler, uv(in, TEXTURE_OCCLUSION), 0.0).r;
        colour = mix(colour, colour * ao, draw.pbr.w);
    }
    var emissive = draw.emissive.rgb;
    if has_texture(TEXTURE_EMISSIVE) {
        let texel = textureSampleLevel(emissive_texture, emissive_sampler, uv(in, TEXTURE_EMISSIVE), 0.0);
        emissive *= srgb_to_linear(texel.rgb);
    }
    colour += emissive;
    return vec4<f32>(colour, base.a);
}

// The normal map's tangent-space normal in the world, with a tangent frame from screen-space
// derivatives of position and UV (no MikkTSpace tangents: glTF files rarely carry TANGENT, and
// VTK computes none either); after Schüler, "Normal mapping without precomputed tangents".
fn perturbed_normal(
    n: vec3<f32>,
    dp_dx: vec3<f32>,
    dp_dy: vec3<f32>,
    duv_dx: vec2<f32>,
    duv_dy: vec2<f32>,
    tangent_normal: vec3<f32>,
) -> vec3<f32> {
    let dp_dy_perp = cross(dp_dy, n);
    let dp_dx_perp = cross(n, dp_dx);
    let t = dp_dy_perp * duv_dx.x + dp_dx_perp * duv_dy.x;
    let b = dp_dy_perp * duv_dx.y + dp_dx_perp * duv_dy.y;
    let scale = max(dot(t, t), dot(b, b));
    if scale <= 0.0 {
        return n;
    }
    // t and b are the in-plane gradients of u and v times n·(dp_dx × dp_dy), which is negative
    // for any surface facing the viewer with wgpu's downward framebuffer y (mirrored UVs flip
    // the gradients themselves, so they need nothing). So −t points along +u and −b along +v.
    // Green along +v (down the image) is what RenderEngineVtk draws: measured against pydrake,
    // a map tilted toward +green shaded as ours tilted toward −green did before this sign.
    let frame = mat3x3<f32>(-t * inverseSqrt(scale), -b * inverseSqrt(scale), n);
    return normalize(frame * tangent_normal);
}

// VTK's gamma: out = colour^(1/2.2) (not the sRGB curve).
fn gamma(colour: vec3<f32>) -> vec3<f32> {
    return pow(max(colour, vec3<f32>(0.0)), vec3<f32>(1.0 / 2.2));
}

// alphaMode MASK: fragments below the cutoff are not drawn, the rest are opaque.
fn mask(alpha: f32) {
    if alpha < draw.emissive.w {
        discard;
    }
}

fn phong_opaque(in: VertexOutput, front_facing: bool) -> vec4<f32> {
    return vec4<f32>(shade_phong(in, front_facing).rgb, 1.0);
}

fn phong_masked(in: VertexOutput, front_facing: bool) -> vec4<f32> {
    let colour = shade_phong(in, front_facing);
    mask(colour.a);
    return vec4<f32>(colour.rgb, 1.0);
}

@fragment
fn fs_phong_opaque(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return phong_opaque(in, front_facing);
}

@fragment
fn fs_phong_masked(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return phong_masked(in, front_facing);
}

@fragment
fn fs_phong_blended(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return shade_phong(in, front_facing);
}

@fragment
fn fs_phong_plain_opaque(in: PlainVertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return phong_opaque(widened(in), front_facing);
}

@fragment
fn fs_phong_plain_masked(in: PlainVertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return phong_masked(widened(in), front_facing);
}

@fragment
fn fs_phong_plain_blended(in: PlainVertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return shade_phong(widened(in), front_facing);
}

@fragment
fn fs_pbr_opaque(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    return vec4<f32>(gamma(shade_pbr(in, front_facing).rgb), 1.0);
}

@fragment
fn fs_pbr_masked(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    let colour = shade_pbr(in, front_facing);
    mask(colour.a);
    return vec4<f32>(gamma(colour.rgb), 1.0);
}

@fragment
fn fs_pbr_blended(in: VertexOutput, @builtin(front_facing) front_facing: bool) -> @location(0) vec4<f32> {
    let colour = shade_pbr(in, front_facing);
    return vec4<f32>(gamma(colour.rgb), colour.a);
}

@fragment
fn fs_label(in: PlainVertexOutput) -> @location(0) vec4<f32> {
    return draw.label_color;
}

// The planar depth itself, bit for bit, with Drake's sentinels: 0 for too close, +inf for too far.
@fragment
fn fs_depth(in: PlainVertexOutput) -> @location(0) u32 {
    let z = in.planar_depth;
    if z <= frame.depth_range.x {
        return 0u;
    }
    if z >= frame.depth_range.y {
        return 0x7f800000u;
    }
    return bitcast<u32>(z);
}
