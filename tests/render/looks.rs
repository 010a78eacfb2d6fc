//! The looks `RenderEngineVtkParams` make, against the pixel values measured with pydrake 1.51.1
//! (docs/upstream/vtk-effects.md §2–§4) and, where the measurement was a formula check at unnamed
//! pixels, against that formula at every pixel tested (the doc found it within ±1 level).
//!
//! The scene is the doc's: an 8×8 m plate whose top is the plane z = 0, a camera 3 m above it
//! looking down (image right = +x, image down = −y), 64×64 pixels, 60° vertical field of view.

use std::sync::Arc;

use glam::{DMat3, DMat4, DVec3};
use gltf_cloud::protocol::drake::vtk_params::{
    LightFrame, LightKind, LightParameter, Rgba, VtkParams,
};
use gltf_cloud::render::{Image, ImageKind, Look, Renderer};
use gltf_cloud::scene::camera::Intrinsics;
use gltf_cloud::scene::{CameraNode, Material, Mesh, Sampler, Scene, Texture, TextureRef};

use super::{cuboid, gpu, material, rgba_at, scene};
use crate::common;

const DIFFUSE: [f64; 3] = [0.8, 0.6, 0.4];

fn intrinsics() -> Intrinsics {
    Intrinsics::from_fov_y(64, 64, 60f64.to_radians(), 0.01, 100.0)
}

/// The plate, seen from (0, 0, 3): the glTF camera node's rotation is the identity.
fn plate(diffuse: [f64; 3]) -> Scene {
    let [r, g, b] = diffuse.map(|c| c as f32);
    Scene {
        camera: Some(CameraNode {
            camera_to_world: DMat4::from_translation(DVec3::new(0.0, 0.0, 3.0)),
            znear: 0.01,
            zfar: Some(100.0),
        }),
        ..scene(vec![cuboid(
            DVec3::new(0.0, 0.0, -0.05),
            DVec3::new(4.0, 4.0, 0.05),
            DMat3::IDENTITY,
            material([r, g, b, 1.0]),
        )])
    }
}

fn render(params: &VtkParams, scene: &Scene) -> Image {
    let gpu = gpu();
    let look = Look::from_params(params, &gpu).expect("a valid look");
    Renderer::new(gpu)
        .render(scene, &look, &intrinsics(), ImageKind::Color)
        .expect("a colour image")
}

fn lights(lights: Vec<LightParameter>) -> VtkParams {
    VtkParams {
        lights,
        ..VtkParams::default()
    }
}

fn directional(frame: LightFrame, direction: [f64; 3]) -> LightParameter {
    LightParameter {
        kind: LightKind::Directional,
        frame,
        direction,
        ..LightParameter::default()
    }
}

/// A world light 60° off the vertical: cos 60° = ½ of the diffuse colour.
fn tilted_60() -> LightParameter {
    let angle = 60f64.to_radians();
    directional(LightFrame::World, [angle.sin(), 0.0, -angle.cos()])
}

/// The point of the plane z = 0 that pixel (u, v) sees through its centre.
fn plate_point(u: u32, v: u32) -> DVec3 {
    let k = intrinsics();
    let x = (f64::from(u) + 0.5 - k.center_x) / k.focal_x;
    let y = (f64::from(v) + 0.5 - k.center_y) / k.focal_y;
    // Drake's camera frame: +x right = +x world, +y down = −y world, depth 3.
    DVec3::new(3.0 * x, -3.0 * y, 0.0)
}

/// `diffuse · light` in 8 bits, as VTK's framebuffer stores it: clamped, rounded to nearest.
fn expected(light: [f64; 3]) -> [u8; 4] {
    let [r, g, b] =
        [0, 1, 2].map(|i| (DIFFUSE[i] * light[i] * 255.0).clamp(0.0, 255.0).round() as u8);
    [r, g, b, 255]
}

fn assert_within_one(actual: [u8; 4], expected: [u8; 4], what: &str) {
    super::assert_close(actual, expected, 1, what);
}

#[test]
fn world_directional_light_at_60_degrees_lights_half() {
    common::require_adapter!();
    let image = render(&lights(vec![tilted_60()]), &plate(DIFFUSE));
    // Measured 102,76,51 (formula 102, 76.5, 51), uniform over the plate.
    for (u, v) in [(32, 32), (5, 5), (60, 40)] {
        assert_within_one(rgba_at(&image, u, v), [102, 76, 51, 255], "60° light");
    }
}

#[test]
fn intensity_and_colour_scale_the_light_and_clamp() {
    common::require_adapter!();
    let bright = LightParameter {
        intensity: 3.0,
        ..tilted_60()
    };
    let image = render(&lights(vec![bright]), &plate(DIFFUSE));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [255, 230, 153, 255],
        "×3 (measured)",
    );
    let coloured = LightParameter {
        color: Rgba {
            rgba: [1.0, 0.5, 0.25, 1.0],
        },
        ..directional(LightFrame::Camera, [0.0, 0.0, 1.0])
    };
    let image = render(&lights(vec![coloured]), &plate(DIFFUSE));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [204, 76, 26, 255],
        "coloured (measured)",
    );
}

