//! What the loader refuses, and how it says so: limits by their config keys, bad references,
//! malformed documents.

use super::*;

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
