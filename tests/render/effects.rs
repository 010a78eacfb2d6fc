//! Shadows and environment maps (vtk-effects.md §5–§6) against the pixel values measured with
//! pydrake 1.51.1, on the doc's scenes: a plate whose top is the plane z = 0 seen from 3 m above
//! (64×64, 60° vertical field of view; image right = +x, image down = −y).

use std::path::{Path, PathBuf};

use glam::{DMat3, DMat4, DVec3};
use gltf_cloud::protocol::drake::vtk_params::{
    EnvironmentMap, EnvironmentTexture, LightFrame, LightKind, LightParameter, VtkParams,
};
use gltf_cloud::render::{Image, ImageKind, Look, Renderer};
use gltf_cloud::scene::camera::Intrinsics;
use gltf_cloud::scene::{CameraNode, Scene};

use super::{cuboid, gpu, material, pixel_of, rgba_at, scene, Part};
use crate::common;

fn intrinsics() -> Intrinsics {
    Intrinsics::from_fov_y(64, 64, 60f64.to_radians(), 0.01, 100.0)
}

fn overhead_camera() -> Option<CameraNode> {
    Some(CameraNode {
        camera_to_world: DMat4::from_translation(DVec3::new(0.0, 0.0, 3.0)),
        znear: 0.01,
        zfar: Some(100.0),
    })
}

fn gray(value: f32) -> gltf_cloud::scene::Material {
    material([value, value, value, 1.0])
}

/// A 4×4 m plate (top at z = 0) of diffuse 0.8, with a 0.5 m cube standing on its centre.
fn plate_and_cube() -> Scene {
    Scene {
        camera: overhead_camera(),
        ..scene(vec![plate(4.0), cube()])
    }
}

fn plate(side: f64) -> Part {
    cuboid(
        DVec3::new(0.0, 0.0, -0.05),
        DVec3::new(side / 2.0, side / 2.0, 0.05),
        DMat3::IDENTITY,
        gray(0.8),
    )
}

fn cube() -> Part {
    cuboid(
        DVec3::new(0.0, 0.0, 0.25),
        DVec3::splat(0.25),
        DMat3::IDENTITY,
        gray(0.8),
    )
}

/// The pixel that sees world point `p` from the overhead camera.
fn pixel(p: DVec3) -> (u32, u32) {
    pixel_of(&intrinsics(), DVec3::new(p.x, -p.y, 3.0 - p.z))
}

fn render(params: &VtkParams, scene: &Scene, kind: ImageKind) -> Image {
    let gpu = gpu();
    let look = Look::from_params(params, &gpu).expect("a valid look");
    Renderer::new(gpu)
        .render(scene, &look, &intrinsics(), kind)
        .expect("an image")
}

fn colour_at(image: &Image, p: DVec3) -> [u8; 3] {
    let (u, v) = pixel(p);
    let [r, g, b, _] = rgba_at(image, u, v);
    [r, g, b]
}

fn shadows(lights: Vec<LightParameter>) -> VtkParams {
    VtkParams {
        lights,
        cast_shadows: true,
        ..VtkParams::default()
    }
}

/// A world light 45° off the vertical towards −x: the cube's shadow falls on +x.
fn light_at_45() -> LightParameter {
    let angle = 45f64.to_radians();
    LightParameter {
        kind: LightKind::Directional,
        frame: LightFrame::World,
        direction: [angle.sin(), 0.0, -angle.cos()],
        ..LightParameter::default()
    }
}

