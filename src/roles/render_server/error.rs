//! The render server's error answers: Drake's JSON error body ([`error_body::json`]) with status N,
//! one variant per status, and a `From` for each error a handler meets, so handlers use `?`.
//!
//! 4xx are the client's fault and logged at debug; 5xx are logged in full.

use axum::extract::multipart::MultipartRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::pool::Refused;
use crate::core::config::config_key;
use crate::core::limits;
use crate::core::quote::quote;
use crate::protocol::drake::error_body;
use crate::protocol::drake::fields::FieldError;
use crate::render::RenderError;
use crate::scene::SceneError;

/// A failed render request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request was wrong (a field, the glTF, or a limit); the message names what.
    BadRequest(String),
    /// 404 for paths that are not the render endpoint.
    NotFound(String),
    /// 405 for other methods on the render endpoint.
    MethodNotAllowed(&'static str),
    /// 500: our fault. The message stays generic enough to show a user; the cause goes to the log.
    Internal(String),
    /// 503 + `Retry-After`: the render queue is full, or the server is stopping.
    Busy(&'static str),
    /// 503 + `Retry-After` naming the server limit that refused: the memory for requests in flight,
    /// or the render deadline.
    Unavailable(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Busy(_) | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(message)
            | Self::NotFound(message)
            | Self::Internal(message)
            | Self::Unavailable(message) => message,
            Self::MethodNotAllowed(message) | Self::Busy(message) => message,
        }
    }

    /// The 404 for `path`, naming the configured render `endpoint`; a path that ends with it is
    /// most often a `base_url` that already held it, to which Drake appended it again.
    pub fn not_found(path: &str, endpoint: &str) -> Self {
        let mut message = format!(
            "no such path {}; render requests go to POST {endpoint}",
            quote(path)
        );
        if path.len() > endpoint.len() && path.ends_with(endpoint) {
            message.push_str(&format!(
                ". Does base_url end with {endpoint}? Drake's client appends render_endpoint to \
                 base_url, so base_url stops before it (http://HOST:PORT, not \
                 http://HOST:PORT{endpoint})"
            ));
        }
        Self::NotFound(message)
    }

    /// The JSON body, always short enough for Drake to show.
    pub fn body(&self) -> String {
        error_body::json(self.status().as_u16(), self.message())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), message = %self.message(), "render request failed");
        } else {
            tracing::debug!(status = status.as_u16(), message = %self.message(), "render request refused");
        }
        let mut response = (status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Self::Busy(_) | Self::Unavailable(_) = self {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(limits::RENDER_RETRY_AFTER_S),
            );
        }
        response
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::BadRequest(match error {
            // The limit is this server's, so the message names the config key that sets it.
            FieldError::OverLimit { .. } => format!(
                "{error} (config key {})",
                config_key!(super::Config, max_image_dimension)
            ),
            other => other.to_string(),
        })
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(rejection: MultipartRejection) -> Self {
        Self::BadRequest(format!(
            "expected a multipart/form-data body: {}",
            rejection.body_text()
        ))
    }
}

impl From<SceneError> for ApiError {
    fn from(error: SceneError) -> Self {
        match error {
            SceneError::Refused(message) => Self::Unavailable(message),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl From<RenderError> for ApiError {
    fn from(error: RenderError) -> Self {
        if error.is_client_fault() {
            Self::BadRequest(error.to_string())
        } else {
            tracing::error!(cause = %error, "render failed");
            Self::Internal(format!("rendering failed: {error}"))
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        Self::Busy(match refused {
            Refused::Full => "the render queue is full; retry shortly",
            Refused::Closed => "the server is shutting down",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_drakes_json_convention() {
        let body = ApiError::BadRequest("missing field min_depth".to_owned()).body();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": true, "message": "missing field min_depth", "code": 400})
        );
    }

    #[test]
    fn busy_answers_carry_retry_after() {
        let response = ApiError::from(Refused::Full).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn a_404_names_the_endpoint_and_a_doubled_one() {
        let plain = ApiError::not_found("/nope", "/render");
        assert_eq!(
            plain.message(),
            "no such path /nope; render requests go to POST /render"
        );
        let doubled = ApiError::not_found("/render/render", "/render");
        assert!(
            doubled
                .message()
                .contains("Does base_url end with /render? Drake's client appends render_endpoint"),
            "{doubled}"
        );
    }

    #[test]
    fn the_dimension_limit_names_its_config_key() {
        let error = ApiError::from(FieldError::OverLimit {
            name: "width",
            value: 100_000,
            limit: 8192,
        });
        assert_eq!(
            error.message(),
            "width: 100000 exceeds the limit of 8192 pixels (config key maxImageDimension)"
        );
    }
}
