//! The cases: each builds a scene whose answer follows from the pinhole model alone, asks the
//! server for it, and judges what came back.
//!
//! Boxes are placed from pixel rectangles (see [`pixel_box`]), seen from Drake's own
//! integration-test camera, so the server must handle a general rotation.

use std::f64::consts::FRAC_PI_4;

use glam::DVec3;

use super::judge::{
    hue_degrees, judge_depth, judge_labels, pixel_centres, PixelRect, Verdict, DEPTH_TOLERANCE_M,
    EDGE_MARGIN_PX, HUE_TOLERANCE_DEG, MARKER_TOLERANCE_PX,
};
use crate::core::quote::quote;
use crate::protocol::drake::camera::CameraPose;
use crate::protocol::drake::decode::{ColorImage, Decoded, DepthImage, LabelImage};
use crate::protocol::drake::error_body;
use crate::protocol::drake::image::{DepthRange, ImageType};
use crate::protocol::drake::label::LABEL_DONT_CARE;
use crate::roles::render_client::camera::Camera;
use crate::roles::render_client::client::{ClientError, RenderClient};
use crate::roles::render_client::scenes::{AnalyticScene, CameraBox, DRAKE_EMPTY_SCENE};
use crate::scene::camera::Intrinsics;

/// Thickness of the boxes, thin so their side faces barely show beside the front face.
const BOX_THICKNESS_M: f64 = 0.01;

/// A thin box whose front face, at planar depth `z`, projects exactly onto `rect`.
fn pixel_box(k: &Intrinsics, rect: PixelRect, z: f64, diffuse: [f64; 4], label: i16) -> CameraBox {
    let x = (
        (rect.u.0 - k.center_x) / k.focal_x * z,
        (rect.u.1 - k.center_x) / k.focal_x * z,
    );
    let y = (
        (rect.v.0 - k.center_y) / k.focal_y * z,
        (rect.v.1 - k.center_y) / k.focal_y * z,
    );
    CameraBox {
        center: DVec3::new(
            (x.0 + x.1) / 2.0,
            (y.0 + y.1) / 2.0,
            z + BOX_THICKNESS_M / 2.0,
        ),
        half_size: DVec3::new((x.1 - x.0) / 2.0, (y.1 - y.0) / 2.0, BOX_THICKNESS_M / 2.0),
        diffuse,
        label,
    }
}

/// The pose every built-in scene is seen from: Drake's own integration-test camera, so the server
/// must handle a general rotation, not just axis-aligned ones.
fn test_pose() -> CameraPose {
    CameraPose::from_rpy(-2.2, 0.0, 1.57, DVec3::new(0.8, 0.0, 0.5))
}

fn camera(intrinsics: Intrinsics, depth_range: DepthRange) -> Camera {
    Camera {
        intrinsics,
        depth_range,
        pose: Some(test_pose()),
    }
}

fn default_camera(width: u32, height: u32) -> Camera {
    camera(
        Intrinsics::from_fov_y(width, height, FRAC_PI_4, 0.01, 10.0),
        DepthRange {
            min_depth: 0.01,
            max_depth: 10.0,
        },
    )
}

async fn render_empty<T: Decoded>(client: &RenderClient) -> Result<T, ClientError> {
    let camera = default_camera(64, 48);
    client
        .render_prepared_as(DRAKE_EMPTY_SCENE.as_bytes().to_vec(), &camera)
        .await
}

pub(super) async fn background_color(client: &RenderClient) -> Result<Verdict, ClientError> {
    let image = render_empty::<ColorImage>(client).await?;
    let first = image.rgba.get(..4).unwrap_or_default().to_vec();
    let differing = image
        .rgba
        .chunks_exact(4)
        .filter(|p| *p != first.as_slice())
        .count();
    Ok(Verdict::new(
        differing == 0,
        format!("{differing} px differ"),
        format!("Drake's empty scene (null arrays, no camera) must be one uniform colour; first pixel {first:?}"),
    ))
}

