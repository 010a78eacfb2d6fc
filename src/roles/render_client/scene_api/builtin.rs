//! The built-in scene of scene mode: one geometry of every shape type the scene API takes (a
//! `mesh` and a `convex` from one OBJ asset, non-uniformly and uniformly scaled) on a half space,
//! laid out on a grid so that, seen from straight above, each one's label and the planar depth of
//! its top follow from its place alone. The benchmark moves them frame by frame; the checks judge
//! the images against [`Placed`].
//!
//! [`drake_gltf`] writes the same scene as Drake's exporter would (each shape as RenderEngineVtk
//! tessellates it, every buffer a base64 `data:` URI): what Drake's client sends for every image,
//! against which the benchmark sets the bytes of a frame.

use glam::{DMat4, DVec3};

use super::super::scenes::{box_mesh, GltfWriter};
use crate::protocol::scene_api::pose::{self, Pose};
use crate::protocol::scene_api::scene::{
    Geometry, MeshFormat, MeshSource, Properties, Scale, Shape, ShapeType,
};
use crate::scene::shapes::{self, tessellate};

/// RenderEngineVtk's `kDoNotRender`: left out of label images, drawn in colour and depth.
pub const LABEL_DO_NOT_RENDER: i64 = 32765;
/// The half space's label, seen wherever no other geometry is.
pub const FLOOR_LABEL: i16 = 3;
/// The half space's id.
pub const FLOOR_ID: u64 = 100;
/// Half the edge of the OBJ asset's cube.
const CUBE_HALF: f64 = 0.5;

/// One geometry of the built-in scene and what a camera straight above sees of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub geometry: Geometry,
    /// Its position in the world (the centre of its shape).
    pub position: DVec3,
    /// The height of its highest point above the floor.
    pub top: f64,
    /// Whether the top is flat around its centre (the planar depth there is exact).
    pub flat_top: bool,
    /// The label a label image shows at its centre.
    pub label: i16,
}

/// The OBJ asset: a cube of edge 1 m around its origin, with the normals Drake requires, one per
/// face.
pub fn cube_obj() -> Vec<u8> {
    let (positions, indices) = box_mesh(DVec3::splat(CUBE_HALF));
    let mut text = String::from("# gltf-cloud scene mode: a unit cube\n");
    for p in &positions {
        text.push_str(&format!("v {} {} {}\n", p[0], p[1], p[2]));
    }
    // box_mesh writes four corners per face, the face's two triangles after each other.
    for face in positions.chunks_exact(4) {
        let [a, b, c] = [face[0], face[1], face[2]].map(|p| DVec3::from(p.map(f64::from)));
        let n = (b - a).cross(c - a).normalize();
        text.push_str(&format!("vn {} {} {}\n", n.x, n.y, n.z));
    }
    for (t, triangle) in indices.chunks_exact(3).enumerate() {
        let normal = t / 2 + 1;
        let [a, b, c] = [triangle[0] + 1, triangle[1] + 1, triangle[2] + 1];
        text.push_str(&format!("f {a}//{normal} {b}//{normal} {c}//{normal}\n"));
    }
    text.into_bytes()
}

/// A pose translated to `p`.
pub fn at(p: DVec3) -> Pose {
    pose::from_matrix(&DMat4::from_translation(p))
}

fn sized(kind: ShapeType, fill: impl FnOnce(&mut Shape)) -> Shape {
    let mut shape = Shape::of(kind);
    fill(&mut shape);
    shape
}

fn mesh_shape(kind: ShapeType, asset: &str, scale: Scale) -> Shape {
    sized(kind, |s| {
        s.source = Some(MeshSource {
            format: MeshFormat::Obj,
            name: "cube.obj".to_owned(),
            asset: asset.to_owned(),
            files: Default::default(),
        });
        s.scale = Some(scale);
    })
}

