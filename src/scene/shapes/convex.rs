//! How RenderEngineVtk draws a `Convex`: the convex hull of every vertex of its mesh file
//! (Drake's `MakeConvexHull`, `geometry/proximity/make_convex_hull_mesh_impl.cc`), each face flat
//! (`MakeFacetedRenderMeshFromTriangleSurfaceMesh`: every triangle its own three vertices and its
//! face normal), without texture coordinates.
//!
//! Drake's rules, kept here: fewer than three vertices, vertices all within 1e-12 m of the first,
//! or all on one line are refused; a cloud within 1e-12 m of a plane is drawn as its flat 2D hull
//! (Drake adds a point off the plane, runs qhull, and moves that point back, leaving the polygon
//! plus zero-area sides), facing against the normal Drake finds (`FindNormal`). Any other cloud's
//! hull comes from the `quickhull` crate: qhull's merged polygons and this triangulation of them
//! draw the same surface, since every face is flat and carries its own normal.

use std::panic::{catch_unwind, AssertUnwindSafe};

use glam::DVec3;
use glam_hull::Vec3A;
use quickhull::ConvexTriangleMesh;

use crate::scene::Mesh;

/// Drake's squared-length threshold for telling vertices apart (1e-12 m).
const DISTINCT_SQUARED: f64 = 1e-24;
/// Drake's planarity threshold, in metres.
const PLANAR_DISTANCE: f64 = 1e-12;

/// The hull RenderEngineVtk draws for these vertices (the mesh file's, in G, before scale).
///
/// # Errors
/// Drake's reasons, as a sentence: too few vertices, coincident or collinear ones, a coordinate
/// that is not finite, or (never seen) the hull construction failing.
pub fn convex_hull(vertices: &[[f64; 3]]) -> Result<Mesh, String> {
    if vertices.len() < 3 {
        return Err(format!(
            "a convex hull needs at least three vertices; the mesh has {}",
            vertices.len()
        ));
    }
    if vertices.iter().flatten().any(|c| !c.is_finite()) {
        return Err("a vertex coordinate is not finite".to_owned());
    }
    let points: Vec<DVec3> = vertices.iter().map(|&v| DVec3::from(v)).collect();
    let normal = find_normal(&points)?;
    let offset = normal.dot(points[0]);
    let planar = points
        .iter()
        .all(|p| (normal.dot(*p) - offset).abs() <= PLANAR_DISTANCE);
    let triangles = if planar {
        flat_hull(&points, normal)
    } else {
        solid_hull(&points)?
    };
    Ok(faceted(&triangles))
}

/// Drake's `FindNormal`: the first vertex far enough from vertex 0 gives a direction, the next
/// one off that line the plane.
fn find_normal(points: &[DVec3]) -> Result<DVec3, String> {
    let origin = points[0];
    let Some(first) = points
        .iter()
        .position(|p| (*p - origin).length_squared() >= DISTINCT_SQUARED)
    else {
        return Err("all vertices lie within 1e-12 m of each other".to_owned());
    };
    let a = (points[first] - origin).normalize();
    points[first..]
        .iter()
        .map(|p| (*p - origin, a.cross(*p - origin)))
        .find(|(b, n)| {
            b.length_squared() >= DISTINCT_SQUARED && n.length_squared() >= DISTINCT_SQUARED
        })
        .map(|(_, n)| n.normalize())
        .ok_or_else(|| "all vertices lie on one line".to_owned())
}

/// The 2D hull of a planar cloud, wound (and so facing) against `normal` as Drake's base face.
fn flat_hull(points: &[DVec3], normal: DVec3) -> Vec<[DVec3; 3]> {
    let u = normal.any_orthonormal_vector();
    let v = normal.cross(u);
    let mut projected: Vec<(f64, f64, usize)> = (points.iter().enumerate())
        .map(|(i, p)| (p.dot(u), p.dot(v), i))
        .collect();
    projected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let turn = |o: &(f64, f64, usize), a: &(f64, f64, usize), b: &(f64, f64, usize)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    // Andrew's monotone chain: counter-clockwise about `normal`, collinear points dropped.
    let mut hull: Vec<(f64, f64, usize)> = Vec::with_capacity(projected.len() + 1);
    for pass in [false, true] {
        let floor = hull.len() + 1;
        let ordered: Box<dyn Iterator<Item = &(f64, f64, usize)>> = if pass {
            Box::new(projected.iter().rev().skip(1))
        } else {
            Box::new(projected.iter())
        };
        for point in ordered {
            while hull.len() >= floor.max(2)
                && turn(&hull[hull.len() - 2], &hull[hull.len() - 1], point) <= 0.0
            {
                hull.pop();
            }
            hull.push(*point);
        }
    }
    hull.pop();
    let corners: Vec<DVec3> = hull.iter().rev().map(|&(_, _, i)| points[i]).collect();
    fan(&corners)
}