#[test]
fn a_cube_casts_a_black_shadow_beside_a_plane_lit_at_45_degrees() {
    common::require_adapter!();
    let image = render(
        &shadows(vec![light_at_45()]),
        &plate_and_cube(),
        ImageKind::Color,
    );
    // vtk-effects.md §5: shadow 0, lit plane 144 (0.8·cos 45°·255).
    for x in [0.4, 0.5, 0.6] {
        for y in [-0.15, 0.0, 0.15] {
            let p = DVec3::new(x, y, 0.0);
            assert_eq!(colour_at(&image, p), [0; 3], "in the shadow at {p}");
        }
    }
    for p in [
        DVec3::new(-1.0, 0.5, 0.0),
        DVec3::new(1.5, 1.0, 0.0),
        DVec3::new(0.5, 0.6, 0.0),
    ] {
        assert_eq!(colour_at(&image, p), [144; 3], "lit plane at {p}");
    }
    // The cube's top is lit too.
    assert_eq!(colour_at(&image, DVec3::new(0.0, 0.0, 0.5)), [144; 3]);
    // Without cast_shadows the same pixel is lit.
    let unshadowed = render(
        &VtkParams {
            cast_shadows: false,
            ..shadows(vec![light_at_45()])
        },
        &plate_and_cube(),
        ImageKind::Color,
    );
    assert_eq!(colour_at(&unshadowed, DVec3::new(0.5, 0.0, 0.0)), [144; 3]);
}

#[test]
fn spot_lights_and_pbr_surfaces_are_shadowed_too() {
    common::require_adapter!();
    // vtk-effects.md §5: a spot (cone < 90°) casts; the PBR path's shadow is also 0.
    let spot = LightParameter {
        kind: LightKind::Spot,
        frame: LightFrame::World,
        position: [-1.5, 0.0, 1.5],
        direction: [1.0, 0.0, -1.0],
        cone_angle: 60.0,
        ..LightParameter::default()
    };
    let image = render(&shadows(vec![spot]), &plate_and_cube(), ImageKind::Color);
    assert_eq!(colour_at(&image, DVec3::new(0.5, 0.0, 0.0)), [0; 3]);
    assert!(colour_at(&image, DVec3::new(-0.5, 0.5, 0.0))[0] > 50);
    let pbr = VtkParams {
        force_to_pbr: true,
        ..shadows(vec![light_at_45()])
    };
    let image = render(&pbr, &plate_and_cube(), ImageKind::Color);
    assert_eq!(colour_at(&image, DVec3::new(0.5, 0.0, 0.0)), [0; 3]);
    assert!(colour_at(&image, DVec3::new(-1.0, 0.5, 0.0))[0] > 100);
}

#[test]
fn point_lights_cast_no_shadow() {
    common::require_adapter!();
    let point = LightParameter {
        kind: LightKind::Point,
        frame: LightFrame::World,
        position: [-1.0, 0.0, 1.0],
        ..LightParameter::default()
    };
    let image = render(&shadows(vec![point]), &plate_and_cube(), ImageKind::Color);
    // Behind the cube as seen from the light: Lambert at distance |(1.5, 0.1, −1)| = 1.806,
    // cos = 1/1.806, so 0.8·0.5537·255 = 113.
    let behind = colour_at(&image, DVec3::new(0.5, 0.1, 0.0));
    assert!(behind.iter().all(|&c| c.abs_diff(113) <= 1), "{behind:?}");
}

#[test]
fn shadows_leave_depth_and_label_images_unchanged() {
    common::require_adapter!();
    let scene = plate_and_cube();
    let kinds = [
        ImageKind::Label,
        ImageKind::Depth {
            min_depth: 0.01,
            max_depth: 10.0,
        },
    ];
    for kind in kinds {
        let plain = render(&VtkParams::default(), &scene, kind);
        let shadowed = render(&shadows(vec![light_at_45()]), &scene, kind);
        assert!(plain == shadowed, "{kind:?} changed with cast_shadows");
    }
}

/// An 8-bit RGB PNG.
fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rgb).unwrap();
    writer.finish().unwrap();
    bytes
}

/// A flat 64×32 Radiance file of one RGBE value, as the doc's measurements used.
fn uniform_hdr(rgbe: [u8; 4]) -> Vec<u8> {
    let mut bytes = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32 +X 64\n".to_vec();
    for _ in 0..64 * 32 {
        bytes.extend_from_slice(&rgbe);
    }
    bytes
}

