//! Every limit and default duration the servers enforce, in one place.
//!
//! Each constant is the default; the doc comment names the config key that overrides it. Handlers
//! contain no bare numbers: they read these values through the role's config.

use std::time::Duration;

/// Concurrent TCP connections one listener serves before `accept` waits for a free slot.
/// Config key: `maxHttpConnections`. Bounded so a connection flood cannot exhaust file descriptors.
pub const MAX_HTTP_CONNECTIONS: usize = 1024;

/// How long in-flight requests may run after SIGINT/SIGTERM before the server exits anyway.
/// Config key: `shutdownGraceSeconds`. Long enough for a large render, short enough for systemd.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Largest log file before it is rotated, and how many rotated files are kept; the Webots servers
/// use Python's `RotatingFileHandler(maxBytes=500000, backupCount=10)`, and operators expect the same.
pub const LOG_FILE_MAX_BYTES: u64 = 500_000;
/// See [`LOG_FILE_MAX_BYTES`].
pub const LOG_FILE_BACKUPS: usize = 10;

/// Largest response body the servers read from their peers (a simulation server's load figure,
/// a webhook's or directory's reply): those are a few bytes, and a peer must not make us buffer more.
pub const MAX_PEER_RESPONSE_BYTES: usize = 4096;

/// Largest request body the render server reads. Drake inlines every buffer and texture as base64
/// in the glTF JSON, so robot scenes of tens of MB are normal. Config key: `maxBodyBytes`.
pub const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// Largest image width or height, in pixels. Config key: `maxImageDimension`. 8192 covers every
/// real camera and stays inside what software and hardware adapters allow for render targets.
pub const MAX_IMAGE_DIMENSION: u32 = 8192;

/// Most triangles one scene may hold. Config key: `maxTriangles`. About 1 GiB of vertex data.
pub const MAX_TRIANGLES: usize = 20_000_000;

/// Most textures one scene may hold. Config key: `maxTextures`.
pub const MAX_TEXTURES: usize = 1024;

/// Most decoded texture pixels, summed over a scene's textures. Config key: `maxTexturePixels`.
/// 256 Mpx is 1 GiB of RGBA8: the ceiling on what one request may make the server allocate.
pub const MAX_TEXTURE_PIXELS: u64 = 256 * 1024 * 1024;

/// Render requests that may wait for a render worker before new ones get 503 + `Retry-After`.
/// Config key: `renderQueueDepth`.
pub const RENDER_QUEUE_DEPTH: usize = 32;

/// Render worker threads sharing the one GPU device. Config key: `renderWorkers`. One is right for
/// a software adapter on two cores (lavapipe already rasterises on all cores).
pub const RENDER_WORKERS: usize = 1;
