//! Drake's multipart render request (drake-gltf-protocol §1.2–1.3) as it arrives: reading the
//! parts, then turning them into a validated [`RenderRequest`] with the protocol's field rules
//! ([`fields`]) and this server's limits.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::core::config::config_key;
use crate::core::quote::quote;
use crate::protocol::drake::fields::{self, FieldError, RequestedImage};
use crate::protocol::drake::image::ImageType;
use crate::render::ImageKind;
use crate::scene::camera::Intrinsics;

/// A validated render request.
#[derive(Debug, Clone)]
pub struct RenderRequest {
    pub image_type: ImageType,
    /// The image to render, with the depth range for depth images.
    pub kind: ImageKind,
    /// Intrinsics from the form. A `near` of 0 arrived as `0.000000` (a near plane below 5e-7 m
    /// rounds to zero in `%f`) and means "use the glTF camera's `znear`".
    pub intrinsics: Intrinsics,
    /// The glTF JSON, exactly as uploaded.
    pub scene: Bytes,
    /// Its SHA-256: what `scene_sha256` was checked against, and the key of the whole document in
    /// the scene cache.
    pub scene_digest: [u8; 32],
}

/// The raw parts of the form: text fields by name, and the `scene` file with its SHA-256.
#[derive(Debug, Default)]
pub struct Form {
    pub fields: HashMap<String, String>,
    pub scene: Option<(Bytes, [u8; 32])>,
}

/// Reads every part of the multipart body. Only `scene` may be large: it is assembled in one
/// buffer and hashed chunk by chunk as it arrives, so no second pass reads it again.
///
/// # Errors
/// 400 for a malformed body or one over `maxBodyBytes` (named, with the limit).
pub async fn read(mut multipart: Multipart, max_body_bytes: usize) -> Result<Form, ApiError> {
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(&e, max_body_bytes)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == fields::SCENE {
            form.scene = Some(
                read_hashed(field)
                    .await
                    .map_err(|e| multipart_error(&e, max_body_bytes))?,
            );
        } else {
            let data = field
                .bytes()
                .await
                .map_err(|e| multipart_error(&e, max_body_bytes))?;
            let text = String::from_utf8(data.to_vec())
                .map_err(|_| ApiError::BadRequest(format!("{}: not UTF-8 text", quote(&name))))?;
            form.fields.insert(name, text);
        }
    }
    Ok(form)
}

/// A part's bytes and their SHA-256, hashed while the rest of the body is still arriving.
async fn read_hashed(mut field: Field<'_>) -> Result<(Bytes, [u8; 32]), MultipartError> {
    let mut hasher = Sha256::new();
    let mut data = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        hasher.update(&chunk);
        data.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(data), hasher.finalize().into()))
}

fn multipart_error(error: &MultipartError, max_body_bytes: usize) -> ApiError {
    ApiError::BadRequest(
        if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "request body exceeds the limit of {max_body_bytes} bytes (config key {})",
                config_key!(super::Config, max_body_bytes)
            )
        } else {
            format!("malformed multipart/form-data body: {}", error.body_text())
        },
    )
}

/// Limits the form is checked against.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    pub max_image_dimension: u32,
}

