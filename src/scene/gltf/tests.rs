//! Hand-made glTFs, one per quirk the loader tolerates and per error it reports. Real Drake output
//! is tested in `tests/scene/`.
//!
//! Over 600 lines on purpose: every test builds its document with the one `Doc` helper below and
//! reads as a short list of edits to it, so they stay together rather than split by loader step.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use glam::{DMat4, DVec3, Vec3};
use serde_json::{json, Value};

use super::images::tests::png_rgba as png;
use super::*;
use crate::scene::{Filter, Material, Sampler, Texture, TextureRef, Wrap};

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

/// A glTF document built the way VTK writes them: one buffer per bufferView, `data:` URIs.
struct Doc {
    json: Value,
}

impl Doc {
    fn new() -> Self {
        Self {
            json: json!({
                "asset": {"version": "2.0"},
                "accessors": [], "bufferViews": [], "buffers": [], "meshes": [], "nodes": [],
                "materials": [], "textures": [], "images": [], "samplers": [],
                "scene": 0, "scenes": [{"nodes": []}]
            }),
        }
    }

    fn push(&mut self, key: &str, value: Value) -> usize {
        let array = self.json[key].as_array_mut().unwrap();
        array.push(value);
        array.len() - 1
    }

    /// A buffer holding `bytes` and a bufferView over all of it; returns the view.
    fn view(&mut self, bytes: &[u8]) -> usize {
        let uri = data_uri("application/octet-stream", bytes);
        let buffer = self.push("buffers", json!({"byteLength": bytes.len(), "uri": uri}));
        self.push(
            "bufferViews",
            json!({"buffer": buffer, "byteLength": bytes.len(), "byteOffset": 0, "target": 34962}),
        )
    }

    fn accessor(&mut self, bytes: &[u8], component_type: u32, count: usize, kind: &str) -> usize {
        let view = self.view(bytes);
        self.push(
            "accessors",
            json!({"bufferView": view, "byteOffset": 0, "componentType": component_type,
                   "count": count, "type": kind}),
        )
    }

    fn positions(&mut self, positions: &[[f32; 3]]) -> usize {
        let bytes = f32_bytes(positions.iter().flatten().copied());
        self.accessor(&bytes, 5126, positions.len(), "VEC3")
    }

    fn indices_u32(&mut self, indices: &[u32]) -> usize {
        let bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        self.accessor(&bytes, 5125, indices.len(), "SCALAR")
    }

    /// A root node holding a one-primitive mesh; returns the node.
    fn mesh_node(&mut self, primitive: Value, node: Value) -> usize {
        let mesh = self.push("meshes", json!({"primitives": [primitive]}));
        let mut node = node;
        node["mesh"] = json!(mesh);
        let node = self.push("nodes", node);
        self.root(node);
        node
    }

    fn root(&mut self, node: usize) {
        self.json["scenes"][0]["nodes"]
            .as_array_mut()
            .unwrap()
            .push(json!(node));
    }

    /// One triangle (indexed, u32) under a root node with `node` fields; returns the node.
    fn triangle(&mut self, node: Value) -> usize {
        let position = self.positions(&TRIANGLE);
        let indices = self.indices_u32(&[0, 1, 2]);
        self.mesh_node(
            json!({"attributes": {"POSITION": position}, "indices": indices, "mode": 4}),
            node,
        )
    }

    fn load_with(&self, options: &LoadOptions) -> Result<Scene, SceneError> {
        load(&serde_json::to_vec(&self.json).unwrap(), options)
    }

    fn load(&self) -> Result<Scene, SceneError> {
        self.load_with(&LoadOptions::default())
    }

    fn error(&self) -> String {
        self.load().unwrap_err().to_string()
    }
}

const TRIANGLE: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];

/// One instance flattened to the world frame, the way the loader built meshes before instancing:
/// world positions, world normals, the winding swapped under mirroring. The assertions on
/// transforms below are about what gets drawn, whichever layer applies the transform.
#[derive(Debug)]
struct WorldMesh {
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    tex_coords: Option<Vec<[f32; 2]>>,
    indices: Vec<u32>,
    material: Material,
}

fn world(scene: &Scene) -> Vec<WorldMesh> {
    scene
        .instances
        .iter()
        .map(|instance| {
            let mesh = &scene.meshes[instance.mesh];
            let normal_matrix = instance.normal_matrix().unwrap();
            let mut indices = mesh.indices.clone();
            if instance.mirrors() {
                indices.chunks_exact_mut(3).for_each(|t| t.swap(1, 2));
            }
            WorldMesh {
                positions: instance.world_positions(mesh).collect(),
                normals: (mesh.normals.iter())
                    .map(|n| (normal_matrix * DVec3::from(n.map(f64::from))).normalize())
                    .map(|n| n.as_vec3().to_array())
                    .collect(),
                tex_coords: mesh.tex_coords.clone(),
                indices,
                material: instance.material.clone(),
            }
        })
        .collect()
}

fn assert_close(actual: [f32; 3], expected: [f32; 3]) {
    let distance = Vec3::from(actual).distance(Vec3::from(expected));
    assert!(distance < 1e-5, "{actual:?} != {expected:?}");
}

/// Runs `f` with a subscriber that records formatted log lines, and returns them.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    (result, text)
}

// ----- leniency -----------------------------------------------------------------------------

