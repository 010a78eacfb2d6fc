//! The scene API's error answers (docs/scene-api.md, "Conventions"): Drake's JSON error body
//! (`{"error": true, "message", "code"}`, under 8 KiB) plus a stable `reason`, the `field` at fault
//! where there is one, and the `missing` assets of a 409. The server writes them, the client reads
//! them back into the same type.

use serde::{Deserialize, Serialize};

use crate::protocol::drake::error_body::MAX_SHOWN_BYTES;

/// Most missing assets one 409 lists: 100 names of 64 characters keep the body under 8 KiB. A
/// client uploads those and retries, or asks `POST /v1/assets/missing` for the whole list.
pub const MAX_LISTED_MISSING: usize = 100;

/// Why a request was refused: each has one status, and the client acts on the reason, never on the
/// message's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// 400: a field is missing, of the wrong type or out of range.
    BadRequest,
    /// 400: an asset's bytes do not hash to its name.
    HashMismatch,
    /// 401: the server wants an access token.
    Unauthorized,
    /// 404: the scene id is not known here; register the scene again.
    UnknownScene,
    /// 404: `GET`/`HEAD` of an asset this server does not hold.
    UnknownAsset,
    /// 404: no such resource under `/v1`.
    NotFound,
    /// 405: the resource exists, the method does not.
    MethodNotAllowed,
    /// 409: a scene or edit names assets this server does not hold (`missing` lists them).
    MissingAssets,
    /// 409: an added geometry id is already in the scene.
    DuplicateGeometry,
    /// 413: a body, an asset, a scene or an image over its limit.
    TooLarge,
    /// 500: the server's fault; the log has the cause.
    Internal,
    /// 503 + `Retry-After`: the queue, the memory in flight or the scene table is full, or the
    /// deadline passed.
    Busy,
}

impl Reason {
    /// The HTTP status this reason is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::HashMismatch => 400,
            Self::Unauthorized => 401,
            Self::UnknownScene | Self::UnknownAsset | Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::MissingAssets | Self::DuplicateGeometry => 409,
            Self::TooLarge => 413,
            Self::Internal => 500,
            Self::Busy => 503,
        }
    }
}

/// An error answer's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `true` (Drake's convention).
    pub error: bool,
    pub message: String,
    /// The HTTP status, repeated.
    pub code: u16,
    pub reason: Reason,
    /// The field at fault, as a path into the request: `geometries[3].shape.radius`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With [`Reason::MissingAssets`]: the assets to upload (at most [`MAX_LISTED_MISSING`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl ErrorBody {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            error: true,
            message: message.into(),
            code: reason.status(),
            reason,
            field: None,
            missing: Vec::new(),
        }
    }

    /// The body as JSON, under 8 KiB: a long message is cut (the field and the listed assets are
    /// bounded already).
    pub fn to_json(&self) -> String {
        let mut body = self.clone();
        body.missing.truncate(MAX_LISTED_MISSING);
        let text = serde_json::to_string(&body).unwrap_or_default();
        if text.len() <= MAX_SHOWN_BYTES {
            return text;
        }
        let mut keep = MAX_SHOWN_BYTES / 8;
        while !body.message.is_char_boundary(keep) {
            keep -= 1;
        }
        body.message = format!("{}… (truncated)", &body.message[..keep]);
        if let Some(field) = &mut body.field {
            let mut keep = field.len().min(256);
            while !field.is_char_boundary(keep) {
                keep -= 1;
            }
            field.truncate(keep);
        }
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// Reads an error answer's body; `None` when it is not this API's error body (a proxy's page).
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

/// A field at fault, found while checking a request: its path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_reason_field_and_missing_and_read_back() {
        let mut body = ErrorBody::new(Reason::MissingAssets, "2 assets are missing");
        body.missing = vec!["a".repeat(64), "b".repeat(64)];
        let json = body.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["reason"], "missing_assets");
        assert_eq!(value["code"], 409);
        assert_eq!(value["error"], true);
        assert!(value.get("field").is_none());
        assert_eq!(ErrorBody::parse(json.as_bytes()), Some(body));
        assert_eq!(ErrorBody::parse(b"<html>bad gateway</html>"), None);
    }

    #[test]
    fn long_messages_and_lists_stay_under_8_kib() {
        let mut body = ErrorBody::new(Reason::MissingAssets, "é".repeat(50_000));
        body.field = Some("x".repeat(10_000));
        body.missing = vec!["f".repeat(64); 10_000];
        let json = body.to_json();
        assert!(json.len() <= MAX_SHOWN_BYTES, "{} bytes", json.len());
        let read = ErrorBody::parse(json.as_bytes()).unwrap();
        assert_eq!(read.missing.len(), MAX_LISTED_MISSING);
        assert!(read.message.ends_with("(truncated)"));
    }
}
