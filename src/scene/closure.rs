//! Whether a mesh bounds a solid, and which way its triangles wind around it. RenderEngineVtk
//! draws every face of a mesh (two-sided); of a closed surface seen from outside, the faces that
//! turn away from the camera are always behind the ones that face it, so the renderer may skip
//! them, half of the triangle work on a software rasteriser, and the image does not change.
//!
//! Vertices are welded by exact position first: loaders split a vertex wherever its normal or
//! texture coordinate changes, which would make every such seam look like a hole.

use std::collections::HashMap;

use glam::DVec3;

use super::Mesh;

/// What [`closure`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closure {
    /// A hole, an edge shared by more than two triangles, triangles wound inconsistently, or
    /// parts wound differently from each other: every face may be seen.
    Open,
    /// Closed, each part wound counter-clockwise seen from outside (positive volume).
    Outward,
    /// Closed, each part wound clockwise seen from outside.
    Inward,
}

/// Every edge of every non-degenerate triangle must be met once in each direction (a closed,
/// consistently wound surface), and every connected part must enclose a volume of one sign.
pub fn closure(mesh: &Mesh) -> Closure {
    let mut ids: HashMap<[u32; 3], u32> = HashMap::with_capacity(mesh.positions.len());
    let welded: Vec<u32> = (mesh.positions.iter())
        .map(|p| {
            // + 0.0 turns -0.0 into 0.0, so the two weld.
            let key = p.map(|c| (c + 0.0).to_bits());
            let next = ids.len() as u32;
            *ids.entry(key).or_insert(next)
        })
        .collect();
    let mut edges: HashMap<(u32, u32), ()> = HashMap::with_capacity(mesh.indices.len());
    let mut parts = Parts::new(ids.len());
    let mut triangles = Vec::with_capacity(mesh.indices.len() / 3);
    for triangle in mesh.indices.chunks_exact(3) {
        let Some(corners) = (triangle.iter())
            .map(|&i| welded.get(i as usize).copied())
            .collect::<Option<Vec<u32>>>()
        else {
            return Closure::Open;
        };
        let [a, b, c] = [corners[0], corners[1], corners[2]];
        if a == b || b == c || c == a {
            continue; // draws nothing
        }
        for edge in [(a, b), (b, c), (c, a)] {
            if edges.insert(edge, ()).is_some() {
                return Closure::Open;
            }
        }
        parts.join(a, b);
        parts.join(a, c);
        triangles.push(triangle);
    }
    if edges.is_empty() || edges.keys().any(|&(a, b)| !edges.contains_key(&(b, a))) {
        return Closure::Open;
    }
    let mut volumes: HashMap<u32, f64> = HashMap::new();
    for triangle in triangles {
        let [a, b, c] = [0, 1, 2].map(|k| {
            let p = mesh.positions[triangle[k] as usize];
            DVec3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]))
        });
        let part = parts.root(welded[triangle[0] as usize]);
        *volumes.entry(part).or_default() += a.dot(b.cross(c));
    }
    if volumes.values().all(|&v| v > 0.0) {
        Closure::Outward
    } else if volumes.values().all(|&v| v < 0.0) {
        Closure::Inward
    } else {
        Closure::Open
    }
}

/// Union-find over welded vertices: the mesh's connected parts.
struct Parts(Vec<u32>);

impl Parts {
    fn new(count: usize) -> Self {
        Self((0..count as u32).collect())
    }

    fn root(&mut self, mut v: u32) -> u32 {
        while self.0[v as usize] != v {
            let parent = self.0[v as usize];
            self.0[v as usize] = self.0[parent as usize];
            v = parent;
        }
        v
    }

