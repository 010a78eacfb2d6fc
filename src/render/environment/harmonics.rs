//! Diffuse lighting from an HDR environment: the 9 real spherical-harmonic coefficients of the
//! whole image, computed as `vtkSphericalHarmonics` does (f64 over every texel, vtk-effects.md §6),
//! and premultiplied by each basis constant and band factor the way `vtkOpenGLRenderer` uploads
//! them, so the shader's sum is the irradiance over π: a uniform map of radiance L gives L.

use super::equirect::Equirect;

/// The real SH basis constants in VTK's order: 1, y, z, x, xy, yz, 3z²−1, xz, x²−y² (the sign is
/// part of the constant, as in `vtkSphericalHarmonics`).
const BASIS: [f64; 9] = [
    0.282095, -0.488603, 0.488603, -0.488603, 1.092548, -1.092548, 0.315392, -1.092548, 0.546274,
];

/// Band factors of the cosine-lobe convolution over π: 1 (band 0), 2/3 (band 1), 1/4 (band 2).
const BAND: [f64; 9] = [
    1.0,
    2.0 / 3.0,
    2.0 / 3.0,
    2.0 / 3.0,
    0.25,
    0.25,
    0.25,
    0.25,
    0.25,
];

/// Shader-ready coefficients, one RGB (padded to vec4) per basis function; evaluated at a unit
/// normal `n` of the environment frame as
/// `max(0, c0 + c1·y + c2·z + c3·x + c4·xy + c5·yz + c6·(3z²−1) + c7·xz + c8·(x²−y²))`.
pub(in crate::render) fn irradiance_coefficients(image: &Equirect) -> [[f32; 4]; 9] {
    let (width, height) = (image.width as usize, image.height as usize);
    let mut sums = [[0.0f64; 3]; 9];
    let mut total_weight = 0.0;
    let texel_solid_angle = 2.0 * std::f64::consts::PI.powi(2) / (width * height) as f64;
    for i in 0..height {
        // VTK's row 0 is the bottom of the file; `image` stores the top row first.
        let row = height - 1 - i;
        let theta = (i as f64 + 0.5) * std::f64::consts::PI / height as f64;
        let weight = texel_solid_angle * theta.sin();
        for j in 0..width {
            let phi = ((j as f64 + 0.5) / width as f64 * 2.0 - 1.0) * std::f64::consts::PI;
            let (x, y, z) = (
                theta.sin() * phi.cos(),
                -theta.cos(),
                theta.sin() * phi.sin(),
            );
            let basis = [
                1.0,
                y,
                z,
                x,
                x * y,
                y * z,
                3.0 * z * z - 1.0,
                x * z,
                x * x - y * y,
            ];
            let texel = image.rgb[row * width + j];
            for (k, sum) in sums.iter_mut().enumerate() {
                let w = weight * BASIS[k] * basis[k];
                for (c, value) in sum.iter_mut().enumerate() {
                    *value += w * f64::from(texel[c]);
                }
            }
            total_weight += weight;
        }
    }
    let normalize = 4.0 * std::f64::consts::PI / total_weight;
    std::array::from_fn(|k| {
        let scale = normalize * BASIS[k] * BAND[k];
        let [r, g, b] = sums[k].map(|s| (s * scale) as f32);
        [r, g, b, 0.0]
    })
}

#[cfg(test)]
mod tests {
    use super::super::equirect::Encoding;
    use super::*;

    fn evaluate(c: &[[f32; 4]; 9], [x, y, z]: [f64; 3]) -> f64 {
        let basis = [
            1.0,
            y,
            z,
            x,
            x * y,
            y * z,
            3.0 * z * z - 1.0,
            x * z,
            x * x - y * y,
        ];
        (0..9)
            .map(|k| f64::from(c[k][0]) * basis[k])
            .sum::<f64>()
            .max(0.0)
    }

    fn image(width: u32, height: u32, texel: impl Fn(u32, u32) -> f32) -> Equirect {
        let rgb = (0..height)
            .flat_map(|row| (0..width).map(move |column| (row, column)))
            .map(|(row, column)| [texel(row, column); 3])
            .collect();
        Equirect {
            width,
            height,
            rgb,
            encoding: Encoding::Linear,
        }
    }

    #[test]
    fn a_uniform_map_gives_irradiance_equal_to_its_radiance() {
        // Exact up to the 64×32 midpoint sums and the 6-digit basis constants (as in VTK): 5·10⁻⁴
        // relative, far below one 8-bit level.
        let c = irradiance_coefficients(&image(64, 32, |_, _| 0.5));
        for n in [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.6, 0.8]] {
            let e = evaluate(&c, n);
            assert!((e - 0.5).abs() < 5e-4, "{n:?}: {e}");
        }
        assert!(c[1..].iter().all(|k| k[0].abs() < 5e-4), "{c:?}");
    }

    #[test]
    fn a_bright_upper_half_lights_upward_normals_more() {
        // Top half of the file (up, environment +y) radiance 1, bottom half 0: band 0 gives ½,
        // band 1 gives ½·y, band 2 nothing (the map's even part is constant); so 1 up, 0 down and
        // ½ sideways, which is also the exact irradiance over π.
        let c = irradiance_coefficients(&image(64, 32, |row, _| if row < 16 { 1.0 } else { 0.0 }));
        let up = evaluate(&c, [0.0, 1.0, 0.0]);
        let down = evaluate(&c, [0.0, -1.0, 0.0]);
        let side = evaluate(&c, [1.0, 0.0, 0.0]);
        assert!((up - 1.0).abs() < 0.01 && down.abs() < 0.01, "{up} {down}");
        assert!((side - 0.5).abs() < 0.01, "{side}");
    }
}