#[test]
fn drakes_empty_scene_with_null_arrays_is_an_empty_scene() {
    let empty =
        br#"{"accessors":null,"asset":{"generator":"VTK","version":"2.0"},"bufferViews":null,
        "buffers":null,"cameras":null,"materials":null,"meshes":null,"nodes":null,"scene":0,
        "scenes":[{"name":"Layer 0","nodes":null}]}"#;
    let scene = load(empty, &LoadOptions::default()).unwrap();
    assert!(scene.instances.is_empty());
    assert!(scene.textures.is_empty());
    assert!(scene.camera.is_none());
}

#[test]
fn nulls_inside_objects_read_as_absent() {
    let mut doc = Doc::new();
    doc.triangle(json!({"children": null, "matrix": null, "camera": null}));
    doc.json["meshes"][0]["primitives"][0]["material"] = Value::Null;
    doc.json["accessors"][0]["byteOffset"] = Value::Null;
    let scene = doc.load().unwrap();
    assert_eq!(world(&scene).len(), 1);
    assert_eq!(world(&scene)[0].positions, TRIANGLE.to_vec());
    assert_eq!(world(&scene)[0].material, Material::default());
}

#[test]
fn camera_node_gives_world_pose_and_clip_planes() {
    let mut doc = Doc::new();
    doc.json["cameras"] = json!([{"type": "perspective",
        "perspective": {"aspectRatio": 1.5, "yfov": 0.8, "znear": 0.001234567891, "zfar": 12.5}}]);
    let parent = doc.push(
        "nodes",
        json!({"translation": [1.0, 0.0, 0.0], "children": [1]}),
    );
    doc.push(
        "nodes",
        json!({"camera": 0, "matrix":
        [1.0, -0.0, 0.0, -0.0, -0.0, 1.0, -0.0, 0.0, 0.0, -0.0, 1.0, -0.0, -0.0, 0.0, 2.0, 1.0]}),
    );
    doc.root(parent);
    let camera = doc.load().unwrap().camera.unwrap();
    assert_eq!(camera.znear, 0.001234567891);
    assert_eq!(camera.zfar, Some(12.5));
    assert_eq!(
        camera.camera_to_world,
        DMat4::from_translation(DVec3::new(1.0, 0.0, 2.0))
    );
}

/// A texture given as a data URI with a lying mime type, and one through a bufferView that carries
/// `"target": 34962` as VTK writes it: both decode, each image once, top row first.
#[test]
fn octet_stream_png_and_image_buffer_view_with_target_decode() {
    let rgba = [
        255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 128,
    ];
    let mut doc = Doc::new();
    let image_view = doc.view(&png(2, 2, &rgba));
    assert_eq!(doc.json["bufferViews"][image_view]["target"], 34962);
    doc.push(
        "images",
        json!({"bufferView": image_view, "mimeType": "image/png"}),
    );
    doc.push(
        "images",
        json!({"uri": data_uri("application/octet-stream", &png(1, 1, &[1, 2, 3, 4]))}),
    );
    doc.push(
        "samplers",
        json!({"magFilter": 9728, "minFilter": 9987, "wrapS": 33071, "wrapT": 33648}),
    );
    doc.push("textures", json!({"sampler": 0, "source": 0}));
    doc.push("textures", json!({"source": 1}));
    for texture in [0, 1, 0] {
        doc.push("materials", json!({"pbrMetallicRoughness":
            {"baseColorFactor": [1.0, 1.0, 1.0, 1.0], "baseColorTexture": {"index": texture, "texCoord": 0}}}));
    }
    let position = doc.positions(&TRIANGLE);
    let uv = doc.accessor(&f32_bytes([0.0, 0.0, 1.0, 0.0, 0.0, 1.0]), 5126, 3, "VEC2");
    for material in 0..3 {
        doc.mesh_node(
            json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv}, "material": material}),
            json!({}),
        );
    }
    let scene = doc.load().unwrap();
    assert_eq!(
        scene.textures,
        vec![
            Arc::new(Texture::new(2, 2, rgba.to_vec())),
            Arc::new(Texture::new(1, 1, vec![1, 2, 3, 4])),
        ]
    );
    let refs: Vec<_> = world(&scene)
        .iter()
        .map(|m| m.material.base_color_texture.unwrap())
        .collect();
    assert_eq!(refs[0].texture, 0);
    assert_eq!(refs[1].texture, 1);
    assert_eq!(refs[2], refs[0]);
    assert_eq!(
        refs[0].sampler,
        Sampler {
            mag_filter: Filter::Nearest,
            min_filter: Filter::Linear,
            wrap_s: Wrap::ClampToEdge,
            wrap_t: Wrap::MirroredRepeat
        }
    );
    assert_eq!(refs[1].sampler, Sampler::default());
    assert_eq!(world(&scene)[0].tex_coords.as_ref().unwrap()[1], [1.0, 0.0]);

    // Depth and label scenes skip all of it, and never touch the image bytes.
    doc.json["images"][1]["uri"] = json!("data:image/png;base64,!!!not base64!!!");
    let options = LoadOptions {
        decode_textures: false,
        ..LoadOptions::default()
    };
    let scene = doc.load_with(&options).unwrap();
    assert!(scene.textures.is_empty());
    assert!(world(&scene)
        .iter()
        .all(|m| m.material.base_color_texture.is_none() && m.tex_coords.is_none()));
}

