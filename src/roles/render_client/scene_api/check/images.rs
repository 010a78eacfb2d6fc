//! The cases about frames: the answer's layout, and the images judged by value against the
//! built-in scene seen from straight above ([`super::camera_above`]): each geometry's label at its
//! centre, the planar depth of its top, Drake's too-near and too-far values, poses and edits.

use glam::DVec3;

use super::{camera_above, camera_up, failed, pixel_of, refused, Outcome, Suite};
use crate::protocol::drake::decode::{ColorImage, Decoded, DepthImage};
use crate::protocol::drake::label::LABEL_EMPTY;
use crate::protocol::scene_api::frame::{
    AnswerImage, Camera, Encoding, FrameHeader, ImageFormat, ImageName, PoseRecord,
};
use crate::protocol::scene_api::scene::{Geometry, PatchRequest, Shape, ShapeType};
use crate::roles::render_client::scene_api::builtin::{self, at};
use crate::roles::render_client::scene_api::client::FrameAnswer;

/// How far a flat top's depth may be off (Drake's own tests' tolerance).
const FLAT_TOLERANCE_M: f64 = 0.001;
/// How far a curved top's depth may be off at the pixel nearest its apex.
const CURVED_TOLERANCE_M: f64 = 0.02;
/// The depth range of the value checks: everything in view inside it.
const WIDE_RANGE: [f64; 2] = [0.1, 5.0];
const ALL: [ImageName; 3] = [ImageName::Color, ImageName::Depth, ImageName::Label];

async fn frame(
    suite: &Suite<'_>,
    cameras: Vec<Camera>,
    poses: &[PoseRecord],
    encoding: Encoding,
) -> Result<FrameAnswer, String> {
    let header = FrameHeader {
        poses: poses.len(),
        encoding,
        cameras,
    };
    suite
        .client
        .frame(suite.scene()?, &header, poses)
        .await
        .map_err(|e| failed(&e))
}

