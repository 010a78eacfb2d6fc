//! Texture images: format sniffed from the bytes (Drake's data-URI mime types lie), size checked
//! from the header before any pixel buffer is allocated, decoded to RGBA8 top row first.

use std::io::Cursor;

use super::SceneError;
use crate::scene::Texture;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];

/// Decodes a PNG or JPEG into RGBA8.
///
/// `admit(width, height)` runs once the header is read and before the pixels are allocated; its
/// error (a limit) is returned as is, which makes decompression bombs cheap to refuse.
pub fn decode_rgba8(
    bytes: &[u8],
    path: &str,
    admit: impl FnOnce(u32, u32) -> Result<(), SceneError>,
) -> Result<Texture, SceneError> {
    if bytes.starts_with(PNG_MAGIC) {
        decode_png(bytes, path, admit)
    } else if bytes.starts_with(JPEG_MAGIC) {
        decode_jpeg(bytes, path, admit)
    } else {
        Err(SceneError::invalid(
            path,
            "unsupported image format (only PNG and JPEG are decoded)",
        ))
    }
}

fn decode_png(
    bytes: &[u8],
    path: &str,
    admit: impl FnOnce(u32, u32) -> Result<(), SceneError>,
) -> Result<Texture, SceneError> {
    let fail = |err: png::DecodingError| SceneError::invalid(path, format!("bad PNG: {err}"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palette and low bit depths expand to 8 bits, 16 bits strip to 8: RGBA8 is all we keep.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    // `admit` bounds the pixels; the crate's own 64 MiB default would refuse a legitimate 8k texture.
    decoder.set_limits(png::Limits { bytes: usize::MAX });
    let (width, height) = {
        let header = decoder.read_header_info().map_err(fail)?;
        (header.width, header.height)
    };
    admit(width, height)?;
    let mut reader = decoder.read_info().map_err(fail)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| SceneError::invalid(path, "PNG too large to decode"))?;
    let mut pixels = vec![0; size];
    let frame = reader.next_frame(&mut pixels).map_err(fail)?;
    pixels.truncate(frame.buffer_size());
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(SceneError::invalid(
                path,
                "bad PNG: palette was not expanded",
            ))
        }
    };
    to_rgba8(pixels, channels, frame.width, frame.height)
        .ok_or_else(|| SceneError::invalid(path, "bad PNG: frame size does not match its header"))
}

fn decode_jpeg(
    bytes: &[u8],
    path: &str,
    admit: impl FnOnce(u32, u32) -> Result<(), SceneError>,
) -> Result<Texture, SceneError> {
    let fail = |err: jpeg_decoder::Error| SceneError::invalid(path, format!("bad JPEG: {err}"));
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(fail)?;
    let info = decoder
        .info()
        .ok_or_else(|| SceneError::invalid(path, "bad JPEG: no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let channels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        other => {
            return Err(SceneError::invalid(
                path,
                format!("JPEG pixel format {other:?} is not supported (8-bit gray or RGB only)"),
            ))
        }
    };
    admit(width, height)?;
    let pixels = decoder.decode().map_err(fail)?;
    to_rgba8(pixels, channels, width, height)
        .ok_or_else(|| SceneError::invalid(path, "bad JPEG: pixel data does not match its header"))
}

