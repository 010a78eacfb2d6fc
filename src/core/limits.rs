//! Every limit and default duration the servers enforce, in one place.
//!
//! Each constant is the default; the doc comment names the config key that overrides it, if any.
//! Handlers contain no bare numbers: they read these values through the role's config. Sections:
//! shared by every server, then the render, simulation and session servers.

use std::time::Duration;

// ---- Every server ----

/// Concurrent TCP connections one listener serves. Config key: `maxHttpConnections`. Bounded so
/// a connection flood cannot exhaust file descriptors; a connection beyond it closes the oldest
/// idle one (no request in progress), and is refused with a 503 only when every one is busy, so
/// idle floods never lock out `/livez`.
pub const MAX_HTTP_CONNECTIONS: usize = 1024;

/// Concurrent connections from one IP address, with the same replace-the-oldest-idle rule.
/// Config key: `maxConnectionsPerIp`. The global cap by default: clients behind one NAT or
/// reverse proxy share an address, and a burst of a thousand requests from one is legitimate;
/// a server facing the internet directly lowers it so one address cannot hold every busy slot.
pub const MAX_CONNECTIONS_PER_IP: usize = MAX_HTTP_CONNECTIONS;

/// Longest a request head may take from its first byte. Config key: `headerReadTimeoutSeconds`.
/// A real head arrives in one packet; slowloris heads are cut here.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a connection may stay open with no request in progress and nothing sent (before its
/// first request, or between keep-alive requests). Config key: `idleTimeoutSeconds`.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a request body may send nothing while the server waits for it. Config key:
/// `bodyStallTimeoutSeconds`. Also the grace before [`MIN_BODY_BYTES_PER_SECOND`] applies.
pub const BODY_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Least average rate of a request body, counted over the time the server waited for it, after
/// [`BODY_STALL_TIMEOUT`]. Config key: `minBodyBytesPerSecond` (0 turns it off). 4 KiB/s sends a
/// 50 MB Drake scene in under 3.5 hours: any real link is far faster; a byte-a-minute drip is not.
pub const MIN_BODY_BYTES_PER_SECOND: u64 = 4096;

/// Longest a TLS handshake may take from the connection's start. Config key:
/// `tlsHandshakeTimeoutSeconds`. A handshake is two round trips.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a write to a client may wait for the client to read (a full socket buffer). Config
/// key: `writeTimeoutSeconds`. A client that never reads its (up to 256 MiB) answer is cut here
/// and the answer freed; a slow but reading client always makes progress well within it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Least rate, in bytes per second, at which a client must take its answer while the server
/// waits for it, after [`WRITE_RATE_GRACE`]. Config key: `minWriteBytesPerSecond` (0 turns it
/// off). An answer's memory (a render's image, up to 256 MiB, and the render budget it holds) is
/// pinned until its client has taken it: without a floor, a client that reads nothing holds it
/// for [`WRITE_TIMEOUT`] and one that reads a byte a second holds it for days. 64 KiB/s is half a
/// megabit: slower than any link a Drake client or a browser is served over.
pub const MIN_WRITE_BYTES_PER_SECOND: u64 = 64 * 1024;

/// How long, in seconds of waiting, a client may fall behind [`MIN_WRITE_BYTES_PER_SECOND`]
/// before it is cut. Config key: `writeRateGraceSeconds`. Also the most credit a client can bank
/// by reading fast earlier, so a client that stops reading is cut this long after the socket
/// buffers fill. Applies to HTTP answers only; a WebSocket keeps [`WRITE_TIMEOUT`], as its role
/// decides what it buffers.
pub const WRITE_RATE_GRACE: Duration = Duration::from_secs(5);

/// Requests one HTTP/2 connection may have open at once, advertised in its SETTINGS
/// (`SETTINGS_MAX_CONCURRENT_STREAMS`). Config key: `http2MaxConcurrentStreams`. Bounds the
/// requests, tasks and stream state one connection holds (hyper's own default is 200); a stream
/// over it is refused by the protocol. As many as a render queue holds: no client of these
/// servers needs more in parallel on one connection.
pub const HTTP2_MAX_CONCURRENT_STREAMS: u32 = 32;

/// HTTP/2 flow-control window, for each stream and for the whole connection: bytes a client may
/// send that the server has not read yet. Config key: `http2WindowBytes`. With it, what a
/// connection's stalled streams hold in the server's buffers is at most this, whatever their
/// number (hyper's default, 1 MiB, keeps a fast upload at full speed on a LAN).
pub const HTTP2_WINDOW_BYTES: u32 = 1024 * 1024;

/// Request body bytes all connections of a listener may hold together while their bodies are
/// still arriving (read by a handler, the body not yet complete). Config key: `maxUploadBytes`.
/// An upload over it gets `503 the server's memory for uploads in progress is taken` with
/// `Retry-After`. Separate from every role's own budget for complete requests, so uploads that
/// stall never keep a complete request from being served.
pub const MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The same, for the bodies arriving on one connection: bounds what one HTTP/2 connection's
/// streams can hold together. Config key: `maxUploadBytesPerConnection`. As large as one render
/// request's body ([`MAX_BODY_BYTES`]), so an HTTP/1 upload never meets it.
pub const MAX_UPLOAD_BYTES_PER_CONNECTION: u64 = MAX_BODY_BYTES as u64;

