//! What the loader reports: [`SceneError`], and the bound on client text quoted in it.

/// Why a glTF was refused. Every variant but [`SceneError::Refused`] is the client's fault (HTTP 400); `Display` is one short
/// line naming the glTF path at fault, fit for Drake's exception text.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// Not JSON, or a field of the wrong JSON type.
    #[error("invalid glTF JSON: {0}")]
    Json(String),
    /// An index past the end of the array it refers to.
    #[error("{path}: {kind} {index} out of range")]
    OutOfRange {
        path: String,
        kind: &'static str,
        index: usize,
    },
    /// A `uri` that is not a `data:` URI: the server never reads files or the network for a scene.
    #[error("{path}: external URIs are refused (only data: URIs are accepted)")]
    ExternalUri { path: String },
    /// An `extensionsRequired` entry the loader cannot honour (Draco, meshopt, KTX2, ...).
    #[error("extensionsRequired: {0} is not supported")]
    UnsupportedExtension(String),
    /// A configured limit was exceeded; names the config key that raises it.
    #[error("scene has {count} {what}; the limit is {limit} (config key {config_key})")]
    LimitExceeded {
        what: &'static str,
        count: u64,
        limit: u64,
        config_key: &'static str,
    },
    /// A node is its own ancestor.
    #[error("{path}: node {node} is its own ancestor (the node graph has a cycle)")]
    NodeCycle { path: String, node: usize },
    /// The caller's budget refused an allocation the scene needs (the server's memory for requests
    /// in flight is taken, or the request was abandoned): the one variant that is not the client's
    /// fault. The message is the caller's.
    #[error("{0}")]
    Refused(String),
    /// Any other malformed content at `path`.
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl SceneError {
    /// [`Self::LimitExceeded`] when `count` is over `limit`.
    pub(crate) fn check_limit(
        what: &'static str,
        count: u64,
        limit: u64,
        config_key: &'static str,
    ) -> Result<(), Self> {
        if count > limit {
            return Err(Self::LimitExceeded {
                what,
                count,
                limit,
                config_key,
            });
        }
        Ok(())
    }

    /// `kind` `index` at `path` points past the end of its array.
    pub(super) fn out_of_range(path: String, kind: &'static str, index: usize) -> Self {
        Self::OutOfRange { path, kind, index }
    }

    pub(crate) fn invalid(path: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}