/// `\/` escapes in a URI force serde to copy the string instead of borrowing it; both work.
#[test]
fn escaped_slashes_in_data_uris_decode() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    // Four `/` decode to three 0xFF bytes, prepended to buffer 0 (the positions) only.
    doc.json["buffers"][0]["byteLength"] = json!(39);
    doc.json["bufferViews"][0]["byteOffset"] = json!(3);
    let text =
        serde_json::to_string(&doc.json)
            .unwrap()
            .replacen("base64,", "base64,\\/\\/\\/\\/", 1);
    assert!(text.contains(r"base64,\/\/\/\/"));
    let scene = load(text.as_bytes(), &LoadOptions::default()).unwrap();
    assert_eq!(world(&scene)[0].positions, TRIANGLE.to_vec());
}

/// A parent `matrix` (translation) above a child TRS (scale, then 90° about Z, then translation).
#[test]
fn node_hierarchy_multiplies_matrix_and_trs() {
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let mesh = doc.push(
        "meshes",
        json!({"primitives": [{"attributes": {"POSITION": position}}]}),
    );
    let half_turn = std::f64::consts::FRAC_PI_4;
    doc.push(
        "nodes",
        json!({"children": [1], "matrix":
        [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 10.0, 20.0, 30.0, 1.0]}),
    );
    doc.push(
        "nodes",
        json!({"mesh": mesh, "scale": [2.0, 3.0, 1.0],
        "rotation": [0.0, 0.0, half_turn.sin(), half_turn.cos()], "translation": [1.0, 0.0, 0.0]}),
    );
    doc.root(0);
    let mesh = world(&doc.load().unwrap()).remove(0);
    // (1,0,0) → scale (2,0,0) → rotate (0,2,0) → +(1,0,0) → +(10,20,30) = (11, 22, 30).
    assert_close(mesh.positions[1], [11.0, 22.0, 30.0]);
    // (0,1,0) → (0,3,0) → (−3,0,0) → (−2,0,0) → (8, 20, 30).
    assert_close(mesh.positions[2], [8.0, 20.0, 30.0]);
    for normal in &mesh.normals {
        assert_close(*normal, [0.0, 0.0, 1.0]);
    }
}

/// Positions and UVs interleaved in one bufferView with `byteStride` 20, accessors at byteOffset 0
/// and 12.
#[test]
fn interleaved_attributes_with_byte_stride() {
    let mut doc = Doc::new();
    let uvs = [[0.25f32, 0.5], [0.75, 0.5], [0.25, 1.0]];
    let bytes = f32_bytes(
        TRIANGLE
            .iter()
            .zip(uvs)
            .flat_map(|(p, uv)| [p[0], p[1], p[2], uv[0], uv[1]]),
    );
    let view = doc.view(&bytes);
    doc.json["bufferViews"][view]["byteStride"] = json!(20);
    let position = doc.push(
        "accessors",
        json!({"bufferView": view, "componentType": 5126, "count": 3, "type": "VEC3"}),
    );
    let uv = doc.push("accessors", json!({"bufferView": view, "byteOffset": 12, "componentType": 5126, "count": 3, "type": "VEC2"}));
    doc.mesh_node(
        json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv}}),
        json!({}),
    );
    let mesh = world(&doc.load().unwrap()).remove(0);
    assert_eq!(mesh.positions, TRIANGLE.to_vec());
    assert_eq!(mesh.tex_coords.as_deref().unwrap(), uvs);
    assert_eq!(mesh.indices, [0, 1, 2]);
}

#[test]
fn normalized_integer_tex_coords_convert_to_floats() {
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let uv8 = doc.accessor(&[0, 255, 51, 0, 255, 255], 5121, 3, "VEC2");
    doc.json["accessors"][uv8]["normalized"] = json!(true);
    let uv16_bytes: Vec<u8> = [0u16, 65535, 13107, 0, 65535, 65535]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let uv16 = doc.accessor(&uv16_bytes, 5123, 3, "VEC2");
    doc.json["accessors"][uv16]["normalized"] = json!(true);
    doc.mesh_node(
        json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv8}}),
        json!({}),
    );
    doc.mesh_node(
        json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv16}}),
        json!({}),
    );
    let scene = doc.load().unwrap();
    for mesh in &world(&scene) {
        assert_eq!(
            mesh.tex_coords.as_deref().unwrap(),
            [[0.0, 1.0], [0.2, 0.0], [1.0, 1.0]]
        );
    }
}

/// The same quad as u8, u16 and u32 indices and unindexed: identical triangle lists.
#[test]
fn index_component_types_and_unindexed_agree() {
    let quad = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
    ];
    let indices = [0u32, 1, 2, 3, 4, 5];
    let mut doc = Doc::new();
    let position = doc.positions(&quad);
    let u8_indices = doc.accessor(&indices.map(|i| i as u8), 5121, 6, "SCALAR");
    let u16_bytes: Vec<u8> = indices
        .iter()
        .flat_map(|&i| (i as u16).to_le_bytes())
        .collect();
    let u16_indices = doc.accessor(&u16_bytes, 5123, 6, "SCALAR");
    let u32_indices = doc.indices_u32(&indices);
    for accessor in [Some(u8_indices), Some(u16_indices), Some(u32_indices), None] {
        let mut primitive = json!({"attributes": {"POSITION": position}});
        if let Some(accessor) = accessor {
            primitive["indices"] = json!(accessor);
        }
        doc.mesh_node(primitive, json!({}));
    }
    let scene = doc.load().unwrap();
    assert_eq!(world(&scene).len(), 4);
    for mesh in &world(&scene) {
        assert_eq!(mesh.indices, indices);
        assert_eq!(mesh.positions.len(), 6);
    }
}