#[test]
fn lights_add_up_without_a_hidden_headlight() {
    common::require_adapter!();
    let camera_light = directional(LightFrame::Camera, [0.0, 0.0, 1.0]);
    let image = render(&lights(vec![tilted_60(), camera_light]), &plate(DIFFUSE));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [255, 230, 153, 255],
        "60° + camera (measured)",
    );
    // Non-empty lights replace the default camera light: one 60° light is exactly half.
    let image = render(&lights(vec![tilted_60()]), &plate(DIFFUSE));
    assert_within_one(rgba_at(&image, 32, 32), expected([0.5; 3]), "60° alone");
}

#[test]
fn camera_frame_directions_follow_drakes_camera_axes() {
    common::require_adapter!();
    let angle = 60f64.to_radians();
    // d_C = (sin 60°, 0, cos 60°): 60° off the view axis toward image right (measured 0.5×).
    let light = directional(LightFrame::Camera, [angle.sin(), 0.0, angle.cos()]);
    let image = render(&lights(vec![light]), &plate(DIFFUSE));
    assert_within_one(rgba_at(&image, 32, 32), expected([0.5; 3]), "camera 60°");
    // Shining straight up (−Z_C) the light never reaches the visible side: black, not lit back.
    let away = directional(LightFrame::Camera, [0.0, 0.0, -1.0]);
    let image = render(&lights(vec![away]), &plate(DIFFUSE));
    assert_within_one(rgba_at(&image, 32, 32), [0, 0, 0, 255], "light from behind");
}

/// VTK's positional light at a plate point: 1/(k0 + k1·d + k2·d²) attenuation, times cos from
/// the axis inside a hard cone (spot lights), times the cosine of incidence.
fn positional(light: &LightParameter, world_position: DVec3, p: DVec3) -> f64 {
    let to_p = p - world_position;
    let distance = to_p.length();
    let l = to_p / distance;
    let [k0, k1, k2] = light.attenuation_values;
    let mut attenuation = 1.0 / (k0 + k1 * distance + k2 * distance * distance);
    if light.kind == LightKind::Spot && light.cone_angle < 90.0 {
        let axis = DVec3::from(light.direction).normalize();
        let c = l.dot(axis);
        attenuation *= if c >= light.cone_angle.to_radians().cos() {
            c
        } else {
            0.0
        };
    }
    (attenuation * DVec3::Z.dot(-l)).max(0.0) * light.intensity
}

const PIXELS: [(u32, u32); 6] = [(32, 32), (10, 12), (50, 20), (20, 55), (60, 60), (3, 40)];

#[test]
fn point_lights_attenuate_as_vtk_does() {
    common::require_adapter!();
    for attenuation_values in [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]] {
        let light = LightParameter {
            kind: LightKind::Point,
            frame: LightFrame::World,
            position: [0.4, -0.3, 1.2],
            attenuation_values,
            ..LightParameter::default()
        };
        let image = render(&lights(vec![light.clone()]), &plate(DIFFUSE));
        for (u, v) in PIXELS {
            let df = positional(&light, DVec3::from(light.position), plate_point(u, v));
            assert_within_one(
                rgba_at(&image, u, v),
                expected([df; 3]),
                &format!("point light {attenuation_values:?} at ({u}, {v})"),
            );
        }
    }
}

#[test]
fn camera_frame_positions_follow_the_camera() {
    common::require_adapter!();
    // 1 m in front of the camera and 0.5 m to its right: world (0.5, 0, 2).
    let light = LightParameter {
        kind: LightKind::Point,
        frame: LightFrame::Camera,
        position: [0.5, 0.0, 1.0],
        attenuation_values: [0.0, 0.0, 1.0],
        ..LightParameter::default()
    };
    let image = render(&lights(vec![light.clone()]), &plate(DIFFUSE));
    for (u, v) in PIXELS {
        let df = positional(&light, DVec3::new(0.5, 0.0, 2.0), plate_point(u, v));
        assert_within_one(
            rgba_at(&image, u, v),
            expected([df; 3]),
            &format!("camera point light at ({u}, {v})"),
        );
    }
}