/// The scene: every shape type, labels 11–17, a `kDoNotRender` box, the floor labelled
/// [`FLOOR_LABEL`]. `mesh_asset` names [`cube_obj`]'s bytes.
pub fn scene(mesh_asset: &str) -> Vec<Placed> {
    let diffuse = |i: usize| {
        let hue = i as f64 / 8.0;
        [0.3 + 0.6 * hue, 0.8 - 0.5 * hue, 0.2 + 0.3 * hue, 1.0]
    };
    // (shape, centre height, top, flat top, label)
    let items: Vec<(Shape, f64, f64, bool, i64)> = vec![
        (
            sized(ShapeType::Box, |s| {
                (s.width, s.depth, s.height) = (Some(0.4), Some(0.4), Some(0.4));
            }),
            0.2,
            0.4,
            true,
            11,
        ),
        (
            sized(ShapeType::Sphere, |s| s.radius = Some(0.2)),
            0.2,
            0.4,
            false,
            12,
        ),
        (
            sized(ShapeType::Cylinder, |s| {
                (s.radius, s.length) = (Some(0.2), Some(0.4));
            }),
            0.2,
            0.4,
            true,
            13,
        ),
        (
            sized(ShapeType::Capsule, |s| {
                (s.radius, s.length) = (Some(0.15), Some(0.3));
            }),
            0.3,
            0.6,
            false,
            14,
        ),
        (
            sized(ShapeType::Ellipsoid, |s| {
                (s.a, s.b, s.c) = (Some(0.3), Some(0.2), Some(0.1));
            }),
            0.1,
            0.2,
            false,
            15,
        ),
        (
            mesh_shape(ShapeType::Mesh, mesh_asset, Scale::PerAxis([0.4, 0.4, 0.6])),
            0.3,
            0.6,
            true,
            16,
        ),
        (
            mesh_shape(ShapeType::Convex, mesh_asset, Scale::Uniform(0.4)),
            0.2,
            0.4,
            true,
            17,
        ),
        (
            sized(ShapeType::Box, |s| {
                (s.width, s.depth, s.height) = (Some(0.4), Some(0.4), Some(0.2));
            }),
            0.1,
            0.2,
            true,
            LABEL_DO_NOT_RENDER,
        ),
    ];
    let mut placed: Vec<Placed> = items
        .into_iter()
        .enumerate()
        .map(|(i, (shape, height, top, flat_top, label))| {
            // Two rows of four, 0.8 m apart: each at least 7 pixels from its neighbours.
            let position = DVec3::new(
                -1.2 + 0.8 * (i % 4) as f64,
                if i < 4 { 0.6 } else { -0.6 },
                height,
            );
            Placed {
                geometry: Geometry {
                    id: i as u64 + 1,
                    shape,
                    x_wg: at(position),
                    properties: Properties {
                        diffuse: Some(diffuse(i)),
                        label: Some(label),
                        ..Properties::default()
                    },
                },
                position,
                top,
                flat_top,
                label: if label == LABEL_DO_NOT_RENDER {
                    FLOOR_LABEL
                } else {
                    label as i16
                },
            }
        })
        .collect();
    placed.push(Placed {
        geometry: Geometry {
            id: FLOOR_ID,
            shape: Shape::of(ShapeType::HalfSpace),
            x_wg: pose::IDENTITY,
            properties: Properties {
                diffuse: Some([0.6, 0.6, 0.6, 1.0]),
                label: Some(i64::from(FLOOR_LABEL)),
                ..Properties::default()
            },
        },
        position: DVec3::ZERO,
        top: 0.0,
        flat_top: true,
        label: FLOOR_LABEL,
    });
    placed
}

