// Colour images' anti-aliasing, drawn as one fullscreen triangle over the single-sample scene.
//
// RenderEngineVtk anti-aliases with VTK's FXAA filter (vtkOpenGLFXAAFilter, Lottes' FXAA 3.11
// structure, vtkFXAAOptions' defaults, VTK's "high quality" endpoint search); this pass follows
// the same steps with the same constants so edges come out as VTK's do:
// 1. a pixel whose cross (N, S, W, E and itself) has little luma contrast is left untouched, so
//    flat regions and gentle shading stay byte for byte as rendered;
// 2. a pixel that stands out from its neighbours is blended toward its 3×3 mean (sub-pixel AA);
// 3. the edge through the pixel is classified horizontal or vertical, followed both ways to its
//    ends, and the pixel is resampled part of the way across the edge by how near it is to the
//    end where the edge steps (edge AA).
// Whole pixels are loaded exactly (clamped to the image, so its border is no edge); only the edge
// resample, which lands between two pixels, goes through the linear sampler.

@group(0) @binding(0) var scene_colour: texture_2d<f32>;
@group(0) @binding(1) var scene_sampler: sampler;

// Least luma contrast worth anti-aliasing, relative to the brightest pixel of the cross...
const RELATIVE_CONTRAST_THRESHOLD: f32 = 1.0 / 8.0;
// ...and absolute, for dark regions.
const HARD_CONTRAST_THRESHOLD: f32 = 1.0 / 16.0;
// Most a pixel is blended toward its 3×3 mean.
const SUBPIXEL_BLEND_LIMIT: f32 = 3.0 / 4.0;
// Sub-pixel contrast (a share of the cross's range) below which no such blend happens.
const SUBPIXEL_CONTRAST_THRESHOLD: f32 = 1.0 / 4.0;
// Pixels walked each way along an edge looking for its end.
const ENDPOINT_SEARCH_STEPS: i32 = 12;
const LUMA: vec3<f32> = vec3<f32>(0.299, 0.587, 0.114);

fn fetch(pixel: vec2<i32>) -> vec4<f32> {
    let last = vec2<i32>(textureDimensions(scene_colour)) - 1;
    return textureLoad(scene_colour, clamp(pixel, vec2<i32>(0), last), 0);
}

fn luma_of(rgb: vec3<f32>) -> f32 {
    return dot(rgb, LUMA);
}

fn luma_at(pixel: vec2<i32>) -> f32 {
    return luma_of(fetch(pixel).rgb);
}

