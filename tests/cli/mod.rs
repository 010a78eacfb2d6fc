//! The binary's command line and start-up, run as a real process.

mod check_config; // config files read and --check-config: effective values, typos, errors
mod tools; // the tools around the roles and the client's own mistakes: man, make-cert, --check

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(super) fn run(args: &[&str]) -> std::process::Output {
    Command::new(common::binary())
        .args(args)
        .output()
        .expect("run gltf-cloud")
}

#[test]
fn version_and_help_for_every_role_and_alias() {
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("gltf-cloud "));
    for role in [
        "render-server",
        "render-client",
        "client",
        "simulation-server",
        "simulation",
        "session-server",
        "session",
    ] {
        let help = run(&[role, "--help"]);
        assert!(help.status.success(), "{role} --help");
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--log-format"), "{role}: {text}");
    }
    for (role, port) in [
        ("render-server", 8000),
        ("simulation", 2000),
        ("session", 1999),
    ] {
        let text = String::from_utf8_lossy(&run(&[role, "--help"]).stdout).into_owned();
        assert!(
            text.contains(&format!("[default: {port}]")),
            "{role}: {text}"
        );
        assert!(
            text.contains("--tls-cert") && text.contains("--config"),
            "{role}: {text}"
        );
    }
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for args in [
        &["render-server", "--no-such-flag"][..],
        &["session", "--port", "seventy"],
        &["fly"],
        &[],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") || stderr.contains("Usage:"),
            "{args:?}: {stderr}"
        );
    }
}

/// Starts a real server process from a config file with an unknown key and a flag overriding the
/// file's port, checks the warning and the bound address, then stops it with SIGTERM.
#[test]
fn config_file_flags_override_unknown_keys_warn_and_sigterm_exits_cleanly() {
    common::require_adapter!(); // the render server it starts creates a device before it listens
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("render.json");
    std::fs::write(
        &path,
        r#"{"host": "127.0.0.1", "port": 1, "webotsHome": "/opt/webots", "renderWorker": 2}"#,
    )
    .unwrap();
    let mut child = Command::new(common::binary())
        .args([
            "render-server",
            "--config",
            path.to_str().unwrap(),
            "--port",
            "0",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut addr = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.trim().to_owned());
            break;
        }
        seen.push(line);
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line in {seen:#?}"));
    assert!(
        !addr.ends_with(":1") && !addr.ends_with(":8000"),
        "--port 0 overrides the file: {addr}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("unknown config key") && l.contains("webotsHome")),
        "warning names the key: {seen:#?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("key=renderWorker")
            && l.contains("did_you_mean=\"renderWorkers\"")),
        "warning says what the key likely meant: {seen:#?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn make_cert_writes_a_usable_pair() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "make-cert",
        "--host",
        "sim.example.org",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    gltf_cloud::core::tls::server_config(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))
        .unwrap();
}

pub(super) fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(super) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_shows_aliases_examples_and_logging_only_where_it_applies() {
    let top = stdout(&run(&["--help"]));
    for alias in ["[alias: client]", "[alias: simulation]", "[alias: session]"] {
        assert!(top.contains(alias), "{alias}: {top}");
    }
    for role in ["render-server", "simulation", "session"] {
        let help = stdout(&run(&[role, "--help"]));
        assert!(help.contains("Logging:"), "{role}: {help}");
        let logging = help.split("Logging:").nth(1).unwrap_or_default();
        assert!(
            logging.contains("--log-format") && logging.contains("--log-dir"),
            "{role}: the logging flags sit under their heading: {help}"
        );
        assert!(
            help.contains("Examples:") && help.contains("--check-config"),
            "{role}: {help}"
        );
    }
    let client = stdout(&run(&["client", "--help"]));
    assert!(
        client.contains("--log-format") && !client.contains("--log-dir"),
        "{client}"
    );
    assert!(
        client.contains("--endpoint <PATH>") && !client.contains("--render-endpoint <"),
        "the old spelling is hidden: {client}"
    );
    let make_cert = stdout(&run(&["make-cert", "--help"]));
    assert!(!make_cert.contains("--log-"), "{make_cert}");
    assert!(
        make_cert.contains("--name") && make_cert.contains("Example:"),
        "{make_cert}"
    );
    for tool in ["completions", "man"] {
        assert!(
            stdout(&run(&[tool, "--help"])).contains("Examples:"),
            "{tool}"
        );
    }
}