fn environment(path: &Path, skybox: bool) -> VtkParams {
    VtkParams {
        environment_map: Some(EnvironmentMap {
            skybox,
            texture: EnvironmentTexture::EquirectangularMap {
                path: path.to_owned(),
            },
        }),
        ..VtkParams::default()
    }
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A box of albedo 0.8 face-on in the middle of the view, over the background.
fn face_on_box() -> Scene {
    Scene {
        camera: overhead_camera(),
        ..scene(vec![cuboid(
            DVec3::new(0.0, 0.0, 0.0),
            DVec3::new(0.5, 0.5, 0.5),
            DMat3::IDENTITY,
            gray(0.8),
        )])
    }
}

#[test]
fn the_skybox_shows_a_uniform_map_brightened_by_one_over_gamma() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    // vtk-effects.md §6: uniform HDR 0.5 → background 186 (0.5^(1/2.2)); PNG 128 → 186.
    let hdr = write(&dir, "uniform.hdr", &uniform_hdr([128, 128, 128, 128]));
    let png = write(&dir, "uniform.png", &png(64, 32, &[128; 64 * 32 * 3]));
    for path in [hdr, png] {
        let image = render(&environment(&path, true), &face_on_box(), ImageKind::Color);
        for (u, v) in [(0, 0), (63, 0), (5, 60)] {
            assert_eq!(
                rgba_at(&image, u, v),
                [186, 186, 186, 255],
                "{path:?} ({u}, {v})"
            );
        }
    }
}

#[test]
fn without_a_skybox_the_background_is_the_clear_colour() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let hdr = write(&dir, "uniform.hdr", &uniform_hdr([128, 128, 128, 128]));
    let image = render(&environment(&hdr, false), &face_on_box(), ImageKind::Color);
    assert_eq!(rgba_at(&image, 0, 0), [204, 229, 255, 255]);
    let cleared = VtkParams {
        default_clear_color: [0.25, 0.5, 0.75],
        ..environment(&hdr, false)
    };
    let image = render(&cleared, &face_on_box(), ImageKind::Color);
    assert_eq!(rgba_at(&image, 0, 0), [64, 128, 191, 255]);
}

#[test]
fn uniform_environments_light_a_box_as_measured() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    // vtk-effects.md §6 [E]: box (albedo 0.8, metallic 0, roughness 0.5) under uniform HDR 0.5 →
    // 166; under a uniform PNG of 128 → 114.
    let hdr = write(&dir, "uniform.hdr", &uniform_hdr([128, 128, 128, 128]));
    let png = write(&dir, "uniform.png", &png(64, 32, &[128; 64 * 32 * 3]));
    for (path, expected) in [(hdr, 166), (png, 114)] {
        let image = render(&environment(&path, true), &face_on_box(), ImageKind::Color);
        let [r, g, b, _] = rgba_at(&image, 32, 32);
        assert!(
            [r, g, b].iter().all(|&c| c.abs_diff(expected) <= 1),
            "{path:?}: {:?}, expected {expected}",
            [r, g, b]
        );
    }
}

#[test]
fn an_hdr_environment_adds_to_the_lights() {
    common::require_adapter!();
    // vtk-effects.md §6 [E]: HDR 0.5 with the default camera light → 213 (IBL 0.3882 + direct
    // 0.2864, then ^(1/2.2)).
    let dir = tempfile::tempdir().unwrap();
    let hdr = write(&dir, "uniform.hdr", &uniform_hdr([128, 128, 128, 128]));
    let params = VtkParams {
        lights: vec![LightParameter::default()],
        ..environment(&hdr, true)
    };
    let image = render(&params, &face_on_box(), ImageKind::Color);
    let [r, g, b, _] = rgba_at(&image, 32, 32);
    assert!(
        [r, g, b].iter().all(|&c| c.abs_diff(213) <= 1),
        "{:?}",
        [r, g, b]
    );
}