fn depth_at(image: &AnswerImage, index: usize) -> f32 {
    image
        .data
        .get(index * 4..index * 4 + 4)
        .map_or(f32::NAN, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn label_at(image: &AnswerImage, index: usize) -> i16 {
    image
        .data
        .get(index * 2..index * 2 + 2)
        .map_or(i16::MIN, |b| i16::from_le_bytes([b[0], b[1]]))
}

fn image(answer: &FrameAnswer, camera: usize, kind: ImageName) -> Result<&AnswerImage, String> {
    answer
        .images
        .iter()
        .find(|i| i.camera == camera && i.kind == kind)
        .ok_or_else(|| format!("no {kind:?} image of camera {camera} in the answer"))
}

/// Two cameras (all three images above, a label looking up): the images in the order asked,
/// Drake's layouts at the asked odd size, the frame counter counting.
pub(super) async fn raw_layouts(suite: &Suite<'_>) -> Outcome {
    let before = suite
        .client
        .scene_summary(suite.scene()?)
        .await
        .map_err(|e| failed(&e))?
        .frames;
    let cameras = vec![
        camera_above(&ALL, WIDE_RANGE),
        camera_up(&[ImageName::Label], WIDE_RANGE),
    ];
    let answer = frame(suite, cameras, &[], Encoding::Raw).await?;
    let pixels = (super::WIDTH * super::HEIGHT) as usize;
    let expected = [
        (0, ImageName::Color, ImageFormat::Rgba8, pixels * 4),
        (0, ImageName::Depth, ImageFormat::F32, pixels * 4),
        (0, ImageName::Label, ImageFormat::I16, pixels * 2),
        (1, ImageName::Label, ImageFormat::I16, pixels * 2),
    ];
    let got: Vec<_> = answer
        .images
        .iter()
        .map(|i| (i.camera, i.kind, i.format, i.data.len()))
        .collect();
    if got != expected {
        return Err(format!("expected {expected:?}, got {got:?}"));
    }
    if let Some(wrong) = answer
        .images
        .iter()
        .find(|i| (i.width, i.height) != (super::WIDTH, super::HEIGHT))
    {
        return Err(format!(
            "{:?} of camera {} is {}×{}, asked {}×{}",
            wrong.kind,
            wrong.camera,
            wrong.width,
            wrong.height,
            super::WIDTH,
            super::HEIGHT
        ));
    }
    if answer.frame != before + 1 {
        return Err(format!(
            "frame counter {} after {before} frames",
            answer.frame
        ));
    }
    let color = &answer.images[0].data;
    if color.chunks_exact(4).all(|p| p == &color[..4]) {
        return Err("the colour image is one flat colour: the scene is not drawn".to_owned());
    }
    Ok(format!(
        "rgba8, f32, i16 at {}×{}, in the order asked; frame {}",
        super::WIDTH,
        super::HEIGHT,
        answer.frame
    ))
}

/// The planar depth of every geometry's top and of the floor, from straight above.
pub(super) async fn depth_values(suite: &Suite<'_>) -> Outcome {
    let cameras = vec![
        camera_above(&[ImageName::Depth], WIDE_RANGE),
        camera_up(&[ImageName::Depth], WIDE_RANGE),
    ];
    let answer = frame(suite, cameras, &[], Encoding::Raw).await?;
    let depth = image(&answer, 0, ImageName::Depth)?;
    let mut worst = 0.0_f64;
    for placed in &suite.placed {
        let top = placed.position + DVec3::new(0.0, 0.0, placed.top - placed.position.z);
        // The floor is judged beside the first geometry, where nothing else is.
        let point = if placed.geometry.id == builtin::FLOOR_ID {
            DVec3::new(0.0, 1.6, 0.0)
        } else {
            top
        };
        let (index, expected) = pixel_of(point);
        let got = f64::from(depth_at(depth, index));
        let tolerance = if placed.flat_top {
            FLAT_TOLERANCE_M
        } else {
            CURVED_TOLERANCE_M
        };
        let error = (got - expected).abs();
        if error.is_nan() || error > tolerance {
            return Err(format!(
                "{:?} (id {}): depth {got} m at its top, expected {expected:.3} m (± {tolerance} m)",
                placed.geometry.shape.kind, placed.geometry.id
            ));
        }
        worst = worst.max(error);
    }
    let sky = image(&answer, 1, ImageName::Depth)?;
    let pixels = (super::WIDTH * super::HEIGHT) as usize;
    if let Some(index) = (0..pixels).find(|&i| depth_at(sky, i) != f32::INFINITY) {
        return Err(format!(
            "looking at nothing, pixel {index} reads {} m instead of +inf",
            depth_at(sky, index)
        ));
    }
    Ok(format!(
        "every top within {:.2} mm; nothing hit reads +inf",
        worst * 1000.0
    ))
}

/// A depth range that cuts the scene: tops nearer than it read 0, the floor beyond it +inf, and
/// what lies inside reads its depth.
pub(super) async fn depth_sentinels(suite: &Suite<'_>) -> Outcome {
    // Tops at 1.9 m (the mesh), 2.1 m (the box) and the floor at 2.5 m.
    let range = [2.0, 2.4];
    let answer = frame(
        suite,
        vec![camera_above(&[ImageName::Depth], range)],
        &[],
        Encoding::Raw,
    )
    .await?;
    let depth = image(&answer, 0, ImageName::Depth)?;
    let find = |kind: ShapeType| {
        suite
            .placed
            .iter()
            .find(|p| p.geometry.shape.kind == kind)
            .map(|p| p.position + DVec3::new(0.0, 0.0, p.top - p.position.z))
    };
    let (mesh, cube) = (
        find(ShapeType::Mesh).ok_or("no mesh")?,
        find(ShapeType::Box).ok_or("no box")?,
    );
    let near = depth_at(depth, pixel_of(mesh).0);
    let inside = depth_at(depth, pixel_of(cube).0);
    let far = depth_at(depth, pixel_of(DVec3::new(0.0, 1.6, 0.0)).0);
    if near != 0.0 || far != f32::INFINITY || (f64::from(inside) - 2.1).abs() > FLAT_TOLERANCE_M {
        return Err(format!(
            "range {range:?}: top at 1.9 m reads {near} (expected 0), box at 2.1 m reads {inside}, \
             floor at 2.5 m reads {far} (expected +inf)"
        ));
    }
    Ok("too near 0, too far +inf, inside 2.1 m".to_owned())
}

/// Each geometry's label at its centre as sent; `kDoNotRender` shows what is under it; nothing
/// hit is `kEmpty`.
pub(super) async fn labels_as_sent(suite: &Suite<'_>) -> Outcome {
    let cameras = vec![
        camera_above(&[ImageName::Label], WIDE_RANGE),
        camera_up(&[ImageName::Label], WIDE_RANGE),
    ];
    let answer = frame(suite, cameras, &[], Encoding::Raw).await?;
    let labels = image(&answer, 0, ImageName::Label)?;
    for placed in &suite.placed {
        let point = if placed.geometry.id == builtin::FLOOR_ID {
            DVec3::new(0.0, 1.6, 0.0)
        } else {
            placed.position
        };
        let got = label_at(labels, pixel_of(point).0);
        if got != placed.label {
            return Err(format!(
                "{:?} (id {}, label/id {:?}): label {got} at its centre, expected {}",
                placed.geometry.shape.kind,
                placed.geometry.id,
                placed.geometry.properties.label,
                placed.label
            ));
        }
    }
    let sky = image(&answer, 1, ImageName::Label)?;
    let pixels = (super::WIDTH * super::HEIGHT) as usize;
    if let Some(index) = (0..pixels).find(|&i| label_at(sky, i) != LABEL_EMPTY) {
        return Err(format!(
            "looking at nothing, pixel {index} is label {} instead of kEmpty ({LABEL_EMPTY})",
            label_at(sky, index)
        ));
    }
    Ok(format!(
        "{} labels as sent, kDoNotRender left out, kEmpty where nothing is",
        suite.placed.len()
    ))
}

/// `"encoding": "png"`: colour PNG (read by Drake's rules), depth float TIFF, label 16-bit grey
/// PNG, each the same pixels as the raw answer of the same frame.
pub(super) async fn png_matches_raw(suite: &Suite<'_>) -> Outcome {
    let raw = frame(
        suite,
        vec![camera_above(&ALL, WIDE_RANGE)],
        &[],
        Encoding::Raw,
    )
    .await?;
    let png = frame(
        suite,
        vec![camera_above(&ALL, WIDE_RANGE)],
        &[],
        Encoding::Png,
    )
    .await?;
    let (w, h) = (super::WIDTH, super::HEIGHT);
    let stem = "scene-api-check";
    let formats: Vec<_> = png.images.iter().map(|i| i.format).collect();
    if formats != [ImageFormat::Png, ImageFormat::Tiff, ImageFormat::Png] {
        return Err(format!("formats {formats:?}, expected png, tiff, png"));
    }
    let color = ColorImage::decode(&png.images[0].data, w, h, stem).map_err(|e| e.to_string())?;
    if color.rgba != raw.images[0].data {
        return Err("the colour PNG's pixels differ from the raw answer's".to_owned());
    }
    let depth = DepthImage::decode(&png.images[1].data, w, h, stem).map_err(|e| e.to_string())?;
    let raw_depth: Vec<f32> = (0..(w * h) as usize)
        .map(|i| depth_at(&raw.images[1], i))
        .collect();
    if depth.metres != raw_depth {
        return Err("the depth TIFF's values differ from the raw answer's".to_owned());
    }
    let labels = grey16_png(&png.images[2].data, w, h)?;
    let raw_labels: Vec<i16> = (0..(w * h) as usize)
        .map(|i| label_at(&raw.images[2], i))
        .collect();
    if labels != raw_labels {
        return Err("the label PNG's values differ from the raw answer's".to_owned());
    }
    Ok("PNG, float TIFF and 16-bit PNG hold the raw answer's pixels".to_owned())
}

/// A 16-bit grey PNG's values as labels.
fn grey16_png(bytes: &[u8], width: u32, height: u32) -> Result<Vec<i16>, String> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .map_err(|e| format!("label PNG: {e}"))?;
    let info = reader.info();
    if (info.width, info.height, info.color_type, info.bit_depth)
        != (
            width,
            height,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
        )
    {
        return Err(format!(
            "label PNG is {}×{} {:?} {:?}, expected {width}×{height} 16-bit grey",
            info.width, info.height, info.color_type, info.bit_depth
        ));
    }
    let mut data = vec![0; reader.output_buffer_size().unwrap_or(0)];
    reader
        .next_frame(&mut data)
        .map_err(|e| format!("label PNG: {e}"))?;
    Ok(data
        .chunks_exact(2)
        .map(|b| i16::from_be_bytes([b[0], b[1]]))
        .collect())
}

/// A pose record moves the box between the rows; a later frame without poses leaves it there.
pub(super) async fn pose_moves(suite: &mut Suite<'_>) -> Outcome {
    let box_index = suite
        .placed
        .iter()
        .position(|p| p.geometry.id == 1)
        .ok_or("the built-in scene lost geometry 1")?;
    let (old, label) = (
        suite.placed[box_index].position,
        suite.placed[box_index].label,
    );
    let new = DVec3::new(old.x, 0.0, old.z);
    let record = PoseRecord {
        id: 1,
        x_wg: at(new),
    };
    let cameras = || vec![camera_above(&[ImageName::Label], WIDE_RANGE)];
    let moved = frame(suite, cameras(), &[record], Encoding::Raw).await?;
    let kept = frame(suite, cameras(), &[], Encoding::Raw).await?;
    // The pose is the scene's now: later cases see the box where it went.
    suite.placed[box_index].position = new;
    suite.placed[box_index].geometry.x_wg = at(new);
    for (what, answer) in [("moving", &moved), ("the next", &kept)] {
        let labels = image(answer, 0, ImageName::Label)?;
        let (at_old, at_new) = (
            label_at(labels, pixel_of(old).0),
            label_at(labels, pixel_of(new).0),
        );
        if at_old != builtin::FLOOR_LABEL || at_new != label {
            return Err(format!(
                "{what} frame: label {at_old} where the box was (expected the floor's {}), {at_new} \
                 where it went (expected {label})",
                builtin::FLOOR_LABEL
            ));
        }
    }
    Ok("moved by one pose record, and stays moved".to_owned())
}

/// One PATCH removes the sphere, adds a sphere elsewhere and changes the cylinder's label; the
/// next frame shows all three.
pub(super) async fn patch_edit(suite: &mut Suite<'_>) -> Outcome {
    let id = suite.scene()?.to_owned();
    let find = |id: u64| {
        suite
            .placed
            .iter()
            .position(|p| p.geometry.id == id)
            .ok_or(format!("the built-in scene lost geometry {id}"))
    };
    let (sphere, cylinder) = (find(2)?, find(3)?);
    let mut ball = Shape::of(ShapeType::Sphere);
    ball.radius = Some(0.2);
    let added_at = DVec3::new(0.4, 0.0, 0.2);
    let added = Geometry {
        id: 50,
        shape: ball,
        x_wg: at(added_at),
        properties: crate::protocol::scene_api::scene::Properties {
            label: Some(40),
            ..Default::default()
        },
    };
    let mut changed = suite.placed[cylinder].geometry.clone();
    changed.properties.label = Some(33);
    let patch = PatchRequest {
        remove: vec![2, 3],
        add: vec![added, changed],
    };
    let summary = suite
        .client
        .patch_scene(&id, &patch)
        .await
        .map_err(|e| failed(&e))?;
    let removed_at = suite.placed[sphere].position;
    let cylinder_at = suite.placed[cylinder].position;
    suite.placed[cylinder].label = 33;
    suite.placed[cylinder].geometry.properties.label = Some(33);
    suite.placed.remove(sphere);
    if summary.geometries != suite.placed.len() + 1 {
        return Err(format!(
            "after removing 2 and adding 2 the scene has {} geometries, expected {}",
            summary.geometries,
            suite.placed.len() + 1
        ));
    }
    let answer = frame(
        suite,
        vec![camera_above(&[ImageName::Label], WIDE_RANGE)],
        &[],
        Encoding::Raw,
    )
    .await?;
    let labels = image(&answer, 0, ImageName::Label)?;
    let seen = [
        label_at(labels, pixel_of(removed_at).0),
        label_at(labels, pixel_of(added_at).0),
        label_at(labels, pixel_of(cylinder_at).0),
    ];
    let expected = [builtin::FLOOR_LABEL, 40, 33];
    if seen != expected {
        return Err(format!(
            "labels where the sphere was, the added one and the changed cylinder: {seen:?}, \
             expected {expected:?}"
        ));
    }
    Ok("removed, added and changed in one PATCH; the next frame shows each".to_owned())
}

/// Bad frames: each a 400 `bad_request` naming its field, and none moves a geometry.
pub(super) async fn bad_frame_fields(suite: &Suite<'_>) -> Outcome {
    let id = suite.scene()?;
    let path = format!("/scenes/{id}/frames");
    let mut no_range = camera_above(&[ImageName::Depth], WIDE_RANGE);
    no_range.depth_range = None;
    let mut scaled = at(DVec3::new(5.0, 5.0, 0.0));
    scaled[0] = 2.0;
    let label_only = || vec![camera_above(&[ImageName::Label], WIDE_RANGE)];
    let cases = [
        (no_range.clone(), Vec::new(), "cameras[0].depth_range"),
        (
            label_only()[0].clone(),
            vec![PoseRecord {
                id: 999_999,
                x_wg: at(DVec3::ZERO),
            }],
            "poses[0]",
        ),
        (
            label_only()[0].clone(),
            vec![PoseRecord {
                id: 4,
                x_wg: scaled,
            }],
            "poses[0]",
        ),
    ];
    for (camera, poses, field) in cases {
        let header = FrameHeader {
            poses: poses.len(),
            encoding: Encoding::Raw,
            cameras: vec![camera],
        };
        let body = crate::protocol::scene_api::frame::write_request(&header, &poses);
        let answer = suite
            .client
            .raw("POST", &path, Some("application/octet-stream"), body)
            .await
            .map_err(|e| failed(&e))?;
        refused(&answer, 400, "bad_request", Some(field)).map_err(|e| format!("{field}: {e}"))?;
    }
    // The refused frames moved nothing: the capsule (id 4) is still where it was.
    let capsule = suite
        .placed
        .iter()
        .find(|p| p.geometry.id == 4)
        .ok_or("the built-in scene lost geometry 4")?;
    let answer = frame(suite, label_only(), &[], Encoding::Raw).await?;
    let got = label_at(
        image(&answer, 0, ImageName::Label)?,
        pixel_of(capsule.position).0,
    );
    if got != capsule.label {
        return Err(format!(
            "after refused frames the capsule's place reads label {got}, expected {}",
            capsule.label
        ));
    }
    Ok("400 bad_request naming cameras[0].depth_range, poses[0] (unknown id), poses[0] (not a rotation); nothing moved".to_owned())
}