impl Form {
    /// Validates the fields and the scene checksum.
    ///
    /// # Errors
    /// 400 naming the first field that is missing or invalid.
    pub fn into_request(self, limits: FormLimits) -> Result<RenderRequest, ApiError> {
        let read = fields::read(
            |name| self.fields.get(name).map(String::as_str),
            limits.max_image_dimension,
        )?;
        let (scene, scene_digest) = match self.scene {
            Some(scene) if !scene.0.is_empty() => scene,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "scene: the uploaded file is empty".to_owned(),
                ))
            }
            None => return Err(ApiError::BadRequest("scene: missing file part".to_owned())),
        };
        if let Some(expected) = self.fields.get(fields::SCENE_SHA256) {
            match fields::verify_digest(expected.trim(), &scene_digest) {
                // drake-blender's own tests send a placeholder; it checks only real hashes too.
                Err(FieldError::Sha256Format(value)) => tracing::warn!(
                    value,
                    "ignoring scene_sha256: not 64 hexadecimal characters"
                ),
                checked => checked?,
            }
        }
        let kind = match read.image {
            RequestedImage::Color => ImageKind::Color,
            RequestedImage::Depth(range) => ImageKind::Depth {
                min_depth: range.min_depth,
                max_depth: range.max_depth,
            },
            RequestedImage::Label => ImageKind::Label,
        };
        Ok(RenderRequest {
            image_type: read.image.image_type(),
            kind,
            intrinsics: read.intrinsics,
            scene,
            scene_digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form names its limit by its own field, which must stay the server's config key.
    #[test]
    fn limits_are_named_by_config_keys() {
        let keys = crate::core::config::serde_keys::<super::super::Config>();
        let key = config_key!(FormLimits, max_image_dimension);
        assert!(
            keys.iter().any(|k| k == key),
            "{key} is not a key of {keys:?}"
        );
    }

    const LIMITS: FormLimits = FormLimits {
        max_image_dimension: 8192,
    };

    /// The fields exactly as Drake 1.51 sends them for a 640x480, fov_y = π/4 depth camera (§1.3).
    fn drake_form(image_type: &str) -> Form {
        let scene = Bytes::from_static(br#"{"asset":{"version":"2.0"}}"#);
        let mut fields: HashMap<String, String> = [
            ("center_x", "319.500000"),
            ("center_y", "239.500000"),
            ("far", "10.000000"),
            ("focal_x", "579.411255"),
            ("focal_y", "579.411255"),
            ("fov_x", "1.009191"),
            ("fov_y", "0.785398"),
            ("height", "480"),
            ("image_type", image_type),
            ("near", "0.010000"),
            ("submit", "Render"),
            ("width", "640"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        fields.insert("scene_sha256".into(), fields::scene_sha256(&scene));
        if image_type == "depth" {
            fields.insert("min_depth".into(), "0.050000".into());
            fields.insert("max_depth".into(), "5.000000".into());
        }
        Form {
            fields,
            scene: Some((scene.clone(), Sha256::digest(&scene).into())),
        }
    }

    fn error_of(form: Form) -> String {
        form.into_request(LIMITS).unwrap_err().message().to_owned()
    }

    #[test]
    fn drakes_fields_parse() {
        let request = drake_form("depth").into_request(LIMITS).unwrap();
        assert!(matches!(request.kind, ImageKind::Depth { .. }));
        assert_eq!(
            (request.intrinsics.width, request.intrinsics.height),
            (640, 480)
        );
        assert!((request.intrinsics.focal_x - 579.411255).abs() < 1e-12);
        assert_eq!(request.intrinsics.center_x, 319.5);
        assert_eq!(request.intrinsics.near, 0.01);
        assert_eq!(
            request.kind,
            ImageKind::Depth {
                min_depth: 0.05,
                max_depth: 5.0
            }
        );
        let color = drake_form("color").into_request(LIMITS).unwrap();
        assert_eq!(color.kind, ImageKind::Color);
    }

    #[test]
    fn zero_near_means_use_the_gltf_znear() {
        let mut form = drake_form("color");
        form.fields.insert("near".into(), "0.000000".into());
        assert_eq!(form.into_request(LIMITS).unwrap().intrinsics.near, 0.0);
    }

    #[test]
    fn unknown_fields_and_few_decimals_are_accepted() {
        let mut form = drake_form("label");
        form.fields.insert("id".into(), "whatever".into());
        form.fields.insert("focal_x".into(), "579.411".into());
        form.fields.remove("submit");
        form.fields.remove("fov_x");
        assert!(form.into_request(LIMITS).is_ok());
    }

    #[test]
    fn each_error_names_its_field() {
        type Mutation = Box<dyn Fn(&mut Form)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (
                Box::new(|f| drop(f.fields.remove("min_depth"))),
                "missing field min_depth",
            ),
            (
                Box::new(|f| drop(f.fields.insert("image_type".into(), "normals".into()))),
                "image_type",
            ),
            (
                Box::new(|f| drop(f.fields.insert("width".into(), "0".into()))),
                "width",
            ),
            (
                Box::new(|f| drop(f.fields.insert("height".into(), "48.5".into()))),
                "height",
            ),
            (
                Box::new(|f| drop(f.fields.insert("width".into(), "100000".into()))),
                "maxImageDimension",
            ),
            (
                Box::new(|f| drop(f.fields.insert("focal_y".into(), "nan".into()))),
                "focal_y",
            ),
            (
                Box::new(|f| drop(f.fields.insert("focal_x".into(), "-3".into()))),
                "focal_x",
            ),
            (
                Box::new(|f| drop(f.fields.insert("far".into(), "0.001".into()))),
                "near (0.01) must be less than far",
            ),
            (
                Box::new(|f| drop(f.fields.insert("min_depth".into(), "9".into()))),
                "min_depth (9) must be less than max_depth",
            ),
            (
                Box::new(|f| drop(f.fields.insert("scene_sha256".into(), "0".repeat(64)))),
                "does not match",
            ),
            (Box::new(|f| f.scene = None), "scene: missing"),
            (
                Box::new(|f| f.scene = Some((Bytes::new(), Sha256::digest(b"").into()))),
                "scene: the uploaded file is empty",
            ),
        ];
        for (mutate, expected) in cases {
            let mut form = drake_form("depth");
            mutate(&mut form);
            let message = error_of(form);
            assert!(
                message.contains(expected),
                "{message:?} should contain {expected:?}"
            );
        }
    }

    /// drake-blender's tests send a placeholder hash; only a well-formed one is checked.
    #[test]
    fn a_malformed_sha_is_ignored() {
        let mut form = drake_form("depth");
        form.fields.insert("scene_sha256".into(), "ab".into());
        assert!(form.into_request(LIMITS).is_ok());
    }

    #[test]
    fn echoed_values_are_short() {
        let mut form = drake_form("color");
        form.fields.insert("image_type".into(), "x".repeat(100_000));
        assert!(error_of(form).len() < 200);
    }
}
