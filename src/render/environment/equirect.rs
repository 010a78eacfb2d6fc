//! Reading the equirectangular image of an `EquirectangularMap` from the server's disk, as
//! RenderEngineVtk does (vtk-effects.md §6, `ReadEquirectangularFile`): `.png`, `.jpg` and `.jpeg`
//! are 8-bit textures whose bytes are *not* sRGB-decoded (the lighting bake raises them to the
//! power 2.2, the skybox shows them brightened to the power 1/2.2); anything else is read as
//! Radiance HDR (`.hdr`, `.pic`), linear radiance divided by the header's `EXPOSURE`, like
//! `vtkHDRReader`.

use std::path::{Path, PathBuf};

use crate::scene::gltf::images::decode_rgba8;

/// Why an environment map could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("environment map {}: {reason}", path.display())]
pub struct EnvironmentError {
    pub path: PathBuf,
    pub reason: String,
}

impl EnvironmentError {
    pub(super) fn new(path: &Path, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// How the texel values of an [`Equirect`] turn into radiance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::render) enum Encoding {
    /// Radiance HDR: the values are linear radiance.
    Linear,
    /// An 8-bit PNG or JPEG: the values are byte/255; lighting uses value^2.2.
    Gamma,
}

/// An equirectangular environment image: `width` × `height` RGB texels, **top row first**
/// (the file's top row is "up", world +Z).
#[derive(Debug, Clone, PartialEq)]
pub(in crate::render) struct Equirect {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<[f32; 3]>,
    pub encoding: Encoding,
}

impl Equirect {
    /// Reads `path`, choosing the decoder by its extension as RenderEngineVtk does.
    ///
    /// # Errors
    /// The file cannot be read or decoded, or is empty; the message names `path`.
    pub fn read(path: &Path) -> Result<Self, EnvironmentError> {
        let bytes = std::fs::read(path)
            .map_err(|err| EnvironmentError::new(path, format!("cannot read the file: {err}")))?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let image = match extension.as_deref() {
            Some("png" | "jpg" | "jpeg") => Self::decode_8bit(&bytes, path)?,
            _ => Self::decode_hdr(&bytes, path)?,
        };
        if image.width == 0 || image.height == 0 {
            return Err(EnvironmentError::new(path, "the image is empty"));
        }
        Ok(image)
    }

    fn decode_8bit(bytes: &[u8], path: &Path) -> Result<Self, EnvironmentError> {
        let name = path.display().to_string();
        let texture = decode_rgba8(bytes, &name, |_, _| Ok(()))
            .map_err(|err| EnvironmentError::new(path, err.to_string()))?;
        let rgb = texture
            .rgba
            .chunks_exact(4)
            .map(|p| [p[0], p[1], p[2]].map(|c| f32::from(c) / 255.0))
            .collect();
        Ok(Self {
            width: texture.width,
            height: texture.height,
            rgb,
            encoding: Encoding::Gamma,
        })
    }

    /// Radiance RGBE, flat or run-length encoded, in the standard `-Y H +X W` orientation.
    fn decode_hdr(bytes: &[u8], path: &Path) -> Result<Self, EnvironmentError> {
        use image::ImageDecoder;
        let fail = |err: image::ImageError| {
            EnvironmentError::new(path, format!("not a readable Radiance HDR image: {err}"))
        };
        let decoder = image::codecs::hdr::HdrDecoder::new(bytes).map_err(fail)?;
        let metadata = decoder.metadata();
        // vtkHDRReader divides by the product of the header's EXPOSURE lines.
        let exposure = metadata.exposure.unwrap_or(1.0);
        if !(exposure.is_finite() && exposure > 0.0) {
            return Err(EnvironmentError::new(
                path,
                format!("EXPOSURE {exposure} in the header is not a positive number"),
            ));
        }
        let (width, height) = decoder.dimensions();
        let mut raw = vec![0; usize::try_from(decoder.total_bytes()).unwrap_or(usize::MAX)];
        decoder.read_image(&mut raw).map_err(fail)?;
        let rgb = raw
            .chunks_exact(12)
            .map(|texel| {
                let channel = |i: usize| {
                    f32::from_ne_bytes([texel[i], texel[i + 1], texel[i + 2], texel[i + 3]])
                };
                [channel(0), channel(4), channel(8)].map(|c| c / exposure)
            })
            .collect();
        Ok(Self {
            width,
            height,
            rgb,
            encoding: Encoding::Linear,
        })
    }
}

#[cfg(test)]
pub(in crate::render) mod tests {
    use super::*;

    /// A flat (not run-length encoded) Radiance file, as the measurements of vtk-effects.md §6
    /// used; `header`: extra header lines, each ending in a newline.
    pub fn flat_hdr(width: u32, height: u32, rgbe: [u8; 4], header: &str) -> Vec<u8> {
        let mut bytes =
            format!("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n{header}\n-Y {height} +X {width}\n")
                .into_bytes();
        for _ in 0..width * height {
            bytes.extend_from_slice(&rgbe);
        }
        bytes
    }

    /// An 8-bit RGB PNG of `rgb`, top row first.
    pub fn png_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(rgb).expect("pixels");
        writer.finish().expect("finish");
        bytes
    }

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        (dir, path)
    }

    #[test]
    fn hdr_is_linear_and_divided_by_the_header_exposure() {
        // RGBE (128, 128, 128, 128) is 0.5; EXPOSURE=2 halves it.
        let (_dir, path) = write("uniform.hdr", &flat_hdr(4, 2, [128, 128, 128, 128], ""));
        let image = Equirect::read(&path).expect("read");
        assert_eq!(
            (image.width, image.height, image.encoding),
            (4, 2, Encoding::Linear)
        );
        assert!(image.rgb.iter().all(|&t| t == [0.5; 3]), "{:?}", image.rgb);
        let (_dir, path) = write(
            "exposed.pic",
            &flat_hdr(2, 1, [128, 128, 128, 128], "EXPOSURE=2\n"),
        );
        assert_eq!(Equirect::read(&path).expect("read").rgb, vec![[0.25; 3]; 2]);
    }

    #[test]
    fn png_keeps_its_bytes_over_255_without_srgb_decoding() {
        let png = png_rgb(2, 1, &[128, 0, 255, 0, 64, 0]);
        let (_dir, path) = write("map.PNG", &png);
        let image = Equirect::read(&path).expect("read");
        assert_eq!(image.encoding, Encoding::Gamma);
        assert_eq!(
            image.rgb,
            vec![[128.0 / 255.0, 0.0, 1.0], [0.0, 64.0 / 255.0, 0.0]]
        );
    }

    #[test]
    fn errors_name_the_path() {
        let missing = Path::new("/nonexistent/sky.hdr");
        let error = Equirect::read(missing).unwrap_err().to_string();
        assert!(
            error.starts_with("environment map /nonexistent/sky.hdr: cannot read"),
            "{error}"
        );
        let (_dir, path) = write("sky.hdr", b"not radiance");
        let error = Equirect::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("sky.hdr: not a readable Radiance HDR image"),
            "{error}"
        );
        let (_dir, path) = write("sky.jpg", b"not a jpeg");
        let error = Equirect::read(&path).unwrap_err().to_string();
        assert!(error.contains("sky.jpg"), "{error}");
    }
}
