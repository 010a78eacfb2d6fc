//! JSON config files shared by every role: loading, unknown-key warnings, the keys all servers
//! share, config keys named in messages (`config_key!`), and seconds as durations ([`seconds`]).
//!
//! The Webots servers already use JSON with camelCase keys, and real Webots config files carry keys
//! this project does not use, so at start an unknown key is a warning naming it and the key it
//! likely meant ([`super::unknown_keys`]); `--check-config` refuses it. A malformed file is a
//! failure that names the file, line and column, because the operator has to fix it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::limits;
use super::unknown_keys::{self, UnknownKey};

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all. The cause is part of the message and not a `source`,
    /// so that a chain printed whole (`{:#}`) says it once.
    #[error("cannot read config file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The file is not valid JSON, or a value has the wrong type.
    #[error("config file {path}, line {line} column {column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The values parse but contradict each other (e.g. a TLS key without a certificate).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A config value together with the keys of its file that no field took.
#[derive(Debug)]
pub struct Loaded<T> {
    pub value: T,
    /// Keys the file had but the config type does not know (`launch.extra`), each with the known
    /// key nearest to it.
    pub unknown_keys: Vec<UnknownKey>,
}

/// Reads a server role's config file once as two views: the role's own keys `T` and the shared
/// [`ServerConfig`], or both defaults when no file is given.
///
/// Each view is parsed straight from the text, so a type error keeps its line number (which
/// `#[serde(flatten)]` would lose), and a key is reported unknown only if neither view uses it.
///
/// # Errors
/// [`ConfigError::Read`] or [`ConfigError::Parse`], the latter with the line and column of the fault.
pub fn load_with_server<T>(path: Option<&Path>) -> Result<Loaded<(T, ServerConfig)>, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let Some(path) = path else {
        return Ok(Loaded {
            value: (T::default(), ServerConfig::default()),
            unknown_keys: Vec::new(),
        });
    };
    let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
        path: path.to_owned(),
        cause,
    })?;
    let own = parse::<T>(&text, path)?;
    let shared = parse::<ServerConfig>(&text, path)?;
    Ok(Loaded {
        unknown_keys: unknown_keys::in_all(&[&own.unknown_keys, &shared.unknown_keys]),
        value: (own.value, shared.value),
    })
}

/// Parses config text; `path` only names the source in errors.
///
/// # Errors
/// [`ConfigError::Parse`] with the line and column serde_json reports, and the key path of a value
/// of the wrong type.
pub fn parse<T>(text: &str, path: &Path) -> Result<Loaded<T>, ConfigError>
where
    T: DeserializeOwned + Serialize,
{
    let parse_error = |e: serde_json::Error| ConfigError::Parse {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    };
    // serde_path_to_error tracks the key path (`launch.style`, `simulationServers[1]`) for the
    // error: serde's messages name the type expected but not where.
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        // "." is the whole document, and a last segment "?" is a key not read yet (a syntax error
        // after a comma): neither names a key, so the message names the enclosing one, or none.
        let key = e.path().to_string();
        let key = key.trim_end_matches('?').trim_end_matches('.');
        let inner = e.into_inner();
        let message = syntax_hint(&strip_position(&inner.to_string()));
        ConfigError::Parse {
            path: path.to_owned(),
            line: inner.line(),
            column: inner.column(),
            message: if key.is_empty() {
                message
            } else {
                format!("{key}: {message}")
            },
        }
    })?;
    deserializer.end().map_err(parse_error)?;
    let given: serde_json::Value = serde_json::from_str(text).map_err(parse_error)?;
    let known = serde_json::to_value(&value).map_err(parse_error)?;
    let mut unknown_keys = Vec::new();
    unknown_keys::collect(&given, &known, "", &mut unknown_keys);
    Ok(Loaded {
        value,
        unknown_keys,
    })
}

/// serde_json's syntax messages with what to do about them, where JSON differs from what people
/// write by habit.
fn syntax_hint(message: &str) -> String {
    match message {
        "trailing comma" => {
            "trailing comma after the last entry (JSON allows none: remove it)".to_owned()
        }
        other => other.to_owned(),
    }
}

