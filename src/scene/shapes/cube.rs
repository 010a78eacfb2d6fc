//! Drake's `DrakeCubeSource` (`render_vtk/internal_render_engine_vtk_base.cc`), what
//! RenderEngineVtk draws a `Box` with: 24 points (four per face, each face with its own normal)
//! and six quads, every face's texture coordinates spanning the whole image.
//!
//! Drake multiplies the texture coordinates by `phong/diffuse_scale` here; the mesh is built
//! unscaled so boxes of one size share it, and the scale travels as the material's texture
//! transform instead ([`super::super::appearance`]).

use super::vtk::PolyData;

/// Per face: (index, sign) of the face frame's x, y and z (outward normal) axes in the box frame,
/// in Drake's order +x, −x, +y, −y, +z, −z.
const FACE_BASES: [[(usize, f64); 3]; 6] = [
    [(1, 1.0), (2, 1.0), (0, 1.0)],
    [(1, -1.0), (2, 1.0), (0, -1.0)],
    [(0, -1.0), (2, 1.0), (1, 1.0)],
    [(0, 1.0), (2, 1.0), (1, -1.0)],
    [(0, 1.0), (1, 1.0), (2, 1.0)],
    [(0, 1.0), (1, -1.0), (2, -1.0)],
];

/// The unit face's corners v0..v3, counter-clockwise about the face normal.
const CORNERS: [(f64, f64); 4] = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];

/// The box of full extents `size` (Drake's width, depth, height along x, y, z).
pub fn cube(size: [f64; 3]) -> PolyData {
    let mut poly = PolyData::default();
    for basis in FACE_BASES {
        let axis = |(index, sign): (usize, f64)| {
            let mut unit = [0.0; 3];
            unit[index] = sign;
            unit
        };
        let [fx, fy, fz] = basis.map(axis);
        let [sx, sy, sz] = basis.map(|(index, _)| 0.5 * size[index]);
        let first = poly.points.len() as u32;
        for (x, y) in CORNERS {
            let point = std::array::from_fn(|i| sz * fz[i] + (x * sx) * fx[i] + (y * sy) * fy[i]);
            poly.push(point, fz, [(x + 1.0) * 0.5, (y + 1.0) * 0.5]);
        }
        poly.polys.push((first..first + 4).collect());
    }
    poly
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The +x face as Drake's code defines it (its table's comment says −By, the code +By): the
    /// face frame's x is By, y is Bz; v0 at the (−y, −z) corner with texture coordinate (0, 0),
    /// v2 at (+y, +z) with (1, 1).
    #[test]
    fn faces_follow_drakes_basis_table() {
        let poly = cube([2.0, 4.0, 6.0]);
        assert_eq!((poly.points.len(), poly.polys.len()), (24, 6));
        assert_eq!(poly.points[0], [1.0, -2.0, -3.0]);
        assert_eq!(poly.points[2], [1.0, 2.0, 3.0]);
        assert_eq!((poly.tcoords[0], poly.tcoords[2]), ([0.0, 0.0], [1.0, 1.0]));
        assert_eq!(poly.normals[0], [1.0, 0.0, 0.0]);
        // −z face: x is Bx, y is −By.
        assert_eq!(poly.points[20], [-1.0, 2.0, -3.0]);
        assert_eq!(poly.normals[20], [0.0, 0.0, -1.0]);
        assert_eq!(poly.triangles().len(), 36);
    }
}
