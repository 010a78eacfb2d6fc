#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn docker_key_accepts_booleans_and_compose() {
    let parse = |text: &str| serde_json::from_str::<DockerMode>(text);
    assert_eq!(parse("false").unwrap(), DockerMode::Off);
    assert_eq!(parse("true").unwrap(), DockerMode::Template);
    assert_eq!(parse("\"compose\"").unwrap(), DockerMode::Compose);
    assert!(parse("\"swarm\"").is_err());
    assert_eq!(
        serde_json::to_string(&DockerMode::Compose).unwrap(),
        "\"compose\""
    );
    assert!(DockerMode::Template.isolates() && !DockerMode::Off.isolates());
}

#[test]
fn shipped_config_has_only_known_keys() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/simulation/default.json");
    let loaded = crate::core::config::load_with_server::<Config>(Some(&path)).unwrap();
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    let (config, _) = loaded.value;
    // No "server": browsers are sent back to the host they reached, not to their own machine.
    assert_eq!(config.public_host(Some("sim:2000")), "sim");
    assert!(!config.ssl());
}

#[test]
fn original_webots_keys_are_accepted() {
    // The NEW shipped local.json plus V2019/V2021 keys.
    let text = r#"{"server":"localhost","ssl":false,"portRewrite":false,"debug":true,
        "webotsHome":"/usr/local/webots","allowedRepositories":["https://github.com/cyberbotics"],
        "keyDir":"key","multimediaServer":"m","multimediaStream":"s","fullyQualifiedDomainName":"f",
        "docker":false,"shareIdleTime":50,"notify":[],"timeout":100,"persistantDockerImages":[],
        "title":"t","description":"d","monitorLogEnabled":true,"maxConnections":100}"#;
    let own: crate::core::config::Loaded<Config> =
        crate::core::config::parse(text, std::path::Path::new("local.json")).unwrap();
    assert!(own.unknown_keys.is_empty(), "{:?}", own.unknown_keys);
    // Below 360 s the original falls back to 7200 s.
    assert_eq!(
        own.value.effective_timeout_s(),
        limits::SIMULATION_TIMEOUT_S
    );
}

#[test]
fn notify_is_a_url_or_a_list() {
    let parse = |text: &str| {
        crate::core::config::parse::<Config>(text, std::path::Path::new("s.json"))
            .unwrap()
            .value
            .notify
    };
    assert_eq!(
        parse(r#"{"notify": "https://webots.cloud/ajax/server/setup.php"}"#),
        ["https://webots.cloud/ajax/server/setup.php"]
    );
    assert_eq!(parse(r#"{"notify": ["a", "b"]}"#), ["a", "b"]);
    assert!(parse("{}").is_empty());
}

#[test]
fn public_host_falls_back_to_the_v2021_key() {
    let config = Config {
        fully_qualified_domain_name: Some("sim.example.org".into()),
        ..Config::default()
    };
    assert_eq!(config.public_host(None), "sim.example.org");
    let unset = Config::default();
    assert_eq!(
        unset.public_host(Some("sim2.example.org:2000")),
        "sim2.example.org"
    );
    assert_eq!(unset.public_host(Some("[::1]:2000")), "[::1]");
    assert_eq!(unset.public_host(Some("evil\"><x")), "localhost");
    assert_eq!(unset.public_host(None), "localhost");
    assert_eq!(Config::default().effective_timeout_s(), 7200);
}

#[test]
fn keys_named_in_messages_are_serde_keys() {
    let keys = crate::core::config::serde_keys::<Config>();
    for key in [
        config_key!(Config, multimedia_server),
        config_key!(Config, multimedia_stream),
        config_key!(Config, key_dir),
        config_key!(Config, persistant_docker_images),
        config_key!(Config, public_host as "server"),
        config_key!(Config, launch_template),
        config_key!(Config, projects_dir),
        config_key!(Config, allowed_repositories),
        config_key!(Config, client_start_timeout_seconds),
        config_key!(Config, max_clients_awaiting_start),
        config_key!(Config, max_queue_wait_seconds),
    ] {
        assert!(
            keys.iter().any(|k| k == key),
            "{key} is not a key of {keys:?}"
        );
    }
}
