//! Camera conventions, owned here and nowhere else: Drake's camera frame, the glTF camera node's
//! frame, and the projection built from the intrinsics Drake sends as form fields.
//!
//! Frames:
//! - glTF camera node (what the scene file's matrix describes): +X right, +Y up, looks down −Z.
//! - Drake camera frame C: +X right, +Y down, +Z forward. `p_C = diag(1, −1, −1) · p_node`.
//!
//! Pixels: (u, v) from the image's top-left corner; pixel (i, j) covers `[i, i+1) × [j, j+1)`, so
//! its centre is `(i + 0.5, j + 0.5)`, which is where the rasterizer samples.

use glam::{DMat3, DMat4, DVec3, DVec4};

/// Pinhole intrinsics and clipping planes, as Drake sends them (drake-gltf-protocol §1.3, §3.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intrinsics {
    pub width: u32,
    pub height: u32,
    /// Focal lengths in pixels.
    pub focal_x: f64,
    pub focal_y: f64,
    /// Principal point in pixels from the top-left corner.
    pub center_x: f64,
    pub center_y: f64,
    /// Clipping planes in metres, `0 < near < far`.
    pub near: f64,
    pub far: f64,
}

impl Intrinsics {
    /// Drake's `CameraInfo(width, height, fov_y)`: square pixels, principal point at the centre
    /// (`w/2 − 0.5`, `h/2 − 0.5`).
    pub fn from_fov_y(width: u32, height: u32, fov_y: f64, near: f64, far: f64) -> Self {
        let focal = f64::from(height) / 2.0 / (fov_y / 2.0).tan();
        Self {
            width,
            height,
            focal_x: focal,
            focal_y: focal,
            center_x: f64::from(width) / 2.0 - 0.5,
            center_y: f64::from(height) / 2.0 - 0.5,
            near,
            far,
        }
    }

    /// Horizontal field of view in radians: `2·atan(width / (2·focal_x))`, as Drake sends `fov_x`.
    pub fn fov_x(&self) -> f64 {
        2.0 * (f64::from(self.width) / (2.0 * self.focal_x)).atan()
    }

    /// Vertical field of view in radians, as Drake sends `fov_y` and writes the glTF's `yfov`.
    pub fn fov_y(&self) -> f64 {
        2.0 * (f64::from(self.height) / (2.0 * self.focal_y)).atan()
    }

    /// Drake's projection (§3.5) with the depth row remapped to wgpu's `[0, 1]` clip range.
    ///
    /// Applied to points in the glTF camera-node frame. wgpu's framebuffer row 0 is NDC y = +1,
    /// i.e. the top of the image, so no flip is needed to get Drake's top-row-first images.
    pub fn projection(&self) -> DMat4 {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let (n, f) = (self.near, self.far);
        DMat4::from_cols(
            DVec4::new(2.0 * self.focal_x / w, 0.0, 0.0, 0.0),
            DVec4::new(0.0, 2.0 * self.focal_y / h, 0.0, 0.0),
            DVec4::new(
                (w - 2.0 * self.center_x) / w,
                -(h - 2.0 * self.center_y) / h,
                f / (n - f),
                -1.0,
            ),
            DVec4::new(0.0, 0.0, n * f / (n - f), 0.0),
        )
    }

    /// The pinhole model: pixel coordinates `(u, v)` of a point in Drake's camera frame.
    pub fn project(&self, p_c: DVec3) -> (f64, f64) {
        (
            self.focal_x * p_c.x / p_c.z + self.center_x,
            self.focal_y * p_c.y / p_c.z + self.center_y,
        )
    }
}

/// Converts a point from the glTF camera-node frame to Drake's camera frame.
pub fn node_to_drake(p_node: DVec3) -> DVec3 {
    DVec3::new(p_node.x, -p_node.y, -p_node.z)
}

/// The camera node's orientation for Drake's camera orientation `R_WC`: `R_WC · diag(1, −1, −1)`.
/// Written as negated columns rather than a product, so no zero entry changes sign (the matrix
/// goes into glTF text, where `-0.0` and `0.0` differ).
pub fn drake_to_node_rotation(r_wc: DMat3) -> DMat3 {
    DMat3::from_cols(r_wc.x_axis, -r_wc.y_axis, -r_wc.z_axis)
}

/// Maps a clip-space position to framebuffer pixel coordinates and `[0, 1]` depth, as wgpu does.
pub fn clip_to_pixel(clip: DVec4, width: u32, height: u32) -> (f64, f64, f64) {
    let ndc = clip.truncate() / clip.w;
    let u = (ndc.x + 1.0) / 2.0 * f64::from(width);
    let v = (1.0 - ndc.y) / 2.0 * f64::from(height);
    (u, v, ndc.z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-9, "{what}: {a} != {b}");
    }

    /// The projection agrees with the pinhole formula for fx ≠ fy, an off-centre principal point and
    /// an odd size, at pixel centres and corners.
    #[test]
    fn projection_matches_pinhole_at_pixel_centres() {
        let k = Intrinsics {
            width: 333,
            height: 250,
            focal_x: 300.0,
            focal_y: 410.0,
            center_x: 120.25,
            center_y: 170.5,
            near: 0.05,
            far: 20.0,
        };
        for (i, j, depth) in [
            (0.5, 0.5, 1.0),
            (166.5, 124.5, 3.5),
            (332.5, 249.5, 0.2),
            (120.25, 170.5, 7.0),
        ] {
            // The point on the ray through pixel (i, j) at planar depth `depth`, in Drake's frame.
            let p_c = DVec3::new(
                (i - k.center_x) / k.focal_x * depth,
                (j - k.center_y) / k.focal_y * depth,
                depth,
            );
            let (u, v) = k.project(p_c);
            assert_close(u, i, "pinhole u");
            assert_close(v, j, "pinhole v");
            let p_node = node_to_drake(p_c); // the conversion is its own inverse
            let (u, v, _) = clip_to_pixel(k.projection() * p_node.extend(1.0), k.width, k.height);
            assert_close(u, i, "projected u");
            assert_close(v, j, "projected v");
        }
    }

    #[test]
    fn depth_maps_near_to_zero_and_far_to_one() {
        let k = Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
        let at = |z: f64| clip_to_pixel(k.projection() * DVec4::new(0.0, 0.0, -z, 1.0), 640, 480).2;
        assert_close(at(0.01), 0.0, "near");
        assert_close(at(10.0), 1.0, "far");
        assert!(at(1.0) > 0.0 && at(1.0) < 1.0);
    }

    #[test]
    fn fov_y_constructor_matches_drake_camera_info() {
        let k = Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
        // Drake sends focal_x=579.411255 and center_x=319.500000 for this camera (protocol §1.3).
        assert!((k.focal_x - 579.411255).abs() < 1e-6);
        assert_close(k.center_x, 319.5, "cx");
        assert_close(k.center_y, 239.5, "cy");
        assert_close(k.fov_y(), std::f64::consts::FRAC_PI_4, "fov_y");
    }
}