#[test]
fn line_primitives_are_skipped_with_a_warning_and_strips_and_fans_convert() {
    let mut doc = Doc::new();
    // A zigzag for the strip, a counter-clockwise polygon for the fan.
    let strip = doc.positions(&[
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [1.0, 1.0, 0.0],
    ]);
    let fan = doc.positions(&[
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
    ]);
    doc.mesh_node(
        json!({"attributes": {"POSITION": strip}, "mode": 1}),
        json!({}),
    );
    doc.mesh_node(
        json!({"attributes": {"POSITION": strip}, "mode": 5}),
        json!({}),
    );
    doc.mesh_node(
        json!({"attributes": {"POSITION": fan}, "mode": 6}),
        json!({}),
    );
    let (scene, logs) = capture_logs(|| doc.load().unwrap());
    assert!(
        logs.contains("WARN")
            && logs.contains("meshes[0].primitives[0]")
            && logs.contains("mode=1"),
        "{logs}"
    );
    assert_eq!(world(&scene).len(), 2);
    assert_eq!(world(&scene)[0].indices, [0, 1, 2, 2, 1, 3]); // strip: every other triangle reversed
    assert_eq!(world(&scene)[1].indices, [1, 2, 0, 2, 3, 0]); // fan around vertex 0
    for mesh in &world(&scene) {
        for normal in &mesh.normals {
            assert_close(*normal, [0.0, 0.0, 1.0]); // all counter-clockwise seen from +Z
        }
    }
}

/// Leftover indices that make no whole triangle are dropped with a warning; a primitive left with
/// no triangle at all is not drawn.
#[test]
fn trailing_indices_are_dropped_and_empty_primitives_skipped() {
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let four = doc.indices_u32(&[0, 1, 2, 0]);
    let two = doc.indices_u32(&[0, 1]);
    doc.mesh_node(
        json!({"attributes": {"POSITION": position}, "indices": four}),
        json!({}),
    );
    doc.mesh_node(
        json!({"attributes": {"POSITION": position}, "indices": two}),
        json!({}),
    );
    let (scene, logs) = capture_logs(|| doc.load().unwrap());
    assert_eq!(world(&scene).len(), 1);
    assert_eq!(world(&scene)[0].indices, [0, 1, 2]);
    assert!(
        logs.contains("meshes[0].primitives[0]") && logs.contains("trailing"),
        "{logs}"
    );
}

#[test]
fn look_only_required_extensions_are_tolerated() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["extensionsRequired"] =
        json!(["KHR_materials_emissive_strength", "KHR_texture_transform"]);
    assert_eq!(world(&doc.load().unwrap()).len(), 1);
}

/// Mirroring by a negative scale keeps faces counter-clockwise (seen from outside) by swapping two
/// corners, so computed normals keep pointing the way the mirrored surface faces.
#[test]
fn negative_determinant_flips_the_winding() {
    let mut doc = Doc::new();
    doc.triangle(json!({"scale": [1.0, 1.0, -1.0]}));
    doc.triangle(json!({}));
    let scene = doc.load().unwrap();
    assert_eq!(world(&scene)[0].indices, [0, 2, 1]);
    assert_eq!(world(&scene)[1].indices, [0, 1, 2]);
    // z-mirroring a triangle that faces +Z makes it face −Z.
    assert_close(world(&scene)[0].normals[0], [0.0, 0.0, -1.0]);
    assert_close(world(&scene)[1].normals[0], [0.0, 0.0, 1.0]);
}

/// An octahedron sharing its vertices gets radial normals; the same faces with unshared vertices
/// get flat ones.
#[test]
fn computed_normals_are_smooth_on_shared_vertices_and_flat_otherwise() {
    let corners = [
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ];
    let faces = [
        0u32, 2, 4, 2, 1, 4, 1, 3, 4, 3, 0, 4, 2, 0, 5, 1, 2, 5, 3, 1, 5, 0, 3, 5,
    ];
    let mut doc = Doc::new();
    let shared = doc.positions(&corners);
    let shared_indices = doc.indices_u32(&faces);
    doc.mesh_node(
        json!({"attributes": {"POSITION": shared}, "indices": shared_indices}),
        json!({}),
    );
    let unshared: Vec<[f32; 3]> = faces.iter().map(|&i| corners[i as usize]).collect();
    let unshared = doc.positions(&unshared);
    doc.mesh_node(json!({"attributes": {"POSITION": unshared}}), json!({}));
    let scene = doc.load().unwrap();
    for (normal, corner) in world(&scene)[0].normals.iter().zip(corners) {
        assert_close(*normal, corner);
    }
    let flat = world(&scene).remove(1);
    for triangle in flat.indices.chunks_exact(3) {
        let [a, b, c] = [0, 1, 2].map(|k| Vec3::from(flat.positions[triangle[k] as usize]));
        let face = (b - a).cross(c - a).normalize().to_array();
        for &vertex in triangle {
            assert_close(flat.normals[vertex as usize], face);
        }
    }
}

#[test]
fn given_normals_are_transformed_and_renormalized() {
    let mut doc = Doc::new();
    doc.triangle(json!({"scale": [2.0, 1.0, 1.0]}));
    let diagonal = std::f32::consts::FRAC_1_SQRT_2;
    let normals = doc.accessor(
        &f32_bytes([diagonal, diagonal, 0.0].repeat(3)),
        5126,
        3,
        "VEC3",
    );
    doc.json["meshes"][0]["primitives"][0]["attributes"]["NORMAL"] = json!(normals);
    let mesh = world(&doc.load().unwrap()).remove(0);
    let expected = Vec3::new(0.5, 1.0, 0.0).normalize().to_array();
    assert_close(mesh.normals[0], expected);
}

