//! Each casting light's camera, as `vtkShadowMapBakerPass::BuildCameraLight` builds it from the
//! scene's bounding box (vtk-effects.md §5), in f64: a directional light looks along its direction
//! with a parallel projection just covering the box; a spot looks from its position with a
//! 2·cone view angle and near/far planes fitted to the box.

use glam::{DMat4, DVec3, DVec4};

/// An axis-aligned box in the world frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::render) struct Bounds {
    pub min: DVec3,
    pub max: DVec3,
}

impl Bounds {
    /// The union of `boxes`; `None` when there are none.
    pub fn union(boxes: impl IntoIterator<Item = Bounds>) -> Option<Self> {
        boxes.into_iter().reduce(|a, b| Bounds {
            min: a.min.min(b.min),
            max: a.max.max(b.max),
        })
    }

    /// VTK's `vtkProp3D::GetBounds`: the box around the 8 transformed corners of a model-space
    /// box.
    pub fn transformed(&self, model_to_world: &DMat4) -> Self {
        let corners = self.corners().map(|c| model_to_world.transform_point3(c));
        let mut bounds = Bounds {
            min: corners[0],
            max: corners[0],
        };
        for c in &corners[1..] {
            bounds.min = bounds.min.min(*c);
            bounds.max = bounds.max.max(*c);
        }
        bounds
    }

    fn corners(&self) -> [DVec3; 8] {
        std::array::from_fn(|i| {
            DVec3::new(
                if i & 1 == 0 { self.min.x } else { self.max.x },
                if i & 2 == 0 { self.min.y } else { self.max.y },
                if i & 4 == 0 { self.min.z } else { self.max.z },
            )
        })
    }

    /// VTK's `BoxNearFar`: the range of `(corner − origin)·axis` over the corners.
    fn near_far(&self, origin: DVec3, axis: DVec3) -> (f64, f64) {
        self.corners()
            .iter()
            .map(|c| (*c - origin).dot(axis))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
                (lo.min(d), hi.max(d))
            })
    }
}

/// A light's shadow camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::render) struct LightCamera {
    /// World → clip, wgpu conventions (z in [0, 1], w the distance along the axis for a spot).
    pub view_proj: DMat4,
    /// Parallel projection: the light depth is clip z; otherwise (w − near)/(far − near).
    pub parallel: bool,
    pub near: f64,
    pub far: f64,
}

impl LightCamera {
    /// A directional light shining along `direction` (need not be unit) over `bounds`.
    pub fn directional(direction: DVec3, bounds: &Bounds) -> Self {
        let dir = direction.normalize();
        let (vx, vup) = perpendiculars(dir);
        let (min_x, max_x) = bounds.near_far(DVec3::ZERO, vx);
        let (min_y, max_y) = bounds.near_far(DVec3::ZERO, vup);
        let (min_z, max_z) = bounds.near_far(DVec3::ZERO, dir);
        let half = (max_x - min_x).max(max_y - min_y) / 2.0;
        let depth = max_z - min_z;
        let (cx, cy) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
        // Rows: x = (p·vx − cx)/half, y = (p·vup − cy)/half, z = (p·dir − min_z)/depth, w = 1;
        // VTK's camera sits at min_z − 1 along dir with clipping range (1, 1 + depth), which
        // gives the same z. A flat box (depth 0) keeps every point at z = 0.
        let row = |axis: DVec3, offset: f64, scale: f64| {
            let s = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            DVec4::new(axis.x * s, axis.y * s, axis.z * s, -offset * s)
        };
        let view_proj = DMat4::from_cols_array_2d(&[
            row(vx, cx, half).to_array(),
            row(vup, cy, half).to_array(),
            row(dir, min_z, depth).to_array(),
            [0.0, 0.0, 0.0, 1.0],
        ])
        .transpose();
        Self {
            view_proj,
            parallel: true,
            near: 1.0,
            far: 1.0 + depth,
        }
    }

    /// A spot light at `position` shining along `direction` with half-angle `cone_deg` (< 90).
    pub fn spot(position: DVec3, direction: DVec3, cone_deg: f64, bounds: &Bounds) -> Self {
        let dir = direction.normalize();
        let (vx, vup) = perpendiculars(dir);
        let (mut near, mut far) = bounds.near_far(position, dir);
        let near_min = (far - near) / 100.0;
        if near < near_min {
            near = near_min;
        }
        if far < near_min {
            far = 2.0 * near_min;
        }
        let f = 1.0 / cone_deg.to_radians().tan();
        // Camera frame: x along vx, y along vup, distance along dir; w = distance.
        let view = DMat4::from_cols_array_2d(&[
            [vx.x, vx.y, vx.z, -vx.dot(position)],
            [vup.x, vup.y, vup.z, -vup.dot(position)],
            [dir.x, dir.y, dir.z, -dir.dot(position)],
            [0.0, 0.0, 0.0, 1.0],
        ])
        .transpose();
        let a = far / (far - near);
        let projection = DMat4::from_cols_array_2d(&[
            [f, 0.0, 0.0, 0.0],
            [0.0, f, 0.0, 0.0],
            [0.0, 0.0, a, -a * near],
            [0.0, 0.0, 1.0, 0.0],
        ])
        .transpose();
        Self {
            view_proj: projection * view,
            parallel: false,
            near,
            far,
        }
    }

