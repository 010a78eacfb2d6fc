// Colour images' anti-aliasing, as RenderEngineVtk does it: classic FXAA (PC, 9 fetches) over the
// single-sample scene, drawn as one fullscreen triangle. The scene texture is sampled at pixel
// centres, so where the four diagonal neighbours and the centre share one colour the direction is
// zero, every fetch lands on the centre texel and the pixel comes out byte for byte unchanged.

@group(0) @binding(0) var scene_colour: texture_2d<f32>;
@group(0) @binding(1) var scene_sampler: sampler;

// Lottes' constants: the smallest direction reduction (so flat, dark regions do not get huge
// spans), its share of the local luma, and the longest span in pixels.
const REDUCE_MIN: f32 = 1.0 / 128.0;
const REDUCE_MUL: f32 = 1.0 / 8.0;
const SPAN_MAX: f32 = 8.0;
const LUMA: vec3<f32> = vec3<f32>(0.299, 0.587, 0.114);

@vertex
fn vs_fullscreen(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // (-1,-1), (3,-1), (-1,3): one triangle covering the whole viewport.
    let corner = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    return vec4<f32>(corner * 2.0 - 1.0, 0.0, 1.0);
}

// `position` in pixels (a pixel's centre is at +0.5), clamped to the edge by the sampler.
fn fetch(position: vec2<f32>, texel: vec2<f32>) -> vec4<f32> {
    return textureSampleLevel(scene_colour, scene_sampler, position * texel, 0.0);
}

@fragment
fn fs_fxaa(@builtin(position) frag_coord: vec4<f32>) -> @location(0) vec4<f32> {
    let texel = 1.0 / vec2<f32>(textureDimensions(scene_colour));
    let centre = frag_coord.xy;
    let rgba_m = fetch(centre, texel);
    let luma_nw = dot(fetch(centre + vec2<f32>(-1.0, -1.0), texel).rgb, LUMA);
    let luma_ne = dot(fetch(centre + vec2<f32>(1.0, -1.0), texel).rgb, LUMA);
    let luma_sw = dot(fetch(centre + vec2<f32>(-1.0, 1.0), texel).rgb, LUMA);
    let luma_se = dot(fetch(centre + vec2<f32>(1.0, 1.0), texel).rgb, LUMA);
    let luma_m = dot(rgba_m.rgb, LUMA);
    let luma_min = min(luma_m, min(min(luma_nw, luma_ne), min(luma_sw, luma_se)));
    let luma_max = max(luma_m, max(max(luma_nw, luma_ne), max(luma_sw, luma_se)));

    // Along the edge: perpendicular to the luma gradient.
    var direction = vec2<f32>(
        -((luma_nw + luma_ne) - (luma_sw + luma_se)),
        (luma_nw + luma_sw) - (luma_ne + luma_se),
    );
    let reduce = max((luma_nw + luma_ne + luma_sw + luma_se) * (0.25 * REDUCE_MUL), REDUCE_MIN);
    let scale = 1.0 / (min(abs(direction.x), abs(direction.y)) + reduce);
    direction = clamp(direction * scale, vec2<f32>(-SPAN_MAX), vec2<f32>(SPAN_MAX));

    let rgb_a = 0.5 * (fetch(centre + direction * (1.0 / 3.0 - 0.5), texel).rgb
        + fetch(centre + direction * (2.0 / 3.0 - 0.5), texel).rgb);
    let rgb_b = rgb_a * 0.5 + 0.25 * (fetch(centre - direction * 0.5, texel).rgb
        + fetch(centre + direction * 0.5, texel).rgb);
    let luma_b = dot(rgb_b, LUMA);
    // The wider blend overshot the neighbourhood's range: it crossed another edge, use the narrow one.
    if luma_b < luma_min || luma_b > luma_max {
        return vec4<f32>(rgb_a, rgba_m.a);
    }
    return vec4<f32>(rgb_b, rgba_m.a);
}