#[test]
fn loading_is_deterministic() {
    let bytes = include_bytes!("../../../tests/fixtures/gltf/box_sphere-color.gltf");
    let first = format!("{:?}", load(bytes, &LoadOptions::default()).unwrap());
    let second = format!("{:?}", load(bytes, &LoadOptions::default()).unwrap());
    assert_eq!(first, second);
}

// ----- errors ---------------------------------------------------------------------------------

#[test]
fn external_uris_are_refused_for_buffers_and_images() {
    for uri in [
        "mesh.bin",
        "file:///etc/passwd",
        "http://example.com/mesh.bin",
        "../x.bin",
    ] {
        let mut doc = Doc::new();
        doc.triangle(json!({}));
        doc.json["buffers"][1]["uri"] = json!(uri);
        assert_eq!(
            doc.error(),
            "buffers[1].uri: external URIs are refused (only data: URIs are accepted)"
        );
    }
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let uv = doc.accessor(&f32_bytes([0.0; 6]), 5126, 3, "VEC2");
    doc.push("images", json!({"uri": "https://example.com/texture.png"}));
    doc.push("textures", json!({"source": 0}));
    doc.push(
        "materials",
        json!({"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}),
    );
    doc.mesh_node(
        json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv}, "material": 0}),
        json!({}),
    );
    assert_eq!(
        doc.error(),
        "images[0].uri: external URIs are refused (only data: URIs are accepted)"
    );
}

#[test]
fn unsupported_required_extension_is_named() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["extensionsRequired"] = json!(["KHR_materials_unlit", "KHR_draco_mesh_compression"]);
    assert_eq!(
        doc.error(),
        "extensionsRequired: KHR_draco_mesh_compression is not supported"
    );
}

#[test]
fn triangle_limit_names_its_config_key() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.triangle(json!({}));
    let options = LoadOptions {
        max_triangles: 1,
        ..LoadOptions::default()
    };
    assert_eq!(
        doc.load_with(&options).unwrap_err().to_string(),
        "scene has 2 triangles; the limit is 1 (config key maxTriangles)"
    );
    let options = LoadOptions {
        max_triangles: 2,
        ..LoadOptions::default()
    };
    assert_eq!(world(&doc.load_with(&options).unwrap()).len(), 2);
}

/// A one-triangle mesh over a million unused vertices, instanced twice, is refused on vertices.
#[test]
fn vertex_count_is_bounded_by_the_triangle_limit() {
    let mut doc = Doc::new();
    let position = doc.push(
        "accessors",
        json!({"componentType": 5126, "count": 1_000_000, "type": "VEC3"}),
    );
    let indices = doc.indices_u32(&[0, 1, 2]);
    doc.mesh_node(
        json!({"attributes": {"POSITION": position}, "indices": indices}),
        json!({}),
    );
    let options = LoadOptions {
        max_triangles: 100_000,
        ..LoadOptions::default()
    };
    assert_eq!(
        doc.load_with(&options).unwrap_err().to_string(),
        "scene has 1000000 vertices; the limit is 300000 (config key maxTriangles, 3 vertices per triangle)"
    );
}

fn textured_doc(images: usize, size: u32) -> Doc {
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let uv = doc.accessor(&f32_bytes([0.0; 6]), 5126, 3, "VEC2");
    for image in 0..images {
        let pixels = vec![200; (size * size * 4) as usize];
        doc.push(
            "images",
            json!({"uri": data_uri("image/png", &png(size, size, &pixels))}),
        );
        doc.push("textures", json!({"source": image}));
        let material = doc.push(
            "materials",
            json!({"pbrMetallicRoughness": {"baseColorTexture": {"index": image}}}),
        );
        doc.mesh_node(
            json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv}, "material": material}),
            json!({}),
        );
    }
    doc
}

#[test]
fn texture_count_limit_names_its_config_key() {
    let doc = textured_doc(3, 1);
    let options = LoadOptions {
        max_textures: 2,
        ..LoadOptions::default()
    };
    assert_eq!(
        doc.load_with(&options).unwrap_err().to_string(),
        "scene has 3 textures; the limit is 2 (config key maxTextures)"
    );
    let options = LoadOptions {
        max_textures: 3,
        ..LoadOptions::default()
    };
    assert_eq!(doc.load_with(&options).unwrap().textures.len(), 3);
}

#[test]
fn texture_pixel_limit_is_summed_and_names_its_config_key() {
    let doc = textured_doc(2, 4);
    let options = LoadOptions {
        max_texture_pixels: 31,
        ..LoadOptions::default()
    };
    assert_eq!(
        doc.load_with(&options).unwrap_err().to_string(),
        "scene has 32 texture pixels; the limit is 31 (config key maxTexturePixels)"
    );
    let options = LoadOptions {
        max_texture_pixels: 32,
        ..LoadOptions::default()
    };
    assert_eq!(doc.load_with(&options).unwrap().textures.len(), 2);
}

#[test]
fn bad_base64_is_refused() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["buffers"][0]["uri"] = json!("data:application/octet-stream;base64,AAA*AAAA");
    let error = doc.error();
    assert!(
        error.starts_with("buffers[0].uri: invalid base64"),
        "{error}"
    );
}