pub(super) async fn background_depth(client: &RenderClient) -> Result<Verdict, ClientError> {
    let image = render_empty::<DepthImage>(client).await?;
    let finite = image.metres.iter().filter(|d| **d != f32::INFINITY).count();
    Ok(Verdict::new(
        finite == 0,
        format!("{finite} px not +inf"),
        "nothing in view must be +inf (kTooFar) everywhere",
    ))
}

pub(super) async fn background_label(client: &RenderClient) -> Result<Verdict, ClientError> {
    let image = render_empty::<LabelImage>(client).await?;
    let wrong = image
        .labels
        .iter()
        .filter(|l| **l != LABEL_DONT_CARE)
        .count();
    Ok(Verdict::new(
        wrong == 0,
        format!("{wrong} px wrong"),
        "background must be pure white, i.e. kDontCare (32764)",
    ))
}

pub(super) async fn box_depth_planar(client: &RenderClient) -> Result<Verdict, ClientError> {
    let camera = default_camera(160, 120);
    let k = camera.intrinsics;
    let face = PixelRect {
        u: (24.0, 136.0),
        v: (18.0, 102.0),
    };
    let distance = 2.0;
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes: vec![pixel_box(&k, face, distance, [0.5; 4], 1)],
    };
    let image = client
        .render_as::<DepthImage>(&scene.gltf(ImageType::Depth), &camera)
        .await?;
    let (worst, wrong, first) = judge_depth(&image, |u, v| {
        if face.contains(u, v, EDGE_MARGIN_PX) {
            Some(distance)
        } else if !face.contains(u, v, -EDGE_MARGIN_PX) {
            Some(f64::INFINITY)
        } else {
            None
        }
    });
    Ok(Verdict::new(
        wrong == 0,
        format!("{:.3} mm max, {wrong} px wrong", worst * 1000.0),
        if wrong == 0 {
            "a face-on face at 2 m reads 2 m everywhere (planar, not radial); background +inf"
                .to_owned()
        } else {
            first
        },
    ))
}

pub(super) async fn depth_sentinels(client: &RenderClient) -> Result<Verdict, ClientError> {
    let range = DepthRange {
        min_depth: 0.5,
        max_depth: 3.0,
    };
    let camera = camera(
        Intrinsics::from_fov_y(160, 120, FRAC_PI_4, 0.1, 10.0),
        range,
    );
    let k = camera.intrinsics;
    let too_near = PixelRect {
        u: (10.0, 60.0),
        v: (20.0, 100.0),
    };
    let too_far = PixelRect {
        u: (100.0, 150.0),
        v: (20.0, 100.0),
    };
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes: vec![
            pixel_box(&k, too_near, 0.3, [0.5; 4], 1),
            pixel_box(&k, too_far, 5.0, [0.5; 4], 2),
        ],
    };
    let image = client
        .render_as::<DepthImage>(&scene.gltf(ImageType::Depth), &camera)
        .await?;
    let (_, wrong, first) = judge_depth(&image, |u, v| {
        if too_near.contains(u, v, EDGE_MARGIN_PX) {
            Some(0.0)
        } else if too_near.contains(u, v, -EDGE_MARGIN_PX) {
            None
        } else {
            // Too far and empty are both +inf; the band around the near box shows its sides.
            Some(f64::INFINITY)
        }
    });
    Ok(Verdict::new(
        wrong == 0,
        format!("{wrong} px wrong"),
        if wrong == 0 {
            "depth 0.3 m < min_depth 0.5 m reads 0; 5 m > max_depth 3 m and empty read +inf"
                .to_owned()
        } else {
            first
        },
    ))
}