#[test]
fn spot_lights_have_a_hard_cone_falling_off_with_its_cosine() {
    common::require_adapter!();
    for cone_angle in [30.0, 45.0] {
        let light = LightParameter {
            kind: LightKind::Spot,
            frame: LightFrame::World,
            position: [0.0, 0.0, 1.0],
            direction: [0.0, 0.0, -1.0],
            cone_angle,
            ..LightParameter::default()
        };
        let image = render(&lights(vec![light.clone()]), &plate(DIFFUSE));
        let mut inside = 0;
        let mut outside = 0;
        for v in (0..64).step_by(3) {
            for u in (0..64).step_by(3) {
                let p = plate_point(u, v);
                let off_axis = p.truncate().length().atan2(1.0).to_degrees();
                // FXAA softens the hard edge itself: judge pixels clear of it.
                if (off_axis - cone_angle).abs() < 3.0 {
                    continue;
                }
                let df = positional(&light, DVec3::from(light.position), p);
                if off_axis < cone_angle {
                    inside += 1;
                } else {
                    assert_eq!(df, 0.0);
                    outside += 1;
                }
                assert_within_one(
                    rgba_at(&image, u, v),
                    expected([df; 3]),
                    &format!("spot {cone_angle}° at ({u}, {v}), {off_axis:.1}° off axis"),
                );
            }
        }
        assert!(
            inside > 10 && outside > 10,
            "{inside} inside, {outside} outside"
        );
    }
    // The doc's spot sample: 26° off axis under a 30° cone is cos²(26°)·0.8 of full red.
    let expected_red = 26f64.to_radians().cos().powi(2) * 0.8 * 255.0;
    assert!((expected_red - 164.8).abs() < 0.1, "{expected_red}");
}

#[test]
fn default_diffuse_replaces_only_drakes_built_in_default() {
    common::require_adapter!();
    let vtk_default = [0.9, 0.45, 0.1];
    let params = VtkParams {
        default_diffuse: Some([0.2, 0.4, 0.6, 1.0]),
        ..VtkParams::default()
    };
    let image = render(&params, &plate(vtk_default));
    assert_within_one(rgba_at(&image, 32, 32), [51, 102, 153, 255], "replaced");
    let image = render(&VtkParams::default(), &plate(vtk_default));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [230, 115, 26, 255],
        "VTK's default (measured)",
    );
    let image = render(&params, &plate(DIFFUSE));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [204, 153, 102, 255],
        "a set diffuse stays",
    );
}

#[test]
fn clear_colour_rounds_to_nearest() {
    common::require_adapter!();
    let empty = Scene {
        instances: Vec::new(),
        ..plate(DIFFUSE)
    };
    let params = VtkParams {
        default_clear_color: [0.25, 0.5, 0.75],
        ..VtkParams::default()
    };
    // Measured (0.25, 0.5, 0.75) → 64,128,191.
    assert_eq!(
        rgba_at(&render(&params, &empty), 10, 10),
        [64, 128, 191, 255]
    );
}

#[test]
fn lights_never_change_depth_or_labels() {
    common::require_adapter!();
    let gpu = gpu();
    let scene = plate(DIFFUSE);
    let k = intrinsics();
    let mut plain = Renderer::new(gpu.clone());
    let params = lights(vec![
        tilted_60(),
        directional(LightFrame::World, [0.0, 0.0, 1.0]),
    ]);
    let lit_look = Look::from_params(&params, &gpu).unwrap();
    let mut lit = Renderer::new(gpu.clone());
    for kind in [
        ImageKind::Label,
        ImageKind::Depth {
            min_depth: 0.01,
            max_depth: 10.0,
        },
    ] {
        let a = plain.render(&scene, &Look::default(), &k, kind).unwrap();
        let b = lit.render(&scene, &lit_look, &k, kind).unwrap();
        assert!(a == b, "{kind:?} changed with the lights");
    }
}

// ----- PBR (vtk-effects.md §3) -----------------------------------------------------------------

fn forced_pbr(lights: Vec<LightParameter>) -> VtkParams {
    VtkParams {
        lights,
        force_to_pbr: true,
        ..VtkParams::default()
    }
}

/// VTK's direct-light BRDF with Drake's roughness patch, no environment, then the 2.2 gamma, in
/// 8 bits. `lights`: (unit vector toward the light, radiance) at the shaded point.
fn pbr_expected(
    albedo: [f64; 3],
    metallic: f64,
    roughness: f64,
    n: DVec3,
    v: DVec3,
    lights: &[(DVec3, f64)],
) -> [u8; 4] {
    let albedo = DVec3::from(albedo);
    let n_dot_v = n.dot(v).clamp(1e-5, 1.0);
    let f0 = DVec3::splat(0.04).lerp(albedo, metallic);
    let f90 = DVec3::splat(f0.dot(DVec3::splat(16.5)).clamp(0.0, 1.0)).lerp(DVec3::ONE, metallic);
    let r = 0.95 * roughness + 0.05;
    let alpha = r * r;
    let alpha2 = alpha * alpha;
    let mut lo = DVec3::ZERO;
    for &(l, radiance) in lights {
        let h = (v + l).normalize();
        let n_dot_l = n.dot(l).clamp(1e-5, 1.0);
        let n_dot_h = n.dot(h).clamp(1e-5, 1.0);
        let h_dot_l = h.dot(l).clamp(1e-5, 1.0);
        let d = (n_dot_h * alpha2 - n_dot_h) * n_dot_h + 1.0;
        let distribution = alpha2 / (std::f64::consts::PI * d * d);
        let k = alpha;
        let visibility = 0.5
            / (n_dot_l * (k + n_dot_v * (n_dot_v - k * n_dot_v)).sqrt()
                + n_dot_v * (k + n_dot_l * (n_dot_l - k * n_dot_l)).sqrt());
        let fresnel = f0 + (f90 - f0) * (1.0 - h_dot_l).powi(5);
        let diffuse = (1.0 - metallic) * (DVec3::ONE - fresnel) * albedo / std::f64::consts::PI;
        lo += radiance * (diffuse + distribution * visibility * fresnel) * n_dot_l;
    }
    let [r, g, b] = lo.to_array().map(|c| {
        (c.max(0.0).powf(1.0 / 2.2) * 255.0)
            .clamp(0.0, 255.0)
            .round() as u8
    });
    [r, g, b, 255]
}

