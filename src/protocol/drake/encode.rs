//! Drake's answer encodings (protocol §2.2): PNG for colour, label and 16-bit depth, and
//! single-channel float32 TIFF for depth in metres. Rows run top to bottom, as Drake reads them.
//! The render client writes its files with the same encoders, so what it saves is what a server
//! would send.

/// How hard PNG's deflate works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deflate {
    /// For answers: encoding dominates a software render's request time otherwise.
    Fast,
    /// The encoder's defaults, for files people keep.
    Default,
}

/// RGBA8 PNG. `rgba` holds `width·height·4` bytes, top row first.
pub fn png_rgba8(width: u32, height: u32, rgba: &[u8], deflate: Deflate) -> Vec<u8> {
    encode_png(
        width,
        height,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        rgba,
        deflate,
    )
}

/// RGB8 PNG (the render client's label and depth previews). `rgb` holds `width·height·3` bytes,
/// top row first.
pub fn png_rgb8(width: u32, height: u32, rgb: &[u8], deflate: Deflate) -> Vec<u8> {
    encode_png(
        width,
        height,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        rgb,
        deflate,
    )
}

/// A label image as RGBA8 PNG with alpha 255: what drake-blender answers, and what Drake reads
/// (it loads label PNGs into RGBA and uses the colour channels). `rgb` holds `width·height·3`
/// bytes, top row first.
pub fn png_label(width: u32, height: u32, rgb: &[u8], deflate: Deflate) -> Vec<u8> {
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    png_rgba8(width, height, &rgba, deflate)
}

/// 16-bit grayscale PNG (depth in millimetres, see [`super::image::metres_to_millimetres`]).
pub fn png_gray16(width: u32, height: u32, values: &[u16], deflate: Deflate) -> Vec<u8> {
    // PNG stores 16-bit samples big-endian.
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    encode_png(
        width,
        height,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        &bytes,
        deflate,
    )
}

fn encode_png(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    deflate: Deflate,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    if deflate == Deflate::Fast {
        encoder.set_compression(png::Compression::Fast);
    }
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(data))
        .expect("UNWRAP: writing to a Vec cannot fail, and images have width·height pixels");
    out
}

/// Single-channel float32 TIFF (SampleFormat = 3), uncompressed, top row first: the format Drake
/// reads without loss, with +inf and 0 sentinels preserved.
pub fn tiff_f32(width: u32, height: u32, metres: &[f32]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::with_capacity(metres.len() * 4 + 1024));
    tiff::encoder::TiffEncoder::new(&mut out)
        .and_then(|mut encoder| {
            encoder.write_image::<tiff::encoder::colortype::Gray32Float>(width, height, metres)
        })
        .expect("UNWRAP: writing to a Vec cannot fail, and images have width·height pixels");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Decodes a PNG and returns (width, height, colour type, bit depth, bytes).
    fn decode_png(bytes: &[u8]) -> (u32, u32, png::ColorType, png::BitDepth, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        buffer.truncate(info.buffer_size());
        (
            info.width,
            info.height,
            info.color_type,
            info.bit_depth,
            buffer,
        )
    }

    #[test]
    fn png_rgba8_round_trips() {
        let (width, height) = (5, 3);
        let rgba: Vec<u8> = (0..width * height * 4)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        let decoded = decode_png(&png_rgba8(width, height, &rgba, Deflate::Fast));
        assert_eq!(
            decoded,
            (5, 3, png::ColorType::Rgba, png::BitDepth::Eight, rgba)
        );
    }

    #[test]
    fn png_rgb8_round_trips() {
        let (width, height) = (3, 4);
        let rgb: Vec<u8> = (0..width * height * 3).map(|i| (255 - i) as u8).collect();
        let decoded = decode_png(&png_rgb8(width, height, &rgb, Deflate::Default));
        assert_eq!(
            decoded,
            (3, 4, png::ColorType::Rgb, png::BitDepth::Eight, rgb)
        );
    }

    #[test]
    fn labels_are_rgba_with_opaque_alpha_and_their_colours_unchanged() {
        let rgb = [44, 1, 0, 255, 255, 255];
        let decoded = decode_png(&png_label(2, 1, &rgb, Deflate::Fast));
        let rgba = vec![44, 1, 0, 255, 255, 255, 255, 255];
        assert_eq!(
            decoded,
            (2, 1, png::ColorType::Rgba, png::BitDepth::Eight, rgba)
        );
    }

    #[test]
    fn png_gray16_round_trips_big_endian() {
        let values = [0u16, 1, 256, 1234, 65534, 65535];
        let (width, height, color, depth, bytes) =
            decode_png(&png_gray16(3, 2, &values, Deflate::Fast));
        assert_eq!(
            (width, height, color, depth),
            (3, 2, png::ColorType::Grayscale, png::BitDepth::Sixteen)
        );
        let decoded: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(decoded, values);
    }

    #[test]
    fn tiff_f32_is_one_float_channel_with_sentinels_preserved() {
        let metres = [0.0, 1.25, f32::INFINITY, 65.5, 0.001, 3.0];
        let bytes = tiff_f32(2, 3, &metres);
        let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(decoder.dimensions().unwrap(), (2, 3));
        assert_eq!(decoder.colortype().unwrap(), tiff::ColorType::Gray(32));
        let sample_format = decoder.get_tag_u32(tiff::tags::Tag::SampleFormat).unwrap();
        assert_eq!(sample_format, 3, "IEEE float");
        let compression = decoder.get_tag_u32(tiff::tags::Tag::Compression).unwrap();
        assert_eq!(compression, 1, "uncompressed");
        match decoder.read_image().unwrap() {
            tiff::decoder::DecodingResult::F32(decoded) => assert_eq!(decoded, metres),
            other => panic!("expected float32 samples, got {other:?}"),
        }
    }
}
