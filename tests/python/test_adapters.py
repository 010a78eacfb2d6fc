"""GPU selection of the render server, run as a process: `--list-adapters`, `--adapter NAME|INDEX`
(and `WGPU_ADAPTER_NAME`, its default), an unknown adapter failing the start with the list, and a
normal headless start that logs no ERROR line (GL, whose EGL probe logs one on a headless host, is
tried only when Vulkan has no adapter)."""

import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("GLTF_CLOUD_BIN", REPO / "target" / "debug" / "gltf-cloud"))
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
ENV = {**os.environ, "RUST_LOG": "info", "NODEVICE_SELECT": "1"}
ENV.pop("WGPU_ADAPTER_NAME", None)

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built")


def adapters() -> list[list[str]]:
    listed = subprocess.run(
        [str(BINARY), "render-server", "--list-adapters"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=True,
    )
    return [line.split("\t") for line in listed.stdout.splitlines()]


def start(*args: str, env=None) -> tuple[list[str], str]:
    """Starts a render server, fetches its adapter from /status.json, stops it; its whole log."""
    process = subprocess.Popen(
        [str(BINARY), "render-server", "--port", "0", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=env or ENV,
    )
    log, name = [], None
    try:
        for line in process.stderr:
            log.append(line)
            match = LISTENING.search(line)
            if match:
                with urllib.request.urlopen(match.group(1) + "/status.json", timeout=10) as answer:
                    name = __import__("json").load(answer)["adapter"]["name"]
                break
        process.send_signal(signal.SIGTERM)
        log.extend(process.stderr)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return log, name


def test_list_adapters_prints_index_name_backend_type_driver():
    listed = adapters()
    assert listed, "no adapter listed"
    for index, row in enumerate(listed):
        assert row[0] == str(index) and len(row) == 5, row
    # This machine (and CI) has Mesa's lavapipe, a Vulkan CPU adapter named llvmpipe.
    assert any("llvmpipe" in row[1] and row[2] == "Vulkan" for row in listed), listed


@pytest.mark.parametrize("choice", ("0", "llvmpipe", "LLVMpipe"))
def test_adapter_by_index_or_name(choice):
    log, name = start("--adapter", choice)
    assert name == adapters()[0][1] if choice == "0" else "llvmpipe" in name, "".join(log)
    selected = [line for line in log if "graphics adapter selected" in line]
    assert len(selected) == 1 and f"--adapter (config key adapter) = {choice}" in selected[0]


def test_wgpu_adapter_name_is_the_default_of_adapter():
    log, name = start(env={**ENV, "WGPU_ADAPTER_NAME": "llvmpipe"})
    assert "llvmpipe" in name, "".join(log)
    assert any("reason=WGPU_ADAPTER_NAME = llvmpipe" in line for line in log), "".join(log)


@pytest.mark.parametrize("choice", ("no-such-gpu", "99"))
def test_unknown_adapter_fails_the_start_naming_the_available_ones(choice):
    failed = subprocess.run(
        [str(BINARY), "render-server", "--port", "0", "--adapter", choice],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert failed.returncode != 0
    assert f'asks for "{choice}"' in failed.stderr, failed.stderr
    for index, row in enumerate(adapters()):
        assert f"{index}: {row[1]}" in failed.stderr, failed.stderr
    assert "listening on" not in failed.stderr


def test_headless_start_logs_no_error():
    log, _ = start()
    errors = [line for line in log if " ERROR " in line or "egl" in line.lower()]
    assert not errors, "".join(errors)
    selected = [line for line in log if "graphics adapter selected" in line]
    assert len(selected) == 1 and "reason=the fastest kind of device" in selected[0], "".join(log)