/// serde_json (and serde_norway) append " at line L column C" to their messages; the error already
/// carries both.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Logs one warning per unknown key, with the known key it likely meant; called once logging is up.
pub fn warn_unknown_keys(path: Option<&Path>, keys: &[UnknownKey]) {
    for key in keys {
        tracing::warn!(
            file = %path.map(|p| p.display().to_string()).unwrap_or_default(),
            key = %key.path,
            did_you_mean = key.suggestion(),
            "ignoring unknown config key (--check-config refuses it)"
        );
    }
}

/// The config key of a field of a config struct, for messages that name it: `config_key!(Config,
/// max_body_bytes)` is `"maxBodyBytes"`, a `&'static str` computed at compile time.
///
/// The key comes from the field's name by serde's `rename_all = "camelCase"` rule, which every
/// config struct uses, so renaming the field renames the key in every message, and naming a field
/// that does not exist fails to compile. A field with its own `#[serde(rename = "...")]` is named
/// as `config_key!(Config, public_host as "server")`: the field is still checked, and the unit
/// test of its struct checks that the given key is the one serde writes. A literal suffix may
/// follow, `config_key!(Options, max_triangles, ", 3 vertices per triangle")`, for messages that
/// qualify the key and need a `&'static str`.
macro_rules! config_key {
    ($config:ty, $field:ident as $key:literal) => {{
        // Names the field, so removing or renaming it is a compile error here.
        const _: fn(&$config) = |config| {
            let _ = &config.$field;
        };
        $key
    }};
    ($config:ty, $field:ident) => {
        $crate::core::config::config_key!($config, $field, "")
    };
    ($config:ty, $field:ident, $suffix:literal) => {{
        // Names the field, so removing or renaming it is a compile error here.
        const _: fn(&$config) = |config| {
            let _ = &config.$field;
        };
        const FIELD: &str = stringify!($field);
        const BYTES: [u8; $crate::core::config::camel_case_len(FIELD, $suffix)] =
            $crate::core::config::camel_case(FIELD, $suffix);
        const KEY: &str = match ::std::str::from_utf8(&BYTES) {
            Ok(key) => key,
            Err(_) => panic!("config_key!: a field name or suffix is not UTF-8"),
        };
        KEY
    }};
}
pub(crate) use config_key;

/// The length of [`camel_case`]'s result: one byte less per underscore.
#[doc(hidden)]
pub const fn camel_case_len(field: &str, suffix: &str) -> usize {
    let bytes = field.as_bytes();
    let mut length = suffix.len();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'_' {
            length += 1;
        }
        i += 1;
    }
    length
}

/// `field` in lowerCamelCase, then `suffix`, as bytes: serde's `camelCase` rule (drop each `_`,
/// capitalise the letter after it, lower-case the first letter), usable in constants.
#[doc(hidden)]
pub const fn camel_case<const N: usize>(field: &str, suffix: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let bytes = field.as_bytes();
    let (mut i, mut o, mut capitalise) = (0, 0, false);
    while i < bytes.len() {
        if bytes[i] == b'_' {
            capitalise = true;
        } else {
            out[o] = if capitalise {
                bytes[i].to_ascii_uppercase()
            } else {
                bytes[i]
            };
            capitalise = false;
            o += 1;
        }
        i += 1;
    }
    if o > 0 {
        out[0] = out[0].to_ascii_lowercase();
    }
    let suffix = suffix.as_bytes();
    let mut j = 0;
    while j < suffix.len() {
        out[o + j] = suffix[j];
        j += 1;
    }
    out
}

/// The keys serde writes for `T`'s default value, for tests that check [`config_key!`] against
/// serde, e.g. a key given with `as` for a field with its own `rename`.
///
/// # Panics
/// When `T` does not serialise as a JSON object.
#[cfg(test)]
pub fn serde_keys<T: Serialize + Default>() -> Vec<String> {
    match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        other => panic!("a config serialises as an object, not {other:?}"),
    }
}

/// A list that may also be written as its one element alone (`"a"` for `["a"]`): what the Webots
/// originals accept for `notify`, and the render server for `staticScene`. For
/// `#[serde(deserialize_with = "crate::core::config::one_or_many")]`.
///
/// # Errors
/// A value that is neither an element nor a list of them.
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "one value or a list of them")]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(value) => vec![value],
        OneOrMany::Many(values) => values,
    })
}

/// A config value in seconds as a [`Duration`], or `None` when it is negative, not finite or too
/// large; the caller puts its default in place of a `None`.
pub fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value).ok()
}