/// Most bytes of a request body the server reads and discards after answering without reading
/// it (404, 503, an early 400), so an HTTP/1 client still sending gets that answer instead of a
/// connection reset. Larger bodies are not read: the connection closes. Covers Drake scenes of
/// tens of MB.
pub const UNREAD_BODY_DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// How long in-flight requests may run after SIGINT/SIGTERM before the server exits anyway.
/// Config key: `shutdownGraceSeconds`. Long enough for a large render, short enough for systemd.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// After the grace period, how long the 503 answers of requests still in flight may take to be
/// written before every connection is dropped; with it the process exits within grace + 1 s.
pub const SHUTDOWN_ANSWER_TIME: Duration = Duration::from_millis(300);

/// After `run` returns, how long the process waits for blocking work it can no longer use (a
/// scene load, an encode, a render) before exiting anyway.
pub const EXIT_WAIT: Duration = Duration::from_millis(200);

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
/// 64 Mpx (one 8192×8192 texture) is 256 MiB of RGBA8, plus as much again while it is decoded:
/// inside [`MAX_DECODED_BYTES`] with room for the geometry.
pub const MAX_TEXTURE_PIXELS: u64 = 64 * 1024 * 1024;

/// What loading one scene may allocate, estimated before each allocation: vertex and index arrays
/// and decoded textures (4 bytes a pixel, twice while decoding). Config key: `maxDecodedBytes`.
/// The 1 GiB per request the render server documents.
pub const MAX_DECODED_BYTES: u64 = 1024 * 1024 * 1024;

/// Memory all render requests in flight may hold together: their bodies, their decoded scenes
/// (as estimated for [`MAX_DECODED_BYTES`]) and their images. Config key: `maxInFlightBytes`.
/// Beyond it requests get 503 + `Retry-After` instead of the process growing without bound.
pub const MAX_IN_FLIGHT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// What the render requests of one client address may hold together, as a fraction of
/// [`MAX_IN_FLIGHT_BYTES`], when `maxInFlightBytesPerClient` is not set. Half: the largest request
/// the default limits admit holds at most 1.5 GiB at once (a 512 MiB body with its 1 GiB decoded
/// scene, then the scene with an 8192x8192 image), so it fits, and whatever one address does,
/// other addresses keep at least half the budget. Neither the write floor (which frees an answer
/// no one reads within seconds) nor the queue bounds what a client reading at just the floor's
/// rate, or sending many large requests, can hold; this does. Clients behind one NAT or reverse
/// proxy share an address: there, set the key to `maxInFlightBytes`.
pub const IN_FLIGHT_SHARE_PER_CLIENT: f64 = 0.5;

/// Most nodes one glTF may have. Config key: `maxNodes`. Drake writes one node per geometry plus
/// the camera; a cluttered robot scene has a few thousand.
pub const MAX_NODES: usize = 65_536;

/// Most draw calls (mesh primitives placed by nodes) one scene may need. Config key:
/// `maxDrawCalls`. Each costs a few microseconds and a material on the GPU whatever its size.
pub const MAX_DRAW_CALLS: usize = 16_384;

/// Most pixels the rasterizer may cover for one image, summed over the triangles' clipped
/// screen-space areas and estimated before rendering. Config key: `maxCoveredPixels`. 2^30 is an
/// 8192×8192 image with every pixel covered 16 times; a real scene covers each pixel a few times.
/// A software adapter fills about 150 Mpx/s of blended triangles, so this is seconds, not hours.
pub const MAX_COVERED_PIXELS: u64 = 1 << 30;

/// Longest a render request may take from its body's last byte to its image (load, queue, render,
/// encode). Config key: `renderTimeoutSeconds`; answered 503. Generous: a 20 M-triangle scene
/// renders in under a minute on a software adapter.
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(120);

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

// ---- Render server: the scene API (resident scenes, docs/scene-api.md) ----

/// Scenes the render server keeps registered at once. Config key: `maxScenes`. Each holds its
/// decoded meshes and textures (CPU and GPU) until deleted or idle for [`SCENE_IDLE`]; a scene
/// beyond it is refused with 503, so a client that registers without end cannot grow the server.
pub const MAX_SCENES: usize = 64;

/// How long a scene may go unused (no frame, edit or read) before it expires and its memory is
/// released. Config key: `sceneIdleSeconds`. A client that disappears leaves nothing behind for
/// longer; one that comes back registers again (its assets are usually still held).
pub const SCENE_IDLE: Duration = Duration::from_secs(600);

/// What every resident scene may hold together, as a fraction of physical memory: the decoded
/// meshes and textures (CPU and GPU bytes, each mesh or texture shared by several scenes counted
/// once). Config key: `maxResidentBytes`. With the scene cache's [`CACHE_MEMORY_FRACTION`] it
/// leaves half the machine to requests in flight and the rest; without it, `maxScenes` scenes of
/// `maxDecodedBytes` each could ask for 64 GiB. A scene beyond it is refused with 503 (413 when
/// it alone is larger).
pub const RESIDENT_MEMORY_FRACTION: f64 = 0.25;

