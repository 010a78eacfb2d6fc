//! Every limit and default duration the servers enforce, in one place.
//!
//! Each constant is the default; the doc comment names the config key that overrides it, if any.
//! Handlers contain no bare numbers: they read these values through the role's config. Sections:
//! shared by every server, then the render, simulation and session servers.

use std::time::Duration;

// ---- Every server ----

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

/// Longest piece of outside text (a client's field, a peer's answer, a simulator's output line)
/// quoted in a message, in characters: one short line even when the value is megabytes of base64.
pub const MAX_QUOTED_CHARS: usize = 120;

// ---- Render server ----

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

/// Seconds a render client is told to wait (`Retry-After`) when the queue is full or the server is
/// stopping: about one software render of a large scene.
pub const RENDER_RETRY_AFTER_S: u32 = 1;

/// Render worker threads sharing the one GPU device. Config key: `renderWorkers`. One is right for
/// a software adapter on two cores (lavapipe already rasterises on all cores).
pub const RENDER_WORKERS: usize = 1;

/// The scene cache's default size (config key `cacheBytes`), as a fraction of physical memory:
/// a quarter leaves room for the requests in flight (each up to `maxBodyBytes` and a few times
/// that while loading) and for the rest of the machine.
pub const CACHE_MEMORY_FRACTION: f64 = 0.25;

/// The scene cache's size where physical memory cannot be read.
pub const CACHE_BYTES_FALLBACK: u64 = 1024 * 1024 * 1024;

// ---- Simulation server ----

/// Simulators one simulation server runs at once, on ports `port+1 … port+N`. Config key:
/// `maxConnections`; the original's default.
pub const MAX_SIMULATORS: u16 = 100;

/// Longest a simulation may run, in seconds. Config key: `timeout`; the original's default.
pub const SIMULATION_TIMEOUT_S: u64 = 7200;

/// Simulation time limits below this many seconds are replaced by [`SIMULATION_TIMEOUT_S`], as in
/// the original, which warns the client 300 s before the end and so needs a margin above that.
pub const MIN_SIMULATION_TIMEOUT_S: u64 = 360;

/// Load (percent) up to which simulations from repositories outside `allowedRepositories` may run
/// on an isolated server. Config key: `shareIdleTime`; the original's default.
pub const SHARE_IDLE_TIME: f64 = 50.0;

/// How long a simulator may take to print its readiness marker. Config key:
/// `startupTimeoutSeconds`. Webots loading a large world over a slow disk takes tens of seconds.
pub const SIMULATOR_STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Between SIGTERM and SIGKILL when a simulator or `git` is stopped. Config key:
/// `stopGraceSeconds`; the original waited 5 s before `kill()`.
pub const SIMULATOR_STOP_GRACE: Duration = Duration::from_secs(5);

/// After a simulator exits, how long to keep reading output still in its pipes (a grandchild
/// holding a pipe open would otherwise keep it open forever).
pub const SIMULATOR_OUTPUT_DRAIN: Duration = Duration::from_millis(500);

/// Longest one `git` step (clone, sparse checkout, checkout) may take. Config key:
/// `gitTimeoutSeconds`.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(300);

/// Limit for one docker call in compose mode (`compose down`, the start-up listing of leftovers).
/// Config key: `composeDownTimeoutSeconds`. Removing a project's containers, network and volumes
/// takes a few seconds on a healthy daemon.
pub const COMPOSE_DOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Interval between machine load samples: the original's `SNAPSHOT_REFRESH`.
pub const LOAD_SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Largest `/client` WebSocket frame read; every real message is a few hundred bytes.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// Tries per `notify` URL when announcing the server: the original's 6.
pub const ANNOUNCE_TRIES: u32 = 6;

/// Pause between two announcement tries: the original's 5 s.
pub const ANNOUNCE_RETRY_PAUSE: Duration = Duration::from_secs(5);

/// Longest one announcement try (connect, TLS, request, response) may take.
pub const ANNOUNCE_TRY_TIMEOUT: Duration = Duration::from_secs(10);

// ---- Session server ----

/// Load at or above which a simulation server gets no new session. Config key: `loadThreshold`.
/// The current original uses 95 (webots-server#17); the R2019–R2022 generation used 99.
pub const LOAD_THRESHOLD: f64 = 95.0;

/// Time between the starts of two load polls. Config key: `loadPollPeriodSeconds`. The original's
/// `LOAD_REFRESH`.
pub const LOAD_POLL_PERIOD: Duration = Duration::from_secs(5);

/// Longest wait for one simulation server's `/load`. Config key: `loadPollTimeoutSeconds`. The
/// original's `urlopen(timeout=5)`.
pub const LOAD_POLL_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest SMTP reply line read from a mail server (RFC 5321 allows 512 octets); longer is a
/// protocol error.
pub const MAX_SMTP_REPLY_LINE_BYTES: usize = 1024;

/// Most lines one multi-line SMTP reply may have (EHLO lists a dozen extensions at most).
pub const MAX_SMTP_REPLY_LINES: usize = 100;

/// Longest time one e-mail or webhook notification may take, connection included. The original's
/// `smtplib.SMTP(timeout=5)`.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
