//! The VTK machinery every RenderEngineVtk shape passes through, reproduced operation for
//! operation so the vertices come out as VTK's do (same f64 arithmetic, same rounding to f32):
//! - `vtkMatrix4x4::MatrixFromRotation` (a rotation built from a quaternion in degrees, so a
//!   90° turn leaves 1e-16 residues where a textbook matrix has zeros) and `Multiply4x4`;
//! - `vtkTransformPolyDataFilter`: single-precision points through the double matrix, normals
//!   through its inverse transpose, then normalised in single precision;
//! - `vtkOpenGLIndexBufferObject::AppendTriangleIndexBuffer`, how the mapper draws polygons:
//!   each cell as a fan around its first point, dropping every triangle two of whose points have
//!   equal coordinates (VTK 9 stores cells with 64-bit ids, so every source takes this path).
//!
//! Texture coordinates are VTK's (origin at the image's bottom row) until [`PolyData::into_mesh`]
//! turns them into the scene's (glTF's: origin at the top row).

use glam::DMat4;

use crate::scene::cache::ContentKey;
use crate::scene::Mesh;

/// A row-major 4×4 matrix, `m[row][column]`, as VTK stores it.
pub type Matrix4 = [[f64; 4]; 4];

pub const IDENTITY: Matrix4 = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// `vtkMath::RadiansFromDegrees` (a product, not a division by 180).
fn radians(degrees: f64) -> f64 {
    degrees * 0.017453292519943295
}

/// `vtkMatrix4x4::MatrixFromRotation(angle, x, y, z)`: `angle` degrees about the axis.
pub fn rotation(angle_degrees: f64, [x, y, z]: [f64; 3]) -> Matrix4 {
    if angle_degrees == 0.0 || (x == 0.0 && y == 0.0 && z == 0.0) {
        return IDENTITY;
    }
    let angle = radians(angle_degrees);
    let w = (0.5 * angle).cos();
    let f = (0.5 * angle).sin() / (x * x + y * y + z * z).sqrt();
    let (x, y, z) = (x * f, y * f, z * f);
    let (ww, wx, wy, wz) = (w * w, w * x, w * y, w * z);
    let (xx, yy, zz) = (x * x, y * y, z * z);
    let (xy, xz, yz) = (x * y, x * z, y * z);
    let s = ww - xx - yy - zz;
    [
        [xx * 2.0 + s, (xy - wz) * 2.0, (xz + wy) * 2.0, 0.0],
        [(xy + wz) * 2.0, yy * 2.0 + s, (yz - wx) * 2.0, 0.0],
        [(xz - wy) * 2.0, (yz + wx) * 2.0, zz * 2.0 + s, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// `vtkTransform::Scale`'s matrix.
pub fn scale([x, y, z]: [f64; 3]) -> Matrix4 {
    let mut m = IDENTITY;
    (m[0][0], m[1][1], m[2][2]) = (x, y, z);
    m
}

/// `vtkMatrix4x4::Multiply4x4(a, b)`: `a · b`, summed in VTK's order.
pub fn multiply(a: &Matrix4, b: &Matrix4) -> Matrix4 {
    let mut c = [[0.0; 4]; 4];
    for (i, row) in c.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] + a[i][3] * b[3][j];
        }
    }
    c
}

/// `vtkLinearTransformPoint`: the affine map of `p`, in double precision.
pub fn transform_point(m: &Matrix4, p: [f64; 3]) -> [f64; 3] {
    let row = |r: &[f64; 4]| r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + r[3];
    [row(&m[0]), row(&m[1]), row(&m[2])]
}

/// `vtkLinearTransformVector`: the linear part only.
pub fn transform_vector(m: &Matrix4, v: [f64; 3]) -> [f64; 3] {
    let row = |r: &[f64; 4]| r[0] * v[0] + r[1] * v[1] + r[2] * v[2];
    [row(&m[0]), row(&m[1]), row(&m[2])]
}

/// `vtkMath::Normalize(float[3])`: in single precision; a zero vector stays zero.
pub fn normalize_f32(v: [f32; 3]) -> [f32; 3] {
    let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if norm == 0.0 {
        return v;
    }
    v.map(|c| c / norm)
}

/// `vtkMath::Normalize(double[3])`.
pub fn normalize_f64(v: [f64; 3]) -> [f64; 3] {
    let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if norm == 0.0 {
        return v;
    }
    v.map(|c| c / norm)
}

/// What a VTK source produces: points with one normal and one texture coordinate each, and
/// polygons (triangles, quads or larger fans) indexing them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolyData {
    pub points: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    /// VTK's convention: (0, 0) is the image's bottom-left corner.
    pub tcoords: Vec<[f32; 2]>,
    pub polys: Vec<Vec<u32>>,
}

impl PolyData {
    /// Appends a point computed in double precision, stored as VTK's float arrays store it.
    pub fn push(&mut self, point: [f64; 3], normal: [f64; 3], tcoord: [f64; 2]) -> u32 {
        let index = self.points.len() as u32;
        self.points.push(point.map(|c| c as f32));
        self.normals.push(normal.map(|c| c as f32));
        self.tcoords.push(tcoord.map(|c| c as f32));
        index
    }

