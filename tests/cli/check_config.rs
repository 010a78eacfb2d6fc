//! Config files as the binary reads them, and `--check-config`: the effective values it prints,
//! the typos it refuses, and the errors of files that cannot be read.

use super::{run, stderr, stdout};
use crate::common;

use std::process::Command;

#[test]
fn a_missing_config_file_or_a_trailing_comma_reads_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let out = run(&["session", "--config", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "the cause once: {message}"
    );
    assert!(message.contains("cannot read config file"), "{message}");

    let comma = dir.path().join("comma.json");
    std::fs::write(&comma, "{\n  \"port\": 0,\n}\n").unwrap();
    let out = run(&[
        "session",
        "--config",
        comma.to_str().unwrap(),
        "--check-config",
    ]);
    let message = stderr(&out);
    assert!(
        message.contains("comma.json, line 3 column 1: trailing comma after the last entry"),
        "{message}"
    );
    assert!(!message.contains('?'), "no placeholder key: {message}");
}

#[test]
fn malformed_config_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\n  \"port\": 0,\n  \"host\" \"127.0.0.1\"\n}\n").unwrap();
    let out = run(&["session", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("line 3"),
        "{stderr}"
    );
}

#[test]
fn check_config_prints_the_effective_config_without_binding() {
    // The port is taken: a server would fail to bind, a check does not try.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");
    std::fs::write(
        &path,
        r#"{"simulationServers": ["sim:2000"], "ssl": false, "mailSenderPassword": "s3cret"}"#,
    )
    .unwrap();
    let out = run(&[
        "session",
        "--config",
        path.to_str().unwrap(),
        "--port",
        &port,
        "--ssl",
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let effective: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(effective["port"].to_string(), port, "flags over the file");
    assert_eq!(effective["ssl"], true, "--ssl alone means true");
    assert_eq!(effective["simulationServers"][0], "sim:2000");
    assert_eq!(effective["loadThreshold"], 95.0, "defaults shown");
    assert_eq!(effective["mailSenderPassword"], "<hidden>");
    assert!(!stdout(&out).contains("s3cret"));

    let out = run(&[
        "session",
        "--config",
        path.to_str().unwrap(),
        "--ssl",
        "false",
        "--check-config",
    ]);
    let effective: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(effective["ssl"], false);

    for (role, file) in [
        ("render-server", r#"{"endpoint": "metrics"}"#),
        ("simulation", r#"{"host": "example.com"}"#),
        ("session", r#"{"simulationServers": ["http://sim:2000"]}"#),
        (
            "session",
            r#"{"mailSenderPasswordEnv": "GLTF_CLOUD_CLI_TEST_UNSET"}"#,
        ),
    ] {
        std::fs::write(&path, file).unwrap();
        let out = run(&[role, "--config", path.to_str().unwrap(), "--check-config"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{role} {file}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{role} {file}");
        assert!(
            stderr(&out).contains("gltf-cloud: error: "),
            "{}",
            stderr(&out)
        );
        if file.contains("PasswordEnv") {
            assert!(
                stderr(&out).contains("GLTF_CLOUD_CLI_TEST_UNSET"),
                "{}",
                stderr(&out)
            );
        }
    }
    let out = Command::new(common::binary())
        .args([
            "session",
            "--config",
            path.to_str().unwrap(),
            "--check-config",
        ])
        .env("GLTF_CLOUD_CLI_TEST_UNSET", "from-env")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_type_error_names_the_key_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("render.json");
    std::fs::write(
        &path,
        "{\n  \"port\": 0,\n  \"renderWorkers\": \"two\"\n}\n",
    )
    .unwrap();
    let out = run(&[
        "render-server",
        "--config",
        path.to_str().unwrap(),
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("render.json")
            && message.contains("line 3")
            && message.contains("renderWorkers: invalid type: string \"two\", expected usize"),
        "{message}"
    );
    // Without --check-config the same message, as a start-up failure.
    let out = run(&["render-server", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("renderWorkers: invalid type"),
        "{}",
        stderr(&out)
    );
}

/// `--check-config` prints the look the server would draw with (the flag's file over the key) and
/// the default port as a number.
#[test]
fn check_config_prints_the_look_and_port_the_server_runs_with() {
    let dir = tempfile::tempdir().unwrap();
    let look = dir.path().join("my_look.yaml");
    std::fs::write(&look, "exposure: 0.5\nforce_to_pbr: true\n").unwrap();
    let check = |args: &[&str]| {
        let out = run(&[&["render-server"], args, &["--check-config"]].concat());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let flag_alone = check(&["--vtk-params", look.to_str().unwrap()]);
    assert_eq!(flag_alone["vtkParams"]["exposure"], 0.5);
    assert_eq!(flag_alone["vtkParams"]["force_to_pbr"], true);
    assert_eq!(flag_alone["port"], 8000);
    assert!(
        flag_alone["cacheBytes"].as_u64().unwrap() > 0,
        "the default, resolved"
    );

    let config = dir.path().join("render.json");
    std::fs::write(
        &config,
        r#"{"vtkParams": {"exposure": 2, "cast_shadows": true}}"#,
    )
    .unwrap();
    let both = check(&[
        "--config",
        config.to_str().unwrap(),
        "--vtk-params",
        look.to_str().unwrap(),
    ]);
    assert_eq!(
        both["vtkParams"]["exposure"], 0.5,
        "the flag's file replaces the key"
    );
    assert_eq!(both["vtkParams"]["cast_shadows"], false);
    let key_alone = check(&["--config", config.to_str().unwrap()]);
    assert_eq!(key_alone["vtkParams"]["exposure"], 2.0);
    assert_eq!(key_alone["vtkParams"]["lights"], serde_json::json!([]));

    let out = run(&["session", "--check-config"]);
    let session: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(session["port"], 1999);
}

/// Typos in config keys and look fields fail the check with the name they likely meant; the
/// server itself still starts on them (see the start-up test above).
#[test]
fn check_config_refuses_unknown_keys_and_look_fields_saying_what_they_meant() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("render.json");
    std::fs::write(
        &config,
        r#"{"renderWorker": 2, "maxImageDimensions": 100, "vtkParams": {"exposur": 2}}"#,
    )
    .unwrap();
    let out = run(&[
        "render-server",
        "--config",
        config.to_str().unwrap(),
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let message = stderr(&out);
    for expected in [
        "unknown config key renderWorker (did you mean renderWorkers?) in",
        "unknown config key maxImageDimensions (did you mean maxImageDimension?)",
        "unknown config key vtkParams.exposur (did you mean exposure?)",
        "--check-config refuses them",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }

    let look = dir.path().join("look.yaml");
    std::fs::write(
        &look,
        "light:\n  - type: spot\nlights:\n  - type: point\n    intensty: 2\n",
    )
    .unwrap();
    let out = run(&[
        "render-server",
        "--vtk-params",
        look.to_str().unwrap(),
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    for expected in [
        "unknown field light ignored (did you mean lights?)",
        "unknown field lights[0].intensty ignored (did you mean intensity?)",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }

    // A key nothing resembles is refused too, without a guess.
    std::fs::write(&config, r#"{"webotsHome": "/opt/webots"}"#).unwrap();
    let out = run(&[
        "render-server",
        "--config",
        config.to_str().unwrap(),
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown config key webotsHome in"),
        "{}",
        stderr(&out)
    );
}

/// The originals' habits: the config file as the only argument, and `notify` as one URL.
#[test]
fn a_positional_config_file_and_a_notify_string_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let webots = fake_webots_home(dir.path());
    let path = dir.path().join("simulation.json");
    std::fs::write(
        &path,
        serde_json::json!({
            "port": 2345,
            "notify": "https://webots.cloud/ajax/server/setup.php",
            "webotsHome": webots,
            "projectsDir": dir.path(),
        })
        .to_string(),
    )
    .unwrap();
    let out = run(&["simulation", path.to_str().unwrap(), "--check-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let effective: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(effective["port"], 2345, "the file was read");
    assert_eq!(
        effective["notify"],
        serde_json::json!(["https://webots.cloud/ajax/server/setup.php"])
    );
    let session = dir.path().join("session.json");
    std::fs::write(&session, r#"{"simulationServers": ["sim:2000"]}"#).unwrap();
    let out = run(&[
        "session-server",
        session.to_str().unwrap(),
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&[
        "session",
        session.to_str().unwrap(),
        "--config",
        session.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "one file, one way");
}

/// A directory with a `webots` executable file in it, as a Webots install has.
fn fake_webots_home(dir: &std::path::Path) -> std::path::PathBuf {
    let home = dir.join("webots-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("webots"), "#!/bin/sh\n").unwrap();
    home
}

/// The simulation server's check prints the values it runs with (the time limit it sends, the
/// port, the simulators' ports, the install) and refuses what cannot work, naming the path.
#[test]
fn simulation_check_config_shows_effective_values_and_refuses_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let webots = fake_webots_home(dir.path());
    let config = dir.path().join("simulation.json");
    let write = |value: serde_json::Value| std::fs::write(&config, value.to_string()).unwrap();
    let check = || run(&["simulation", config.to_str().unwrap(), "--check-config"]);

    write(serde_json::json!({"timeout": 100, "webotsHome": webots, "projectsDir": dir.path()}));
    let out = check();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let effective: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        effective["timeout"], 7200,
        "what the server sends as shutdownTimeout"
    );
    assert_eq!(effective["port"], 2000);
    assert_eq!(effective["firstSimulatorPort"], 2001);
    assert_eq!(effective["ssl"], false);
    assert_eq!(effective["webotsHome"], webots.to_str().unwrap());
    assert_eq!(effective["launchTemplate"][0], "{webots}");

    let missing = dir.path().join("no-webots");
    write(serde_json::json!({"webotsHome": missing, "projectsDir": dir.path().join("nope")}));
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "webotsHome {}: no webots executable",
            missing.display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "projectsDir {}/nope: not a directory",
            dir.path().display()
        )),
        "{message}"
    );

    // A log directory under a regular file cannot be made, even by root.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let logs = file.join("logs");
    write(serde_json::json!({"webotsHome": webots, "projectsDir": dir.path(), "logDir": logs}));
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "logDir {}: {} is not a directory",
            logs.display(),
            file.display()
        )),
        "{}",
        stderr(&out)
    );
    // Starting with it fails naming the path too.
    let out = run(&["simulation", config.to_str().unwrap(), "--port", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "cannot create the log directory {}",
            logs.display()
        )),
        "{}",
        stderr(&out)
    );
}
