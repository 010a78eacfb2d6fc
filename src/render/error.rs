//! Why a render failed, and whose fault that is.

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no graphics adapter found: {0}")]
    NoAdapter(String),
    #[error("only a software adapter is available ({0}) and a GPU is required")]
    SoftwareAdapterRefused(String),
    /// An image or texture side beyond the adapter's limit; also a zero side, which no adapter
    /// renders either.
    #[error(
        "{width}x{height} pixels is outside what the adapter renders or samples (1..={max} per side)"
    )]
    TooLarge { width: u32, height: u32, max: u32 },
    /// A packed vertex, index or material buffer would exceed the adapter's largest buffer.
    #[error("the scene needs a {bytes}-byte GPU buffer; the adapter allows {max}")]
    SceneTooLarge { bytes: u64, max: u64 },
    /// A wgpu validation or out-of-memory error, a lost device, or a scene that breaks its own
    /// invariants: the server's fault.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// `RenderEngineVtkParams` that cannot be rendered (too many lights, a light without a
    /// direction, an unreadable environment map): found at start.
    #[error("invalid look: {0}")]
    Look(String),
}

impl RenderError {
    /// Whether the request, not the server, is at fault (a 4xx rather than a 5xx).
    pub fn is_client_fault(&self) -> bool {
        matches!(self, Self::TooLarge { .. } | Self::SceneTooLarge { .. })
    }
}