#[test]
fn effects_draw_into_the_float_target_of_a_tone_mapped_look() {
    common::require_adapter!();
    // vtk-effects.md §6 [E]: HDR 0.5 with exposure 1 → box 159, background 172 (the skybox goes
    // through the tone curve); SSAO and shadows run on the same float target.
    let dir = tempfile::tempdir().unwrap();
    let hdr = write(&dir, "uniform.hdr", &uniform_hdr([128, 128, 128, 128]));
    let params = VtkParams {
        exposure: Some(1.0),
        ssao: Some(Default::default()),
        cast_shadows: true,
        ..environment(&hdr, true)
    };
    let image = render(&params, &face_on_box(), ImageKind::Color);
    let [r, g, b, _] = rgba_at(&image, 32, 32);
    assert!(
        [r, g, b].iter().all(|&c| c.abs_diff(159) <= 1),
        "{:?}",
        [r, g, b]
    );
    assert_eq!(rgba_at(&image, 0, 0), [172, 172, 172, 255]);
}

/// A renderer takes the look with each render (the server's, or a resident scene's own) and keeps
/// its bindings of the last few looks: switching between more looks than it keeps, forwards then
/// back, every image is the one a renderer given only that look draws.
#[test]
fn one_renderer_switching_looks_draws_what_each_look_alone_draws() {
    common::require_adapter!();
    let dir = tempfile::tempdir().unwrap();
    let hdr = write(&dir, "uniform.hdr", &uniform_hdr([128, 128, 128, 128]));
    let ssao = |params: VtkParams| VtkParams {
        ssao: Some(Default::default()),
        ..params
    };
    let all_params = [
        VtkParams::default(),
        shadows(vec![light_at_45()]),
        ssao(shadows(vec![light_at_45()])),
        environment(&hdr, true),
        VtkParams {
            exposure: Some(1.0),
            ..environment(&hdr, false)
        },
        VtkParams {
            shadow_map_size: 256,
            ..shadows(vec![light_at_45(), LightParameter::default()])
        },
        ssao(VtkParams::default()),
    ];
    let gpu = gpu();
    let scene = plate_and_cube();
    let looks: Vec<(Look, Image)> = (all_params.iter())
        .map(|params| {
            let look = Look::from_params(params, &gpu).unwrap();
            (look, render(params, &scene, ImageKind::Color))
        })
        .collect();
    let mut renderer = Renderer::new(gpu);
    for (index, (look, alone)) in looks
        .iter()
        .enumerate()
        .chain(looks.iter().enumerate().rev())
    {
        let image = renderer
            .render(&scene, look, &intrinsics(), ImageKind::Color)
            .unwrap();
        assert!(image == *alone, "look {index} drew differently");
    }
}

/// A camera at the origin looking along `forward` (world), +z up.
fn looking(forward: DVec3) -> Option<CameraNode> {
    let f = forward.normalize();
    let right = f.cross(DVec3::Z).try_normalize().unwrap_or(DVec3::X);
    let up = right.cross(f);
    Some(CameraNode {
        camera_to_world: DMat4::from_mat3(DMat3::from_cols(right, up, -f)),
        znear: 0.01,
        zfar: Some(100.0),
    })
}

