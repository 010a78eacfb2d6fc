//! VTK's `vtkCylinderSource` at resolution 50, what RenderEngineVtk draws a `Cylinder` with,
//! and with `CapsuleCapOn()` a `Capsule` (Drake 1.51's `CreateVtkCapsule`; the
//! `vtk_textured_capsule_source.cc` of later Drakes is not in 1.51).
//!
//! VTK's cylinder stands on its Y axis, from y = +h/2 (VTK's "bottom") to −h/2. Drake turns it
//! onto Z with `RotateX(-90)` concatenated with `RotateY(90)` (`TransformToDrakeCylinder`):
//! (x, y, z) → (z, −x, −y) up to the quaternion's residues, so VTK's "bottom" ends at z = −h/2.
//!
//! Side: 50 quads between point pairs (+h/2, −h/2) around the axis, u = |2i/50 − 1| (mirrored,
//! no seam). Plain cylinder: two 50-gon caps (VTK's texture coordinates there are the cap's own
//! x and z, in metres). Capsule: a hemisphere of 49 latitude rings × 50 on each end, built as
//! `CreateHemisphere` builds it, whose index arithmetic this follows line by line.

use std::f64::consts::PI;

use super::vtk::{self, PolyData};

/// Drake's `SetResolution(50)`.
pub const RESOLUTION: u32 = 50;

/// VTK's source: `height` along Y, centred at the origin.
struct CylinderSource {
    resolution: u32,
    height: f64,
    radius: f64,
    capsule: bool,
}

/// Point data filled at the indices VTK's `InsertPoint` names.
struct Slots {
    poly: PolyData,
}

impl Slots {
    fn new(count: usize) -> Self {
        Self {
            poly: PolyData {
                points: vec![[0.0; 3]; count],
                normals: vec![[0.0; 3]; count],
                tcoords: vec![[0.0; 2]; count],
                polys: Vec::new(),
            },
        }
    }

    fn insert(&mut self, index: u32, point: [f64; 3], normal: [f64; 3], tcoord: [f64; 2]) {
        let i = index as usize;
        self.poly.points[i] = point.map(|c| c as f32);
        self.poly.normals[i] = normal.map(|c| c as f32);
        self.poly.tcoords[i] = tcoord.map(|c| c as f32);
    }
}

impl CylinderSource {
    fn point_count(&self) -> usize {
        let r = self.resolution as usize;
        if self.capsule {
            // Two poles, 2 × (phi − 1) rings of `r` points, the side's 2r.
            2 + 2 * (r - 2) * r + 2 * r
        } else {
            4 * r
        }
    }

    fn build(&self) -> PolyData {
        let r = self.resolution;
        let angle = 2.0 * PI / f64::from(r);
        let (height, radius) = (self.height, self.radius);
        let mut slots = Slots::new(self.point_count());
        let mut idx = 0;
        if self.capsule {
            idx = self.hemisphere(&mut slots, idx);
        }
        for i in 0..r {
            let c = (f64::from(i) * angle).cos();
            let s = -(f64::from(i) * angle).sin();
            let normal = [c, 0.0, s];
            let u = (2.0 * f64::from(i) / f64::from(r) - 1.0).abs();
            let (bottom_y, top_y) = (0.5 * height, -0.5 * height);
            let (v_bottom, v_top) = if self.capsule {
                let span = 2.0 * radius + height;
                (
                    1.0 - (bottom_y + 0.5 * height + radius) / span,
                    1.0 - (top_y + 0.5 * height + radius) / span,
                )
            } else {
                (0.0, 1.0)
            };
            let at = |y| [c * radius, y, s * radius];
            slots.insert(idx + 2 * i, at(bottom_y), normal, [u, v_bottom]);
            slots.insert(idx + 2 * i + 1, at(top_y), normal, [u, v_top]);
        }
        for i in 0..r {
            let a = idx + 2 * i;
            let b = idx + (a + 1 + 2 - idx) % (2 * r);
            slots.poly.polys.push(vec![a, a + 1, b, b - 1]);
        }
        idx += 2 * r - 1;
        if self.capsule {
            self.hemisphere(&mut slots, idx);
        } else {
            for i in 0..r {
                let x = radius * (f64::from(i) * angle).cos();
                let z = -radius * (f64::from(i) * angle).sin();
                let bottom = [x, 0.5 * height, z];
                let top = [x, -0.5 * height, z];
                slots.insert(2 * r + i, bottom, [0.0, 1.0, 0.0], [x, z]);
                slots.insert(3 * r + (r - i - 1), top, [0.0, -1.0, 0.0], [x, z]);
            }
            slots.poly.polys.push((2 * r..3 * r).collect());
            slots.poly.polys.push((3 * r..4 * r).collect());
        }
        slots.poly
    }