#[test]
fn bash_completions_parse_and_zsh_fish_are_written() {
    let out = run(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("gltf-cloud.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {}", stderr(&check));
    let text = stdout(&out);
    assert!(
        text.contains("render-server") && text.contains("--check-config"),
        "{text}"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

/// The page's first macro is `.TH` (title), after clap_mangen's two-line definition of the
/// apostrophe string (`.ie \n(.g .ds Aq ...`), which only defines, so man renders it as a page.
fn starts_as_a_man_page(page: &str) -> bool {
    page.lines()
        .find(|line| !line.starts_with(".ie ") && !line.starts_with(".el "))
        .is_some_and(|line| line.starts_with(".TH gltf-cloud"))
}

#[test]
fn man_page_goes_to_stdout_or_one_file_per_subcommand() {
    let out = run(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        starts_as_a_man_page(&page),
        "{}",
        &page[..page.len().min(300)]
    );
    assert!(page.contains("render\\-server"), "subcommands listed");
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in [
        "gltf-cloud.1",
        "gltf-cloud-render-server.1",
        "gltf-cloud-session-server.1",
    ] {
        let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(starts_as_a_man_page(&page), "{name}");
    }
}

/// The client's endpoint flag, new spelling and old, seen on the wire by a socket standing in
/// for the render server.
#[test]
fn client_endpoint_flag_and_its_old_spelling_reach_the_request_line() {
    let scene = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gltf/box_sphere-color.gltf"
    );
    let out = tempfile::tempdir().unwrap();
    for flag in ["--endpoint", "--render-endpoint"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut child = Command::new(common::binary())
            .args([
                "client",
                scene,
                "--server-base-url",
                &base,
                flag,
                "custom/path",
            ])
            .args([
                "--image-type",
                "color",
                "--out",
                out.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!("{flag}: the client exited ({status}) without connecting");
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(30),
                        "{flag}: no request"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        let mut request_line = String::new();
        BufReader::new(stream).read_line(&mut request_line).unwrap();
        assert_eq!(
            request_line.trim_end(),
            "POST /custom/path HTTP/1.1",
            "{flag}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn make_cert_name_flag_writes_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "make-cert",
        "--name",
        "render.lan",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::pem::PemObject;
    let cert =
        rustls_pki_types::CertificateDer::from_pem_file(dir.path().join("cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        std::sync::Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap();
    let verify = |name: &'static str| {
        let name = rustls_pki_types::ServerName::try_from(name).unwrap();
        verifier.verify_server_cert(&cert, &[], &name, &[], rustls_pki_types::UnixTime::now())
    };
    assert!(verify("render.lan").is_ok());
    assert!(
        verify("localhost").is_err(),
        "--name replaces the default names"
    );
}

/// Reads the server's log until its `listening on` line, then stops it with SIGTERM; the lines
/// before it.
fn start_up_lines(args: &[&str]) -> Vec<String> {
    let mut child = Command::new(common::binary())
        .args(args)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let listening = line.contains("listening on http");
        seen.push(line);
        if listening {
            break;
        }
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success(), "{seen:#?}");
    seen
}

/// An original config has no `host` and the original listened everywhere: on loopback, one line
/// says so and names the key.
#[test]
fn a_loopback_listener_says_remote_clients_cannot_connect() {
    let notice = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("other machines cannot connect"))
            .count()
    };
    let local = start_up_lines(&["session", "--port", "0"]);
    assert_eq!(notice(&local), 1, "{local:#?}");
    assert!(
        local.iter().any(
            |l| l.contains("127.0.0.1 is reachable from this machine only")
                && l.contains("set \"host\": \"0.0.0.0\"")
        ),
        "{local:#?}"
    );
    let everywhere = start_up_lines(&["session", "--port", "0", "--host", "0.0.0.0"]);
    assert_eq!(notice(&everywhere), 0, "{everywhere:#?}");
}

/// The server says it listens to systemd (`Type=notify` units), on the socket `NOTIFY_SOCKET`
/// names, so a unit ordered after it starts only once it answers.
#[test]
fn systemd_is_told_when_the_server_listens() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = Command::new(common::binary())
        .args(["session", "--port", "0"])
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut message = [0u8; 64];
    let received = socket.recv(&mut message);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let length = received.expect("a datagram on NOTIFY_SOCKET");
    assert_eq!(&message[..length], b"READY=1");
}

/// The simulation server's flags for the webots: URL, the original's `debug`, and the warning a
/// TLS listener without a proxy for the simulators gets.
#[test]
fn simulation_url_flags_debug_and_the_wss_warning() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("webots-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("webots"), "").unwrap();
    let config = dir.path().join("simulation.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "webotsHome": home, "projectsDir": dir.path(),
            "debug": true, "logDir": dir.path().join("logs"),
        })
        .to_string(),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = run(&[
        "simulation",
        config,
        "--ssl",
        "--port-rewrite",
        "--check-config",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let effective: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&effective["ssl"], &effective["portRewrite"]),
        (&true.into(), &true.into())
    );
    assert_eq!(
        effective["logDir"],
        serde_json::Value::Null,
        "debug logs to the console"
    );

    let certs = dir.path().join("ssl");
    assert!(run(&["make-cert", "--out-dir", certs.to_str().unwrap()])
        .status
        .success());
    let tls = [
        "simulation",
        config,
        "--port",
        "0",
        "--tls-cert",
        certs.join("cert.pem").to_str().unwrap(),
        "--tls-key",
        certs.join("key.pem").to_str().unwrap(),
    ]
    .map(str::to_owned);
    let args: Vec<&str> = tls.iter().map(String::as_str).collect();
    let warned = |lines: &[String]| {
        lines
            .iter()
            .any(|l| l.contains("Webots serves plain ws:// on its own port"))
    };
    let direct = start_up_lines(&args);
    assert!(warned(&direct), "{direct:#?}");
    let proxied = start_up_lines(&[&args[..], &["--port-rewrite"]].concat());
    assert!(!warned(&proxied), "{proxied:#?}");
}