    fn join(&mut self, a: u32, b: u32) {
        let (a, b) = (self.root(a), self.root(b));
        self.0[a as usize] = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::shapes::{self, Shape};

    fn quad_mesh(indices: Vec<u32>) -> Mesh {
        let positions = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        Mesh::new(positions, vec![[0.0, 0.0, 1.0]; 4], None, indices)
    }

    #[test]
    fn vtk_boxes_and_cylinders_are_closed_and_wound_outward() {
        let shapes = [
            Shape::Box {
                width: 0.1,
                depth: 0.2,
                height: 0.3,
            },
            Shape::Sphere { radius: 0.1 },
            Shape::Cylinder {
                radius: 0.1,
                length: 0.2,
            },
            Shape::Capsule {
                radius: 0.1,
                length: 0.2,
            },
            Shape::Ellipsoid {
                a: 0.1,
                b: 0.2,
                c: 0.3,
            },
        ];
        for shape in shapes {
            let found = closure(&shapes::tessellate(&shape));
            match shape {
                Shape::Box { .. } | Shape::Cylinder { .. } => {
                    assert_eq!(found, Closure::Outward, "{shape:?}");
                }
                // Their seams' vertices come from sin and cos of 0 and 2π, which differ in the
                // last bits: they do not weld, and are drawn whole.
                _ => assert_eq!(found, Closure::Open, "{shape:?}"),
            }
        }
    }

    /// A latitude-longitude sphere as an OBJ exporter writes it: the seam's column and the poles'
    /// rows repeat positions exactly, with triangles collapsing at the poles.
    fn exported_sphere(segments: u32) -> Mesh {
        let mut positions = Vec::new();
        for i in 0..=segments {
            for j in 0..=segments {
                let theta = std::f32::consts::PI * i as f32 / segments as f32;
                let phi = 2.0 * std::f32::consts::PI * (j % segments) as f32 / segments as f32;
                let (st, ct) = if i == segments {
                    (0.0, -1.0)
                } else {
                    theta.sin_cos()
                };
                positions.push([st * phi.cos(), st * phi.sin(), ct]);
            }
        }
        let mut indices = Vec::new();
        for i in 0..segments {
            for j in 0..segments {
                let a = i * (segments + 1) + j;
                let (b, c, d) = (a + segments + 1, a + 1, a + segments + 2);
                indices.extend([a, b, d, a, d, c]);
            }
        }
        let normals = positions.clone();
        Mesh::new(positions, normals, None, indices)
    }

    #[test]
    fn an_exported_sphere_welds_at_its_seam_and_poles() {
        let sphere = exported_sphere(24);
        assert_eq!(closure(&sphere), Closure::Outward);
        let inside_out: Vec<u32> = (sphere.indices.chunks_exact(3))
            .flat_map(|t| [t[0], t[2], t[1]])
            .collect();
        let flipped = Mesh::new(
            sphere.positions.clone(),
            sphere.normals.clone(),
            None,
            inside_out,
        );
        assert_eq!(closure(&flipped), Closure::Inward);
    }

    #[test]
    fn a_sheet_a_flipped_part_and_a_turned_triangle_are_open() {
        assert_eq!(closure(&quad_mesh(vec![0, 1, 2, 0, 2, 3])), Closure::Open);
        let cube = shapes::tessellate(&Shape::Box {
            width: 1.0,
            depth: 1.0,
            height: 1.0,
        });
        let mut turned = cube.indices.clone();
        turned.swap(0, 1);
        let one_turned = Mesh::new(cube.positions.clone(), cube.normals.clone(), None, turned);
        assert_eq!(closure(&one_turned), Closure::Open);
        let inside_out: Vec<u32> = (cube.indices.chunks_exact(3))
            .flat_map(|t| [t[0], t[2], t[1]])
            .collect();
        let flipped = Mesh::new(
            cube.positions.clone(),
            cube.normals.clone(),
            None,
            inside_out.clone(),
        );
        assert_eq!(closure(&flipped), Closure::Inward);
        // Two cubes, one wound each way: no single face to skip.
        let offset = cube.positions.len() as u32;
        let mut positions = cube.positions.clone();
        positions.extend(cube.positions.iter().map(|p| [p[0] + 3.0, p[1], p[2]]));
        let mut indices = cube.indices.clone();
        indices.extend(inside_out.iter().map(|i| i + offset));
        let normals = vec![[0.0, 0.0, 1.0]; positions.len()];
        assert_eq!(
            closure(&Mesh::new(positions, normals, None, indices)),
            Closure::Open
        );
    }
}