/// The pose of geometry `index` of [`scene`] at frame `n` of the benchmark: turned about its
/// vertical axis and slid along its row, so every frame moves every geometry but the floor.
pub fn moving_pose(placed: &Placed, n: usize) -> Pose {
    let phase = n as f64 * 0.1 + placed.geometry.id as f64;
    let shift = DVec3::new(0.1 * phase.sin(), 0.0, 0.0);
    pose::from_matrix(
        &(DMat4::from_translation(placed.position + shift) * DMat4::from_rotation_z(phase)),
    )
}

/// The scene as Drake's exporter writes it for one image: every shape tessellated as
/// RenderEngineVtk tessellates it, with normals, each buffer a base64 `data:` URI.
pub fn drake_gltf(scene: &[Placed]) -> Vec<u8> {
    let mut document = GltfWriter::default();
    let (cube_positions, cube_indices) = box_mesh(DVec3::splat(CUBE_HALF));
    for placed in scene {
        let s = &placed.geometry.shape;
        let primitive = match s.kind {
            ShapeType::Box => Some(shapes::Shape::Box {
                width: s.width.unwrap_or(1.0),
                depth: s.depth.unwrap_or(1.0),
                height: s.height.unwrap_or(1.0),
            }),
            ShapeType::Sphere => Some(shapes::Shape::Sphere {
                radius: s.radius.unwrap_or(1.0),
            }),
            ShapeType::Cylinder => Some(shapes::Shape::Cylinder {
                radius: s.radius.unwrap_or(1.0),
                length: s.length.unwrap_or(1.0),
            }),
            ShapeType::Capsule => Some(shapes::Shape::Capsule {
                radius: s.radius.unwrap_or(1.0),
                length: s.length.unwrap_or(1.0),
            }),
            ShapeType::Ellipsoid => Some(shapes::Shape::Ellipsoid {
                a: s.a.unwrap_or(1.0),
                b: s.b.unwrap_or(1.0),
                c: s.c.unwrap_or(1.0),
            }),
            ShapeType::HalfSpace => Some(shapes::Shape::HalfSpace),
            ShapeType::Mesh | ShapeType::Convex => None,
        };
        let matrix = pose::to_matrix(&placed.geometry.x_wg).to_cols_array();
        let colour = placed.geometry.properties.diffuse.unwrap_or([1.0; 4]);
        match primitive {
            Some(primitive) => {
                let mesh = tessellate(&primitive);
                document.add_mesh(
                    &mesh.positions,
                    Some(&mesh.normals),
                    &mesh.indices,
                    matrix,
                    colour,
                );
            }
            None => document.add_mesh(&cube_positions, None, &cube_indices, matrix, colour),
        }
    }
    document.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::scene_api::check;

    /// Every geometry passes the server's own checks, and every shape type is there.
    #[test]
    fn the_scene_holds_every_shape_type_and_passes_the_checks() {
        let asset = crate::roles::render_client::scene_api::client::asset_name(&cube_obj());
        let scene = scene(&asset);
        for kind in [
            ShapeType::Box,
            ShapeType::Sphere,
            ShapeType::Cylinder,
            ShapeType::Capsule,
            ShapeType::Ellipsoid,
            ShapeType::HalfSpace,
            ShapeType::Mesh,
            ShapeType::Convex,
        ] {
            assert!(
                scene.iter().any(|p| p.geometry.shape.kind == kind),
                "{kind:?}"
            );
        }
        for (index, placed) in scene.iter().enumerate() {
            check::check_geometry(&placed.geometry, &format!("geometries[{index}]"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(pose::check(&moving_pose(placed, 7)), Ok(()));
        }
    }

    #[test]
    fn drakes_export_of_the_scene_carries_every_tessellated_triangle() {
        let scene = scene(&"0".repeat(64));
        let gltf: serde_json::Value = serde_json::from_slice(&drake_gltf(&scene)).unwrap();
        assert_eq!(gltf["meshes"].as_array().unwrap().len(), scene.len());
        // The sphere alone is 4950 triangles as RenderEngineVtk draws it.
        assert!(gltf.to_string().len() > 100_000);
    }
}
