//! The text fields of a render request (protocol §1.3): their names, the text Drake writes into
//! them (`%f` doubles, sorted as its `std::map` sends them), the scene checksum, and reading them
//! back into a checked request.
//!
//! Reading is lenient where Drake and other clients differ (unknown fields and `submit` ignored,
//! numbers with any number of decimals, `min_depth`/`max_depth` required only for depth) and strict
//! where a wrong value would silently give a wrong image. Every error names the field at fault,
//! because Drake copies the message into the user's exception.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::image::{DepthRange, ImageType};
use super::intrinsics::{self, CameraError};
use crate::core::quote::quote;
use crate::scene::camera::Intrinsics;

pub const CENTER_X: &str = "center_x";
pub const CENTER_Y: &str = "center_y";
pub const FAR: &str = "far";
pub const FOCAL_X: &str = "focal_x";
pub const FOCAL_Y: &str = "focal_y";
pub const FOV_X: &str = "fov_x";
pub const FOV_Y: &str = "fov_y";
pub const HEIGHT: &str = "height";
pub const IMAGE_TYPE: &str = "image_type";
pub const MAX_DEPTH: &str = "max_depth";
pub const MIN_DEPTH: &str = "min_depth";
pub const NEAR: &str = "near";
pub const SCENE_SHA256: &str = "scene_sha256";
pub const SUBMIT: &str = "submit";
pub const WIDTH: &str = "width";
/// The file part holding the glTF.
pub const SCENE: &str = "scene";

/// C's `%f`, which is what `std::to_string(double)` writes: fixed point, six decimals.
pub fn format_double(value: f64) -> String {
    format!("{value:.6}")
}

/// The `scene_sha256` value: lowercase hex of the scene file's SHA-256.
pub fn scene_sha256(scene: &[u8]) -> String {
    hex::encode(Sha256::digest(scene))
}

/// The text fields Drake sends for one image, except `scene_sha256` (see [`scene_sha256`]);
/// `depth_range` is only sent for depth.
pub fn write(
    image_type: ImageType,
    intrinsics: &Intrinsics,
    depth_range: DepthRange,
) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut add = |name: &str, value: String| fields.insert(name.to_owned(), value);
    add(CENTER_X, format_double(intrinsics.center_x));
    add(CENTER_Y, format_double(intrinsics.center_y));
    add(FAR, format_double(intrinsics.far));
    add(FOCAL_X, format_double(intrinsics.focal_x));
    add(FOCAL_Y, format_double(intrinsics.focal_y));
    add(FOV_X, format_double(intrinsics.fov_x()));
    add(FOV_Y, format_double(intrinsics.fov_y()));
    add(HEIGHT, intrinsics.height.to_string());
    add(IMAGE_TYPE, image_type.as_str().to_owned());
    add(NEAR, format_double(intrinsics.near));
    add(SUBMIT, "Render".to_owned());
    add(WIDTH, intrinsics.width.to_string());
    if image_type == ImageType::Depth {
        add(MAX_DEPTH, format_double(depth_range.max_depth));
        add(MIN_DEPTH, format_double(depth_range.min_depth));
    }
    fields
}

/// The image a request asks for, with the depth range that comes only with depth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RequestedImage {
    Color,
    Depth(DepthRange),
    Label,
}

impl RequestedImage {
    pub fn image_type(self) -> ImageType {
        match self {
            Self::Color => ImageType::Color,
            Self::Depth(_) => ImageType::Depth,
            Self::Label => ImageType::Label,
        }
    }
}

/// The fields a render needs, read and checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fields {
    pub image: RequestedImage,
    /// A `near` of 0 arrived as `0.000000` and means "use the glTF camera's `znear`"
    /// ([`intrinsics::check_clipping`]).
    pub intrinsics: Intrinsics,
}

/// Why the fields are not a render request. Client text in a message is cut by [`quote`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("image_type: expected color, depth or label, got {0:?}")]
    ImageType(String),
    #[error("{name}: {text:?} is not a positive integer")]
    NotPositiveInteger { name: &'static str, text: String },
    /// A width or height over the reader's limit; the server adds its config key.
    #[error("{name}: {value} exceeds the limit of {limit} pixels")]
    OverLimit {
        name: &'static str,
        value: u32,
        limit: u32,
    },
    #[error("{name}: {text:?} is not a finite number")]
    NotFinite { name: &'static str, text: String },
    #[error("{name}: {value} must be positive")]
    NotPositive { name: &'static str, value: f64 },
    #[error("near: {0} is negative")]
    NegativeNear(f64),
    #[error(transparent)]
    Camera(#[from] CameraError),
    #[error("scene_sha256: {0:?} is not 64 hexadecimal characters")]
    Sha256Format(String),
    #[error(
        "scene_sha256: {expected} does not match the uploaded scene (its SHA-256 is {actual})"
    )]
    Sha256Mismatch { expected: String, actual: String },
}

/// Reads the fields a render needs through `get` (a field's text by name), in Drake's field
/// order, so the first problem is the one reported; a width or height over `max_dimension` is
/// refused before anything else is read.
///
/// # Errors
/// The first field that is missing or invalid.
pub fn read<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    max_dimension: u32,
) -> Result<Fields, FieldError> {
    let reader = Reader { get };
    let text = reader.required(IMAGE_TYPE)?.trim();
    let image_type =
        ImageType::from_wire(text).ok_or_else(|| FieldError::ImageType(quote(text)))?;
    let width = reader.dimension(WIDTH, max_dimension)?;
    let height = reader.dimension(HEIGHT, max_dimension)?;
    let focal_x = reader.positive(FOCAL_X)?;
    let focal_y = reader.positive(FOCAL_Y)?;
    let center_x = reader.finite(CENTER_X)?;
    let center_y = reader.finite(CENTER_Y)?;
    let near = reader.finite(NEAR)?;
    let far = reader.positive(FAR)?;
    if near < 0.0 {
        return Err(FieldError::NegativeNear(near));
    }
    intrinsics::check_clipping(near, far)?;
    let image = match image_type {
        ImageType::Depth => {
            let range = DepthRange {
                min_depth: reader.positive(MIN_DEPTH)?,
                max_depth: reader.positive(MAX_DEPTH)?,
            };
            intrinsics::check_depth_range(&range)?;
            RequestedImage::Depth(range)
        }
        ImageType::Color => RequestedImage::Color,
        ImageType::Label => RequestedImage::Label,
    };
    Ok(Fields {
        image,
        intrinsics: Intrinsics {
            width,
            height,
            focal_x,
            focal_y,
            center_x,
            center_y,
            near,
            far,
        },
    })
}

