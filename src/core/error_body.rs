//! The JSON error body every server answers with, whoever refuses the request (a role, the
//! bootstrap at shutdown, the access-token check, the render client's forward mode):
//! `{"error": true, "message": "…", "code": N}` with status N, always under 8 KiB so that Drake's
//! client, which shows only bodies of 1 to 8191 bytes, prints the message in the user's exception.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Longest body an error may have (Drake shows 1 to 8191 bytes verbatim, and nothing beyond).
pub const MAX_BYTES: usize = 8 * 1024 - 1;

/// The JSON error body for status `code`, with `message` cut so that the body stays within
/// [`MAX_BYTES`].
pub fn json(code: u16, message: &str) -> String {
    let render = |message: &str| {
        serde_json::json!({"error": true, "message": message, "code": code}).to_string()
    };
    let full = render(message);
    if full.len() <= MAX_BYTES {
        return full;
    }
    // JSON escaping can grow the text (up to 6 bytes per control character), so cut by the
    // encoded length and back off to a character boundary.
    let mut keep = MAX_BYTES / 8;
    while !message.is_char_boundary(keep) {
        keep -= 1;
    }
    render(&format!("{}… (truncated)", &message[..keep]))
}

/// A response with status `status` and [`json`] as its body.
pub fn response(status: StatusCode, message: &str) -> Response {
    with_body(status, json(status.as_u16(), message))
}

/// [`response`] with the scene API's stable `"reason"` beside the message (docs/scene-api.md), so
/// a client tells, say, a missing token from a refused field without reading the prose.
pub fn response_with_reason(status: StatusCode, reason: &str, message: &str) -> Response {
    let mut body: serde_json::Value =
        serde_json::from_str(&json(status.as_u16(), message)).unwrap_or_default();
    if let Some(object) = body.as_object_mut() {
        object.insert("reason".to_owned(), reason.into());
    }
    with_body(status, body.to_string())
}

fn with_body(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_documented_json() {
        let body = json(400, "missing field min_depth");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": true, "message": "missing field min_depth", "code": 400})
        );
    }

    #[test]
    fn long_messages_are_cut_below_8_kb() {
        for filler in ["x", "\u{1}", "é"] {
            let body = json(400, &filler.repeat(50_000));
            assert!(body.len() <= MAX_BYTES, "{} bytes", body.len());
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(value["message"].as_str().unwrap().ends_with("(truncated)"));
        }
    }

    #[test]
    fn response_carries_status_and_content_type() {
        let response = response(StatusCode::UNAUTHORIZED, "no token");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
