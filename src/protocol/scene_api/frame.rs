//! A frame's binary request (`GCF1`) and answer (`GCI1`), docs/scene-api.md "Frames": parsed and
//! written both ways, so the server and the client share one layout. Parsing never trusts a
//! length: every count and offset is checked against the bytes actually there, so hostile bytes
//! give an error, never a panic or a large allocation.
//!
//! Request: `GCF1`, `u32` header length H, H bytes of JSON ([`FrameHeader`]), zero padding to a
//! multiple of 8 from the start, then N pose records of 104 bytes (`u64` geometry id, 12 `f64`).
//! Answer: `GCI1`, `u32` H, H bytes of JSON ([`AnswerHeader`]), padding to 8, then the images,
//! each at its `offset` from the end of the padding and padded to 8. Little-endian throughout.

use serde::{Deserialize, Serialize};

use super::error::FieldError;
use super::pose::{self, Pose};
use crate::protocol::drake::image::{DepthRange, ImageType};
use crate::protocol::drake::intrinsics;
use crate::scene::camera::Intrinsics;

/// The request's magic.
pub const REQUEST_MAGIC: [u8; 4] = *b"GCF1";
/// The answer's magic.
pub const ANSWER_MAGIC: [u8; 4] = *b"GCI1";
/// Bytes of one pose record: the id and the 12 values.
pub const POSE_RECORD_BYTES: usize = 8 + 12 * 8;
/// Sections start at multiples of this many bytes.
const ALIGN: usize = 8;
/// Longest JSON header read: a frame's header lists cameras, not data.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;

/// How the images are answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Drake's own buffer layouts: RGBA8, f32 metres, i16 labels.
    #[default]
    Raw,
    /// Colour and labels as PNG, depth as a float TIFF.
    Png,
}

/// The request's JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameHeader {
    /// How many pose records follow.
    pub poses: usize,
    #[serde(default)]
    pub encoding: Encoding,
    pub cameras: Vec<Camera>,
}

/// One camera of a frame: Drake's intrinsics, clipping range and pose, and the images it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    pub fx: f64,
    pub fy: f64,
    pub cx: f64,
    pub cy: f64,
    pub near: f64,
    pub far: f64,
    #[serde(rename = "X_WC")]
    pub x_wc: Pose,
    pub images: Vec<ImageName>,
    /// `[min, max]`, required with `depth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth_range: Option<[f64; 2]>,
}

/// An image type as a frame names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageName {
    Color,
    Depth,
    Label,
}

impl From<ImageType> for ImageName {
    fn from(image_type: ImageType) -> Self {
        match image_type {
            ImageType::Color => Self::Color,
            ImageType::Depth => Self::Depth,
            ImageType::Label => Self::Label,
        }
    }
}

impl ImageName {
    pub fn image_type(self) -> ImageType {
        match self {
            Self::Color => ImageType::Color,
            Self::Depth => ImageType::Depth,
            Self::Label => ImageType::Label,
        }
    }
}

impl Camera {
    /// The intrinsics as the renderer takes them.
    pub fn intrinsics(&self) -> Intrinsics {
        Intrinsics {
            width: self.width,
            height: self.height,
            focal_x: self.fx,
            focal_y: self.fy,
            center_x: self.cx,
            center_y: self.cy,
            near: self.near,
            far: self.far,
        }
    }

    /// The depth range, once checked.
    pub fn depth_range(&self) -> Option<DepthRange> {
        self.depth_range.map(|[min_depth, max_depth]| DepthRange {
            min_depth,
            max_depth,
        })
    }
}

/// One pose record: the geometry and its new `X_WG`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseRecord {
    pub id: u64,
    pub x_wg: Pose,
}

/// A parsed, checked frame request.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub header: FrameHeader,
    pub poses: Vec<PoseRecord>,
}

/// What a server allows in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    pub max_cameras: usize,
    pub max_image_dimension: u32,
}

/// Why a frame was refused: a field (400), or a limit (413).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{0}")]
    Field(FieldError),
    /// Which limit, as its message (the caller names the config key).
    #[error("{0}")]
    OverLimit(FieldError),
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> FrameError {
    FrameError::Field(FieldError::new(field, message))
}

