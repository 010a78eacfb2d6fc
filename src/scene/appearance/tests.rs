use glam::DMat4;

use super::*;
use crate::scene::Mesh;

const DEFAULT: [f32; 4] = [0.9, 0.45, 0.1, 1.0];

fn texture() -> Arc<Texture> {
    Arc::new(Texture::new(1, 1, vec![255; 4]))
}

fn resolve(surface: Surface, properties: &PhongProperties) -> (Material, Vec<Arc<Texture>>) {
    let mut textures = Vec::new();
    let material = resolve_material(surface, properties, DEFAULT, &mut textures);
    (material, textures)
}

fn part(material: PartMaterial) -> MeshPart {
    MeshPart {
        mesh: Arc::new(Mesh::new(Vec::new(), Vec::new(), None, Vec::new())),
        part_to_geometry: DMat4::IDENTITY,
        material,
    }
}

#[test]
fn primitives_follow_define_material() {
    let none = PhongProperties::default();
    assert_eq!(resolve(Surface::Primitive, &none).0.base_color, DEFAULT);

    let red = PhongProperties {
        diffuse: Some([1.0, 0.0, 0.0, 0.5]),
        ..Default::default()
    };
    let (material, _) = resolve(Surface::Primitive, &red);
    assert_eq!(material.base_color, [1.0, 0.0, 0.0, 0.5]);
    assert!(material.blend && material.base_color_texture.is_none());

    // A map alone: white under it; unreadable: still white, untextured.
    let mapped = PhongProperties {
        diffuse_map: Some(DiffuseMap::Image(texture())),
        ..Default::default()
    };
    let (material, textures) = resolve(Surface::Primitive, &mapped);
    assert_eq!(material.base_color, [1.0; 4]);
    let reference = material.base_color_texture.unwrap();
    assert_eq!((reference.texture, textures.len()), (0, 1));
    assert_eq!(reference.sampler.wrap_s, Wrap::ClampToEdge);
    assert_eq!(reference.transform, TextureRef::IDENTITY);
    let unreadable = PhongProperties {
        diffuse_map: Some(DiffuseMap::Unreadable),
        ..Default::default()
    };
    let (material, textures) = resolve(Surface::Primitive, &unreadable);
    assert_eq!(material.base_color, [1.0; 4]);
    assert!(material.base_color_texture.is_none() && textures.is_empty());
}

/// `diffuse_scale` over 1 repeats the texture on any geometry; only a box scales its
/// coordinates, here as a transform that keeps VTK's v origin at the image's bottom.
#[test]
fn diffuse_scale_repeats_and_scales_only_boxes() {
    let scaled = PhongProperties {
        diffuse_map: Some(DiffuseMap::Image(texture())),
        diffuse_scale: Some([2.0, 3.0]),
        ..Default::default()
    };
    let sphere = resolve(Surface::Primitive, &scaled)
        .0
        .base_color_texture
        .unwrap();
    assert_eq!(sphere.sampler.wrap_t, Wrap::Repeat);
    assert_eq!(sphere.transform, TextureRef::IDENTITY);
    let cube = resolve(Surface::Box, &scaled).0.base_color_texture.unwrap();
    assert_eq!(cube.transform, [[2.0, 0.0, 0.0], [0.0, 3.0, -2.0]]);
    // Scene v = 1 is VTK's v = 0: it stays at the image's bottom row (scene v 1).
    let [_, [_, t, offset]] = cube.transform;
    assert_eq!(t * 1.0 + offset, 1.0);
    let shrunk = PhongProperties {
        diffuse_scale: Some([0.5, 1.0]),
        ..scaled
    };
    let cube = resolve(Surface::Box, &shrunk).0.base_color_texture.unwrap();
    assert_eq!(cube.sampler.wrap_s, Wrap::ClampToEdge);
}

#[test]
fn convex_hulls_drop_maps() {
    let mapped = PhongProperties {
        diffuse_map: Some(DiffuseMap::Image(texture())),
        ..Default::default()
    };
    let (material, textures) = resolve(Surface::Convex, &mapped);
    assert_eq!(material.base_color, [1.0; 4]);
    assert!(textures.is_empty());
    let plain = PhongProperties::default();
    assert_eq!(resolve(Surface::Convex, &plain).0.base_color, DEFAULT);
}

/// An MTL material wins over the properties; faces without one take the properties (white
/// under a map, the map only with full coordinates), then the sibling PNG, then the default.
#[test]
fn mesh_parts_follow_drakes_precedence() {
    let red = PhongProperties {
        diffuse: Some([1.0, 0.0, 0.0, 1.0]),
        ..Default::default()
    };
    let mtl = part(PartMaterial::Mtl {
        diffuse: [0.0, 1.0, 0.0, 0.5],
        texture: Some(texture()),
    });
    let (material, textures) = resolve(Surface::MeshPart(&mtl), &red);
    assert_eq!(material.base_color, [0.0, 1.0, 0.0, 0.5]);
    assert_eq!(textures.len(), 1);

    let png = texture();
    let bare = |full_tex_coords| {
        part(PartMaterial::FromProperties {
            full_tex_coords,
            sibling_png: Some(png.clone()),
        })
    };
    assert_eq!(
        resolve(Surface::MeshPart(&bare(true)), &red).0.base_color,
        [1.0, 0.0, 0.0, 1.0]
    );
    let mapped = PhongProperties {
        diffuse_map: Some(DiffuseMap::Image(texture())),
        ..Default::default()
    };
    let (material, _) = resolve(Surface::MeshPart(&bare(false)), &mapped);
    assert_eq!(material.base_color, [1.0; 4]);
    assert!(material.base_color_texture.is_none());
    let none = PhongProperties::default();
    let (material, textures) = resolve(Surface::MeshPart(&bare(true)), &none);
    assert_eq!(material.base_color, [1.0; 4]);
    assert!(Arc::ptr_eq(&textures[0], &png));
    let (material, _) = resolve(Surface::MeshPart(&bare(false)), &none);
    assert!(material.base_color_texture.is_none() && material.base_color == [1.0; 4]);
    let plain = part(PartMaterial::FromProperties {
        full_tex_coords: true,
        sibling_png: None,
    });
    assert_eq!(
        resolve(Surface::MeshPart(&plain), &none).0.base_color,
        DEFAULT
    );
}

/// A glTF part keeps its material; its textures join the scene's list once.
#[test]
fn gltf_parts_keep_their_material_with_moved_texture_indices() {
    let (first, second) = (texture(), texture());
    let gltf = part(PartMaterial::Gltf {
        material: Box::new(Material {
            base_color_texture: Some(TextureRef::new(1, Sampler::default())),
            emissive_texture: Some(TextureRef::new(1, Sampler::default())),
            from_user_gltf: true,
            ..Material::default()
        }),
        textures: vec![first, second.clone()],
    });
    let mut textures = vec![texture()];
    let red = PhongProperties {
        diffuse: Some([1.0, 0.0, 0.0, 1.0]),
        ..Default::default()
    };
    let material = resolve_material(Surface::MeshPart(&gltf), &red, DEFAULT, &mut textures);
    assert!(material.from_user_gltf);
    assert_eq!(material.base_color, [1.0; 4]);
    assert_eq!(material.base_color_texture.unwrap().texture, 1);
    assert_eq!(material.emissive_texture.unwrap().texture, 1);
    assert_eq!(textures.len(), 2);
    assert!(Arc::ptr_eq(&textures[1], &second));
}
