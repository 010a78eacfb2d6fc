//! User glTF content Drake merged into its document (the PBR switch): materials, textures.

use super::*;

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