/// Parses and checks a frame request: layout, header, every camera, every pose record. Nothing is
/// allocated in proportion to a length before the bytes behind it are known to be there.
///
/// # Errors
/// The first thing wrong, naming its field (`cameras[1].fx`, `poses[4]`).
pub fn parse_request(body: &[u8], limits: FrameLimits) -> Result<Frame, FrameError> {
    let (header, rest) = split_sections(body, REQUEST_MAGIC, "frame")?;
    let header: FrameHeader = super::check::read_json(header).map_err(FrameError::Field)?;
    check_header(&header, limits)?;
    let expected = header.poses.checked_mul(POSE_RECORD_BYTES);
    if expected != Some(rest.len()) {
        return Err(bad(
            "poses",
            format!(
                "the header announces {} pose records ({} bytes), the body holds {} bytes after \
                 the header",
                header.poses,
                expected.map_or_else(|| "too many".to_owned(), |b| b.to_string()),
                rest.len()
            ),
        ));
    }
    let poses = rest
        .chunks_exact(POSE_RECORD_BYTES)
        .enumerate()
        .map(|(index, record)| {
            let id = u64::from_le_bytes(array(&record[..8]));
            let mut x_wg = [0.0; 12];
            for (value, bytes) in x_wg.iter_mut().zip(record[8..].chunks_exact(8)) {
                *value = f64::from_le_bytes(array(bytes));
            }
            pose::check(&x_wg).map_err(|e| bad(format!("poses[{index}]"), e))?;
            Ok(PoseRecord { id, x_wg })
        })
        .collect::<Result<Vec<_>, FrameError>>()?;
    Ok(Frame { header, poses })
}

fn check_header(header: &FrameHeader, limits: FrameLimits) -> Result<(), FrameError> {
    if header.cameras.is_empty() {
        return Err(bad("cameras", "at least one camera is needed"));
    }
    if header.cameras.len() > limits.max_cameras {
        return Err(FrameError::OverLimit(FieldError::new(
            "cameras",
            format!(
                "{} cameras exceed the limit of {} per frame",
                header.cameras.len(),
                limits.max_cameras
            ),
        )));
    }
    for (index, camera) in header.cameras.iter().enumerate() {
        let path = format!("cameras[{index}]");
        for (name, size) in [("width", camera.width), ("height", camera.height)] {
            if size > limits.max_image_dimension {
                return Err(FrameError::OverLimit(FieldError::new(
                    format!("{path}.{name}"),
                    format!(
                        "{size} exceeds the limit of {} pixels",
                        limits.max_image_dimension
                    ),
                )));
            }
        }
        intrinsics::check(&camera.intrinsics()).map_err(|e| bad(&path, e.to_string()))?;
        pose::check(&camera.x_wc).map_err(|e| bad(format!("{path}.X_WC"), e))?;
        if camera.images.is_empty() {
            return Err(bad(
                format!("{path}.images"),
                "at least one image is needed",
            ));
        }
        for (i, image) in camera.images.iter().enumerate() {
            if camera.images[..i].contains(image) {
                return Err(bad(
                    format!("{path}.images"),
                    format!("{} is asked twice", image.image_type().as_str()),
                ));
            }
        }
        match (
            camera.images.contains(&ImageName::Depth),
            camera.depth_range(),
        ) {
            (true, None) => {
                return Err(bad(
                    format!("{path}.depth_range"),
                    "required with a depth image",
                ))
            }
            (_, Some(range)) => intrinsics::check_depth_range(&range)
                .map_err(|e| bad(format!("{path}.depth_range"), e.to_string()))?,
            (false, None) => {}
        }
    }
    Ok(())
}

/// Writes a frame request (the client's side of [`parse_request`]).
pub fn write_request(header: &FrameHeader, poses: &[PoseRecord]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap_or_default();
    let mut body = sections(REQUEST_MAGIC, &json, poses.len() * POSE_RECORD_BYTES);
    for record in poses {
        body.extend_from_slice(&record.id.to_le_bytes());
        for value in record.x_wg {
            body.extend_from_slice(&value.to_le_bytes());
        }
    }
    body
}

/// The answer's JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerHeader {
    /// The scene's frame counter after this frame.
    pub frame: u64,
    pub images: Vec<ImageEntry>,
}

/// Where one image is in the answer, and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// Index into the request's cameras.
    pub camera: usize,
    #[serde(rename = "type")]
    pub kind: ImageName,
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    /// From the end of the header's padding.
    pub offset: usize,
    pub bytes: usize,
}