/// The unit vector from a plate point toward the camera at (0, 0, 3).
fn to_camera(p: DVec3) -> DVec3 {
    (DVec3::new(0.0, 0.0, 3.0) - p).normalize()
}

#[test]
fn pbr_with_the_default_light_matches_measurements() {
    common::require_adapter!();
    let image = render(&forced_pbr(Vec::new()), &plate(DIFFUSE));
    // Measured 144,129,112 at the centre and 137,121,102 at (5, 5): the view vector is per pixel.
    assert_within_one(
        rgba_at(&image, 32, 32),
        [144, 129, 112, 255],
        "centre (measured)",
    );
    assert_within_one(
        rgba_at(&image, 5, 5),
        [137, 121, 102, 255],
        "corner (measured)",
    );
    // Everywhere: the camera light shines along the optical axis, −Z.
    for (u, v) in PIXELS {
        let p = plate_point(u, v);
        let expected = pbr_expected(
            DIFFUSE,
            0.0,
            0.5,
            DVec3::Z,
            to_camera(p),
            &[(DVec3::Z, 1.0)],
        );
        assert_within_one(rgba_at(&image, u, v), expected, &format!("({u}, {v})"));
    }
    // The clear colour is not gamma'd.
    let empty = Scene {
        instances: Vec::new(),
        ..plate(DIFFUSE)
    };
    let image = render(&forced_pbr(Vec::new()), &empty);
    assert_eq!(rgba_at(&image, 3, 3), [204, 229, 255, 255]);
}

#[test]
fn pbr_with_world_and_point_lights_matches_measurements() {
    common::require_adapter!();
    let doubled = LightParameter {
        intensity: 2.0,
        ..tilted_60()
    };
    let image = render(&forced_pbr(vec![doubled]), &plate(DIFFUSE));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [135, 119, 100, 255],
        "60° ×2 (measured)",
    );
    let point = LightParameter {
        kind: LightKind::Point,
        frame: LightFrame::World,
        position: [0.4, -0.3, 1.2],
        attenuation_values: [0.5, 0.5, 0.0],
        intensity: 3.0,
        ..LightParameter::default()
    };
    let image = render(&forced_pbr(vec![point.clone()]), &plate(DIFFUSE));
    for (u, v) in PIXELS {
        let p = plate_point(u, v);
        let to_light = DVec3::from(point.position) - p;
        let distance = to_light.length();
        let radiance = 3.0 / (0.5 + 0.5 * distance);
        let expected = pbr_expected(
            DIFFUSE,
            0.0,
            0.5,
            DVec3::Z,
            to_camera(p),
            &[(to_light / distance, radiance)],
        );
        assert_within_one(
            rgba_at(&image, u, v),
            expected,
            &format!("point ×3 at ({u}, {v})"),
        );
    }
}

/// The plate as a merged user glTF's content with glTF material factors.
fn user_plate(metallic: f32, roughness: f32, double_sided: bool) -> Scene {
    let mut scene = plate(DIFFUSE);
    scene.user_gltf = true;
    let material = &mut scene.instances[0].material;
    material.from_user_gltf = true;
    material.metallic = metallic;
    material.roughness = roughness;
    material.double_sided = double_sided;
    scene
}

#[test]
fn user_gltf_content_switches_every_object_to_pbr_with_its_own_factors() {
    common::require_adapter!();
    let params = VtkParams::default();
    // VTK content beside a user glTF: PBR with VTK's defaults (metallic 0, roughness 0.5).
    let mut vtk_content = plate(DIFFUSE);
    vtk_content.user_gltf = true;
    let image = render(&params, &vtk_content);
    assert_within_one(
        rgba_at(&image, 32, 32),
        [144, 129, 112, 255],
        "switched to PBR",
    );
    // glTF's default factors (metallic 1, roughness 1) on the user's own material.
    let image = render(&params, &user_plate(1.0, 1.0, true));
    for (u, v) in PIXELS {
        let p = plate_point(u, v);
        let expected = pbr_expected(
            DIFFUSE,
            1.0,
            1.0,
            DVec3::Z,
            to_camera(p),
            &[(DVec3::Z, 1.0)],
        );
        assert_within_one(
            rgba_at(&image, u, v),
            expected,
            &format!("metallic at ({u}, {v})"),
        );
    }
}