#[test]
fn buffer_shorter_than_byte_length_is_refused() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["buffers"][0]["byteLength"] = json!(40);
    assert_eq!(
        doc.error(),
        "buffers[0]: data is 36 bytes, shorter than byteLength 40"
    );
}

#[test]
fn out_of_range_references_name_the_field() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = json!(7);
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].attributes.POSITION: accessor 7 out of range"
    );

    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["accessors"][0]["bufferView"] = json!(9);
    assert_eq!(
        doc.error(),
        "accessors[0].bufferView: bufferView 9 out of range"
    );

    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["accessors"][0]["count"] = json!(4);
    assert_eq!(
        doc.error(),
        "accessors[0]: 4 elements at byteOffset 0 with stride 12 overrun bufferView 0 (36 bytes)"
    );

    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["meshes"][0]["primitives"][0]["material"] = json!(3);
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].material: material 3 out of range"
    );

    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["scenes"][0]["nodes"] = json!([0, 5]);
    assert_eq!(doc.error(), "scenes[0].nodes[1]: node 5 out of range");
}

#[test]
fn index_past_the_vertices_is_refused() {
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let indices = doc.indices_u32(&[0, 1, 2, 2, 1, 3]);
    doc.mesh_node(
        json!({"attributes": {"POSITION": position}, "indices": indices}),
        json!({}),
    );
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].indices: index 3 at element 5 is out of range for 3 vertices"
    );
}

#[test]
fn non_finite_positions_are_refused() {
    let mut doc = Doc::new();
    let bytes = f32_bytes([0.0, 0.0, 0.0, f32::NAN, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let position = doc.accessor(&bytes, 5126, 3, "VEC3");
    doc.mesh_node(json!({"attributes": {"POSITION": position}}), json!({}));
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].attributes.POSITION: element 1 is not finite (in world coordinates)"
    );
}

#[test]
fn node_cycles_are_refused_without_recursion() {
    let mut doc = Doc::new();
    doc.push("nodes", json!({"children": [1]}));
    doc.push("nodes", json!({"children": [2]}));
    doc.push("nodes", json!({"children": [0]}));
    doc.root(0);
    assert_eq!(
        doc.error(),
        "nodes[2].children[0]: node 0 is its own ancestor (the node graph has a cycle)"
    );

    let mut doc = Doc::new();
    doc.push("nodes", json!({"children": [0]}));
    doc.root(0);
    assert_eq!(
        doc.error(),
        "nodes[0].children[0]: node 0 is its own ancestor (the node graph has a cycle)"
    );

    // Without scenes every node is someone's child, so there is no root to start from: empty.
    let mut doc = Doc::new();
    doc.json["scenes"] = Value::Null;
    doc.push("nodes", json!({"children": [1]}));
    doc.push("nodes", json!({"children": [0]}));
    assert!(world(&doc.load().unwrap()).is_empty());
}

/// A node shared by two parents (a DAG) could blow up exponentially when chained; it is refused
/// (depth first, so at the deepest level first).
#[test]
fn nodes_with_two_parents_are_refused() {
    let mut doc = Doc::new();
    for level in 0..64 {
        doc.push("nodes", json!({"children": [level + 1, level + 1]}));
    }
    doc.push("nodes", json!({}));
    doc.root(0);
    assert_eq!(
        doc.error(),
        "nodes[63].children[1]: node 64 is reached twice (glTF nodes must form trees)"
    );
}

/// A 100 000-deep chain of nodes is walked without overflowing the stack.
#[test]
fn deep_hierarchies_do_not_overflow_the_stack() {
    let mut doc = Doc::new();
    let depth = 100_000;
    let nodes: Vec<Value> = (0..depth)
        .map(|level| {
            if level + 1 < depth {
                json!({"children": [level + 1]})
            } else {
                json!({})
            }
        })
        .collect();
    doc.json["nodes"] = Value::Array(nodes);
    doc.root(0);
    doc.triangle(json!({}));
    let options = LoadOptions {
        max_nodes: depth + 1,
        ..LoadOptions::default()
    };
    assert_eq!(world(&doc.load_with(&options).unwrap()).len(), 1);
}

#[test]
fn invalid_json_is_one_short_line() {
    let error = load(b"{\"nodes\": [", &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("invalid glTF JSON: EOF"), "{error}");
    let huge = format!("{{\"scene\": \"{}\"}}", "A".repeat(1_000_000));
    let error = load(huge.as_bytes(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.len() < 400 && !error.contains('\n'), "{error}");
    assert!(error.ends_with("at line 1 column 1000012"), "{error}");
    let error = load(b"glTF\x02\0\0\0", &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid glTF JSON: binary glTF (.glb) is not accepted; Drake sends glTF JSON"
    );
}

/// KHR_mesh_quantization: u16 positions (not normalized) read as their integer values.
#[test]
fn quantized_positions_read_as_floats() {
    let mut doc = Doc::new();
    let bytes: Vec<u8> = [0u16, 0, 0, 300, 0, 0, 0, 7, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let position = doc.accessor(&bytes, 5123, 3, "VEC3");
    doc.mesh_node(json!({"attributes": {"POSITION": position}}), json!({}));
    doc.json["extensionsRequired"] = json!(["KHR_mesh_quantization"]);
    let mesh = world(&doc.load().unwrap()).remove(0);
    assert_eq!(
        mesh.positions,
        [[0.0, 0.0, 0.0], [300.0, 0.0, 0.0], [0.0, 7.0, 0.0]]
    );
}

#[test]
fn sparse_accessors_and_wrong_types_are_refused() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["accessors"][0]["sparse"] = json!({"count": 1});
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].attributes.POSITION: accessor 0 is sparse, which is not supported"
    );

    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["accessors"][0]["type"] = json!("VEC2");
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].attributes.POSITION: accessor 0 has type VEC2, expected VEC3"
    );

    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.json["accessors"][1]["componentType"] = json!(5126);
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].indices: accessor 1 has componentType 5126; indices must be \
         UNSIGNED_BYTE, UNSIGNED_SHORT or UNSIGNED_INT"
    );
}

