//! The session server's answers (doc §2.2–2.4), byte for byte as `session_server.py` writes them.

use super::address;

/// The `/session` answer when no simulation server can take a session (with status 200).
pub const NO_SERVER_AVAILABLE: &str = "Error: no simulation server available at the moment.";

/// The close frame's reason (code 1001, going away) for availability sockets when the server
/// stops; the original dropped them without one.
pub const SHUTDOWN_CLOSE_REASON: &str = "session server shutting down";

/// Tornado's default content type, which the original's text answers (`/session`, `/load`,
/// `/monitor`) carry.
pub const CONTENT_TYPE: &str = "text/html; charset=UTF-8";

/// The CORS headers the original sets on every `/session` answer, errors included.
pub const CORS_ALLOW_ORIGIN: &str = "*";
/// See [`CORS_ALLOW_ORIGIN`].
pub const CORS_ALLOW_HEADERS: &str = "x-requested-with";
/// See [`CORS_ALLOW_ORIGIN`].
pub const CORS_ALLOW_METHODS: &str = "POST, GET, OPTIONS";

/// The `/session` answer naming the chosen simulation server: `ws(s)://<entry>`, where `entry` is
/// the config's `host:port` or `host/port`; the browser appends `/client`.
pub fn session_answer(ssl: bool, entry: &str) -> String {
    address::websocket_url(ssl, entry)
}

/// The availability WebSocket's frame: `1` when a session request would get a server, else `0`.
pub fn availability_frame(available: bool) -> &'static str {
    if available {
        "1"
    } else {
        "0"
    }
}
