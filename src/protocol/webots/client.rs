//! The simulation server's `/client` WebSocket: parsing the text frames the Webots web client
//! sends, and the exact frames the server sends back (doc §3.2, §3.6, §3.13).

use serde_json::Value;

use super::address;

/// A start request's streaming mode. Other values are logged and the default is used, as in the
/// original, which only warned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// The web scene, streamed as a scene description plus updates: `x3d` in Webots up to R2024b,
    /// renamed `w3d` in R2025a (the web client's `WebotsView.js`: "mode : w3d or mjpeg"). Either
    /// name is accepted from any client; the simulator is given its own release's name.
    Scene,
    /// Rendered images, `mjpeg` in every release.
    Mjpeg,
}

impl StreamMode {
    pub fn parse(mode: &str) -> Option<Self> {
        match mode {
            "x3d" | "w3d" => Some(StreamMode::Scene),
            "mjpeg" => Some(StreamMode::Mjpeg),
            _ => None,
        }
    }
}

/// One inbound frame, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// `{"start":{"url":…,"mode":…}}` (R2020 and later).
    Start { url: String, mode: Option<String> },
    /// `{"init":[host, project, world, user1Id, …]}` (R2019 robotbenchmark clients).
    Init(InitRequest),
    /// `{"reset controller":"<controller>/<file>"}`.
    ResetController(String),
    /// A JSON object with none of the keys above; the original ignores these silently.
    Other,
}

/// The fields of an `init` array that matter here; the user and authentication fields were only
/// forwarded to robotbenchmark's `download-project.php`, which this server does not call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRequest {
    pub host: String,
    pub project: String,
    pub world: String,
    pub user1_id: String,
}

/// Why a frame is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message is not a JSON object")]
    NotObject,
    #[error("\"start\" must be an object with a string \"url\" and an optional string \"mode\"")]
    BadStart,
    #[error("\"init\" must be an array of strings: host, project, world, then user fields")]
    BadInit,
    #[error("\"reset controller\" must be a string")]
    BadReset,
    #[error("binary frames are not part of the protocol")]
    Binary,
}

/// Parses one text frame. Keys are looked at in the original's order: `init`, `start`, then
/// `reset controller`; the first present decides.
///
/// # Errors
/// [`ProtocolError`] for anything that is not one of the messages above with the right types.
pub fn parse(text: &str) -> Result<ClientMessage, ProtocolError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ProtocolError::NotObject);
    };
    if let Some(init) = object.get("init") {
        let fields = init.as_array().ok_or(ProtocolError::BadInit)?;
        let strings: Vec<&str> = fields
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or(ProtocolError::BadInit)?;
        let [host, project, world, rest @ ..] = strings.as_slice() else {
            return Err(ProtocolError::BadInit);
        };
        return Ok(ClientMessage::Init(InitRequest {
            host: (*host).to_owned(),
            project: (*project).to_owned(),
            world: (*world).to_owned(),
            user1_id: rest.first().map_or_else(String::new, |s| (*s).to_owned()),
        }));
    }
    if let Some(start) = object.get("start") {
        let url = start
            .get("url")
            .and_then(Value::as_str)
            .ok_or(ProtocolError::BadStart)?;
        let mode = match start.get("mode") {
            None | Some(Value::Null) => None,
            Some(Value::String(mode)) => Some(mode.clone()),
            Some(_) => return Err(ProtocolError::BadStart),
        };
        return Ok(ClientMessage::Start {
            url: url.to_owned(),
            mode,
        });
    }
    if let Some(reset) = object.get("reset controller") {
        let path = reset.as_str().ok_or(ProtocolError::BadReset)?;
        return Ok(ClientMessage::ResetController(path.to_owned()));
    }
    Ok(ClientMessage::Other)
}

/// The heartbeat line Webots prints and the server relays, as is, once the simulator is ready.
pub const HEARTBEAT: &str = ".";

/// The reason sent when every simulator port is taken: the original only logged these words, and
/// sending them in an error frame is a compatible extension (doc §7).
pub const TOO_MANY_CONNECTIONS: &str = "Too many open connections";

/// Told to every connected client, in an error frame, when the server stops (SIGTERM, SIGINT):
/// the original had no word for it and left its clients' sockets to drop (doc §3.8); the web
/// client shows this text where its simulation was.
pub const SHUTTING_DOWN: &str =
    "the simulation server is shutting down; start the simulation again in a moment";

/// The close frame's reason after [`SHUTTING_DOWN`], with code 1001 (going away), for clients
/// that read the close rather than the text.
pub const SHUTDOWN_CLOSE_REASON: &str = "simulation server shutting down";

