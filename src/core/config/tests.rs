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