pub(super) async fn label_colours(client: &RenderClient) -> Result<Verdict, ClientError> {
    let camera = default_camera(160, 120);
    let k = camera.intrinsics;
    // 10 is the rounding edge case: 10/255 = 0.0392156862745098, and × 255 is 9.999…
    let labels: [i16; 5] = [10, 42, 300, 5130, 32763];
    let rects: Vec<PixelRect> = (0..labels.len())
        .map(|n| {
            let left = 8.0 + 30.0 * n as f64;
            PixelRect {
                u: (left, left + 24.0),
                v: (30.0, 90.0),
            }
        })
        .collect();
    let boxes = rects
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(n, (rect, label))| pixel_box(&k, *rect, 1.0 + 0.25 * n as f64, [0.5; 4], label))
        .collect();
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes,
    };
    let image = client
        .render_as::<LabelImage>(&scene.gltf(ImageType::Label), &camera)
        .await?;
    let (wrong, first) = judge_labels(&image, |u, v| {
        if let Some(n) = rects.iter().position(|r| r.contains(u, v, EDGE_MARGIN_PX)) {
            Some(labels[n])
        } else if rects.iter().any(|r| r.contains(u, v, -EDGE_MARGIN_PX)) {
            None
        } else {
            Some(LABEL_DONT_CARE)
        }
    });
    Ok(Verdict::new(
        wrong == 0,
        format!("{wrong} px wrong"),
        if wrong == 0 {
            "labels 10, 42, 300, 5130, 32763 exact (10 needs round, not truncate); background 32764"
                .to_owned()
        } else {
            first
        },
    ))
}

pub(super) async fn color_lit_face(client: &RenderClient) -> Result<Verdict, ClientError> {
    let camera = default_camera(160, 120);
    let k = camera.intrinsics;
    let face = PixelRect {
        u: (40.0, 120.0),
        v: (30.0, 90.0),
    };
    let diffuse = [0.8, 0.15, 0.1, 1.0];
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes: vec![pixel_box(&k, face, 1.5, diffuse, 1)],
    };
    let image = client
        .render_as::<ColorImage>(&scene.gltf(ImageType::Color), &camera)
        .await?;
    let background = image.rgba.get(..4).unwrap_or_default().to_vec();
    let (mut sum, mut count, mut background_wrong, mut face_is_background) =
        ([0.0; 3], 0.0_f64, 0, 0);
    for (index, u, v) in pixel_centres(image.width, image.height) {
        let pixel = &image.rgba[index * 4..index * 4 + 4];
        if face.contains(u, v, EDGE_MARGIN_PX) {
            for c in 0..3 {
                sum[c] += f64::from(pixel[c]);
            }
            count += 1.0;
            face_is_background += usize::from(pixel == background.as_slice());
        } else if !face.contains(u, v, -EDGE_MARGIN_PX) && pixel != background.as_slice() {
            background_wrong += 1;
        }
    }
    let mean = sum.map(|s| s / count.max(1.0));
    let hue_error = match (
        hue_degrees(mean),
        hue_degrees([diffuse[0], diffuse[1], diffuse[2]]),
    ) {
        (Some(got), Some(want)) => {
            let d = (got - want).rem_euclid(360.0);
            d.min(360.0 - d)
        }
        _ => 180.0,
    };
    let passed = background_wrong == 0 && face_is_background == 0 && hue_error <= HUE_TOLERANCE_DEG;
    Ok(Verdict::new(
        passed,
        format!("hue off {hue_error:.0}°, {background_wrong} bg px wrong"),
        format!(
            "face mean RGB ({:.0}, {:.0}, {:.0}) vs base (204, 38, 26); {face_is_background} face px are background",
            mean[0], mean[1], mean[2]
        ),
    ))
}

