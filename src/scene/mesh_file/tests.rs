use std::collections::HashMap;

use super::*;

/// An RGBA PNG of `width` × 1 pixels, all `rgba`.
pub fn png(width: u32, rgba: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, 1);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&rgba.repeat(width as usize))
        .unwrap();
    writer.finish().unwrap();
    out
}

/// Loads `main` as `name` with `files` beside it.
fn load_with(
    format: MeshFormat,
    name: &str,
    main: &[u8],
    files: &[(&str, Vec<u8>)],
    options: &LoadOptions,
) -> Result<MeshFile, SceneError> {
    let files: HashMap<String, Arc<[u8]>> = (files.iter())
        .map(|(name, bytes)| (name.to_string(), Arc::from(bytes.as_slice())))
        .collect();
    let resolve = |name: &str| files.get(name).cloned();
    load_mesh_file(
        &MeshFileSource {
            format,
            name,
            main,
            resolve: &resolve,
        },
        options,
    )
}

fn load_obj(main: &str, files: &[(&str, Vec<u8>)]) -> Result<MeshFile, SceneError> {
    load_with(
        MeshFormat::Obj,
        "robot.obj",
        main.as_bytes(),
        files,
        &LoadOptions::default(),
    )
}

const QUAD: &str = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 2\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n";

/// `map_Kd` with full texture coordinates: the MTL's colour and opacity, its image decoded,
/// the texture v flipped to the scene's top-row origin, the normal unit length.
#[test]
fn an_mtl_material_with_map_kd_is_one_textured_part() {
    let obj = format!("mtllib robot.mtl\n{QUAD}usemtl wood\nf 1/1/1 2/2/1 3/3/1 4/4/1\n");
    let mtl = b"newmtl wood\nKd 0.5 0.5 0.5\nd 0.25\nmap_Kd tex/wood.png\n".to_vec();
    let file = load_obj(
        &obj,
        &[("robot.mtl", mtl), ("tex/wood.png", png(2, [9, 8, 7, 255]))],
    )
    .unwrap();
    assert_eq!(file.parts.len(), 1);
    let part = &file.parts[0];
    let PartMaterial::Mtl { diffuse, texture } = &part.material else {
        panic!("{:?}", part.material)
    };
    assert_eq!(*diffuse, [0.5, 0.5, 0.5, 0.25]);
    assert_eq!(texture.as_ref().unwrap().rgba[..4], [9, 8, 7, 255]);
    let mesh = &part.mesh;
    assert_eq!(mesh.positions.len(), 4);
    assert_eq!(mesh.normals[0], [0.0, 0.0, 1.0]);
    assert_eq!(mesh.tex_coords.as_ref().unwrap()[0], [0.0, 1.0]);
    assert_eq!(mesh.indices.len(), 6);
    assert_eq!(part.part_to_geometry, DMat4::IDENTITY);
}