/// A convex polygon's triangles around its first corner (Drake's `MakeTriangleFromPolygonMesh`).
fn fan(corners: &[DVec3]) -> Vec<[DVec3; 3]> {
    (corners.windows(2).skip(1))
        .map(|pair| [corners[0], pair[0], pair[1]])
        .collect()
}

/// The hull of a cloud with volume, outward counter-clockwise triangles.
fn solid_hull(points: &[DVec3]) -> Result<Vec<[DVec3; 3]>, String> {
    let cloud: Vec<Vec3A> = (points.iter())
        .map(|p| Vec3A::new(p.x as f32, p.y as f32, p.z as f32))
        .collect();
    // The crate's own assertions (debug builds) must not take the server down with them.
    let hull = catch_unwind(AssertUnwindSafe(|| {
        ConvexTriangleMesh::try_from_points(&cloud, None)
    }))
    .map_err(|_| "the convex hull could not be built".to_owned())?
    .map_err(|err| format!("the convex hull could not be built: {err}"))?;
    let corner = |i: u32| {
        let p = hull.vertices()[i as usize];
        DVec3::new(f64::from(p.x), f64::from(p.y), f64::from(p.z))
    };
    Ok((hull.indices().iter())
        .map(|triangle| triangle.map(corner))
        .collect())
}

/// Every triangle with its own three vertices and its face normal; zero-area triangles (a
/// degenerate hull's) are left out, as they draw nothing.
fn faceted(triangles: &[[DVec3; 3]]) -> Mesh {
    let mut positions = Vec::with_capacity(3 * triangles.len());
    let mut normals = Vec::with_capacity(3 * triangles.len());
    for [a, b, c] in triangles {
        let normal = (*b - *a).cross(*c - *a);
        if normal.length_squared() == 0.0 {
            continue;
        }
        let normal = normal.normalize().as_vec3().to_array();
        for corner in [a, b, c] {
            positions.push(corner.as_vec3().to_array());
            normals.push(normal);
        }
    }
    let indices = (0..positions.len() as u32).collect();
    Mesh::new(positions, normals, None, indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube_corners() -> Vec<[f64; 3]> {
        let mut corners = Vec::new();
        for x in [-1.0, 1.0] {
            for y in [-1.0, 1.0] {
                for z in [-1.0, 1.0] {
                    corners.push([x, y, z]);
                }
            }
        }
        corners
    }

    /// A cube with points inside: twelve outward triangles on the six faces, each flat.
    #[test]
    fn a_solid_hull_has_flat_outward_faces() {
        let mut vertices = cube_corners();
        vertices.extend([[0.0, 0.0, 0.0], [0.5, -0.2, 0.9]]);
        let mesh = convex_hull(&vertices).unwrap();
        assert_eq!(mesh.indices.len(), 36);
        for (triangle, normals) in mesh.positions.chunks(3).zip(mesh.normals.chunks(3)) {
            let n = normals[0];
            assert!(normals.iter().all(|m| *m == n));
            // Axis-aligned unit normal, pointing the way the face's points lie.
            let axis = n.iter().position(|c| c.abs() > 0.999).unwrap();
            assert!(
                triangle.iter().all(|p| p[axis] == n[axis]),
                "{triangle:?} {n:?}"
            );
        }
    }

    /// A square with a point in its middle: two triangles facing against Drake's normal
    /// (here +z: (1,0,0)−origin × (0,1,0)−origin), the inner point left out.
    #[test]
    fn a_planar_cloud_is_its_flat_hull_facing_against_drakes_normal() {
        let vertices = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.5, 0.5, 0.0],
            [0.5, 0.0, 0.0],
        ];
        let mesh = convex_hull(&vertices).unwrap();
        assert_eq!(mesh.indices.len(), 6);
        assert!(mesh.normals.iter().all(|n| *n == [0.0, 0.0, -1.0]));
        assert!(!mesh.positions.contains(&[0.5, 0.5, 0.0]));
    }

    #[test]
    fn drakes_degenerate_clouds_are_refused() {
        let error = |v: &[[f64; 3]]| convex_hull(v).unwrap_err();
        assert!(error(&[[0.0; 3], [1.0, 0.0, 0.0]]).contains("at least three"));
        assert!(error(&[[0.0; 3], [0.0; 3], [1e-13, 0.0, 0.0]]).contains("within 1e-12"));
        assert!(error(&[[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]).contains("one line"));
        assert!(error(&[[0.0; 3], [1.0, 0.0, 0.0], [f64::NAN, 1.0, 0.0]]).contains("finite"));
    }
}
