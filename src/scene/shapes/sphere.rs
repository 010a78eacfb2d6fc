//! VTK's `vtkTexturedSphereSource`, what RenderEngineVtk draws a `Sphere` with (theta and phi
//! resolution 50) and, scaled by `vtkTransform::Scale(a, b, c)` from the unit sphere, an
//! `Ellipsoid` (Drake's `CreateVtkEllipsoid`).
//!
//! Points run in columns of constant theta (longitude, from +x towards +y) from the north pole
//! (+z, phi = 0) to the south pole; the column at theta = 2π repeats the first so the texture
//! seam has its own coordinates (u = theta / 2π, v = 1 − phi / π in VTK's convention). The poles
//! are a point per column. Each band quad is two triangles; the mapper drops those whose points
//! coincide (the north pole's columns share one point exactly; sin π leaves the south pole's a
//! few 1e-17 apart, so those stay).

use std::f64::consts::PI;

use super::vtk::{self, PolyData};

/// Drake's `SetThetaResolution(50)` and `SetPhiResolution(50)`, for spheres and ellipsoids.
pub const RESOLUTION: u32 = 50;

/// `vtkTexturedSphereSource` of `radius` at `theta_resolution` × `phi_resolution`.
pub fn textured_sphere(radius: f64, theta_resolution: u32, phi_resolution: u32) -> PolyData {
    let mut poly = PolyData::default();
    let delta_phi = PI / f64::from(phi_resolution);
    let delta_theta = 2.0 * PI / f64::from(theta_resolution);
    for i in 0..=theta_resolution {
        let theta = f64::from(i) * delta_theta;
        let u = theta / (2.0 * PI);
        for j in 0..=phi_resolution {
            let phi = f64::from(j) * delta_phi;
            let ring = radius * phi.sin();
            let point = [ring * theta.cos(), ring * theta.sin(), radius * phi.cos()];
            let norm = (point[0] * point[0] + point[1] * point[1] + point[2] * point[2]).sqrt();
            let norm = if norm == 0.0 { 1.0 } else { norm };
            poly.push(point, point.map(|c| c / norm), [u, 1.0 - phi / PI]);
        }
    }
    let column = phi_resolution + 1;
    for i in 0..theta_resolution {
        for j in 0..phi_resolution {
            let a = column * i + j;
            let c = column * (i + 1) + j + 1;
            poly.polys.push(vec![a, a + 1, c]);
            poly.polys.push(vec![a, c, c - 1]);
        }
    }
    poly
}

/// Drake's ellipsoid: the unit sphere scaled by the semi-axes; normals follow the inverse
/// transpose of the scale.
pub fn ellipsoid(semi_axes: [f64; 3]) -> PolyData {
    let mut poly = textured_sphere(1.0, RESOLUTION, RESOLUTION);
    poly.transform(&vtk::scale(semi_axes));
    poly
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_and_its_poles_are_vtks() {
        let poly = textured_sphere(2.0, RESOLUTION, RESOLUTION);
        assert_eq!(poly.points.len(), 51 * 51);
        assert_eq!(poly.polys.len(), 50 * 50 * 2);
        // North pole first, texture v = 1 (VTK's top); the equator of column 0 on +x.
        assert_eq!(poly.points[0], [0.0, 0.0, 2.0]);
        assert_eq!(poly.tcoords[0], [0.0, 1.0]);
        let equator = poly.points[25];
        assert!((equator[0] - 2.0).abs() < 1e-6 && equator[2].abs() < 1e-6);
        // The 50 triangles fanning into the north pole's coincident points are dropped; the
        // south pole's points differ by sin(π)'s residue, so its triangles stay.
        assert_eq!(poly.triangles().len() / 3, 5000 - 50);
    }

    #[test]
    fn ellipsoids_scale_points_and_tilt_normals() {
        let poly = ellipsoid([1.0, 2.0, 3.0]);
        assert_eq!(poly.points[0], [0.0, 0.0, 3.0]);
        assert_eq!(poly.normals[0], [0.0, 0.0, 1.0]);
        // A point at 45° in the x-z plane: its normal leans towards the shorter axis.
        let index = 12; // theta = 0, phi = 12π/50 ≈ 43°
        let [x, _, z] = poly.points[index];
        let [nx, _, nz] = poly.normals[index];
        let expected = vtk::normalize_f64([f64::from(x), 0.0, f64::from(z) / 9.0]);
        assert!(
            (f64::from(nx) - expected[0]).abs() < 1e-6,
            "{nx} vs {expected:?}"
        );
        assert!(
            (f64::from(nz) - expected[2]).abs() < 1e-6,
            "{nz} vs {expected:?}"
        );
    }
}