/// Keys every server role shares: where to listen, TLS, logs, and connection handling.
///
/// They sit at the top level of every role's JSON file, as in Webots' configs
/// (`"port": 2000, "sslCertificate": "..."`); each role's config holds a copy read from the same file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerConfig {
    /// Address to bind.
    pub host: String,
    /// Port to bind; `None` means the role's own default (render 8000, session 1999, simulation 2000).
    pub port: Option<u16>,
    /// PEM certificate chain; with `ssl_key` it turns the listener into HTTPS + WSS.
    pub ssl_certificate: Option<PathBuf>,
    /// PEM private key matching `ssl_certificate`.
    pub ssl_key: Option<PathBuf>,
    /// Directory for `<logDir>/<role>/output.log`; `None` logs to standard error.
    pub log_dir: Option<PathBuf>,
    /// See [`limits::MAX_HTTP_CONNECTIONS`].
    pub max_http_connections: usize,
    /// See [`limits::MAX_CONNECTIONS_PER_IP`].
    pub max_connections_per_ip: usize,
    /// See [`limits::HEADER_READ_TIMEOUT`].
    pub header_read_timeout_seconds: f64,
    /// See [`limits::IDLE_TIMEOUT`].
    pub idle_timeout_seconds: f64,
    /// See [`limits::BODY_STALL_TIMEOUT`].
    pub body_stall_timeout_seconds: f64,
    /// See [`limits::MIN_BODY_BYTES_PER_SECOND`].
    pub min_body_bytes_per_second: u64,
    /// See [`limits::TLS_HANDSHAKE_TIMEOUT`].
    pub tls_handshake_timeout_seconds: f64,
    /// See [`limits::WRITE_TIMEOUT`].
    pub write_timeout_seconds: f64,
    /// See [`limits::MIN_WRITE_BYTES_PER_SECOND`].
    pub min_write_bytes_per_second: u64,
    /// See [`limits::WRITE_RATE_GRACE`].
    pub write_rate_grace_seconds: f64,
    /// See [`limits::HTTP2_MAX_CONCURRENT_STREAMS`] and [`limits::HTTP2_WINDOW_BYTES`].
    pub http2_max_concurrent_streams: u32,
    pub http2_window_bytes: u32,
    /// See [`limits::MAX_UPLOAD_BYTES`] and [`limits::MAX_UPLOAD_BYTES_PER_CONNECTION`].
    pub max_upload_bytes: u64,
    pub max_upload_bytes_per_connection: u64,
    /// See [`limits::SHUTDOWN_GRACE`].
    pub shutdown_grace_seconds: f64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: None,
            ssl_certificate: None,
            ssl_key: None,
            log_dir: None,
            max_http_connections: limits::MAX_HTTP_CONNECTIONS,
            max_connections_per_ip: limits::MAX_CONNECTIONS_PER_IP,
            header_read_timeout_seconds: limits::HEADER_READ_TIMEOUT.as_secs_f64(),
            idle_timeout_seconds: limits::IDLE_TIMEOUT.as_secs_f64(),
            body_stall_timeout_seconds: limits::BODY_STALL_TIMEOUT.as_secs_f64(),
            min_body_bytes_per_second: limits::MIN_BODY_BYTES_PER_SECOND,
            tls_handshake_timeout_seconds: limits::TLS_HANDSHAKE_TIMEOUT.as_secs_f64(),
            write_timeout_seconds: limits::WRITE_TIMEOUT.as_secs_f64(),
            min_write_bytes_per_second: limits::MIN_WRITE_BYTES_PER_SECOND,
            write_rate_grace_seconds: limits::WRITE_RATE_GRACE.as_secs_f64(),
            http2_max_concurrent_streams: limits::HTTP2_MAX_CONCURRENT_STREAMS,
            http2_window_bytes: limits::HTTP2_WINDOW_BYTES,
            max_upload_bytes: limits::MAX_UPLOAD_BYTES,
            max_upload_bytes_per_connection: limits::MAX_UPLOAD_BYTES_PER_CONNECTION,
            shutdown_grace_seconds: limits::SHUTDOWN_GRACE.as_secs_f64(),
        }
    }
}