/// Faces without a material first, then by material index; each part renumbers the vertices
/// it uses in order of first use; a corner with a new normal is a new vertex.
#[test]
fn several_materials_are_several_parts_in_drakes_order() {
    let obj = "mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvn 0 0 1\nvn 0 0 -1\n\
               usemtl second\nf 2//1 4//1 3//1\nusemtl first\nf 1//1 2//1 3//1\n\
               usemtl none\nf 1//2 3//2 2//2\n";
    let mtl = b"newmtl first\nKd 1 0 0\nnewmtl second\nKd 0 1 0\n".to_vec();
    let file = load_obj(obj, &[("m.mtl", mtl)]).unwrap();
    let colours: Vec<Option<[f64; 4]>> = (file.parts.iter())
        .map(|part| match &part.material {
            PartMaterial::Mtl { diffuse, .. } => Some(*diffuse),
            _ => None,
        })
        .collect();
    assert_eq!(
        colours,
        [None, Some([1.0, 0.0, 0.0, 1.0]), Some([0.0, 1.0, 0.0, 1.0])]
    );
    let unassigned = &file.parts[0].mesh;
    assert_eq!(
        unassigned.positions,
        [[0.0; 3], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    );
    assert_eq!(unassigned.normals[0], [0.0, 0.0, -1.0]);
    assert_eq!(file.parts[2].mesh.positions[0], [1.0, 0.0, 0.0]);
}

/// A missing MTL: Drake warns and the faces have no material; the geometry's properties (or
/// the legacy `<stem>.png`) decide.
#[test]
fn a_missing_library_leaves_the_faces_to_the_properties() {
    let obj = format!("mtllib gone.mtl\n{QUAD}usemtl wood\nf 1/1/1 2/2/1 3/3/1\n");
    let file = load_obj(&obj, &[]).unwrap();
    assert!(matches!(
        file.parts[0].material,
        PartMaterial::FromProperties {
            full_tex_coords: true,
            sibling_png: None
        }
    ));
    let with_png = load_obj(&obj, &[("robot.png", png(1, [1, 2, 3, 255]))]).unwrap();
    let PartMaterial::FromProperties { sibling_png, .. } = &with_png.parts[0].material else {
        panic!()
    };
    assert!(sibling_png.is_some());
}

/// A texture is applied only with texture coordinates at every corner.
#[test]
fn partial_texture_coordinates_drop_the_map() {
    let obj = format!("mtllib m.mtl\n{QUAD}usemtl wood\nf 1/1/1 2/2/1 3//1\n");
    let mtl = b"newmtl wood\nmap_Kd w.png\n".to_vec();
    let file = load_obj(&obj, &[("m.mtl", mtl), ("w.png", png(1, [0; 4]))]).unwrap();
    let part = &file.parts[0];
    assert!(matches!(
        part.material,
        PartMaterial::Mtl {
            texture: None,
            diffuse: [1.0, 1.0, 1.0, 1.0]
        }
    ));
    assert!(part.mesh.tex_coords.is_none());
}

/// Drake's refusals, with the file named; the mapper's dropping of degenerate triangles.
#[test]
fn drakes_refusals_name_the_file() {
    let error = |obj: &str| load_obj(obj, &[]).unwrap_err().to_string();
    assert!(error("v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\n").contains("no faces"));
    assert!(error("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n").contains("no normals"));
    let partial = error("v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1 2//1 3//1\n");
    assert!(
        partial.starts_with("robot.obj: not all faces reference normals"),
        "{partial}"
    );
    let degenerate = load_obj(
        "v 0 0 0\nv 1 0 0\nv 0 0 0\nvn 0 0 1\nf 1//1 2//1 3//1\n",
        &[],
    );
    assert!(degenerate.unwrap().parts[0].mesh.indices.is_empty());
}

#[test]
fn limits_are_named_by_their_config_keys() {
    let obj = format!("{QUAD}f 1//1 2//1 3//1 4//1\n");
    let options = LoadOptions {
        max_triangles: 1,
        ..LoadOptions::default()
    };
    let error = load_with(MeshFormat::Obj, "a.obj", obj.as_bytes(), &[], &options).unwrap_err();
    assert!(error.to_string().contains("maxTriangles"), "{error}");
    let options = LoadOptions {
        max_decoded_bytes: 100,
        ..LoadOptions::default()
    };
    let error = load_with(MeshFormat::Obj, "a.obj", obj.as_bytes(), &[], &options).unwrap_err();
    assert!(error.to_string().contains("maxDecodedBytes"), "{error}");
    let textured = format!(
        "mtllib m.mtl\n{QUAD}usemtl a\nf 1/1/1 2/2/1 3/3/1\nusemtl b\nf 1/1/1 3/3/1 4/4/1\n"
    );
    let mtl = b"newmtl a\nmap_Kd a.png\nnewmtl b\nmap_Kd b.png\n".to_vec();
    let files = [
        ("m.mtl", mtl),
        ("a.png", png(4, [0; 4])),
        ("b.png", png(4, [0; 4])),
    ];
    for (options, key) in [
        (
            LoadOptions {
                max_textures: 1,
                ..LoadOptions::default()
            },
            "maxTextures",
        ),
        (
            LoadOptions {
                max_texture_pixels: 6,
                ..LoadOptions::default()
            },
            "maxTexturePixels",
        ),
    ] {
        let error = load_with(
            MeshFormat::Obj,
            "a.obj",
            textured.as_bytes(),
            &files,
            &options,
        )
        .unwrap_err();
        assert!(error.to_string().contains(key), "{error}");
    }
    let broken = [
        ("m.mtl", files[0].1.clone()),
        ("a.png", b"not a png".to_vec()),
    ];
    let error = load_with(
        MeshFormat::Obj,
        "a.obj",
        textured.as_bytes(),
        &broken,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("a.png: unsupported image format"),
        "{error}"
    );
}

/// One triangle glTF whose buffer is `uri`, with a node turned 90° about z and a material.
fn triangle_gltf(uri: Option<&str>) -> String {
    let mut buffer = serde_json::json!({"byteLength": 36});
    if let Some(uri) = uri {
        buffer["uri"] = uri.into();
    }
    serde_json::json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "Renderer Node", "translation": [0.0, 2.0, 0.0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.1, 0.2, 0.3, 1.0]}}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 0.0]}],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "buffers": [buffer],
    })
    .to_string()
}