/// Geometries one scene may hold. Config key: `maxSceneGeometries`. A cluttered Drake scene has
/// a few thousand; each costs a draw call per image.
pub const MAX_SCENE_GEOMETRIES: usize = 10_000;

/// Bytes of assets (mesh files, textures, environment maps) the server keeps, least recently
/// used first out. Config key: `assetCacheBytes`. Uploads in progress count against it too, so
/// held and arriving asset bytes stay within twice this.
pub const ASSET_CACHE_BYTES: u64 = 1024 * 1024 * 1024;

/// Largest single asset. Config key: `maxAssetBytes`. A 100 000-triangle OBJ is about 10 MB, an
/// 8k HDR environment map about 100 MB.
pub const MAX_ASSET_BYTES: u64 = 256 * 1024 * 1024;

/// Cameras one frame request may list (each renders up to three images). Config key:
/// `maxCamerasPerFrame`.
pub const MAX_CAMERAS_PER_FRAME: usize = 16;

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
pub const SHARE_IDLE_TIME: i64 = 50;

/// How long a simulator may take to print its readiness marker. Config key:
/// `startupTimeoutSeconds`. Webots loading a large world over a slow disk takes tens of seconds.
pub const SIMULATOR_STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Between SIGTERM and SIGKILL when a simulator or `git` is stopped. Config key:
/// `stopGraceSeconds`; the original waited 5 s before `kill()`.
pub const SIMULATOR_STOP_GRACE: Duration = Duration::from_secs(5);

/// After a simulator exits, how long to keep reading output still in its pipes (a grandchild
/// holding a pipe open would otherwise keep it open forever).
pub const SIMULATOR_OUTPUT_DRAIN: Duration = Duration::from_millis(500);

/// A simulator output line longer than this, in characters, is cut in the server log (the line
/// read, up to 4 KiB, is still what readiness and heartbeat detection see).
pub const SIMULATOR_LOG_LINE_CHARS: usize = 1000;

/// Simulator output lines logged per second per simulator; the rest are counted, not logged, so
/// a simulator printing hundreds of megabytes cannot fill the server's disk with its log.
pub const SIMULATOR_LOG_LINES_PER_SECOND: u32 = 50;

/// How often the count of simulator output lines left out of the log is logged, at most (and once
/// more when the session ends).
pub const SIMULATOR_LOG_SUMMARY_PERIOD: Duration = Duration::from_secs(10);

/// Longest one `git` step (clone, sparse checkout, checkout) may take. Config key:
/// `gitTimeoutSeconds`.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(300);

/// Limit for one docker call in compose mode (`compose down`, the start-up listing of leftovers).
/// Config key: `composeDownTimeoutSeconds`. Removing a project's containers, network and volumes
/// takes a few seconds on a healthy daemon.
pub const COMPOSE_DOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Interval between machine load samples: the original's `SNAPSHOT_REFRESH`.
pub const LOAD_SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Longest a `/client` WebSocket may stay open before its `start` (or `init`) message. Config
/// key: `clientStartTimeoutSeconds`. The web client sends it as soon as the socket opens, one
/// round trip after the upgrade, so seconds cover the slowest link; a socket silent longer is not
/// a browser. It was a minute, for which 1 100 silent sockets held every simulator (issue 21).
pub const CLIENT_START_TIMEOUT: Duration = Duration::from_secs(10);

/// `/client` WebSockets that may be open at once without having sent `start` (or `init`). Config
/// key: `maxClientsAwaitingStart`. One more closes the oldest of them, so a flood of silent
/// sockets only churns itself. Such sockets never hold a simulator slot; this cap also keeps them
/// from holding the HTTP connections a browser needs to get in (an upgraded connection never
/// counts as idle under `maxHttpConnections`): with `maxConnections` and [`MAX_QUEUE_LENGTH`],
/// 456 of the 1 024 connections at most are WebSockets.
pub const MAX_CLIENTS_AWAITING_START: usize = 256;

/// Clients that may wait in line for a simulator once every slot is taken (issue 22). Config key:
/// `maxQueueLength`; 0 turns the line off, and a client finding every slot taken is refused at
/// once, as by the original. Each waiting client keeps its WebSocket open: see
/// [`MAX_CLIENTS_AWAITING_START`] for what that takes from `maxHttpConnections`.
pub const MAX_QUEUE_LENGTH: usize = 100;

/// Longest a client waits in line before it gets the original's `Too many open connections`.
/// Config key: `maxQueueWaitSeconds`. Ten minutes: longer than most visitors keep a tab open.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(600);

/// How often the client at the head of the line tries again for a port when no session released
/// one: a port free in the pool but held by another process is taken as soon as it is let go.
pub const QUEUE_RETRY_PERIOD: Duration = Duration::from_secs(1);

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

/// Longest time one e-mail or webhook notification may take, connection included. The original's
/// `smtplib.SMTP(timeout=5)`.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
