//! Drake's camera pose `X_WC` (camera frame: +X right, +Y down, +Z forward) and the camera-node
//! matrix its glTF exporter writes for it (protocol §3.3). The axis flip between the two frames is
//! [`crate::scene::camera`]'s, which the loader reads the same matrix with.

use glam::{DMat3, DVec3};

use crate::scene::camera::drake_to_node_rotation;

/// Why no camera orientation follows from a look-at request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("camera position and target coincide, or the up vector is parallel to the view")]
pub struct DegenerateLookAt;

/// A camera's pose in the scene's world frame, as Drake's `X_WC`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraPose {
    pub rotation: DMat3,
    pub position: DVec3,
}

impl CameraPose {
    /// The camera at `position` looking at `target`, with `up` pointing up in the image.
    ///
    /// # Errors
    /// [`DegenerateLookAt`] when no unique orientation follows.
    pub fn look_at(position: DVec3, target: DVec3, up: DVec3) -> Result<Self, DegenerateLookAt> {
        let forward = (target - position)
            .try_normalize()
            .ok_or(DegenerateLookAt)?;
        let right = forward.cross(up).try_normalize().ok_or(DegenerateLookAt)?;
        let down = forward.cross(right);
        Ok(Self {
            rotation: DMat3::from_cols(right, down, forward),
            position,
        })
    }

    /// Drake's `RollPitchYaw` convention: `R = Rz(yaw) · Ry(pitch) · Rx(roll)`.
    pub fn from_rpy(roll: f64, pitch: f64, yaw: f64, position: DVec3) -> Self {
        Self {
            rotation: DMat3::from_rotation_z(yaw)
                * DMat3::from_rotation_y(pitch)
                * DMat3::from_rotation_x(roll),
            position,
        }
    }

    /// `[R_WC · diag(1, −1, −1) | p_WC]`, column-major, as Drake writes the camera node.
    pub fn gltf_matrix(&self) -> [f64; 16] {
        let r = drake_to_node_rotation(self.rotation);
        let (x, y, z, p) = (r.x_axis, r.y_axis, r.z_axis, self.position);
        [
            x.x, x.y, x.z, 0.0, y.x, y.y, y.z, 0.0, z.x, z.y, z.z, 0.0, p.x, p.y, p.z, 1.0,
        ]
    }

    /// A point given in the camera frame, in world coordinates.
    pub fn to_world(&self, p_c: DVec3) -> DVec3 {
        self.rotation * p_c + self.position
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The protocol's example: a camera at (0,0,2) looking straight down is the identity rotation.
    #[test]
    fn looking_down_gives_drakes_example_matrix() {
        let pose = CameraPose::look_at(DVec3::new(0.0, 0.0, 2.0), DVec3::ZERO, DVec3::Y).unwrap();
        let m = pose.gltf_matrix();
        let expected = [
            1.0, 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 2., 1.,
        ];
        for (a, b) in m.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{m:?}");
        }
    }

    #[test]
    fn looking_along_the_up_vector_is_degenerate() {
        assert_eq!(
            CameraPose::look_at(DVec3::ZERO, DVec3::Z, DVec3::Z),
            Err(DegenerateLookAt)
        );
    }
}