    /// `vtkTransformPolyDataFilter` with a linear transform `m`.
    pub fn transform(&mut self, m: &Matrix4) {
        for point in &mut self.points {
            *point = transform_point(m, point.map(f64::from)).map(|c| c as f32);
        }
        // `m`'s rows read as columns are its transpose; the inverse's columns, read back as
        // rows, are the inverse transpose.
        let inverse_transpose =
            (DMat4::from_cols_array_2d(m).transpose().inverse()).to_cols_array_2d();
        for normal in &mut self.normals {
            let turned = transform_vector(&inverse_transpose, normal.map(f64::from));
            *normal = normalize_f32(turned.map(|c| c as f32));
        }
    }

    /// The triangles the OpenGL mapper draws, counter-clockwise as the cells wind.
    pub fn triangles(&self) -> Vec<u32> {
        let mut indices = Vec::with_capacity(self.polys.iter().map(|p| 3 * p.len()).sum());
        for poly in &self.polys {
            fan(poly, &self.points, &mut indices);
        }
        indices
    }

    /// The scene mesh: texture coordinates flipped to the scene's top-row origin.
    pub fn into_mesh(self, key: ContentKey) -> Mesh {
        let indices = self.triangles();
        let tex_coords = self.tcoords.iter().map(|&[u, v]| [u, 1.0 - v]).collect();
        Mesh::keyed(key, self.points, self.normals, Some(tex_coords), indices)
    }
}

/// Appends `poly`'s fan around its first point, without the triangles two of whose points
/// coincide (as `vtkOpenGLIndexBufferObject` leaves them out).
pub fn fan(poly: &[u32], points: &[[f32; 3]], out: &mut Vec<u32>) {
    let Some((&first, rest)) = poly.split_first() else {
        return;
    };
    for pair in rest.windows(2) {
        let triangle = [first, pair[0], pair[1]];
        if !is_degenerate(triangle, points) {
            out.extend(triangle);
        }
    }
}

/// Two of the triangle's points have equal coordinates (`-0.0 == 0.0`, as in C++).
pub fn is_degenerate([a, b, c]: [u32; 3], points: &[[f32; 3]]) -> bool {
    let point = |i: u32| points[i as usize];
    point(a) == point(b) || point(a) == point(c) || point(b) == point(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quarter turn keeps VTK's quaternion residues: the zeros of a textbook matrix are not
    /// all exactly zero, and the ones are exact.
    #[test]
    fn rotations_are_built_from_quaternions_in_degrees() {
        let m = rotation(90.0, [0.0, 1.0, 0.0]);
        assert_eq!(m[0][2], 1.0);
        assert_eq!(m[2][0], -1.0);
        assert_eq!(m[1][1], 1.0);
        assert!(m[0][0].abs() < 1e-15 && m[0][0] != 0.0, "{}", m[0][0]);
        assert_eq!(rotation(0.0, [1.0, 0.0, 0.0]), IDENTITY);
    }

    #[test]
    fn transforms_move_points_and_turn_normals_with_the_inverse_transpose() {
        let mut poly = PolyData::default();
        poly.push([1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0]);
        poly.transform(&scale([2.0, 1.0, 1.0]));
        assert_eq!(poly.points[0], [2.0, 1.0, 0.0]);
        // The surface x + y = 2 becomes x/2 + y = 2: normal ∝ (0.5, 1, 0).
        let expected = normalize_f32([0.5, 1.0, 0.0]);
        for (got, want) in poly.normals[0].iter().zip(expected) {
            assert!((got - want).abs() < 1e-7, "{:?}", poly.normals[0]);
        }
    }

    /// Under a rotation a normal turns as the points do.
    #[test]
    fn rotations_turn_normals_as_points() {
        let mut poly = PolyData::default();
        poly.push([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0]);
        poly.transform(&rotation(30.0, [1.0, 2.0, 0.5]));
        let point = normalize_f32(poly.points[0]);
        for (got, want) in poly.normals[0].iter().zip(point) {
            assert!(
                (got - want).abs() < 1e-6,
                "{:?} vs {point:?}",
                poly.normals[0]
            );
        }
    }

    /// A quad is two triangles around its first point; a triangle with two equal points is
    /// dropped, as the mapper drops it.
    #[test]
    fn fans_skip_triangles_with_coincident_points() {
        let points = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
        ];
        let mut out = Vec::new();
        fan(&[0, 1, 2, 3], &points, &mut out);
        assert_eq!(out, [0, 1, 2, 0, 2, 3]);
        let coincident = [[0.0, 0.0, 0.0], [-0.0, 0.0, 0.0], [1.0, 1.0, 0.0]];
        out.clear();
        fan(&[0, 1, 2], &coincident, &mut out);
        assert!(out.is_empty());
    }
}