pub(super) async fn intrinsics_marker(client: &RenderClient) -> Result<Verdict, ClientError> {
    let k = Intrinsics {
        width: 320,
        height: 240,
        focal_x: 260.0,
        focal_y: 340.0,
        center_x: 141.3,
        center_y: 131.7,
        near: 0.01,
        far: 10.0,
    };
    let camera = camera(
        k,
        DepthRange {
            min_depth: 0.01,
            max_depth: 10.0,
        },
    );
    let markers = [
        (7_i16, DVec3::new(-0.25, -0.18, 2.0)),
        (8, DVec3::new(0.3, 0.12, 1.6)),
    ];
    let marker_boxes = markers.iter().map(|(label, p)| {
        let (u, v) = k.project(*p);
        let rect = PixelRect {
            u: (u - 2.0, u + 2.0),
            v: (v - 2.0, v + 2.0),
        };
        pixel_box(&k, rect, p.z, [0.5; 4], *label)
    });
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes: marker_boxes.collect(),
    };
    let image = client
        .render_as::<LabelImage>(&scene.gltf(ImageType::Label), &camera)
        .await?;
    let mut worst = 0.0_f64;
    let mut details = Vec::new();
    for (label, p) in markers {
        let (u, v) = k.project(p);
        let hits: Vec<(f64, f64)> = pixel_centres(image.width, image.height)
            .filter(|(index, _, _)| image.labels[*index] == label)
            .map(|(_, x, y)| (x, y))
            .collect();
        if hits.is_empty() {
            worst = f64::INFINITY;
            details.push(format!(
                "marker {label} not found (expected at ({u:.1}, {v:.1}))"
            ));
            continue;
        }
        let n = hits.len() as f64;
        let centroid = (
            hits.iter().map(|h| h.0).sum::<f64>() / n,
            hits.iter().map(|h| h.1).sum::<f64>() / n,
        );
        let error = ((centroid.0 - u).powi(2) + (centroid.1 - v).powi(2)).sqrt();
        worst = worst.max(error);
        details.push(format!(
            "marker {label} at ({:.1}, {:.1}), predicted ({u:.1}, {v:.1})",
            centroid.0, centroid.1
        ));
    }
    Ok(Verdict::new(
        worst <= MARKER_TOLERANCE_PX,
        format!("{worst:.2} px"),
        format!("fx=260 fy=340 cx=141.3 cy=131.7: {}", details.join("; ")),
    ))
}

pub(super) async fn odd_size(client: &RenderClient) -> Result<Verdict, ClientError> {
    let camera = default_camera(333, 250);
    let k = camera.intrinsics;
    let face = PixelRect {
        u: (100.0, 233.0),
        v: (75.0, 175.0),
    };
    let distance = 1.25;
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes: vec![pixel_box(&k, face, distance, [0.2, 0.6, 0.3, 1.0], 77)],
    };
    // Sizes are checked by decoding (Drake's size rule); values at the centre pixel.
    let centre = (250 / 2 * 333 + 333 / 2) as usize;
    client
        .render_as::<ColorImage>(&scene.gltf(ImageType::Color), &camera)
        .await?;
    let depth = client
        .render_as::<DepthImage>(&scene.gltf(ImageType::Depth), &camera)
        .await?;
    let label = client
        .render_as::<LabelImage>(&scene.gltf(ImageType::Label), &camera)
        .await?;
    let centre_depth = depth.metres.get(centre).copied().unwrap_or(f32::NAN);
    let centre_label = label.labels.get(centre).copied().unwrap_or(LABEL_DONT_CARE);
    let depth_error = (f64::from(centre_depth) - distance).abs();
    let label_ok = centre_label == 77;
    Ok(Verdict::new(
        depth_error <= DEPTH_TOLERANCE_M && label_ok,
        format!("{:.3} mm at centre", depth_error * 1000.0),
        format!(
            "all three types 333x250; centre depth {centre_depth} m (expected {distance}), label {centre_label} (expected 77)"
        ),
    ))
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Malformation {
    MissingMinDepth,
    BadImageType,
    WrongSha256,
}

