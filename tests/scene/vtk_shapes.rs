//! `scene::shapes` and `scene::mesh_file` against RenderEngineVtk's own tessellation, captured by
//! `scripts/capture_vtk_shapes.py` from pydrake 1.51.1 (positions and texture coordinates, as
//! RenderEngineVtk's VTK holds them) and VTK's wheel running Drake's pipeline (normals).

use std::path::PathBuf;
use std::sync::Arc;

use gltf_cloud::scene::mesh_file::{load_mesh_file, MeshFileSource, MeshFormat, PartMaterial};
use gltf_cloud::scene::shapes::{tessellate, Shape};
use gltf_cloud::scene::{LoadOptions, Mesh};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vtk_shapes.json");
    let text = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_slice(&text).unwrap()
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

fn shape(params: &Value) -> Shape {
    let n = |key| number(params, key);
    match params["type"].as_str().unwrap() {
        "box" => Shape::Box {
            width: n("width"),
            depth: n("depth"),
            height: n("height"),
        },
        "sphere" => Shape::Sphere {
            radius: n("radius"),
        },
        "cylinder" => Shape::Cylinder {
            radius: n("radius"),
            length: n("length"),
        },
        "capsule" => Shape::Capsule {
            radius: n("radius"),
            length: n("length"),
        },
        "ellipsoid" => Shape::Ellipsoid {
            a: n("a"),
            b: n("b"),
            c: n("c"),
        },
        "half_space" => Shape::HalfSpace,
        other => panic!("unknown shape {other}"),
    }
}

fn floats(value: &Value) -> Vec<f32> {
    (value.as_array().unwrap().iter())
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

/// Positions bit for bit (all of them, through their hash, and each sample); texture
/// coordinates flipped back from the scene's top-row origin to VTK's; normals to 1e-6.
fn assert_matches_vtk(what: &str, mesh: &Mesh, expected: &Value) {
    assert_eq!(
        mesh.positions.len() as u64,
        expected["points"].as_u64().unwrap(),
        "{what}"
    );
    let digest = hex::encode(Sha256::digest(bytemuck::cast_slice::<_, u8>(
        &mesh.positions,
    )));
    let uv = mesh.tex_coords.as_ref().unwrap();
    for sample in expected["samples"].as_array().unwrap() {
        let i = sample["index"].as_u64().unwrap() as usize;
        assert_eq!(
            mesh.positions[i].to_vec(),
            floats(&sample["position"]),
            "{what} point {i}"
        );
        let [u, v] = floats(&sample["tex_coord"])[..] else {
            panic!()
        };
        assert_eq!(uv[i][0], u, "{what} u {i}");
        assert!(
            (1.0 - uv[i][1] - v).abs() <= 1e-7,
            "{what} v {i}: {} vs {v}",
            uv[i][1]
        );
        if let Some(normal) = sample.get("normal") {
            let expected = floats(normal);
            for (got, want) in mesh.normals[i].iter().zip(&expected) {
                assert!(
                    (got - want).abs() <= 1e-6,
                    "{what} normal {i}: {:?} vs {expected:?}",
                    mesh.normals[i]
                );
            }
        }
    }
    assert_eq!(
        digest,
        expected["positions_sha256"].as_str().unwrap(),
        "{what} positions"
    );
}

#[test]
fn every_shape_is_tessellated_as_render_engine_vtk_holds_it() {
    let fixture = fixture();
    let shapes = fixture["shapes"].as_array().unwrap();
    assert_eq!(shapes.len(), 6);
    for entry in shapes {
        let shape = shape(&entry["shape"]);
        assert_matches_vtk(&format!("{shape:?}"), &tessellate(&shape), entry);
    }
}

/// An RGBA PNG, 2 × 2, one colour.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 2, 2);
    encoder.set_color(png::ColorType::Rgba);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&[200, 150, 100, 255].repeat(4))
        .unwrap();
    writer.finish().unwrap();
    out
}

