//! Vertex normals in model space: computed when the glTF has none (Drake never sends `NORMAL`), or
//! normalized when it does. Never NaN: a degenerate normal becomes +Z.

use glam::DVec3;

/// The normal given to a vertex whose normal is zero or not finite (degenerate triangles, unused
/// vertices): any unit vector keeps shading defined, and a fixed one keeps output deterministic.
const FALLBACK_NORMAL: [f32; 3] = [0.0, 0.0, 1.0];

/// Faces whose corner angle has a sine below 1e-6 are degenerate: their cross product is rounding
/// noise with an arbitrary direction. VTK spheres have such faces at the poles (two corners on the
/// pole); letting them vote would point pole vertices inwards.
const DEGENERATE_SIN_SQUARED: f64 = 1e-12;

/// Area-weighted vertex normals of a counter-clockwise triangle list.
///
/// Each face adds its unnormalized cross product (length = 2 × area) to its three vertices, so
/// vertices shared between faces (VTK's tessellated spheres and cylinders) shade smoothly like
/// RenderEngineVtk's Gouraud, while meshes whose faces own their vertices (VTK boxes, 24
/// vertices) stay flat.
pub fn area_weighted(positions: &[[f32; 3]], triangles: &[u32]) -> Vec<[f32; 3]> {
    let mut sums = vec![DVec3::ZERO; positions.len()];
    let point = |index: u32| DVec3::from(positions[index as usize].map(f64::from));
    for triangle in triangles.chunks_exact(3) {
        let (a, b, c) = (point(triangle[0]), point(triangle[1]), point(triangle[2]));
        let (ab, ac) = (b - a, c - a);
        let face = ab.cross(ac);
        if face.length_squared()
            <= DEGENERATE_SIN_SQUARED * ab.length_squared() * ac.length_squared()
        {
            continue;
        }
        for &vertex in triangle {
            sums[vertex as usize] += face;
        }
    }
    sums.into_iter().map(unit_or_fallback).collect()
}

/// Given normals as unit vectors (the renderer moves them to the world frame per instance).
pub fn unit(normals: &[[f32; 3]]) -> Vec<[f32; 3]> {
    normals
        .iter()
        .map(|normal| unit_or_fallback(DVec3::from(normal.map(f64::from))))
        .collect()
}

fn unit_or_fallback(vector: DVec3) -> [f32; 3] {
    let unit = vector.normalize_or_zero().as_vec3();
    if unit == glam::Vec3::ZERO || !unit.is_finite() {
        FALLBACK_NORMAL
    } else {
        unit.to_array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: [f32; 3], b: [f32; 3]) {
        let distance = glam::Vec3::from(a).distance(glam::Vec3::from(b));
        assert!(distance < 1e-6, "{a:?} != {b:?}");
    }

    /// An octahedron sharing its 6 vertices: every vertex normal points radially.
    #[test]
    fn shared_vertices_get_smooth_radial_normals() {
        let positions = [
            [1.0, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
        ];
        #[rustfmt::skip]
        let triangles = [
            0, 2, 4,  2, 1, 4,  1, 3, 4,  3, 0, 4,
            2, 0, 5,  1, 2, 5,  3, 1, 5,  0, 3, 5,
        ];
        let normals = area_weighted(&positions, &triangles);
        for (normal, position) in normals.iter().zip(positions) {
            assert_close(*normal, position);
        }
    }

    /// Two faces of a cube that do not share vertices keep their own flat normals.
    #[test]
    fn unshared_faces_stay_flat() {
        let positions = [
            // +Z face
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0],
            // +X face, touching the +Z face along an edge but with its own vertices
            [1.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
        ];
        let normals = area_weighted(&positions, &[0, 1, 2, 3, 4, 5]);
        for normal in &normals[..3] {
            assert_close(*normal, [0.0, 0.0, 1.0]);
        }
        for normal in &normals[3..] {
            assert_close(*normal, [1.0, 0.0, 0.0]);
        }
    }

    /// Weighting is by area: a big face dominates a small one at a shared vertex.
    #[test]
    fn larger_faces_weigh_more() {
        let positions = [
            [0.0, 0.0, 0.0],
            [2.0, 0.0, 0.0],
            [0.0, 2.0, 0.0], // big triangle in the XY plane, normal +Z, area 2
            [0.0, 0.0, 0.1],
            [0.0, 0.1, 0.0], // small triangle in the YZ plane... normal +X, area 0.005
        ];
        let normals = area_weighted(&positions, &[0, 1, 2, 0, 4, 3]);
        let expected = DVec3::new(0.005, 0.0, 2.0).normalize().as_vec3().to_array();
        assert_close(normals[0], expected);
    }

    /// A sliver with rounding-noise area does not outvote nothing: its lone vertex falls back.
    #[test]
    fn near_degenerate_faces_do_not_vote() {
        let positions = [
            [0.0, 0.0, -0.1],
            [0.0, 0.0, -0.1 - 1e-12],
            [0.006, 0.0, -0.099],
            [0.006, 0.006, -0.099],
        ];
        // Faces: a sliver (0, 1, 2) and a real triangle (0, 2, 3) facing −Z.
        let normals = area_weighted(&positions, &[0, 1, 2, 0, 3, 2]);
        assert_eq!(normals[1], FALLBACK_NORMAL);
        assert!(normals[0][2] < -0.9, "{:?}", normals[0]);
    }

    #[test]
    fn degenerate_and_unused_vertices_get_the_fallback_not_nan() {
        let positions = [
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [2.0, 2.0, 2.0],
            [5.0, 5.0, 5.0],
        ];
        let normals = area_weighted(&positions, &[0, 1, 2]);
        assert_eq!(normals, vec![FALLBACK_NORMAL; 4]);
    }

    #[test]
    fn given_normals_are_normalized_and_zero_ones_fall_back() {
        assert_close(unit(&[[3.0, 0.0, 4.0]])[0], [0.6, 0.0, 0.8]);
        assert_eq!(unit(&[[0.0; 3]]), vec![FALLBACK_NORMAL]);
    }
}