/// A TEXCOORD_0 accessor without bufferView claiming 10¹² elements is refused before allocation.
#[test]
fn attribute_count_must_match_position_before_reading() {
    let mut doc = Doc::new();
    let position = doc.positions(&TRIANGLE);
    let uv = doc.push(
        "accessors",
        json!({"componentType": 5126, "count": 1_000_000_000_000u64, "type": "VEC2"}),
    );
    doc.mesh_node(
        json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv}}),
        json!({}),
    );
    assert_eq!(
        doc.error(),
        "meshes[0].primitives[0].attributes.TEXCOORD_0: accessor 1 has 1000000000000 elements but POSITION has 3"
    );
}

#[test]
fn camera_without_projection_or_out_of_range_is_named() {
    let mut doc = Doc::new();
    doc.push("nodes", json!({"camera": 2}));
    doc.root(0);
    assert_eq!(doc.error(), "nodes[0].camera: camera 2 out of range");
}

/// Issue 14: the counts that cost time or memory are refused before the walk or the read, naming
/// their config keys, and the caller's budget sees every large allocation first.
#[test]
fn node_draw_call_and_decoded_byte_limits_name_their_keys() {
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    doc.triangle(json!({}));
    let error = |options: LoadOptions| doc.load_with(&options).unwrap_err().to_string();
    assert!(error(LoadOptions {
        max_nodes: 1,
        ..LoadOptions::default()
    })
    .ends_with("(config key maxNodes)"));
    assert!(error(LoadOptions {
        max_draw_calls: 1,
        ..LoadOptions::default()
    })
    .ends_with("(config key maxDrawCalls)"));
    assert!(error(LoadOptions {
        max_decoded_bytes: 100,
        ..LoadOptions::default()
    })
    .ends_with("(config key maxDecodedBytes)"));

    let json = serde_json::to_vec(&doc.json).unwrap();
    let mut charged = 0;
    let scene = load_within(&json, &LoadOptions::default(), None, &mut |bytes| {
        charged += bytes;
        Ok(())
    })
    .unwrap();
    assert_eq!(scene.instances.len(), 2);
    assert_eq!(charged, 2 * (3 * 44 + 3 * 8));
    let refused = load_within(&json, &LoadOptions::default(), None, &mut |_| {
        Err(SceneError::Refused("no room".to_owned()))
    });
    assert!(matches!(refused, Err(SceneError::Refused(_))));
}

#[test]
fn an_accessor_without_data_is_bounded_by_the_document_size() {
    let mut doc = Doc::new();
    let position = doc.push(
        "accessors",
        json!({"componentType": 5126, "count": 1_000_000, "type": "VEC3"}),
    );
    doc.mesh_node(json!({"attributes": {"POSITION": position}}), json!({}));
    let error = doc.error();
    assert!(
        error.contains("claims 1000000 elements without a bufferView"),
        "{error}"
    );
}

// ----- user glTF content (the PBR switch) ---------------------------------------------------

/// In a document Drake merged, VTK's content hangs under "Renderer Node"; every other root is a
/// user glTF, which marks the scene and its materials.
#[test]
fn merged_user_roots_are_told_from_vtks_content() {
    let mut doc = Doc::new();
    let vtk = doc.triangle(json!({}));
    let user = doc.triangle(json!({}));
    // Make the first triangle a child of VTK's root instead of a root itself.
    doc.json["scenes"][0]["nodes"] = json!([user]);
    let renderer = doc.push("nodes", json!({"name": "Renderer Node", "children": [vtk]}));
    doc.root(renderer);
    let scene = doc.load().unwrap();
    assert!(scene.user_gltf);
    let from_user: Vec<bool> = (scene.instances.iter())
        .map(|i| i.material.from_user_gltf)
        .collect();
    assert_eq!(from_user, [true, false]);
    // A user primitive without a material keeps VTK's defaults and is drawn from both sides.
    assert!(scene.instances[0].material.double_sided);

    // The merger's generator alone says so too (Drake's scene with only user meshes has no
    // VTK root); a document of any other shape is VTK's throughout.
    let mut doc = Doc::new();
    doc.triangle(json!({}));
    assert!(!doc.load().unwrap().user_gltf);
    doc.json["asset"]["generator"] = json!("Drake glTF merger");
    let scene = doc.load().unwrap();
    assert!(scene.user_gltf && scene.instances[0].material.from_user_gltf);
}