/// An image's bytes as answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// `ImageRgba8U`: 4 bytes a pixel.
    Rgba8,
    /// `ImageDepth32F`: metres, 0 nearer than the range, +inf beyond it or where nothing was hit.
    F32,
    /// `ImageLabel16I`: `kEmpty` where nothing was hit.
    I16,
    Png,
    Tiff,
}

/// An answered image: its place in the request and its encoded bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerImage {
    pub camera: usize,
    pub kind: ImageName,
    pub width: u32,
    pub height: u32,
    pub format: ImageFormat,
    pub data: Vec<u8>,
}

/// Writes the answer: the header listing every image, then the images at 8-byte boundaries.
pub fn write_answer(frame: u64, images: &[AnswerImage]) -> Vec<u8> {
    let mut offset = 0;
    let entries = images
        .iter()
        .map(|image| {
            let entry = ImageEntry {
                camera: image.camera,
                kind: image.kind,
                width: image.width,
                height: image.height,
                format: image.format,
                offset,
                bytes: image.data.len(),
            };
            offset += padded(image.data.len());
            entry
        })
        .collect();
    let json = serde_json::to_vec(&AnswerHeader {
        frame,
        images: entries,
    })
    .unwrap_or_default();
    let mut body = sections(ANSWER_MAGIC, &json, offset);
    for image in images {
        body.extend_from_slice(&image.data);
        body.resize(padded(body.len()), 0);
    }
    body
}

