//! The render server's error answers: `{"error":true,"message":"…","code":N}` with status N.
//!
//! Drake prints an error body verbatim in the user's exception only when it is under 8 KB, so every
//! message is cut to fit; 4xx are the client's fault and logged at debug, 5xx are logged in full.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::core::limits::MAX_ERROR_BODY_BYTES;

/// A failed render request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds the client should wait, for 503 answers.
    pub retry_after_s: Option<u32>,
}

impl ApiError {
    /// 400: the request was wrong (a field, the glTF, or a limit); `message` names what.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 404 for paths that are not the render endpoint.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 405 for other methods on the render endpoint.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 500: our fault. The message stays generic enough to show a user; the cause goes to the log.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 503 + `Retry-After`: the render queue is full.
    pub fn busy(message: impl Into<String>, retry_after_s: u32) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            retry_after_s: Some(retry_after_s),
        }
    }

    /// The JSON body, always shorter than [`MAX_ERROR_BODY_BYTES`].
    pub fn body(&self) -> String {
        let code = self.status.as_u16();
        let render = |message: &str| {
            serde_json::json!({"error": true, "message": message, "code": code}).to_string()
        };
        let full = render(&self.message);
        if full.len() <= MAX_ERROR_BODY_BYTES {
            return full;
        }
        // JSON escaping can grow the text (up to 6 bytes per control character), so cut by the
        // encoded length and back off to a character boundary.
        let mut keep = MAX_ERROR_BODY_BYTES / 8;
        while !self.message.is_char_boundary(keep) {
            keep -= 1;
        }
        render(&format!("{}… (truncated)", &self.message[..keep]))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), message = %self.message, "render request failed");
        } else {
            tracing::debug!(status = self.status.as_u16(), message = %self.message, "render request refused");
        }
        let mut response = (self.status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_drakes_json_convention() {
        let body = ApiError::bad_request("missing field min_depth").body();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": true, "message": "missing field min_depth", "code": 400})
        );
    }

    #[test]
    fn long_messages_are_cut_below_8_kb() {
        for filler in ["x", "\u{1}", "é"] {
            let body = ApiError::bad_request(filler.repeat(50_000)).body();
            assert!(body.len() < 8192, "{} bytes", body.len());
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(value["message"].as_str().unwrap().ends_with("(truncated)"));
        }
    }
}