    /// `vtkCylinderSource::CreateHemisphere`: the northern one (+y) when `start` is 0, else the
    /// southern one starting after point `start`. Returns the next free index.
    fn hemisphere(&self, slots: &mut Slots, start: u32) -> u32 {
        let (radius, half_height) = (self.radius, 0.5 * self.height);
        let theta_resolution = self.resolution;
        let phi_resolution = self.resolution - 1;
        let base = (phi_resolution - 1) * theta_resolution;
        let delta_theta = 2.0 * PI / f64::from(theta_resolution);
        let delta_phi = 0.5 * PI / f64::from(phi_resolution - 1);
        let north = start == 0;
        let start_phi = if north { 0.0 } else { 0.5 * PI };
        let span = 2.0 * radius + self.height;
        let mut index = start;
        if north {
            slots.insert(
                index,
                [0.0, radius + half_height, 0.0],
                [0.0, 1.0, 0.0],
                [0.0, 0.0],
            );
        }
        let rings = if north {
            1..phi_resolution
        } else {
            0..phi_resolution - 1
        };
        for i in 0..theta_resolution {
            let theta = f64::from(i) * delta_theta;
            let u = (2.0 * f64::from(i) / f64::from(theta_resolution) - 1.0).abs();
            for j in rings.clone() {
                index += 1;
                let phi = start_phi + f64::from(j) * delta_phi;
                let ring = radius * phi.sin();
                let n = [ring * theta.cos(), radius * phi.cos(), ring * theta.sin()];
                let y = if north {
                    n[1] + half_height
                } else {
                    n[1] - half_height
                };
                let point = [n[0], y, n[2]];
                let normal = vtk::normalize_f64(n);
                let v = 1.0 - (y + half_height + radius) / span;
                slots.insert(index, point, normal, [u, v]);
            }
        }
        if !north {
            index += 1;
            slots.insert(
                index,
                [0.0, -radius - half_height, 0.0],
                [0.0, -1.0, 0.0],
                [0.0, 1.0],
            );
        }
        let polys = &mut slots.poly.polys;
        for i in 0..theta_resolution {
            for j in 0..phi_resolution - 2 {
                let a = start + (phi_resolution - 1) * i + j + 1;
                let b = start + ((phi_resolution - 1) * (i + 1) + j) % base + 1;
                polys.push(vec![a, b, b + 1]);
                polys.push(vec![a, b + 1, a + 1]);
            }
        }
        if north {
            for i in 0..theta_resolution {
                let a = (phi_resolution - 1) * i + 1;
                let b = ((phi_resolution - 1) * (i + 1)) % base + 1;
                polys.push(vec![a, 0, b]);
            }
        } else {
            let offset = start + phi_resolution;
            for i in 0..theta_resolution {
                let a = (phi_resolution - 1) * i + offset - 1;
                let b = ((phi_resolution - 1) * (i + 1)) % base + offset - 1;
                polys.push(vec![a, b, index]);
            }
        }
        index + 1
    }
}

/// Drake's `TransformToDrakeCylinder` matrix: `RotateX(-90)` then, pre-multiplied,
/// `Concatenate(RotateY(90))`, so points turn by Ry(90) first.
fn vtk_y_to_drake_z() -> vtk::Matrix4 {
    vtk::multiply(
        &vtk::rotation(-90.0, [1.0, 0.0, 0.0]),
        &vtk::rotation(90.0, [0.0, 1.0, 0.0]),
    )
}

fn turned(source: CylinderSource) -> PolyData {
    let mut poly = source.build();
    poly.transform(&vtk_y_to_drake_z());
    poly
}

/// Drake's `Cylinder(radius, length)` along its Z axis.
pub fn cylinder(radius: f64, length: f64) -> PolyData {
    turned(CylinderSource {
        resolution: RESOLUTION,
        height: length,
        radius,
        capsule: false,
    })
}

/// Drake's `Capsule(radius, length)`: `length` is the cylinder's, the caps add `radius` each.
pub fn capsule(radius: f64, length: f64) -> PolyData {
    turned(CylinderSource {
        resolution: RESOLUTION,
        height: length,
        radius,
        capsule: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 3], b: [f64; 3]) -> bool {
        a.iter()
            .zip(b)
            .all(|(&a, b)| (f64::from(a) - b).abs() < 1e-6)
    }

    #[test]
    fn the_turn_takes_vtks_y_axis_to_drakes_minus_z() {
        let m = vtk_y_to_drake_z();
        let p = vtk::transform_point(&m, [1.0, 2.0, 3.0]);
        let expected = [3.0, -1.0, -2.0];
        assert!(
            p.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{p:?}"
        );
    }

    #[test]
    fn cylinders_have_a_side_of_quads_and_two_fifty_gon_caps() {
        let poly = cylinder(0.5, 2.0);
        assert_eq!((poly.points.len(), poly.polys.len()), (200, 52));
        // Point 0: VTK (r, +h/2, 0) → Drake (0, −r, −h/2), normal (1, 0, 0) → (0, −1, 0).
        assert!(
            close(poly.points[0], [0.0, -0.5, -1.0]),
            "{:?}",
            poly.points[0]
        );
        assert!(
            close(poly.normals[0], [0.0, -1.0, 0.0]),
            "{:?}",
            poly.normals[0]
        );
        assert_eq!(poly.tcoords[0], [1.0, 0.0]);
        assert!(close(poly.normals[100], [0.0, 0.0, -1.0]));
        // 50 quads → 100 triangles; each 50-gon → 48.
        assert_eq!(poly.triangles().len() / 3, 100 + 2 * 48);
    }

    #[test]
    fn capsules_follow_create_hemisphere() {
        let poly = capsule(0.5, 2.0);
        // North pole, 48 rings of 50, the side's 100, 48 rings of 50, south pole.
        assert_eq!(poly.points.len(), 1 + 2400 + 100 + 2400 + 1);
        // North pole at VTK y = r + h/2 → Drake z = −(r + h/2); south pole last.
        assert!(
            close(poly.points[0], [0.0, 0.0, -1.5]),
            "{:?}",
            poly.points[0]
        );
        assert!(
            close(poly.points[4901], [0.0, 0.0, 1.5]),
            "{:?}",
            poly.points[4901]
        );
        assert_eq!(poly.tcoords[4901], [0.0, 1.0]);
        // Bands (47 × 50 × 2 per cap), pole fans (50 per cap), the side's 50 quads.
        assert_eq!(poly.polys.len(), 2 * (47 * 50 * 2 + 50) + 50);
        assert!(poly.polys.iter().flatten().all(|&i| i < 4902));
    }
}