/// Reads an answer back (the client's side of [`write_answer`]).
///
/// # Errors
/// A layout that does not hold: wrong magic, a header that is not JSON, an image outside the body.
pub fn parse_answer(body: &[u8]) -> Result<(u64, Vec<AnswerImage>), FieldError> {
    let (header, data) = split_sections(body, ANSWER_MAGIC, "answer").map_err(|e| match e {
        FrameError::Field(e) | FrameError::OverLimit(e) => e,
    })?;
    let header: AnswerHeader = super::check::read_json(header)?;
    let images = header
        .images
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let bytes = entry
                .offset
                .checked_add(entry.bytes)
                .and_then(|end| data.get(entry.offset..end))
                .ok_or_else(|| {
                    FieldError::new(
                        format!("images[{index}]"),
                        "lies outside the answer's bytes",
                    )
                })?;
            Ok(AnswerImage {
                camera: entry.camera,
                kind: entry.kind,
                width: entry.width,
                height: entry.height,
                format: entry.format,
                data: bytes.to_vec(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((header.frame, images))
}

/// `len` rounded up to [`ALIGN`].
fn padded(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

/// Magic, header length, header, padding; with room for `data_bytes` more.
fn sections(magic: [u8; 4], header: &[u8], data_bytes: usize) -> Vec<u8> {
    let start = padded(8 + header.len());
    let mut body = Vec::with_capacity(start + data_bytes);
    body.extend_from_slice(&magic);
    body.extend_from_slice(
        &u32::try_from(header.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    body.extend_from_slice(header);
    body.resize(start, 0);
    body
}

/// The header's bytes and what follows the padding after it.
fn split_sections<'a>(
    body: &'a [u8],
    magic: [u8; 4],
    what: &str,
) -> Result<(&'a [u8], &'a [u8]), FrameError> {
    if body.len() < 8 || body[..4] != magic {
        return Err(bad(
            "body",
            format!(
                "a {what} starts with {:?} and a 4-byte header length ({} bytes given)",
                String::from_utf8_lossy(&magic),
                body.len()
            ),
        ));
    }
    let length = u32::from_le_bytes(array(&body[4..8])) as usize;
    if length > MAX_HEADER_BYTES {
        return Err(bad(
            "body",
            format!("the header length {length} exceeds {MAX_HEADER_BYTES} bytes"),
        ));
    }
    let header = body.get(8..8 + length).ok_or_else(|| {
        bad(
            "body",
            format!(
                "the header length {length} runs past the body's {} bytes",
                body.len()
            ),
        )
    })?;
    let start = padded(8 + length);
    let padding = body.get(8 + length..start).ok_or_else(|| {
        bad(
            "body",
            format!(
                "the body ends inside the header's padding ({} bytes)",
                body.len()
            ),
        )
    })?;
    if padding.iter().any(|&b| b != 0) {
        return Err(bad("body", "the header's padding is not zero"));
    }
    Ok((header, &body[start..]))
}

/// The first `N` bytes of `bytes` as an array; callers pass slices of exactly `N`.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FrameLimits = FrameLimits {
        max_cameras: 4,
        max_image_dimension: 8192,
    };

    fn camera(images: Vec<ImageName>) -> Camera {
        Camera {
            width: 64,
            height: 48,
            fx: 50.0,
            fy: 50.0,
            cx: 31.5,
            cy: 23.5,
            near: 0.01,
            far: 10.0,
            x_wc: pose::IDENTITY,
            images,
            depth_range: Some([0.1, 5.0]),
        }
    }

    fn header(poses: usize) -> FrameHeader {
        FrameHeader {
            poses,
            encoding: Encoding::Raw,
            cameras: vec![camera(vec![ImageName::Color, ImageName::Depth])],
        }
    }

    #[test]
    fn a_request_round_trips_and_its_sections_are_aligned() {
        let mut moved = pose::IDENTITY;
        moved[3] = 0.25;
        let poses = [
            PoseRecord {
                id: 17,
                x_wg: moved,
            },
            PoseRecord {
                id: u64::MAX,
                x_wg: pose::IDENTITY,
            },
        ];
        let body = write_request(&header(2), &poses);
        assert_eq!(&body[..4], b"GCF1");
        assert_eq!((body.len() - 2 * POSE_RECORD_BYTES) % 8, 0);
        let frame = parse_request(&body, LIMITS).unwrap();
        assert_eq!(frame.header, header(2));
        assert_eq!(frame.poses, poses);
    }

    #[test]
    fn short_bodies_counts_and_bad_poses_are_named() {
        let good = write_request(
            &header(1),
            &[PoseRecord {
                id: 1,
                x_wg: pose::IDENTITY,
            }],
        );
        let field = |body: &[u8]| match parse_request(body, LIMITS).unwrap_err() {
            FrameError::Field(e) | FrameError::OverLimit(e) => e.field,
        };
        assert_eq!(field(&good[..good.len() - 1]), "poses");
        assert_eq!(field(&good[..6]), "body");
        assert_eq!(field(b"GCF2\0\0\0\0"), "body");
        let mut huge = good.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(field(&huge), "body");
        let mut scaled = good.clone();
        let at = good.len() - POSE_RECORD_BYTES + 8;
        scaled[at..at + 8].copy_from_slice(&2.0f64.to_le_bytes());
        assert_eq!(field(&scaled), "poses[0]");
        let mut no_range = header(0);
        no_range.cameras[0].depth_range = None;
        assert_eq!(
            field(&write_request(&no_range, &[])),
            "cameras[0].depth_range"
        );
        let mut wide = header(0);
        wide.cameras[0].width = 9000;
        assert!(matches!(
            parse_request(&write_request(&wide, &[]), LIMITS),
            Err(FrameError::OverLimit(e)) if e.field == "cameras[0].width"
        ));
        let mut twice = header(0);
        twice.cameras[0].images.push(ImageName::Color);
        assert_eq!(field(&write_request(&twice, &[])), "cameras[0].images");
        let mut focal = header(0);
        focal.cameras[0].fx = -1.0;
        assert_eq!(field(&write_request(&focal, &[])), "cameras[0]");
        let many = FrameHeader {
            cameras: vec![camera(vec![ImageName::Label]); 5],
            ..header(0)
        };
        assert!(matches!(
            parse_request(&write_request(&many, &[]), LIMITS),
            Err(FrameError::OverLimit(_))
        ));
    }

    #[test]
    fn an_answer_round_trips_with_each_image_aligned() {
        let images = vec![
            AnswerImage {
                camera: 0,
                kind: ImageName::Color,
                width: 1,
                height: 1,
                format: ImageFormat::Rgba8,
                data: vec![1, 2, 3, 4],
            },
            AnswerImage {
                camera: 1,
                kind: ImageName::Label,
                width: 3,
                height: 1,
                format: ImageFormat::I16,
                data: vec![5, 6, 7, 8, 9, 10],
            },
        ];
        let body = write_answer(9, &images);
        let (frame, read) = parse_answer(&body).unwrap();
        assert_eq!((frame, read), (9, images));
        let json_length = u32::from_le_bytes(array(&body[4..8])) as usize;
        let start = padded(8 + json_length);
        let header: AnswerHeader = serde_json::from_slice(&body[8..8 + json_length]).unwrap();
        assert_eq!(header.images[1].offset, 8);
        assert_eq!(&body[start + 8..start + 14], &[5, 6, 7, 8, 9, 10]);
        assert_eq!(body.len(), start + 16);
    }
}