/// Checks a `scene_sha256` value (any case) against the scene.
///
/// # Errors
/// [`FieldError::Sha256Format`] or [`FieldError::Sha256Mismatch`].
pub fn verify_sha256(expected: &str, scene: &[u8]) -> Result<(), FieldError> {
    verify_digest(expected, &Sha256::digest(scene).into())
}

/// [`verify_sha256`] against a digest already computed (the render server hashes the scene
/// while it reads it).
///
/// # Errors
/// As [`verify_sha256`].
pub fn verify_digest(expected: &str, digest: &[u8; 32]) -> Result<(), FieldError> {
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::Sha256Format(quote(expected)));
    }
    let actual = hex::encode(digest);
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(FieldError::Sha256Mismatch {
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(())
}

struct Reader<G> {
    get: G,
}

impl<'a, G: Fn(&str) -> Option<&'a str>> Reader<G> {
    fn required(&self, name: &'static str) -> Result<&'a str, FieldError> {
        (self.get)(name).ok_or(FieldError::Missing(name))
    }

    fn finite(&self, name: &'static str) -> Result<f64, FieldError> {
        let text = self.required(name)?.trim();
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err(FieldError::NotFinite {
                name,
                text: quote(text),
            }),
        }
    }

    fn positive(&self, name: &'static str) -> Result<f64, FieldError> {
        let value = self.finite(name)?;
        if value > 0.0 {
            Ok(value)
        } else {
            Err(FieldError::NotPositive { name, value })
        }
    }

    fn dimension(&self, name: &'static str, limit: u32) -> Result<u32, FieldError> {
        let text = self.required(name)?.trim();
        let value: u32 =
            text.parse()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| FieldError::NotPositiveInteger {
                    name,
                    text: quote(text),
                })?;
        if value > limit {
            return Err(FieldError::OverLimit { name, value, limit });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u32 = 8192;

    /// The fields exactly as Drake 1.51 sends them for a 640x480, fov_y = π/4 depth camera (§1.3).
    fn drake_depth_fields() -> BTreeMap<String, String> {
        let k = Intrinsics::from_fov_y(640, 480, std::f64::consts::FRAC_PI_4, 0.01, 10.0);
        let range = DepthRange {
            min_depth: 0.05,
            max_depth: 5.0,
        };
        write(ImageType::Depth, &k, range)
    }

    fn read_map(fields: &BTreeMap<String, String>) -> Result<Fields, FieldError> {
        read(|name| fields.get(name).map(String::as_str), LIMIT)
    }

    #[test]
    fn doubles_are_written_like_c_percent_f() {
        assert_eq!(format_double(579.411_254_691_248_5), "579.411255");
        assert_eq!(format_double(319.5), "319.500000");
        assert_eq!(format_double(0.01), "0.010000");
        assert_eq!(format_double(4e-7), "0.000000");
        assert_eq!(format_double(1e9), "1000000000.000000");
    }

    #[test]
    fn written_fields_are_drakes_and_read_back() {
        let fields = drake_depth_fields();
        assert_eq!(fields.len(), 14, "all but scene_sha256");
        assert_eq!(fields[FOV_X], "1.009191");
        assert_eq!(fields[FOCAL_X], "579.411255");
        assert_eq!(fields[MIN_DEPTH], "0.050000");
        let read = read_map(&fields).unwrap();
        assert_eq!((read.intrinsics.width, read.intrinsics.height), (640, 480));
        assert_eq!(read.intrinsics.center_x, 319.5);
        assert_eq!(
            read.image,
            RequestedImage::Depth(DepthRange {
                min_depth: 0.05,
                max_depth: 5.0
            })
        );
    }

    #[test]
    fn over_limit_is_reported_before_later_fields() {
        let mut fields = drake_depth_fields();
        fields.insert(WIDTH.into(), "100000".into());
        fields.insert(HEIGHT.into(), "48.5".into());
        assert_eq!(
            read_map(&fields).unwrap_err(),
            FieldError::OverLimit {
                name: WIDTH,
                value: 100_000,
                limit: LIMIT
            }
        );
    }

    #[test]
    fn sha256_is_checked_in_any_case() {
        let scene = b"{}";
        let hash = scene_sha256(scene);
        assert_eq!(hash.len(), 64);
        assert!(verify_sha256(&hash.to_uppercase(), scene).is_ok());
        assert!(matches!(
            verify_sha256("ab", scene),
            Err(FieldError::Sha256Format(_))
        ));
        assert!(matches!(
            verify_sha256(&"0".repeat(64), scene),
            Err(FieldError::Sha256Mismatch { .. })
        ));
    }
}