#[test]
fn single_sided_user_materials_cull_back_faces() {
    common::require_adapter!();
    // A quad facing +z, seen from below: a back face.
    let quad = |scene: &mut Scene| {
        let mesh = Mesh::new(
            vec![
                [-4.0, -4.0, 0.0],
                [4.0, -4.0, 0.0],
                [4.0, 4.0, 0.0],
                [-4.0, 4.0, 0.0],
            ],
            vec![[0.0, 0.0, 1.0]; 4],
            None,
            vec![0, 1, 2, 0, 2, 3],
        );
        scene.meshes = vec![Arc::new(mesh)];
        // Look up at it from below: the glTF camera node rotated 180° about x.
        scene.camera = Some(CameraNode {
            camera_to_world: DMat4::from_translation(DVec3::new(0.0, 0.0, -3.0))
                * DMat4::from_rotation_x(std::f64::consts::PI),
            znear: 0.01,
            zfar: Some(100.0),
        });
    };
    let mut culled = user_plate(0.0, 0.5, false);
    quad(&mut culled);
    let image = render(&VtkParams::default(), &culled);
    assert_eq!(
        rgba_at(&image, 32, 32),
        [204, 229, 255, 255],
        "back face culled"
    );
    let mut double_sided = user_plate(0.0, 0.5, true);
    quad(&mut double_sided);
    let image = render(&VtkParams::default(), &double_sided);
    assert_ne!(
        rgba_at(&image, 32, 32),
        [204, 229, 255, 255],
        "both sides drawn"
    );
    // A mirrored instance culls the same faces as seen.
    let mut mirrored = user_plate(0.0, 0.5, false);
    quad(&mut mirrored);
    mirrored.instances[0].model_to_world = DMat4::from_scale(DVec3::new(-1.0, 1.0, 1.0));
    let image = render(&VtkParams::default(), &mirrored);
    assert_eq!(
        rgba_at(&image, 32, 32),
        [204, 229, 255, 255],
        "mirrored back face culled"
    );
}

// ----- exposure (vtk-effects.md §4) ------------------------------------------------------------

#[test]
fn exposure_tone_maps_object_and_background_as_measured() {
    common::require_adapter!();
    // (exposure, plate, background), measured with the default light.
    let measured = [
        (0.5, [145, 112, 73], [145, 159, 172]),
        (1.0, [183, 149, 102], [183, 196, 207]),
        (2.0, [215, 186, 138], [215, 225, 232]),
        (4.0, [238, 218, 176], [238, 243, 248]),
    ];
    for (exposure, plate_rgb, background) in measured {
        let params = VtkParams {
            exposure: Some(exposure),
            ..VtkParams::default()
        };
        let mut scene = plate(DIFFUSE);
        // Shrink the plate to leave background at the corners.
        scene.meshes = vec![Arc::new(small_plate())];
        let image = render(&params, &scene);
        let [r, g, b] = plate_rgb;
        assert_within_one(
            rgba_at(&image, 32, 32),
            [r, g, b, 255],
            &format!("plate at {exposure}"),
        );
        let [r, g, b] = background;
        assert_within_one(
            rgba_at(&image, 1, 1),
            [r, g, b, 255],
            &format!("background at {exposure}"),
        );
    }
}

/// The plate cut to 1×1 m, so the corners of the image see the background.
fn small_plate() -> gltf_cloud::scene::Mesh {
    let part = cuboid(
        DVec3::new(0.0, 0.0, -0.05),
        DVec3::new(0.5, 0.5, 0.05),
        DMat3::IDENTITY,
        material([1.0; 4]),
    );
    Mesh::new(part.positions, part.normals, None, part.indices)
}

#[test]
fn exposure_keeps_values_above_one_and_applies_to_pbr() {
    common::require_adapter!();
    // Intensity 3 puts the plate at 2.4, 1.8, 1.2 before tone mapping: measured 255,246,223.
    let params = VtkParams {
        exposure: Some(1.0),
        lights: vec![LightParameter {
            intensity: 3.0,
            ..LightParameter::default()
        }],
        ..VtkParams::default()
    };
    let image = render(&params, &plate(DIFFUSE));
    assert_within_one(rgba_at(&image, 32, 32), [255, 246, 223, 255], "HDR kept");
    let params = VtkParams {
        exposure: Some(1.0),
        force_to_pbr: true,
        ..VtkParams::default()
    };
    let image = render(&params, &plate(DIFFUSE));
    assert_within_one(
        rgba_at(&image, 32, 32),
        [142, 129, 112, 255],
        "PBR (measured)",
    );
}

