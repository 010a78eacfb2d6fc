//! How RenderEngineVtk draws a `HalfSpace`: `CreateSquarePlane(kTerrainSize = 100)`
//! (`render_vtk/internal_vtk_util.cc`), a `vtkPlaneSource` of one quad, 100 m on a side, centred
//! on G's origin in its z = 0 plane.
//!
//! Drake sets the origin (−50, −50, 0), then point 1 (−50, 50, 0) and point 2 (50, −50, 0),
//! whose normal is −z, then `SetNormal(0, 0, 1)`: the antiparallel case of `SetNormal` turns the
//! plane 180° about its first axis (+y). So the quad's texture u runs along +y and v along −x,
//! and its points carry the ±6e-15 z residues of that half turn, as VTK's do.

use super::vtk::{self, PolyData};

/// Drake's `kTerrainSize`: the side of the square, in metres.
pub const TERRAIN_SIZE: f64 = 100.0;

/// The parts of `vtkPlaneSource`'s state Drake's calls touch.
struct PlaneSource {
    origin: [f64; 3],
    point1: [f64; 3],
    point2: [f64; 3],
    normal: [f64; 3],
    center: [f64; 3],
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl PlaneSource {
    /// VTK's default: the unit square in z = 0, normal +z.
    fn new() -> Self {
        Self {
            origin: [-0.5, -0.5, 0.0],
            point1: [0.5, -0.5, 0.0],
            point2: [-0.5, 0.5, 0.0],
            normal: [0.0, 0.0, 1.0],
            center: [0.0; 3],
        }
    }

    /// `UpdatePlane`: centre and normal from the two axes.
    fn update_plane(&mut self) {
        let (v1, v2) = (sub(self.point1, self.origin), sub(self.point2, self.origin));
        self.center = std::array::from_fn(|i| self.origin[i] + 0.5 * (v1[i] + v2[i]));
        self.normal = vtk::normalize_f64(cross(v1, v2));
    }

    fn set_point1(&mut self, point: [f64; 3]) {
        if self.point1 != point {
            self.point1 = point;
            self.update_plane();
        }
    }

    fn set_point2(&mut self, point: [f64; 3]) {
        if self.point2 != point {
            self.point2 = point;
            self.update_plane();
        }
    }

    /// `SetNormal`: rotates the plane about its centre onto `normal` (unit here).
    fn set_normal(&mut self, normal: [f64; 3]) {
        let dp = dot(self.normal, normal);
        let (theta, axis) = if dp >= 1.0 {
            return;
        } else if dp <= -1.0 {
            (180.0, sub(self.point1, self.origin))
        } else {
            (dp.acos().to_degrees(), cross(self.normal, normal))
        };
        if theta.abs() < 1.0e-6 {
            return;
        }
        // `Rotate`: translate by −centre, rotate, translate back (translations by zero are
        // skipped by VTK, and so cost nothing here either).
        let c = self.center;
        let mut m = vtk::rotation(theta, axis);
        for (row, offset) in m.iter_mut().zip(c) {
            row[3] = offset - (row[0] * c[0] + row[1] * c[1] + row[2] * c[2]);
        }
        self.origin = vtk::transform_point(&m, self.origin);
        self.point1 = vtk::transform_point(&m, self.point1);
        self.point2 = vtk::transform_point(&m, self.point2);
        // A rotation is its own inverse transpose, to the residues normalising removes.
        self.normal = vtk::normalize_f64(vtk::transform_vector(&m, self.normal));
    }

    /// `RequestData` at resolution 1 × 1: four points, one quad.
    fn build(&mut self) -> PolyData {
        self.update_plane();
        let (v1, v2) = (sub(self.point1, self.origin), sub(self.point2, self.origin));
        let mut poly = PolyData::default();
        for t in [0.0, 1.0] {
            for s in [0.0, 1.0] {
                let point = std::array::from_fn(|i| self.origin[i] + s * v1[i] + t * v2[i]);
                poly.push(point, self.normal, [s, t]);
            }
        }
        poly.polys.push(vec![0, 1, 3, 2]);
        poly
    }
}

/// Drake's `CreateSquarePlane(size)`.
pub fn square_plane(size: f64) -> PolyData {
    let half = size * 0.5;
    let mut plane = PlaneSource::new();
    plane.origin = [-half, -half, 0.0];
    plane.set_point1([-half, half, 0.0]);
    plane.set_point2([half, -half, 0.0]);
    plane.set_normal([0.0, 0.0, 1.0]);
    plane.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_half_turn_puts_u_along_y_and_v_along_minus_x() {
        let poly = square_plane(TERRAIN_SIZE);
        let flat: Vec<[f32; 2]> = poly.points.iter().map(|p| [p[0], p[1]]).collect();
        assert_eq!(
            flat,
            [[50.0, -50.0], [50.0, 50.0], [-50.0, -50.0], [-50.0, 50.0]]
        );
        assert!(poly
            .points
            .iter()
            .all(|p| p[2].abs() < 1e-13 && p[2] != 0.0));
        assert_eq!(
            poly.tcoords,
            [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
        );
        assert!(poly
            .normals
            .iter()
            .all(|n| n[2] == 1.0 && n[0].abs() < 1e-15));
        // One quad, fanned counter-clockwise about +z.
        assert_eq!(poly.triangles(), [0, 1, 3, 0, 3, 2]);
    }
}