impl ServerConfig {
    /// The address to bind, with `default_port` standing in for an unset port.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `host` is neither an IP address nor `localhost`.
    pub fn bind_addr(&self, default_port: u16) -> Result<SocketAddr, ConfigError> {
        let port = self.port.unwrap_or(default_port);
        let host = if self.host == "localhost" {
            "127.0.0.1"
        } else {
            self.host.as_str()
        };
        let ip = host
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| {
                ConfigError::Invalid(format!(
                    "{} {:?} is not an IP address (use e.g. 127.0.0.1, 0.0.0.0 or ::)",
                    config_key!(ServerConfig, host),
                    self.host
                ))
            })?;
        Ok(SocketAddr::new(ip, port))
    }

    /// The certificate and key paths when TLS is configured.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when only one of the two is set.
    pub fn tls_paths(&self) -> Result<Option<(&Path, &Path)>, ConfigError> {
        match (&self.ssl_certificate, &self.ssl_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::Invalid(format!(
                "{} and {} must be given together",
                config_key!(ServerConfig, ssl_certificate),
                config_key!(ServerConfig, ssl_key)
            ))),
        }
    }

    /// See [`limits::SHUTDOWN_GRACE`]; negative or non-finite values fall back to the default.
    pub fn shutdown_grace(&self) -> Duration {
        seconds(self.shutdown_grace_seconds).unwrap_or(limits::SHUTDOWN_GRACE)
    }

    /// See [`limits::HEADER_READ_TIMEOUT`]; unusable values fall back to the default.
    pub fn header_read_timeout(&self) -> Duration {
        seconds(self.header_read_timeout_seconds).unwrap_or(limits::HEADER_READ_TIMEOUT)
    }

    /// See [`limits::IDLE_TIMEOUT`]; unusable values fall back to the default.
    pub fn idle_timeout(&self) -> Duration {
        seconds(self.idle_timeout_seconds).unwrap_or(limits::IDLE_TIMEOUT)
    }

    /// See [`limits::BODY_STALL_TIMEOUT`]; unusable values fall back to the default.
    pub fn body_stall_timeout(&self) -> Duration {
        seconds(self.body_stall_timeout_seconds).unwrap_or(limits::BODY_STALL_TIMEOUT)
    }

    /// See [`limits::TLS_HANDSHAKE_TIMEOUT`]; unusable values fall back to the default.
    pub fn tls_handshake_timeout(&self) -> Duration {
        seconds(self.tls_handshake_timeout_seconds).unwrap_or(limits::TLS_HANDSHAKE_TIMEOUT)
    }

    /// See [`limits::WRITE_TIMEOUT`]; unusable values fall back to the default.
    pub fn write_timeout(&self) -> Duration {
        seconds(self.write_timeout_seconds).unwrap_or(limits::WRITE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct RoleConfig {
        simulation_servers: Vec<String>,
        launch: Launch,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct Launch {
        style: String,
    }

    #[test]
    fn values_load_and_unknown_keys_are_named() {
        let text = r#"{"port": 1999, "simulationServers": ["localhost:2000"], "mailServer": "smtp", "sslKey": null,
                       "launch": {"style": "new", "extra": 1}}"#;
        let role: Loaded<RoleConfig> = parse(text, Path::new("session.json")).unwrap();
        let server: Loaded<ServerConfig> = parse(text, Path::new("session.json")).unwrap();
        assert_eq!(server.value.port, Some(1999));
        assert_eq!(server.value.host, "127.0.0.1");
        assert_eq!(role.value.simulation_servers, vec!["localhost:2000"]);
        assert_eq!(role.value.launch.style, "new");
        let unknown = unknown_keys::in_all(&[&role.unknown_keys, &server.unknown_keys]);
        assert_eq!(unknown, ["launch.extra", "mailServer"]);
    }

    #[test]
    fn malformed_file_names_file_and_line() {
        let text = "{\n  \"port\": 1999,\n  \"host\": \n}";
        let err = parse::<RoleConfig>(text, Path::new("config/bad.json")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("config/bad.json"), "{message}");
        assert!(message.contains("line 4"), "{message}");
    }

    #[test]
    fn a_trailing_comma_is_named_without_a_placeholder_key() {
        let err = parse::<RoleConfig>("{\n\"launch\": {},\n}", Path::new("x.json")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config file x.json, line 3 column 1: trailing comma after the last entry (JSON \
             allows none: remove it)"
        );
        let nested = "{\"simulationServers\": [\"a:1\",]}";
        let err = parse::<RoleConfig>(nested, Path::new("x.json")).unwrap_err();
        assert!(
            err.to_string()
                .contains(": simulationServers: trailing comma"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_line() {
        let text = "{\n\"port\": \"eighty\"\n}";
        let err = parse::<ServerConfig>(text, Path::new("x.json")).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { line: 2, .. }), "{err}");
        assert!(
            err.to_string()
                .contains("port: invalid type: string \"eighty\""),
            "{err}"
        );
        let nested = "{\"launch\": {\n\"style\": 3}}";
        let err = parse::<RoleConfig>(nested, Path::new("x.json")).unwrap_err();
        assert!(
            err.to_string().contains("launch.style: invalid type"),
            "{err}"
        );
    }

    /// Field names with the shapes serde's rule has to get right: several words, digits, one
    /// letter, a leading underscore.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct Shapes {
        port: u16,
        max_http_connections: usize,
        gpu_2x_memory: u8,
        a_b_c: u8,
        _private: u8,
        load_poll_period_seconds: f64,
        #[serde(rename = "server")]
        public_host: String,
    }

    #[test]
    fn config_keys_agree_with_serde() {
        let mut keys = vec![
            config_key!(Shapes, port),
            config_key!(Shapes, max_http_connections),
            config_key!(Shapes, gpu_2x_memory),
            config_key!(Shapes, a_b_c),
            config_key!(Shapes, _private),
            config_key!(Shapes, load_poll_period_seconds),
            config_key!(Shapes, public_host as "server"),
        ];
        let mut serde = serde_keys::<Shapes>();
        keys.sort_unstable();
        serde.sort_unstable();
        assert_eq!(keys, serde);
        let mut shared = vec![
            config_key!(ServerConfig, host),
            config_key!(ServerConfig, port),
            config_key!(ServerConfig, ssl_certificate),
            config_key!(ServerConfig, ssl_key),
            config_key!(ServerConfig, log_dir),
            config_key!(ServerConfig, max_http_connections),
            config_key!(ServerConfig, max_connections_per_ip),
            config_key!(ServerConfig, header_read_timeout_seconds),
            config_key!(ServerConfig, idle_timeout_seconds),
            config_key!(ServerConfig, body_stall_timeout_seconds),
            config_key!(ServerConfig, min_body_bytes_per_second),
            config_key!(ServerConfig, tls_handshake_timeout_seconds),
            config_key!(ServerConfig, write_timeout_seconds),
            config_key!(ServerConfig, shutdown_grace_seconds),
            config_key!(ServerConfig, min_write_bytes_per_second),
            config_key!(ServerConfig, write_rate_grace_seconds),
            config_key!(ServerConfig, http2_max_concurrent_streams),
            config_key!(ServerConfig, http2_window_bytes),
            config_key!(ServerConfig, max_upload_bytes),
            config_key!(ServerConfig, max_upload_bytes_per_connection),
        ];
        let mut serde = serde_keys::<ServerConfig>();
        shared.sort_unstable();
        serde.sort_unstable();
        assert_eq!(shared, serde);
        assert_eq!(
            config_key!(Shapes, max_http_connections, ", per listener"),
            "maxHttpConnections, per listener"
        );
    }

    #[test]
    fn seconds_refuse_what_no_duration_is() {
        assert_eq!(seconds(1.5), Some(Duration::from_millis(1500)));
        assert_eq!(seconds(0.0), Some(Duration::ZERO));
        assert_eq!(seconds(-1.0), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(f64::INFINITY), None);
    }

    #[test]
    fn tls_needs_both_paths() {
        let config = ServerConfig {
            ssl_key: Some("k.pem".into()),
            ..ServerConfig::default()
        };
        let err = config.tls_paths().unwrap_err().to_string();
        assert!(err.contains("sslCertificate and sslKey"), "{err}");
    }

    #[test]
    fn bind_addr_uses_role_default_port() {
        let config = ServerConfig::default();
        assert_eq!(
            config.bind_addr(8000).unwrap(),
            "127.0.0.1:8000".parse().unwrap()
        );
        let v6 = ServerConfig {
            host: "::1".into(),
            port: Some(0),
            ..ServerConfig::default()
        };
        assert_eq!(v6.bind_addr(8000).unwrap(), "[::1]:0".parse().unwrap());
        let bad = ServerConfig {
            host: "example.com".into(),
            ..ServerConfig::default()
        };
        assert!(bad.bind_addr(1).is_err());
    }
}