#[test]
fn exposure_never_changes_depth_or_labels() {
    common::require_adapter!();
    let gpu = gpu();
    let scene = plate(DIFFUSE);
    let k = intrinsics();
    let params = VtkParams {
        exposure: Some(2.0),
        force_to_pbr: true,
        ..VtkParams::default()
    };
    let mut plain = Renderer::new(gpu.clone());
    let exposed_look = Look::from_params(&params, &gpu).unwrap();
    let mut exposed = Renderer::new(gpu.clone());
    for kind in [
        ImageKind::Label,
        ImageKind::Depth {
            min_depth: 0.01,
            max_depth: 10.0,
        },
    ] {
        let a = plain.render(&scene, &Look::default(), &k, kind).unwrap();
        let b = exposed.render(&scene, &exposed_look, &k, kind).unwrap();
        assert!(a == b, "{kind:?} changed with exposure and PBR");
    }
}

// ----- glTF materials (user content, PBR) ---------------------------------------------------

/// An 8×8 m quad on z = 0 with glTF UVs (u along +x, v along −y: down the image), as the plate's
/// top, as user content with glTF's default factors unless changed; `texels` are its textures.
fn textured_user_quad(material: Material, texels: Vec<Texture>) -> Scene {
    let positions = vec![
        [-4.0, 4.0, 0.0],
        [4.0, 4.0, 0.0],
        [4.0, -4.0, 0.0],
        [-4.0, -4.0, 0.0],
    ];
    let tex_coords = positions
        .iter()
        .map(|[x, y, _]: &[f32; 3]| [(x + 4.0) / 8.0, (4.0 - y) / 8.0])
        .collect();
    let mut mesh = Mesh::new(
        positions,
        vec![[0.0, 0.0, 1.0]; 4],
        Some(tex_coords),
        vec![0, 2, 1, 0, 3, 2],
    );
    mesh.colors = None;
    let mut scene = plate(DIFFUSE);
    scene.meshes = vec![Arc::new(mesh)];
    scene.textures = texels.into_iter().map(Arc::new).collect();
    scene.user_gltf = true;
    scene.instances[0].material = Material {
        from_user_gltf: true,
        double_sided: true,
        ..material
    };
    scene
}

fn texel(rgba: [u8; 4]) -> Texture {
    Texture::new(1, 1, rgba.to_vec())
}

fn user_material(metallic: f32, roughness: f32) -> Material {
    Material {
        base_color: [0.8, 0.6, 0.4, 1.0],
        metallic,
        roughness,
        ..Material::default()
    }
}

fn texture(index: usize) -> Option<TextureRef> {
    Some(TextureRef::new(index, Sampler::default()))
}

/// The PBR value of a plate pixel lit by the default camera light, with normal `n`.
fn pbr_at(u: u32, v: u32, metallic: f64, roughness: f64, n: DVec3) -> [u8; 4] {
    let p = plate_point(u, v);
    pbr_expected(
        DIFFUSE,
        metallic,
        roughness,
        n,
        to_camera(p),
        &[(DVec3::Z, 1.0)],
    )
}

#[test]
fn metallic_roughness_texture_scales_the_factors() {
    common::require_adapter!();
    // G = 128 halves roughness, B = 0 removes metalness.
    let material = Material {
        metallic_roughness_texture: texture(0),
        ..user_material(1.0, 1.0)
    };
    let scene = textured_user_quad(material, vec![texel([0, 128, 0, 255])]);
    let image = render(&VtkParams::default(), &scene);
    for (u, v) in PIXELS {
        let expected = pbr_at(u, v, 0.0, 128.0 / 255.0, DVec3::Z);
        assert_within_one(rgba_at(&image, u, v), expected, &format!("({u}, {v})"));
    }
}

