//! Drake's camera rules (protocol §1.3): what its `CameraInfo`, `ClippingRange` and `DepthRange`
//! guarantee about every request. The client refuses a camera Drake could not build; the server
//! reads each field on its own ([`super::fields`]) and then checks the relations between them here.

use super::image::DepthRange;
use crate::scene::camera::Intrinsics;

/// Which rule a camera breaks. The server sends these messages; the client words them as flags.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum CameraError {
    /// `CameraInfo`: `width, height > 0`.
    #[error("width and height must be positive")]
    Size,
    /// `CameraInfo`: focal lengths positive and finite.
    #[error("focal lengths must be positive and finite")]
    Focal,
    /// `CameraInfo`: `0 < center_x < width` and `0 < center_y < height`.
    #[error("the principal point must lie inside the image")]
    PrincipalPoint,
    /// `ClippingRange`: `0 < near < far`.
    #[error("near ({near}) must be less than far ({far})")]
    Clipping { near: f64, far: f64 },
    /// `DepthRange`: `0 < min_depth < max_depth`.
    #[error("min_depth ({min}) must be less than max_depth ({max})")]
    DepthRange { min: f64, max: f64 },
}

/// Every `CameraInfo` and `ClippingRange` rule, in that order.
///
/// # Errors
/// The first rule `k` breaks.
pub fn check(k: &Intrinsics) -> Result<(), CameraError> {
    if k.width == 0 || k.height == 0 {
        return Err(CameraError::Size);
    }
    if !(k.focal_x > 0.0 && k.focal_y > 0.0 && k.focal_x.is_finite() && k.focal_y.is_finite()) {
        return Err(CameraError::Focal);
    }
    let inside = |centre: f64, size: u32| centre > 0.0 && centre < f64::from(size);
    if !(inside(k.center_x, k.width) && inside(k.center_y, k.height)) {
        return Err(CameraError::PrincipalPoint);
    }
    if k.near <= 0.0 {
        return Err(CameraError::Clipping {
            near: k.near,
            far: k.far,
        });
    }
    check_clipping(k.near, k.far)
}

/// `near < far`. Apart from [`check`] because a server accepts a near plane of 0: `%f` writes a
/// near below 5e-7 m as `0.000000`, and the glTF camera's `znear` then gives the real value.
///
/// # Errors
/// [`CameraError::Clipping`].
pub fn check_clipping(near: f64, far: f64) -> Result<(), CameraError> {
    if near < far {
        Ok(())
    } else {
        Err(CameraError::Clipping { near, far })
    }
}

/// `0 < min_depth < max_depth`.
///
/// # Errors
/// [`CameraError::DepthRange`].
pub fn check_depth_range(range: &DepthRange) -> Result<(), CameraError> {
    let DepthRange {
        min_depth: min,
        max_depth: max,
    } = *range;
    if 0.0 < min && min < max {
        Ok(())
    } else {
        Err(CameraError::DepthRange { min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drake_camera() -> Intrinsics {
        Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0)
    }

    #[test]
    fn drakes_default_camera_passes() {
        assert_eq!(check(&drake_camera()), Ok(()));
    }

    /// Breaks one rule of a valid camera.
    type Mutation = fn(&mut Intrinsics);

    #[test]
    fn each_rule_is_named() {
        let cases: [(Mutation, CameraError); 5] = [
            (|k| k.height = 0, CameraError::Size),
            (|k| k.focal_y = f64::INFINITY, CameraError::Focal),
            (|k| k.center_x = 640.0, CameraError::PrincipalPoint),
            (
                |k| k.near = 0.0,
                CameraError::Clipping {
                    near: 0.0,
                    far: 10.0,
                },
            ),
            (
                |k| k.far = 0.001,
                CameraError::Clipping {
                    near: 0.01,
                    far: 0.001,
                },
            ),
        ];
        for (mutate, expected) in cases {
            let mut k = drake_camera();
            mutate(&mut k);
            assert_eq!(check(&k), Err(expected));
        }
    }

    #[test]
    fn depth_range_must_be_positive_and_increasing() {
        let range = |min_depth, max_depth| DepthRange {
            min_depth,
            max_depth,
        };
        assert_eq!(check_depth_range(&range(0.05, 5.0)), Ok(()));
        assert!(check_depth_range(&range(0.0, 5.0)).is_err());
        assert_eq!(
            check_depth_range(&range(9.0, 5.0)).unwrap_err().to_string(),
            "min_depth (9) must be less than max_depth (5)"
        );
    }
}
