//! Answers turned into images exactly as Drake's `RenderClient` does (protocol §2.1–2.4): format
//! sniffing, the per-type channel and bit-depth rules, the size check, and the conversions (uint16
//! millimetres → metres with 65535 → +inf; colour → [`label`]).

use std::io::Cursor;

use super::image::{millimetres_to_metres, ImageType};
use super::label;

/// RGBA, 8 bits per channel, top row first; RGB answers get alpha 255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColorImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Planar depth in metres, top row first: `0` is too near, `+inf` too far or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthImage {
    pub width: u32,
    pub height: u32,
    pub metres: Vec<f32>,
}

/// Drake render labels, top row first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelImage {
    pub width: u32,
    pub height: u32,
    pub labels: Vec<i16>,
}

/// A decoded answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    Color(ColorImage),
    Depth(DepthImage),
    Label(LabelImage),
}

impl Image {
    pub fn size(&self) -> (u32, u32) {
        match self {
            Self::Color(i) => (i.width, i.height),
            Self::Depth(i) => (i.width, i.height),
            Self::Label(i) => (i.width, i.height),
        }
    }
}

/// Why an answer body is not an acceptable image. Messages are Drake's where Drake has one.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Neither PNG nor TIFF magic bytes (JPEG included).
    #[error("not understood as an image type that is supported, i.e., PNG or TIFF")]
    NotAnImage,
    /// Color and label answers go through Drake's PNG reader only.
    #[error("{file}: Not a PNG file")]
    NotPng { file: String },
    #[error("Can't load image with channels={got} into object with channels={expected}")]
    Channels { got: u8, expected: u8 },
    #[error("Can't load image with scalar={got} into scalar=8U")]
    Scalar { got: &'static str },
    #[error("RenderClient: unsupported depth pixel type")]
    DepthPixelType,
    #[error("RenderClient: expected to import (width={expected_width},height={expected_height}) from the file '{file}', but got (width={width},height={height}).")]
    Size {
        expected_width: u32,
        expected_height: u32,
        file: String,
        width: u32,
        height: u32,
    },
    #[error("{file}: corrupt image: {reason}")]
    Corrupt { file: String, reason: String },
}

/// What the first two bytes say, as Drake sniffs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Tiff,
}

fn sniff(body: &[u8]) -> Result<Format, DecodeError> {
    match body.get(..2) {
        Some([0x89, 0x50]) => Ok(Format::Png),
        Some([0x49, 0x49] | [0x4D, 0x4D]) => Ok(Format::Tiff),
        _ => Err(DecodeError::NotAnImage),
    }
}

impl Format {
    /// The file Drake renames the answer to once sniffed, named in its messages.
    fn file_name(self, stem: &str) -> String {
        match self {
            Self::Png => format!("{stem}.png"),
            Self::Tiff => format!("{stem}.tiff"),
        }
    }
}

/// An image type's decoded form, with Drake's rules for turning an answer into it.
pub trait Decoded: Sized {
    const IMAGE_TYPE: ImageType;

    /// Validates and decodes a non-empty 2xx body. `stem` is the name Drake saves the answer under
    /// (`{id}-{type}`), used only in messages.
    ///
    /// # Errors
    /// [`DecodeError`] with Drake's rule that was broken.
    fn decode(body: &[u8], width: u32, height: u32, stem: &str) -> Result<Self, DecodeError>;
}

impl Decoded for ColorImage {
    const IMAGE_TYPE: ImageType = ImageType::Color;

    fn decode(body: &[u8], width: u32, height: u32, stem: &str) -> Result<Self, DecodeError> {
        let format = sniff(body)?;
        let file = format.file_name(stem);
        match format {
            // Drake forces color through its PNG reader.
            Format::Tiff => Err(DecodeError::NotPng { file }),
            Format::Png => decode_rgba_png(body, &file, size_check(width, height, &file)),
        }
    }
}

impl Decoded for LabelImage {
    const IMAGE_TYPE: ImageType = ImageType::Label;

    fn decode(body: &[u8], width: u32, height: u32, stem: &str) -> Result<Self, DecodeError> {
        ColorImage::decode(body, width, height, stem).map(|image| color_to_label(&image))
    }
}

impl Decoded for DepthImage {
    const IMAGE_TYPE: ImageType = ImageType::Depth;

    fn decode(body: &[u8], width: u32, height: u32, stem: &str) -> Result<Self, DecodeError> {
        let format = sniff(body)?;
        let file = format.file_name(stem);
        let check_size = size_check(width, height, &file);
        match format {
            Format::Png => decode_depth_png(body, &file, check_size),
            Format::Tiff => decode_depth_tiff(body, &file, check_size),
        }
    }
}

/// Drake's size rule, checked once the pixel type is known to be acceptable.
fn size_check(
    width: u32,
    height: u32,
    file: &str,
) -> impl Fn(u32, u32) -> Result<(), DecodeError> + '_ {
    move |got_width, got_height| {
        if (got_width, got_height) == (width, height) {
            Ok(())
        } else {
            Err(DecodeError::Size {
                expected_width: width,
                expected_height: height,
                file: file.to_owned(),
                width: got_width,
                height: got_height,
            })
        }
    }
}