#[test]
fn normal_texture_tilts_the_normal_in_the_uv_frame() {
    common::require_adapter!();
    // A tangent-space normal tilted 30° toward +u (+x here): the plate shades like one tilted so.
    let tilt = 30f64.to_radians();
    let encode = |c: f64| ((c + 1.0) / 2.0 * 255.0).round() as u8;
    let normal = texel([encode(tilt.sin()), encode(0.0), encode(tilt.cos()), 255]);
    let material = Material {
        normal_texture: texture(0),
        ..user_material(0.0, 0.5)
    };
    let image = render(
        &VtkParams::default(),
        &textured_user_quad(material.clone(), vec![normal.clone()]),
    );
    // What the 8-bit texel holds.
    let decoded = |c: f64| f64::from(encode(c)) / 255.0 * 2.0 - 1.0;
    let tilted = DVec3::new(decoded(tilt.sin()), decoded(0.0), decoded(tilt.cos())).normalize();
    for (u, v) in PIXELS {
        assert_within_one(
            rgba_at(&image, u, v),
            pbr_at(u, v, 0.0, 0.5, tilted),
            &format!("tilted toward +u at ({u}, {v})"),
        );
    }
    // Green tilts toward +v (down the image, −y here), as RenderEngineVtk draws it (measured).
    let green_up = texel([encode(0.0), encode(tilt.sin()), encode(tilt.cos()), 255]);
    let image = render(
        &VtkParams::default(),
        &textured_user_quad(material.clone(), vec![green_up]),
    );
    let up = DVec3::new(decoded(0.0), -decoded(tilt.sin()), decoded(tilt.cos())).normalize();
    assert_within_one(
        rgba_at(&image, 20, 40),
        pbr_at(20, 40, 0.0, 0.5, up),
        "green up",
    );
    // Its scale multiplies x and y: 0 flattens the map.
    let flat = Material {
        normal_scale: 0.0,
        ..material
    };
    let image = render(
        &VtkParams::default(),
        &textured_user_quad(flat, vec![normal]),
    );
    assert_within_one(
        rgba_at(&image, 20, 40),
        pbr_at(20, 40, 0.0, 0.5, DVec3::Z),
        "scale 0",
    );
}

#[test]
fn occlusion_and_emissive_textures_apply_after_lighting() {
    common::require_adapter!();
    let linear = |[r, g, b, _]: [u8; 4]| [r, g, b].map(|c| (f64::from(c) / 255.0).powf(2.2));
    let lit = linear(pbr_at(32, 32, 0.0, 0.5, DVec3::Z));
    // Occlusion R = 51 (0.2) at strength 0.5: colour × (1 − 0.5·0.8). (The loader keeps an
    // occlusion texture only beside a metallic-roughness one, as VTK; a white one is neutral.)
    let material = Material {
        occlusion_texture: texture(0),
        occlusion_strength: 0.5,
        ..user_material(0.0, 0.5)
    };
    let image = render(
        &VtkParams::default(),
        &textured_user_quad(material, vec![texel([51, 255, 255, 255])]),
    );
    let expected = lit.map(|c| ((c * 0.6).powf(1.0 / 2.2) * 255.0).round() as u8);
    let [r, g, b] = expected;
    assert_within_one(rgba_at(&image, 32, 32), [r, g, b, 255], "occluded");
    // Emissive factor 0.5 × an sRGB texel 188 (≈ 0.5 linear) adds 0.25 before the gamma.
    let material = Material {
        emissive: [0.5; 3],
        emissive_texture: texture(0),
        ..user_material(0.0, 0.5)
    };
    let image = render(
        &VtkParams::default(),
        &textured_user_quad(material, vec![texel([188, 188, 188, 255])]),
    );
    let srgb_188 = ((188.0 / 255.0 + 0.055) / 1.055f64).powf(2.4);
    let expected = lit.map(|c| ((c + 0.5 * srgb_188).powf(1.0 / 2.2) * 255.0).round() as u8);
    let [r, g, b] = expected;
    assert_within_one(rgba_at(&image, 32, 32), [r, g, b, 255], "emissive");
}

#[test]
fn alpha_mask_cuts_below_the_cutoff_and_draws_the_rest_opaque() {
    common::require_adapter!();
    // Left half alpha 64 (0.25), right half alpha 191 (0.75), nearest: cutoff 0.5.
    let texture_2x1 = Texture::new(2, 1, vec![255, 255, 255, 64, 255, 255, 255, 191]);
    let material = Material {
        base_color_texture: Some(TextureRef::new(
            0,
            Sampler {
                mag_filter: gltf_cloud::scene::Filter::Nearest,
                min_filter: gltf_cloud::scene::Filter::Nearest,
                ..Sampler::default()
            },
        )),
        alpha_cutoff: Some(0.5),
        ..user_material(0.0, 0.5)
    };
    let image = render(
        &VtkParams::default(),
        &textured_user_quad(material, vec![texture_2x1]),
    );
    assert_eq!(
        rgba_at(&image, 16, 32),
        [204, 229, 255, 255],
        "cut: background"
    );
    assert_within_one(
        rgba_at(&image, 48, 32),
        pbr_at(48, 32, 0.0, 0.5, DVec3::Z),
        "opaque",
    );
}

