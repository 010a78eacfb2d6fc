//! Poses as the scene API carries them: a Drake `RigidTransform` as 12 float64, the 3×4 matrix
//! `[R | p]` row by row, in JSON (`X_WG`, `X_WC`) and in a frame's binary pose records alike.

use glam::{DMat3, DMat4, DVec3};

/// How far `R·Rᵀ` may be from the identity, entry by entry, for `R` to count as a rotation.
pub const ORTHONORMAL_TOLERANCE: f64 = 1e-6;

/// A rigid transform `[R | p]`, row by row. Checked before use ([`Pose::check`]).
pub type Pose = [f64; 12];

/// The identity pose.
pub const IDENTITY: Pose = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// Refuses a pose Drake could not hold: a value that is not finite, or a rotation that is not
/// orthonormal to [`ORTHONORMAL_TOLERANCE`] or mirrors (determinant −1).
///
/// # Errors
/// What is wrong, for the message of the field that holds the pose.
pub fn check(pose: &Pose) -> Result<(), String> {
    if !pose.iter().all(|v| v.is_finite()) {
        return Err("every value must be finite".to_owned());
    }
    let r = rotation(pose);
    let product = r * r.transpose();
    let off = (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| (product.col(j)[i] - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max);
    if off > ORTHONORMAL_TOLERANCE {
        return Err(format!(
            "the rotation is not orthonormal (R·Rᵀ is {off:.3e} from the identity; at most \
             {ORTHONORMAL_TOLERANCE:e} is allowed)"
        ));
    }
    if r.determinant() < 0.0 {
        return Err(
            "the rotation mirrors (determinant −1); a pose is a proper rotation".to_owned(),
        );
    }
    Ok(())
}

/// The rotation part `R`.
pub fn rotation(pose: &Pose) -> DMat3 {
    DMat3::from_cols(
        DVec3::new(pose[0], pose[4], pose[8]),
        DVec3::new(pose[1], pose[5], pose[9]),
        DVec3::new(pose[2], pose[6], pose[10]),
    )
}

/// The pose as a 4×4 matrix (column-major, as glam holds it).
pub fn to_matrix(pose: &Pose) -> DMat4 {
    let r = rotation(pose);
    let mut m = DMat4::from_mat3(r);
    m.w_axis = glam::DVec4::new(pose[3], pose[7], pose[11], 1.0);
    m
}

/// The 12 values of a rigid 4×4 matrix (the inverse of [`to_matrix`]).
pub fn from_matrix(m: &DMat4) -> Pose {
    let row = |i: usize| m.row(i);
    let (r0, r1, r2) = (row(0), row(1), row(2));
    [
        r0.x, r0.y, r0.z, r0.w, r1.x, r1.y, r1.z, r1.w, r2.x, r2.y, r2.z, r2.w,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_pass_and_the_matrix_round_trips() {
        let m = DMat4::from_rotation_translation(
            glam::DQuat::from_axis_angle(DVec3::new(1.0, 2.0, 3.0).normalize(), 0.7),
            DVec3::new(1.0, -2.0, 0.5),
        );
        let pose = from_matrix(&m);
        assert_eq!(check(&pose), Ok(()));
        assert!(to_matrix(&pose).abs_diff_eq(m, 1e-15));
        assert_eq!(to_matrix(&IDENTITY), DMat4::IDENTITY);
        // Row by row: p is the 4th, 8th and 12th value.
        assert_eq!([pose[3], pose[7], pose[11]], [1.0, -2.0, 0.5]);
    }

    #[test]
    fn scales_mirrors_and_non_finite_values_are_refused() {
        let mut scaled = IDENTITY;
        scaled[0] = 1.0 + 1e-5;
        assert!(check(&scaled).unwrap_err().contains("not orthonormal"));
        let mut barely = IDENTITY;
        barely[0] = 1.0 + 1e-7;
        assert_eq!(check(&barely), Ok(()));
        let mut mirror = IDENTITY;
        mirror[10] = -1.0;
        assert!(check(&mirror).unwrap_err().contains("mirrors"));
        let mut nan = IDENTITY;
        nan[3] = f64::NAN;
        assert!(check(&nan).unwrap_err().contains("finite"));
    }
}