/// The OBJ's parts in Drake's order (faces without material, then by material), each with
/// RenderEngineVtk's vertices, in its order, and its triangles.
#[test]
fn an_obj_is_partitioned_and_triangulated_as_render_engine_vtk_does() {
    let fixture = fixture();
    let obj = &fixture["obj"];
    let files: Vec<(&str, Arc<[u8]>)> = vec![
        (
            "parts.mtl",
            Arc::from(obj["mtl"].as_str().unwrap().as_bytes()),
        ),
        ("wood.png", Arc::from(png())),
    ];
    let resolve = |name: &str| {
        files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.clone())
    };
    let file = load_mesh_file(
        &MeshFileSource {
            format: MeshFormat::Obj,
            name: "parts.obj",
            main: obj["obj"].as_str().unwrap().as_bytes(),
            resolve: &resolve,
        },
        &LoadOptions::default(),
    )
    .unwrap();
    let parts = obj["parts"].as_array().unwrap();
    assert_eq!(file.parts.len(), parts.len());
    for (index, (part, expected)) in file.parts.iter().zip(parts).enumerate() {
        let what = format!("part {index}");
        assert_matches_vtk(&what, &part.mesh, expected);
        let indices: Vec<u32> = (expected["indices"].as_array().unwrap().iter())
            .map(|i| i.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(part.mesh.indices, indices, "{what}");
    }
    assert!(matches!(
        file.parts[0].material,
        PartMaterial::FromProperties { .. }
    ));
    let PartMaterial::Mtl { texture, diffuse } = &file.parts[2].material else {
        panic!("{:?}", file.parts[2].material)
    };
    assert_eq!(*diffuse, [0.5, 0.5, 0.5, 1.0]);
    assert_eq!(texture.as_ref().unwrap().rgba[..4], [200, 150, 100, 255]);
}

/// Outward unit normals (rounded to 1e-6, deduplicated) and total area of a triangle soup.
fn faces(positions: &[[f32; 3]], indices: &[u32]) -> (Vec<[i64; 3]>, f64) {
    let mut normals = Vec::new();
    let mut area = 0.0;
    for triangle in indices.chunks(3) {
        let [a, b, c] = [0, 1, 2].map(|k| {
            let p = positions[triangle[k] as usize];
            glam::DVec3::new(p[0].into(), p[1].into(), p[2].into())
        });
        let cross = (b - a).cross(c - a);
        if cross.length() < 1e-12 {
            continue;
        }
        area += cross.length() / 2.0;
        let n = cross.normalize();
        normals.push([n.x, n.y, n.z].map(|c| (c * 1e6).round() as i64));
    }
    normals.sort_unstable();
    normals.dedup();
    (normals, area)
}

/// A Convex: Drake's qhull hull and ours have the same faces (outward normals), the same
/// corners and the same area; only how each flat face is cut into triangles may differ.
#[test]
fn a_convex_is_the_hull_render_engine_vtk_draws() {
    let fixture = fixture();
    let convex = &fixture["convex"];
    let expected: Vec<[f32; 3]> = (convex["positions"].as_array().unwrap().iter())
        .map(|p| floats(p).try_into().unwrap())
        .collect();
    let expected_indices: Vec<u32> = (convex["indices"].as_array().unwrap().iter())
        .map(|i| i.as_u64().unwrap() as u32)
        .collect();
    let resolve = |_: &str| None;
    let ours = gltf_cloud::scene::mesh_file::load_convex(
        &MeshFileSource {
            format: MeshFormat::Obj,
            name: "hull.obj",
            main: convex["obj"].as_str().unwrap().as_bytes(),
            resolve: &resolve,
        },
        &LoadOptions::default(),
    )
    .unwrap();
    let (drake_faces, drake_area) = faces(&expected, &expected_indices);
    let (our_faces, our_area) = faces(&ours.positions, &ours.indices);
    assert_eq!(our_faces, drake_faces);
    assert!(
        (our_area - drake_area).abs() < 1e-6,
        "{our_area} vs {drake_area}"
    );
    let corners = |points: &[[f32; 3]]| {
        let mut bits: Vec<[u32; 3]> = points.iter().map(|p| p.map(f32::to_bits)).collect();
        bits.sort_unstable();
        bits.dedup();
        bits
    };
    assert_eq!(corners(&ours.positions), corners(&expected));
    // Faceted: each vertex carries its own face's normal.
    for (triangle, normals) in ours.positions.chunks(3).zip(ours.normals.chunks(3)) {
        assert!(normals.iter().all(|n| *n == normals[0]), "{triangle:?}");
    }
}
