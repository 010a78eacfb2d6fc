//! The faces of a closed mesh that the camera cannot see are skipped (`upload::hidden_faces`):
//! the image must not change, whichever way the mesh winds or the instance mirrors, and nothing
//! is skipped where the camera can see inside (within the mesh, or with the near plane cutting
//! it open).

use glam::{DMat3, DMat4, DVec3};
use gltf_cloud::render::{Image, ImageKind, Look};
use gltf_cloud::scene::Scene;

use super::{
    cuboid, depth_at, intrinsics, material, placed, renderer, rgba_at, scene, Part, FAR_DEPTH,
};
use crate::common;

const RED: [f32; 4] = [1.0, 0.0, 0.0, 1.0];

/// A unit cube around its origin; the tests place it.
fn cube() -> Part {
    cuboid(
        DVec3::ZERO,
        DVec3::splat(0.5),
        DMat3::IDENTITY,
        material(RED),
    )
}

/// Its two halves as separate open meshes, which are drawn whole.
fn halves(cube: &Part) -> [Part; 2] {
    let half = cube.indices.len() / 2;
    [&cube.indices[..half], &cube.indices[half..]].map(|indices| Part {
        indices: indices.to_vec(),
        ..cube.clone()
    })
}

fn turned_inside_out(part: &Part) -> Part {
    let indices = (part.indices.chunks_exact(3))
        .flat_map(|t| [t[0], t[2], t[1]])
        .collect();
    Part {
        indices,
        ..part.clone()
    }
}

fn every_kind(scene: &Scene) -> Vec<Image> {
    let k = intrinsics(96, 72);
    let mut renderer = renderer();
    [ImageKind::Color, FAR_DEPTH, ImageKind::Label]
        .into_iter()
        .map(|kind| renderer.render(scene, &Look::default(), &k, kind).unwrap())
        .collect()
}

#[test]
fn a_closed_mesh_renders_as_its_open_halves_do_however_it_winds_or_mirrors() {
    common::require_adapter!();
    let at = DMat4::from_translation(DVec3::new(0.2, -0.1, 2.5));
    let mirrored = at * DMat4::from_scale(DVec3::new(-1.0, 1.0, 1.0));
    for (what, cube, model_to_world) in [
        ("outward", cube(), at),
        ("inside out", turned_inside_out(&cube()), at),
        ("mirrored", cube(), mirrored),
    ] {
        let whole = every_kind(&placed(vec![(cube.clone(), model_to_world)]));
        let [a, b] = halves(&cube);
        let open = every_kind(&placed(vec![(a, model_to_world), (b, model_to_world)]));
        assert!(
            (depth_at(&whole[1], 48, 36) - 2.0).abs() < 1e-3,
            "{what}: the near face"
        );
        for (closed, open) in whole.iter().zip(&open) {
            assert_eq!(closed, open, "{what}");
        }
    }
}

#[test]
fn inside_a_closed_mesh_its_walls_are_seen() {
    common::require_adapter!();
    let room = cuboid(
        DVec3::ZERO,
        DVec3::splat(1.0),
        DMat3::IDENTITY,
        material(RED),
    );
    let images = every_kind(&scene(vec![room]));
    assert_eq!(rgba_at(&images[0], 48, 36)[3], 255);
    assert!((depth_at(&images[1], 48, 36) - 1.0).abs() < 1e-3);
}

#[test]
fn a_closed_mesh_the_near_plane_cuts_open_shows_its_inside() {
    common::require_adapter!();
    // Its near face at 5 mm, before the 10 mm near plane: the camera looks into the box.
    let box_at = DMat4::from_translation(DVec3::new(0.0, 0.0, 0.505));
    let images = every_kind(&placed(vec![(cube(), box_at)]));
    assert!(
        (depth_at(&images[1], 48, 36) - 1.005).abs() < 1e-3,
        "the far wall, inside"
    );
}