fn triangle_bytes() -> Vec<u8> {
    [0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// A glTF with an external buffer (named with a %-escape): the file's own material, marked as
/// user content (even under VTK's root name), placed in G through y-up → z-up.
#[test]
fn gltf_files_inline_their_buffers_and_turn_y_up_to_z_up() {
    let gltf = triangle_gltf(Some("data%20dir/tri.bin"));
    let files = [("data dir/tri.bin", triangle_bytes())];
    let file = load_with(
        MeshFormat::Gltf,
        "m.gltf",
        gltf.as_bytes(),
        &files,
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(file.user_gltf);
    let part = &file.parts[0];
    let PartMaterial::Gltf { material, .. } = &part.material else {
        panic!()
    };
    assert!(material.from_user_gltf);
    assert_eq!(material.base_color, [0.1, 0.2, 0.3, 1.0]);
    // The node's +2 along the file's y (up) is +2 along G's z.
    let origin = part.part_to_geometry.transform_point3(glam::DVec3::ZERO);
    assert!(
        origin.abs_diff_eq(glam::DVec3::new(0.0, 0.0, 2.0), 1e-12),
        "{origin}"
    );

    let missing = load_with(
        MeshFormat::Gltf,
        "m.gltf",
        gltf.as_bytes(),
        &[],
        &LoadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        missing.starts_with("m.gltf: buffers[0].uri: \"data%20dir/tri.bin\" was not sent"),
        "{missing}"
    );
}

fn glb(json: &str, binary: &[u8]) -> Vec<u8> {
    let mut json = json.as_bytes().to_vec();
    json.resize(json.len().div_ceil(4) * 4, b' ');
    let mut out = b"glTF".to_vec();
    out.extend(2u32.to_le_bytes());
    out.extend(((12 + 8 + json.len() + 8 + binary.len()) as u32).to_le_bytes());
    out.extend((json.len() as u32).to_le_bytes());
    out.extend(0x4E4F_534Au32.to_le_bytes());
    out.extend(json);
    out.extend((binary.len() as u32).to_le_bytes());
    out.extend(0x004E_4942u32.to_le_bytes());
    out.extend(binary);
    out
}

#[test]
fn glb_files_read_their_binary_chunk_and_bad_ones_are_named() {
    let bytes = glb(&triangle_gltf(None), &triangle_bytes());
    let file = load_with(
        MeshFormat::Glb,
        "m.glb",
        &bytes,
        &[],
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(file.parts.len(), 1);
    assert_eq!(file.parts[0].mesh.positions[1], [1.0, 0.0, 0.0]);
    for bad in [
        &bytes[..10],
        &bytes[..bytes.len() - 4],
        b"glTF\x01\0\0\0\x0c\0\0\0",
    ] {
        let error = load_with(MeshFormat::Glb, "m.glb", bad, &[], &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("m.glb: bad GLB"), "{error}");
    }
}

#[test]
fn convex_hulls_take_every_vertex_of_the_file() {
    let options = LoadOptions::default();
    let resolve = |_: &str| None;
    let source = |format, name, main| MeshFileSource {
        format,
        name,
        main,
        resolve: &resolve,
    };
    // A tetrahedron's corners; the unused inner vertex and the faceless file do not matter.
    let obj = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nv 0.1 0.1 0.1\n";
    let hull = load_convex(&source(MeshFormat::Obj, "c.obj", obj), &options).unwrap();
    assert_eq!(hull.indices.len(), 12);
    let flat = load_convex(
        &source(MeshFormat::Obj, "c.obj", b"v 0 0 0\nv 1 1 1\n"),
        &options,
    )
    .unwrap_err()
    .to_string();
    assert!(
        flat.starts_with("c.obj: a convex hull needs at least three vertices"),
        "{flat}"
    );
    // The glTF triangle is planar: its flat hull, in G, where the file's x-y plane turned
    // (G's y = 0), raised by the node's 2 along the file's y (G's z).
    let gltf = glb(&triangle_gltf(None), &triangle_bytes());
    let hull = load_convex(&source(MeshFormat::Glb, "t.glb", &gltf), &options).unwrap();
    assert_eq!(hull.indices.len(), 3);
    assert!(
        hull.positions
            .iter()
            .all(|p| p[1].abs() < 1e-6 && p[2] >= 2.0 - 1e-6),
        "{:?}",
        hull.positions
    );
}