#[test]
fn the_skybox_maps_azimuth_and_elevation_as_vtk_does() {
    common::require_adapter!();
    // vtk-effects.md §6 [E]: quadrants R|G|B|Y (left to right) over the top half of the file,
    // magenta below; looking out at azimuth 45°/135°/225°/315° shows G/R/Y/B, down magenta.
    let quadrants = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
    let rgb: Vec<u8> = (0..32)
        .flat_map(|row| {
            (0..64).flat_map(move |column| {
                if row < 16 {
                    quadrants[column / 16]
                } else {
                    [255, 0, 255]
                }
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "quadrants.png", &png(64, 32, &rgb));
    let gpu = gpu();
    let look = Look::from_params(&environment(&path, true), &gpu).unwrap();
    let mut renderer = Renderer::new(gpu);
    let seen = |forward: DVec3, renderer: &mut Renderer| {
        let scene = Scene {
            camera: looking(forward),
            ..scene(Vec::new())
        };
        let image = renderer
            .render(&scene, &look, &intrinsics(), ImageKind::Color)
            .unwrap();
        let [r, g, b, _] = rgba_at(&image, 32, 32);
        [r, g, b]
    };
    for (azimuth, expected) in [
        (45.0f64, [0, 255, 0]),
        (135.0, [255, 0, 0]),
        (225.0, [255, 255, 0]),
        (315.0, [0, 0, 255]),
    ] {
        let a = azimuth.to_radians();
        let forward = DVec3::new(a.cos(), a.sin(), 0.4);
        assert_eq!(seen(forward, &mut renderer), expected, "azimuth {azimuth}°");
    }
    assert_eq!(
        seen(DVec3::new(0.1, 0.0, -1.0), &mut renderer),
        [255, 0, 255]
    );
}

#[test]
fn an_unreadable_environment_map_fails_the_look_naming_its_path() {
    common::require_adapter!();
    let error = Look::from_params(
        &environment(Path::new("/nonexistent/sky.hdr"), true),
        &gpu(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("/nonexistent/sky.hdr"), "{error}");
}

/// vtk-effects.md §7's scene: the plate and cube seen from (2.5, 0, 2.5), lit straight down.
fn ssao_scene() -> (Scene, Vec<LightParameter>) {
    let position = DVec3::new(2.5, 0.0, 2.5);
    let Some(mut camera) = looking(-position) else {
        unreachable!()
    };
    camera.camera_to_world.w_axis = position.extend(1.0);
    let scene = Scene {
        camera: Some(camera),
        ..scene(vec![plate(4.0), cube()])
    };
    let down = LightParameter {
        kind: LightKind::Directional,
        frame: LightFrame::World,
        direction: [0.0, 0.0, -1.0],
        ..LightParameter::default()
    };
    (scene, vec![down])
}

/// The pixel of `scene`'s camera that sees world point `p`.
fn seen_at(scene: &Scene, p: DVec3) -> (u32, u32) {
    let camera = scene.camera.unwrap().camera_to_world;
    let node = camera.inverse().transform_point3(p);
    pixel_of(&intrinsics(), DVec3::new(node.x, -node.y, -node.z))
}

#[test]
fn ssao_darkens_creases_and_leaves_the_background_and_other_images_alone() {
    common::require_adapter!();
    let (scene, lights) = ssao_scene();
    let plain = VtkParams {
        lights,
        ..VtkParams::default()
    };
    let occluded = VtkParams {
        ssao: Some(Default::default()),
        ..plain.clone()
    };
    let without = render(&plain, &scene, ImageKind::Color);
    let with = render(&occluded, &scene, ImageKind::Color);
    let Image::Color { rgba: a, .. } = &without else {
        unreachable!()
    };
    let Image::Color { rgba: b, .. } = &with else {
        unreachable!()
    };
    // vtk-effects.md §7: the background is unchanged (away from edges, which FXAA blends with
    // the darkened geometry); nothing gets brighter.
    let background = [204, 229, 255, 255];
    let open_background = |u: u32, v: u32| {
        (u.saturating_sub(1)..=(u + 1).min(63)).all(|x| {
            (v.saturating_sub(1)..=(v + 1).min(63)).all(|y| rgba_at(&without, x, y) == background)
        })
    };
    let mut open = 0;
    for v in 0..64 {
        for u in 0..64 {
            if open_background(u, v) {
                assert_eq!(rgba_at(&with, u, v), background, "({u}, {v})");
                open += 1;
            }
        }
    }
    assert!(open > 500, "{open} background pixels");
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        assert!(q[0] <= p[0], "{q:?} brighter than {p:?}");
    }
    // The plate right in front of the cube's base is darkened; far from it barely.
    let crease = seen_at(&scene, DVec3::new(0.3, 0.0, 0.0));
    let far = seen_at(&scene, DVec3::new(0.0, 1.5, 0.0));
    let darkening = |(u, v): (u32, u32)| rgba_at(&without, u, v)[0] - rgba_at(&with, u, v)[0];
    assert_eq!(rgba_at(&without, crease.0, crease.1)[0], 204);
    assert!(darkening(crease) >= 20, "crease: {}", darkening(crease));
    assert!(darkening(far) <= 12, "far: {}", darkening(far));
    for kind in [
        ImageKind::Label,
        ImageKind::Depth {
            min_depth: 0.01,
            max_depth: 10.0,
        },
    ] {
        assert!(render(&plain, &scene, kind) == render(&occluded, &scene, kind));
    }
}
