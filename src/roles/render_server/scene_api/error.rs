//! The scene API's error answers: [`ErrorBody`] with its status, `Retry-After` on 503, and a
//! `From` for every error a handler meets (the pipeline's [`ApiError`], a checked field), so
//! handlers use `?` and every refusal carries its stable reason.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::super::error::ApiError;
use crate::core::limits;
use crate::protocol::scene_api::error::{ErrorBody, FieldError, Reason};

/// A refused scene API request.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneApiError(pub ErrorBody);

impl SceneApiError {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self(ErrorBody::new(reason, message))
    }

    /// A bad field, named by its path.
    pub fn field(reason: Reason, field: FieldError) -> Self {
        let mut body = ErrorBody::new(reason, field.to_string());
        body.field = Some(field.field);
        Self(body)
    }
}

impl SceneApiError {
    /// 409 listing the assets this server lacks.
    pub fn missing_assets(missing: Vec<String>) -> Self {
        let mut body = ErrorBody::new(
            Reason::MissingAssets,
            format!(
                "{} asset(s) this scene names are not held here; upload them \
                 (PUT /v1/assets/{{sha256}}) and retry",
                missing.len()
            ),
        );
        body.missing = missing;
        Self(body)
    }
}

impl From<FieldError> for SceneApiError {
    fn from(field: FieldError) -> Self {
        Self::field(Reason::BadRequest, field)
    }
}

impl From<ApiError> for SceneApiError {
    fn from(error: ApiError) -> Self {
        let reason = match &error {
            ApiError::BadRequest(_) => Reason::BadRequest,
            ApiError::NotFound(_) => Reason::NotFound,
            ApiError::MethodNotAllowed(_) => Reason::MethodNotAllowed,
            ApiError::Internal(_) => Reason::Internal,
            ApiError::Busy(_) | ApiError::Unavailable(_) => Reason::Busy,
        };
        Self::new(reason, error.message())
    }
}

impl IntoResponse for SceneApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), reason = ?self.0.reason, message = %self.0.message, "scene API request failed");
        } else {
            tracing::debug!(status = status.as_u16(), reason = ?self.0.reason, message = %self.0.message, "scene API request refused");
        }
        let mut response = (status, self.0.to_json()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.0.reason == Reason::Busy {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(limits::RENDER_RETRY_AFTER_S),
            );
        }
        response
    }
}