/// `loading: Error: <reason>`, the error frame the NEW web client shows to the user.
pub fn error_frame(reason: &str) -> String {
    format!("loading: Error: {reason}")
}

/// The frame announcing where the simulator streams: exactly
/// `webots:ws(s)://<host>(:|/)<port>` (no trailing slash; doc §3.6).
pub fn webots_frame(ssl: bool, port_rewrite: bool, host: &str, port: u16) -> String {
    let address = address::host_port(host, port, port_rewrite);
    format!("webots:{}", address::websocket_url(ssl, &address))
}

/// Sent right after the simulator starts: the seconds it may run, so the client can warn before.
pub fn shutdown_timeout_frame(seconds: u64) -> String {
    format!("shutdownTimeout: {seconds}")
}

/// Sent to a client waiting in line for a simulator whenever its place changes: `N` is its place,
/// 1 for the next to start. The web client logs it as "The server is saturated. Queue to wait: N
/// client(s)."; the originals never sent it.
pub fn queue_frame(position: usize) -> String {
    format!("queue: {position}")
}

/// The answer to `reset controller`, once the file is back to its original.
pub fn reset_controller_frame(path: &str) -> String {
    format!("reset controller: {path}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_names_of_the_scene_format_are_one_mode() {
        assert_eq!(StreamMode::parse("x3d"), Some(StreamMode::Scene));
        assert_eq!(StreamMode::parse("w3d"), Some(StreamMode::Scene));
        assert_eq!(StreamMode::parse("mjpeg"), Some(StreamMode::Mjpeg));
        for other in ["", "X3D", "w3d;broadcast", "video"] {
            assert_eq!(StreamMode::parse(other), None, "{other}");
        }
    }

    #[test]
    fn start_with_and_without_mode() {
        assert_eq!(
            parse(r#"{"start":{"url":"https://github.com/a/b/blob/v1/worlds/w.wbt"}}"#).unwrap(),
            ClientMessage::Start {
                url: "https://github.com/a/b/blob/v1/worlds/w.wbt".into(),
                mode: None
            }
        );
        assert_eq!(
            parse(r#"{"start":{"url":"u","mode":"mjpeg"}}"#).unwrap(),
            ClientMessage::Start {
                url: "u".into(),
                mode: Some("mjpeg".into())
            }
        );
    }

    #[test]
    fn init_reset_and_other_keys() {
        let init = parse(r#"{"init":["http://h","robot","w.wbt","","","","","",""]}"#).unwrap();
        assert_eq!(
            init,
            ClientMessage::Init(InitRequest {
                host: "http://h".into(),
                project: "robot".into(),
                world: "w.wbt".into(),
                user1_id: String::new(),
            })
        );
        assert_eq!(
            parse(r#"{"reset controller":"c/c.py"}"#).unwrap(),
            ClientMessage::ResetController("c/c.py".into())
        );
        assert_eq!(parse(r#"{"hello":1}"#).unwrap(), ClientMessage::Other);
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(matches!(parse("not json"), Err(ProtocolError::NotJson(_))));
        assert_eq!(parse("[1]"), Err(ProtocolError::NotObject));
        assert_eq!(
            parse(r#"{"start":{"url":3}}"#),
            Err(ProtocolError::BadStart)
        );
        assert_eq!(parse(r#"{"start":"x"}"#), Err(ProtocolError::BadStart));
        assert_eq!(parse(r#"{"init":["a","b"]}"#), Err(ProtocolError::BadInit));
        assert_eq!(
            parse(r#"{"init":["a","b",3]}"#),
            Err(ProtocolError::BadInit)
        );
        assert_eq!(
            parse(r#"{"reset controller":[]}"#),
            Err(ProtocolError::BadReset)
        );
    }

    #[test]
    fn webots_frame_follows_ssl_and_port_rewrite() {
        assert_eq!(
            webots_frame(false, false, "localhost", 2001),
            "webots:ws://localhost:2001"
        );
        assert_eq!(
            webots_frame(true, true, "cyberbotics1.epfl.ch", 2001),
            "webots:wss://cyberbotics1.epfl.ch/2001"
        );
    }

    #[test]
    fn other_outbound_frames_are_the_originals() {
        assert_eq!(shutdown_timeout_frame(7200), "shutdownTimeout: 7200");
        assert_eq!(reset_controller_frame("c/c.py"), "reset controller: c/c.py");
        assert_eq!(
            error_frame(TOO_MANY_CONNECTIONS),
            "loading: Error: Too many open connections"
        );
    }
}