/// User materials carry glTF's PBR factors (defaults 1); VTK's exported factors are not read.
#[test]
fn pbr_factors_come_from_user_materials_only() {
    let material = json!({
        "pbrMetallicRoughness": {"baseColorFactor": [0.5, 0.5, 0.5, 0.4], "metallicFactor": 0.0,
                                 "roughnessFactor": 1.0},
        "emissiveFactor": [0.1, 0.2, 0.3]
    });
    let mut doc = Doc::new();
    doc.push("materials", material.clone());
    let position = doc.positions(&TRIANGLE);
    doc.mesh_node(
        json!({"attributes": {"POSITION": position}, "material": 0}),
        json!({}),
    );
    let vtk = doc.load().unwrap().instances[0].material.clone();
    assert_eq!(
        (vtk.metallic, vtk.roughness, vtk.emissive),
        (0.0, 0.5, [0.0; 3])
    );
    assert!(vtk.blend && vtk.alpha_cutoff.is_none());

    doc.json["asset"]["generator"] = json!("Drake glTF merger");
    doc.json["materials"][0] = json!({"alphaMode": "MASK", "emissiveFactor": [0.1, 0.2, 0.3],
                                      "pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 0.4]}});
    let user = doc.load().unwrap().instances[0].material.clone();
    assert_eq!((user.metallic, user.roughness), (1.0, 1.0));
    assert_eq!(user.emissive, [0.1, 0.2, 0.3]);
    // MASK is opaque where drawn, whatever its alpha.
    assert_eq!((user.alpha_cutoff, user.blend), (Some(0.5), false));
    doc.json["materials"][0]["alphaCutoff"] = json!(0.25);
    let user = doc.load().unwrap().instances[0].material.clone();
    assert_eq!(user.alpha_cutoff, Some(0.25));
}

/// A user glTF's material with every texture kind (five images), KHR_texture_transform on one,
/// and COLOR_0 on the primitive.
fn fully_textured_user_doc() -> Doc {
    let mut doc = Doc::new();
    doc.json["asset"]["generator"] = json!("Drake glTF merger");
    for image in 0..5u8 {
        let uri = data_uri("image/png", &png(1, 1, &[image, 0, 0, 255]));
        doc.push("images", json!({ "uri": uri }));
        doc.push("textures", json!({ "source": image }));
    }
    doc.push(
        "materials",
        json!({
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": 0},
                "metallicRoughnessTexture": {"index": 1, "extensions": {"KHR_texture_transform":
                    {"offset": [0.5, 0.25], "rotation": std::f64::consts::FRAC_PI_2, "scale": [2, 3]}}}
            },
            "normalTexture": {"index": 2, "scale": 0.5},
            "occlusionTexture": {"index": 3, "strength": 0.25},
            "emissiveTexture": {"index": 4}
        }),
    );
    let position = doc.positions(&TRIANGLE);
    let uv = doc.accessor(&f32_bytes([0.0; 6]), 5126, 3, "VEC2");
    let color = doc.accessor(&[255, 0, 51, 0, 255, 0, 0, 0, 255], 5121, 3, "VEC3");
    doc.json["accessors"][color]["normalized"] = json!(true);
    doc.mesh_node(
        json!({"attributes": {"POSITION": position, "TEXCOORD_0": uv, "COLOR_0": color},
               "material": 0}),
        json!({}),
    );
    doc
}

#[test]
fn user_materials_read_every_texture_kind_and_count_them_all() {
    let doc = fully_textured_user_doc();
    let scene = doc.load().unwrap();
    let material = &scene.instances[0].material;
    let texture = |t: Option<TextureRef>| t.map(|t| t.texture);
    assert_eq!(
        [
            texture(material.base_color_texture),
            texture(material.metallic_roughness_texture),
            texture(material.normal_texture),
            texture(material.occlusion_texture),
            texture(material.emissive_texture),
        ],
        [Some(0), Some(1), Some(2), Some(3), Some(4)]
    );
    assert_eq!(
        (material.normal_scale, material.occlusion_strength),
        (0.5, 0.25)
    );
    // T(0.5, 0.25) · R(−90°, VTK's sense) · S(2, 3): u' = 3v + 0.5, v' = −2u + 0.25.
    let [row0, row1] = material.metallic_roughness_texture.unwrap().transform;
    let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    assert!(
        close(row0, [0.0, 3.0, 0.5]) && close(row1, [-2.0, 0.0, 0.25]),
        "{row0:?} {row1:?}"
    );
    assert_eq!(
        material.base_color_texture.unwrap().transform,
        TextureRef::IDENTITY
    );
    let colors = scene.meshes[0].colors.as_ref().unwrap();
    assert_eq!(colors[0], [1.0, 0.0, 0.2, 1.0]);

    // The limit counts all five images.
    let options = LoadOptions {
        max_textures: 4,
        ..LoadOptions::default()
    };
    assert!(doc
        .load_with(&options)
        .unwrap_err()
        .to_string()
        .contains("textures"));

    // Label and depth scenes read neither textures nor colours.
    let options = LoadOptions {
        decode_textures: false,
        ..LoadOptions::default()
    };
    let scene = doc.load_with(&options).unwrap();
    assert!(scene.meshes[0].colors.is_none() && scene.textures.is_empty());

    // Without a metallic-roughness texture VTK has no ORM texture to carry occlusion.
    let mut doc = fully_textured_user_doc();
    let pbr = &mut doc.json["materials"][0]["pbrMetallicRoughness"];
    pbr.as_object_mut()
        .unwrap()
        .remove("metallicRoughnessTexture");
    let material = doc.load().unwrap().instances[0].material.clone();
    assert!(material.occlusion_texture.is_none());

    // VTK's content only ever has base colour textures; others are not read from it.
    let mut doc = fully_textured_user_doc();
    doc.json["asset"]["generator"] = json!("VTK");
    let material = doc.load().unwrap().instances[0].material.clone();
    assert!(material.base_color_texture.is_some() && material.normal_texture.is_none());
}
