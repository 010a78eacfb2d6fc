//! What the loader tolerates: VTK's and Drake's quirks, every accessor layout, transforms.

use super::*;

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
    let bytes = include_bytes!("../../../../tests/fixtures/gltf/box_sphere-color.gltf");
    let first = format!("{:?}", load(bytes, &LoadOptions::default()).unwrap());
    let second = format!("{:?}", load(bytes, &LoadOptions::default()).unwrap());
    assert_eq!(first, second);
}
