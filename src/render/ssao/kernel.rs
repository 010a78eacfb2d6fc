//! VTK's SSAO sample kernel (`vtkSSAOPass::ComputeKernel`, vtk-effects.md §7), reproduced number
//! for number: libstdc++'s `default_random_engine` (minstd_rand0) seeded with 1, each draw turned
//! into a float in [0, 1) the way `uniform_real_distribution<float>` does, points of the unit
//! half-ball (z ≥ 0) found by rejection and pulled towards the centre by 0.1 + 0.9·(i/N)².

/// `std::minstd_rand0`: x ← 16807·x mod (2³¹ − 1).
struct MinstdRand0(u64);

impl MinstdRand0 {
    const MODULUS: u64 = 2_147_483_647;

    fn next(&mut self) -> u64 {
        self.0 = self.0 * 16_807 % Self::MODULUS;
        self.0
    }

    /// libstdc++'s `generate_canonical<float, 24>` for this engine: one draw, (x − min) over the
    /// engine's range, both in float, kept below 1.
    fn canonical(&mut self) -> f32 {
        let value = (self.next() - 1) as f32 / (Self::MODULUS - 1) as f32;
        if value >= 1.0 {
            1.0 - f32::EPSILON / 2.0
        } else {
            value
        }
    }
}

/// The `count` kernel samples in the tangent frame (z along the surface normal), as xyz0.
pub(in crate::render) fn kernel(count: u32) -> Vec<[f32; 4]> {
    let mut engine = MinstdRand0(1);
    let mut samples = Vec::with_capacity(count as usize);
    while samples.len() < count as usize {
        // `r * 2.0 - 1.0` is computed in double, then stored as float.
        let x = (f64::from(engine.canonical()) * 2.0 - 1.0) as f32;
        let y = (f64::from(engine.canonical()) * 2.0 - 1.0) as f32;
        let z = engine.canonical();
        if f64::from(x).hypot(f64::from(y)).hypot(f64::from(z)) > 1.0 {
            continue;
        }
        let i = samples.len() as f32 / count as f32;
        let scale = 0.1 + 0.9 * i * i;
        samples.push([x * scale, y * scale, z * scale, 0.0]);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_is_minstd_rand0_seeded_with_1() {
        let mut engine = MinstdRand0(1);
        let first: Vec<u64> = (0..3).map(|_| engine.next()).collect();
        assert_eq!(first, vec![16_807, 282_475_249, 1_622_650_073]);
    }

    #[test]
    fn samples_match_vtk_measured_with_gcc() {
        // vtk-effects.md §7, N = 128: sample 0 and sample 127 as g++ 12 computed them.
        let k = kernel(128);
        let close = |a: [f32; 4], b: [f32; 3]| (0..3).all(|i| (a[i] - b[i]).abs() < 5e-7);
        assert!(
            close(k[0], [-0.0082700, 0.0065534, 0.0218959]),
            "{:?}",
            k[0]
        );
        assert!(
            close(k[127], [0.0435088, -0.3536907, 0.0345684]),
            "{:?}",
            k[127]
        );
        assert!(k.iter().all(|s| s[2] >= 0.0));
    }
}