fn corrupt(file: &str, reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt {
        file: file.to_owned(),
        reason: reason.to_string(),
    }
}

/// PNG into Drake's `ImageRgba8U`: 8-bit RGB or RGBA, palettes expanded (libpng does the same),
/// everything else refused.
fn decode_rgba_png(
    body: &[u8],
    file: &str,
    check_size: impl Fn(u32, u32) -> Result<(), DecodeError>,
) -> Result<ColorImage, DecodeError> {
    let mut decoder = png::Decoder::new(Cursor::new(body));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| corrupt(file, e))?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    match info.color_type {
        png::ColorType::Grayscale => Err(DecodeError::Channels {
            got: 1,
            expected: 4,
        }),
        png::ColorType::GrayscaleAlpha => Err(DecodeError::Channels {
            got: 2,
            expected: 4,
        }),
        _ if info.bit_depth == png::BitDepth::Sixteen => Err(DecodeError::Scalar { got: "16U" }),
        _ => Ok(()),
    }?;
    check_size(width, height)?;
    let (pixels, layout) = read_frame(&mut reader, file)?;
    let rgba = match layout {
        png::ColorType::Rgba => pixels,
        png::ColorType::Rgb => pixels
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
            .collect(),
        other => return Err(corrupt(file, format!("unexpected PNG layout {other:?}"))),
    };
    Ok(ColorImage {
        width,
        height,
        rgba,
    })
}

/// The first frame's pixel bytes, once the caller has checked the header, with their layout
/// after the decoder's transformations.
fn read_frame(
    reader: &mut png::Reader<Cursor<&[u8]>>,
    file: &str,
) -> Result<(Vec<u8>, png::ColorType), DecodeError> {
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt(file, "image too large"))?;
    let mut buffer = vec![0; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| corrupt(file, e))?;
    buffer.truncate(frame.buffer_size());
    Ok((buffer, frame.color_type))
}

/// Drake's colour → label rule, pixel by pixel; alpha is ignored.
fn color_to_label(image: &ColorImage) -> LabelImage {
    let labels = image
        .rgba
        .chunks_exact(4)
        .map(|p| label::from_rgb([p[0], p[1], p[2]]))
        .collect();
    LabelImage {
        width: image.width,
        height: image.height,
        labels,
    }
}

fn decode_depth_png(
    body: &[u8],
    file: &str,
    check_size: impl Fn(u32, u32) -> Result<(), DecodeError>,
) -> Result<DepthImage, DecodeError> {
    let decoder = png::Decoder::new(Cursor::new(body));
    let mut reader = decoder.read_info().map_err(|e| corrupt(file, e))?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Sixteen {
        return Err(DecodeError::DepthPixelType);
    }
    check_size(width, height)?;
    let (pixels, _) = read_frame(&mut reader, file)?;
    let metres = pixels
        .chunks_exact(2)
        .map(|b| millimetres_to_metres(u16::from_be_bytes([b[0], b[1]])))
        .collect();
    Ok(DepthImage {
        width,
        height,
        metres,
    })
}

fn decode_depth_tiff(
    body: &[u8],
    file: &str,
    check_size: impl Fn(u32, u32) -> Result<(), DecodeError>,
) -> Result<DepthImage, DecodeError> {
    let mut decoder =
        tiff::decoder::Decoder::new(Cursor::new(body)).map_err(|e| corrupt(file, e))?;
    let color_type = decoder.colortype().map_err(|e| corrupt(file, e))?;
    let (width, height) = decoder.dimensions().map_err(|e| corrupt(file, e))?;
    if !matches!(color_type, tiff::ColorType::Gray(16 | 32)) {
        return Err(DecodeError::DepthPixelType);
    }
    check_size(width, height)?;
    let metres = match decoder.read_image().map_err(|e| corrupt(file, e))? {
        tiff::decoder::DecodingResult::F32(values) => values,
        tiff::decoder::DecodingResult::U16(values) => {
            values.into_iter().map(millimetres_to_metres).collect()
        }
        _ => return Err(DecodeError::DepthPixelType),
    };
    if metres.len() != width as usize * height as usize {
        return Err(corrupt(file, "pixel count does not match the size"));
    }
    Ok(DepthImage {
        width,
        height,
        metres,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_decoding_matches_drakes_table() {
        let image = ColorImage {
            width: 5,
            height: 1,
            rgba: vec![
                42, 0, 0, 255, 254, 127, 0, 255, 255, 255, 255, 0, 10, 20, 30, 255, 42, 1, 99, 7,
            ],
        };
        assert_eq!(
            color_to_label(&image).labels,
            [42, label::LABEL_EMPTY, label::LABEL_DONT_CARE, 5130, 298]
        );
    }

    #[test]
    fn jpeg_and_text_are_not_images() {
        for body in [&[0xFF, 0xD8, 0xFF][..], b"{\"error\":true}", b"x"] {
            let err = ColorImage::decode(body, 1, 1, "1-color").unwrap_err();
            assert!(matches!(err, DecodeError::NotAnImage), "{err}");
        }
    }
}