@fragment
fn fs_fxaa(@builtin(position) frag_coord: vec4<f32>) -> @location(0) vec4<f32> {
    let c = vec2<i32>(frag_coord.xy);
    let centre = fetch(c);
    let rgb_n = fetch(c + vec2<i32>(0, -1)).rgb;
    let rgb_s = fetch(c + vec2<i32>(0, 1)).rgb;
    let rgb_w = fetch(c + vec2<i32>(-1, 0)).rgb;
    let rgb_e = fetch(c + vec2<i32>(1, 0)).rgb;
    let luma_c = luma_of(centre.rgb);
    let luma_n = luma_of(rgb_n);
    let luma_s = luma_of(rgb_s);
    let luma_w = luma_of(rgb_w);
    let luma_e = luma_of(rgb_e);
    let luma_max = max(luma_c, max(max(luma_n, luma_s), max(luma_w, luma_e)));
    let luma_min = min(luma_c, min(min(luma_n, luma_s), min(luma_w, luma_e)));
    let range = luma_max - luma_min;
    if range < max(HARD_CONTRAST_THRESHOLD, RELATIVE_CONTRAST_THRESHOLD * luma_max) {
        return centre;
    }

    let rgb_nw = fetch(c + vec2<i32>(-1, -1)).rgb;
    let rgb_ne = fetch(c + vec2<i32>(1, -1)).rgb;
    let rgb_sw = fetch(c + vec2<i32>(-1, 1)).rgb;
    let rgb_se = fetch(c + vec2<i32>(1, 1)).rgb;
    let luma_nw = luma_of(rgb_nw);
    let luma_ne = luma_of(rgb_ne);
    let luma_sw = luma_of(rgb_sw);
    let luma_se = luma_of(rgb_se);

    // Sub-pixel aliasing: how far the pixel stands out from the mean of its cross.
    let subpixel_contrast = abs(0.25 * (luma_n + luma_s + luma_w + luma_e) - luma_c) / range;
    let subpixel_blend = min(
        SUBPIXEL_BLEND_LIMIT,
        max(0.0, subpixel_contrast - SUBPIXEL_CONTRAST_THRESHOLD) / (1.0 - SUBPIXEL_CONTRAST_THRESHOLD),
    );
    let rgb_mean = (rgb_nw + rgb_n + rgb_ne + rgb_w + centre.rgb + rgb_e + rgb_sw + rgb_s + rgb_se) / 9.0;

    // Second differences across rows and across columns, the middle weighted twice: the larger
    // says which way the edge runs.
    let across_columns = abs(luma_nw + luma_ne - 2.0 * luma_n) + 2.0 * abs(luma_w + luma_e - 2.0 * luma_c)
        + abs(luma_sw + luma_se - 2.0 * luma_s);
    let across_rows = abs(luma_nw + luma_sw - 2.0 * luma_w) + 2.0 * abs(luma_n + luma_s - 2.0 * luma_c)
        + abs(luma_ne + luma_se - 2.0 * luma_e);
    let horizontal = across_rows >= across_columns;

    // `across` steps from the pixel to its neighbour on the other side of the edge (the one of the
    // two that contrasts more), `along` steps along the edge.
    var across = vec2<i32>(-1, 0);
    var along = vec2<i32>(0, 1);
    var luma_other = luma_w;
    var luma_opposite = luma_e;
    if horizontal {
        across = vec2<i32>(0, -1);
        along = vec2<i32>(1, 0);
        luma_other = luma_n;
        luma_opposite = luma_s;
    }
    if abs(luma_c - luma_other) < abs(luma_c - luma_opposite) {
        luma_other = luma_opposite;
        across = -across;
    }

    // Walk both ways along the pixel's row and the other side's row until a sample on either looks
    // more like the opposite side: that is where the edge steps.
    var distance_negative = 1;
    var distance_positive = 1;
    var luma_negative = luma_c;
    var luma_positive = luma_c;
    var done_negative = false;
    var done_positive = false;
    for (var step = 0; step < ENDPOINT_SEARCH_STEPS; step++) {
        if !done_negative {
            let here = c - along * distance_negative;
            luma_negative = luma_at(here);
            let there = luma_at(here + across);
            done_negative = abs(there - luma_other) > abs(there - luma_c)
                || abs(luma_negative - luma_c) > abs(luma_negative - luma_other);
        }
        if !done_positive {
            let here = c + along * distance_positive;
            luma_positive = luma_at(here);
            let there = luma_at(here + across);
            done_positive = abs(there - luma_other) > abs(there - luma_c)
                || abs(luma_positive - luma_c) > abs(luma_positive - luma_other);
        }
        if done_negative && done_positive {
            break;
        }
        if !done_negative {
            distance_negative += 1;
        }
        if !done_positive {
            distance_positive += 1;
        }
    }

    // Resample across the edge only when the nearer end is where the pixel's own row turns into
    // the other side, by half a pixel at that end fading to none mid-span.
    let negative_is_nearer = distance_negative < distance_positive;
    let luma_nearer = select(luma_positive, luma_negative, negative_is_nearer);
    var rgb_edge = centre.rgb;
    if abs(luma_nearer - luma_other) < abs(luma_nearer - luma_c) {
        let nearest = f32(min(distance_negative, distance_positive));
        let offset = 0.5 - nearest / f32(distance_negative + distance_positive);
        let position = frag_coord.xy + vec2<f32>(across) * offset;
        let size = vec2<f32>(textureDimensions(scene_colour));
        rgb_edge = textureSampleLevel(scene_colour, scene_sampler, position / size, 0.0).rgb;
    }
    return vec4<f32>(mix(rgb_edge, rgb_mean, subpixel_blend), centre.a);
}