/// Expands packed 8-bit gray, gray+alpha or RGB rows to RGBA; `None` if the sizes disagree.
fn to_rgba8(pixels: Vec<u8>, channels: usize, width: u32, height: u32) -> Option<Texture> {
    let count = usize::try_from(u64::from(width) * u64::from(height)).ok()?;
    if pixels.len() != count.checked_mul(channels)? {
        return None;
    }
    let rgba = match channels {
        4 => pixels,
        3 => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        2 => pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        _ => pixels.iter().flat_map(|&g| [g, g, g, 255]).collect(),
    };
    Some(Texture::new(width, height, rgba))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Encodes `rgba` (row-major, top row first) as an 8-bit RGBA PNG.
    pub fn png_rgba(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(rgba).unwrap();
        writer.finish().unwrap();
        out
    }

    /// Made with pillow: `Image.new("RGB", (8, 8), (255, 0, 0)).save(f, "JPEG", quality=95)`.
    const RED_JPEG: &[u8] = &[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01,
        0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02,
        0x02, 0x05, 0x04, 0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06,
        0x07, 0x09, 0x08, 0x06, 0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0B, 0x08, 0x09, 0x0A, 0x0A,
        0x0A, 0x0A, 0x0A, 0x06, 0x08, 0x0B, 0x0C, 0x0B, 0x0A, 0x0C, 0x09, 0x0A, 0x0A, 0x0A, 0xFF,
        0xDB, 0x00, 0x43, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x05, 0x03, 0x03, 0x05, 0x0A,
        0x07, 0x06, 0x07, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A,
        0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A,
        0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A,
        0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x08,
        0x00, 0x08, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xC4, 0x00,
        0x1F, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
        0xFF, 0xC4, 0x00, 0xB5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05,
        0x04, 0x04, 0x00, 0x00, 0x01, 0x7D, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
        0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08,
        0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A,
        0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37,
        0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56,
        0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75,
        0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93,
        0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9,
        0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6,
        0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
        0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7,
        0xF8, 0xF9, 0xFA, 0xFF, 0xC4, 0x00, 0x1F, 0x01, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01,
        0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
        0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0xFF, 0xC4, 0x00, 0xB5, 0x11, 0x00, 0x02, 0x01, 0x02,
        0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00, 0x01, 0x02,
        0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
        0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0, 0x15,
        0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
        0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47,
        0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66,
        0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84,
        0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A,
        0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7,
        0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4,
        0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA,
        0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01,
        0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00, 0xF8, 0xBE, 0x8A, 0x28, 0xAF, 0xE5, 0x33,
        0xFD, 0xFC, 0x3F, 0xFF, 0xD9,
    ];

    #[test]
    fn png_decodes_top_row_first() {
        let rgba = [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 255, 9, 9, 9, 0];
        let texture = decode_rgba8(&png_rgba(2, 2, &rgba), "images[0]", |_, _| Ok(())).unwrap();
        assert_eq!((texture.width, texture.height), (2, 2));
        assert_eq!(texture.rgba, rgba);
    }

    #[test]
    fn gray_png_expands_to_rgba() {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 2, 1);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[10, 200]).unwrap();
        writer.finish().unwrap();
        let texture = decode_rgba8(&out, "images[0]", |_, _| Ok(())).unwrap();
        assert_eq!(texture.rgba, [10, 10, 10, 255, 200, 200, 200, 255]);
    }

    /// CRC-32 as PNG chunks use it (bitwise; test data only).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A valid header claiming 60000×60000 pixels (13 GiB of RGBA) is refused by `admit` before
    /// anything is allocated; the image has no pixel data at all.
    #[test]
    fn admit_sees_header_size_before_decoding() {
        let mut bomb = png_rgba(1, 1, &[0, 0, 0, 0]);
        // IHDR: length at 8..12, type + data at 12..29, CRC at 29..33; width and height at 16..24.
        bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let mut seen = None;
        let err = decode_rgba8(&bomb, "images[3]", |w, h| {
            seen = Some((w, h));
            Err(SceneError::invalid("images[3]", "too big"))
        })
        .unwrap_err();
        assert_eq!(seen, Some((60_000, 60_000)));
        assert_eq!(err.to_string(), "images[3]: too big");
    }

    /// An 8×8 baseline JPEG (solid red, made with pillow) decodes to RGBA.
    #[test]
    fn jpeg_decodes_to_rgba() {
        let texture = decode_rgba8(RED_JPEG, "images[1]", |w, h| {
            assert_eq!((w, h), (8, 8));
            Ok(())
        })
        .unwrap();
        assert_eq!(texture.rgba.len(), 8 * 8 * 4);
        for pixel in texture.rgba.chunks_exact(4) {
            assert!(
                pixel[0] > 240 && pixel[1] < 15 && pixel[2] < 15 && pixel[3] == 255,
                "{pixel:?}"
            );
        }
    }

    #[test]
    fn unknown_format_is_refused_naming_the_path() {
        let err = decode_rgba8(b"GIF89a....", "images[2]", |_, _| Ok(())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "images[2]: unsupported image format (only PNG and JPEG are decoded)"
        );
    }

    #[test]
    fn truncated_png_is_an_error_not_a_panic() {
        let png = png_rgba(4, 4, &[7; 64]);
        let err = decode_rgba8(&png[..png.len() - 20], "images[0]", |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().starts_with("images[0]: bad PNG"), "{err}");
    }
}