    /// The light depth VTK stores, in [0, 1] inside the box: parallel clip z, or the distance
    /// along the axis scaled between near and far (`bake.wgsl` computes it on the GPU).
    #[cfg(test)]
    pub fn light_depth(&self, world: DVec3) -> f64 {
        let clip = self.view_proj * world.extend(1.0);
        if self.parallel {
            clip.z
        } else {
            (clip.w - self.near) / (self.far - self.near)
        }
    }
}

/// `vtkMath::Perpendiculars(v, v2, v3, 0)`: two unit vectors completing `v` (unit) to a frame,
/// built from its largest component so nothing divides by zero.
fn perpendiculars(v: DVec3) -> (DVec3, DVec3) {
    let (x2, y2, z2) = (v.x * v.x, v.y * v.y, v.z * v.z);
    let (dx, dy, dz) = if x2 > y2 && x2 > z2 {
        (0, 1, 2)
    } else if y2 > z2 {
        (1, 2, 0)
    } else {
        (2, 0, 1)
    };
    let r = v.length();
    let (a, b, c) = (v[dx] / r, v[dy] / r, v[dz] / r);
    let tmp = (a * a + c * c).sqrt();
    let mut v2 = DVec3::ZERO;
    v2[dx] = c / tmp;
    v2[dy] = 0.0;
    v2[dz] = -a / tmp;
    let mut v3 = DVec3::ZERO;
    v3[dx] = -a * b / tmp;
    v3[dy] = tmp;
    v3[dz] = -b * c / tmp;
    (v2, v3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane_and_cube() -> Bounds {
        // vtk-effects.md §5's scene: a 4×4 plane at z = 0 and a cube above it.
        Bounds {
            min: DVec3::new(-2.0, -2.0, -0.05),
            max: DVec3::new(2.0, 2.0, 0.5),
        }
    }

    #[test]
    fn perpendiculars_complete_a_right_handed_frame() {
        for v in [
            DVec3::Z,
            DVec3::NEG_Z,
            DVec3::new(1.0, -1.0, -1.0).normalize(),
            DVec3::Y,
        ] {
            let (a, b) = perpendiculars(v);
            assert!(a.dot(v).abs() < 1e-12 && b.dot(v).abs() < 1e-12 && a.dot(b).abs() < 1e-12);
            assert!((a.length() - 1.0).abs() < 1e-12 && (b.length() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn a_directional_camera_covers_the_box_with_depth_0_to_1() {
        let bounds = plane_and_cube();
        let light = LightCamera::directional(DVec3::new(1.0, 0.0, -1.0), &bounds);
        let depths: Vec<f64> = bounds
            .corners()
            .iter()
            .map(|&c| light.light_depth(c))
            .collect();
        let (lo, hi) = depths
            .iter()
            .fold((1e9, -1e9), |(l, h), &d| (d.min(l), d.max(h)));
        assert!(lo.abs() < 1e-12 && (hi - 1.0).abs() < 1e-12, "{lo} {hi}");
        for c in bounds.corners() {
            let clip = light.view_proj * c.extend(1.0);
            assert!(
                clip.x.abs() <= 1.0 + 1e-12 && clip.y.abs() <= 1.0 + 1e-12,
                "{clip}"
            );
        }
        // Depth grows along the light: the cube's top is nearer the light than the plane.
        let top = light.light_depth(DVec3::new(0.0, 0.0, 0.5));
        let plane = light.light_depth(DVec3::new(0.0, 0.0, 0.0));
        assert!(top < plane);
    }

    #[test]
    fn a_spot_camera_sees_its_cone_and_fits_near_far_to_the_box() {
        let bounds = plane_and_cube();
        let position = DVec3::new(0.0, 0.0, 3.0);
        let light = LightCamera::spot(position, DVec3::NEG_Z, 30.0, &bounds);
        assert!((light.near - 2.5).abs() < 1e-12 && (light.far - 3.05).abs() < 1e-12);
        // A point on the cone's edge projects to the frustum's edge (x or y, whichever axis
        // `perpendiculars` put along world x).
        let edge = position + DVec3::new(30f64.to_radians().tan(), 0.0, -1.0) * 2.8;
        let clip = light.view_proj * edge.extend(1.0);
        let edge_ndc = clip.x.abs().max(clip.y.abs()) / clip.w;
        assert!((edge_ndc - 1.0).abs() < 1e-12, "{clip}");
        assert!((clip.w - 2.8).abs() < 1e-12);
        assert!((light.light_depth(DVec3::new(0.0, 0.0, 0.0)) - 0.5 / 0.55).abs() < 1e-12);
    }
}