#[test]
fn vertex_colours_replace_the_base_colour() {
    common::require_adapter!();
    let mut scene = plate(DIFFUSE);
    let mut mesh = (*scene.meshes[0]).clone();
    mesh.colors = Some(vec![[0.5, 1.0, 1.0, 1.0]; mesh.positions.len()]);
    scene.meshes[0] = Arc::new(mesh);
    // Phong, default light: the vertex colour, not the diffuse (VTK's scalar colouring, measured
    // under PBR against pydrake: the factor made no difference).
    let image = render(&VtkParams::default(), &scene);
    assert_within_one(
        rgba_at(&image, 32, 32),
        [128, 255, 255, 255],
        "COLOR_0 (Phong)",
    );
    // Depth and labels ignore it.
    let gpu = gpu();
    let mut renderer = Renderer::new(gpu);
    let label = renderer
        .render(&scene, &Look::default(), &intrinsics(), ImageKind::Label)
        .unwrap();
    let plain = renderer
        .render(
            &plate(DIFFUSE),
            &Look::default(),
            &intrinsics(),
            ImageKind::Label,
        )
        .unwrap();
    assert!(label == plain);
}

#[test]
fn texture_transforms_move_uvs() {
    common::require_adapter!();
    // Red | green, nearest: offset 0.5 and scale 0.5 in u put every UV in the green half.
    let red_green = Texture::new(2, 1, vec![255, 0, 0, 255, 0, 255, 0, 255]);
    let nearest = Sampler {
        mag_filter: gltf_cloud::scene::Filter::Nearest,
        min_filter: gltf_cloud::scene::Filter::Nearest,
        wrap_s: gltf_cloud::scene::Wrap::ClampToEdge,
        wrap_t: gltf_cloud::scene::Wrap::ClampToEdge,
    };
    let material = |transform| Material {
        base_color: [1.0; 4],
        base_color_texture: Some(TextureRef {
            transform,
            ..TextureRef::new(0, nearest)
        }),
        ..Material::default()
    };
    let mut scene = textured_user_quad(material(TextureRef::IDENTITY), vec![red_green.clone()]);
    // Phong (no user content): the texel as is.
    scene.user_gltf = false;
    scene.instances[0].material.from_user_gltf = false;
    let image = render(&VtkParams::default(), &scene);
    assert_eq!(rgba_at(&image, 10, 32), [255, 0, 0, 255]);
    assert_eq!(rgba_at(&image, 54, 32), [0, 255, 0, 255]);
    scene.instances[0].material = material([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]);
    let image = render(&VtkParams::default(), &scene);
    assert_eq!(
        rgba_at(&image, 10, 32),
        [0, 255, 0, 255],
        "shifted into green"
    );
}

/// Material bind groups are kept across requests by texture identity: a new texture at the same
/// index of the next scene is drawn, not the last scene's.
#[test]
fn kept_material_bindings_follow_the_texture_not_its_index() {
    common::require_adapter!();
    let gpu = gpu();
    let mut renderer = Renderer::new(gpu);
    let material = Material {
        base_color: [1.0; 4],
        base_color_texture: texture(0),
        ..Material::default()
    };
    let mut scene = textured_user_quad(material, vec![texel([255, 0, 0, 255])]);
    scene.user_gltf = false;
    scene.instances[0].material.from_user_gltf = false;
    let k = intrinsics();
    let first = renderer
        .render(&scene, &Look::default(), &k, ImageKind::Color)
        .unwrap();
    assert_eq!(rgba_at(&first, 32, 32), [255, 0, 0, 255]);
    let again = renderer
        .render(&scene, &Look::default(), &k, ImageKind::Color)
        .unwrap();
    assert!(again == first, "the kept binding draws the same");
    scene.textures = vec![Arc::new(texel([0, 0, 255, 255]))];
    let other = renderer
        .render(&scene, &Look::default(), &k, ImageKind::Color)
        .unwrap();
    assert_eq!(rgba_at(&other, 32, 32), [0, 0, 255, 255]);
}

/// Drake's own merged documents (v1.51 and v1.52 layouts): the user glTF's primitives are marked
/// (glTF factors, default 1), VTK's keep VTK's defaults, and the scene switches to PBR; a plain
/// VTK export does not.
#[test]
fn drakes_merged_scenes_are_recognised_as_user_gltf() {
    let load = |name: &str| {
        let path = format!("{}/tests/fixtures/gltf/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        gltf_cloud::scene::load(&bytes, &gltf_cloud::scene::LoadOptions::default()).unwrap()
    };
    for name in ["merged151-color.gltf", "merged152-color.gltf"] {
        let scene = load(name);
        assert!(scene.user_gltf, "{name}");
        let (user, vtk): (Vec<_>, Vec<_>) = scene
            .instances
            .iter()
            .map(|i| &i.material)
            .partition(|m| m.from_user_gltf);
        assert!(!user.is_empty() && !vtk.is_empty(), "{name}");
        assert!(
            user.iter().all(|m| (m.metallic, m.roughness) == (1.0, 1.0)),
            "{name}"
        );
        assert!(
            vtk.iter().all(|m| (m.metallic, m.roughness) == (0.0, 0.5)),
            "{name}"
        );
    }
    let scene = load("box_sphere-color.gltf");
    assert!(!scene.user_gltf);
    assert!(scene.instances.iter().all(|i| !i.material.from_user_gltf));
}