/// A malformed request must get a 4xx whose body Drake would show: non-empty and under 8 KB.
pub(super) async fn malformed(
    client: &RenderClient,
    malformation: Malformation,
) -> Result<Verdict, ClientError> {
    let camera = default_camera(64, 48);
    let scene = camera.write_into(DRAKE_EMPTY_SCENE.as_bytes())?;
    let mut form = client.form(scene, &camera, ImageType::Depth);
    let what = match malformation {
        Malformation::MissingMinDepth => {
            form.fields.remove("min_depth");
            "depth without min_depth"
        }
        Malformation::BadImageType => {
            form.fields
                .insert("image_type".to_owned(), "normals".to_owned());
            "image_type=normals"
        }
        Malformation::WrongSha256 => {
            form.fields
                .insert("scene_sha256".to_owned(), "0".repeat(64));
            "scene_sha256 of other bytes"
        }
    };
    let answer = client.post_raw(&form).await?;
    let size = answer.body.len();
    let status_ok = (400..500).contains(&answer.status);
    let body_ok = error_body::is_shown(&answer.body);
    let detail = if !status_ok {
        format!("{what}: expected a 4xx, got HTTP {}", answer.status)
    } else if !body_ok {
        format!("{what}: error body of {size} bytes; Drake shows only bodies of 1 to 8191 bytes (under 8 KB)")
    } else {
        format!("{what}: {}", quote(&String::from_utf8_lossy(&answer.body)))
    };
    Ok(Verdict::new(
        status_ok && body_ok,
        format!("HTTP {}, {size} B", answer.status),
        detail,
    ))
}

pub(super) async fn repeat_identical(client: &RenderClient) -> Result<Verdict, ClientError> {
    let camera = default_camera(160, 120);
    let k = camera.intrinsics;
    let scene = AnalyticScene {
        pose: test_pose(),
        boxes: vec![pixel_box(
            &k,
            PixelRect {
                u: (30.0, 130.0),
                v: (20.0, 100.0),
            },
            1.5,
            [0.3, 0.5, 0.9, 1.0],
            5,
        )],
    };
    let mut differing = Vec::new();
    for image_type in [ImageType::Color, ImageType::Depth] {
        let gltf = camera.write_into(&scene.gltf(image_type))?;
        let first = client
            .post_raw(&client.form(gltf.clone(), &camera, image_type))
            .await?;
        let second = client
            .post_raw(&client.form(gltf, &camera, image_type))
            .await?;
        if first.status != 200 || first.body != second.body {
            differing.push(format!(
                "{} (HTTP {} / {}, {} / {} bytes)",
                image_type.as_str(),
                first.status,
                second.status,
                first.body.len(),
                second.body.len()
            ));
        }
    }
    Ok(Verdict::new(
        differing.is_empty(),
        format!("{} of 2 differ", differing.len()),
        if differing.is_empty() {
            "color and depth answers to the same request are byte-identical".to_owned()
        } else {
            format!("not identical or not 200: {}", differing.join(", "))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box built from a pixel rectangle projects back onto that rectangle.
    #[test]
    fn pixel_box_front_face_projects_onto_its_rectangle() {
        let k = Intrinsics {
            width: 320,
            height: 240,
            focal_x: 260.0,
            focal_y: 340.0,
            center_x: 141.3,
            center_y: 131.7,
            near: 0.01,
            far: 10.0,
        };
        let rect = PixelRect {
            u: (10.0, 50.0),
            v: (200.0, 230.0),
        };
        let b = pixel_box(&k, rect, 2.0, [1.0; 4], 1);
        let z = b.front_depth();
        assert!((z - 2.0).abs() < 1e-12);
        let (u0, v0) = k.project(DVec3::new(
            b.center.x - b.half_size.x,
            b.center.y - b.half_size.y,
            z,
        ));
        let (u1, v1) = k.project(DVec3::new(
            b.center.x + b.half_size.x,
            b.center.y + b.half_size.y,
            z,
        ));
        for (got, want) in [(u0, 10.0), (v0, 200.0), (u1, 50.0), (v1, 230.0)] {
            assert!((got - want).abs() < 1e-9, "{got} != {want}");
        }
    }
}
