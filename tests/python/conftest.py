"""Fixtures for the pydrake conformance tests: a real `gltf-cloud render-server` on a free port."""

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def server_binary() -> Path:
    return Path(os.environ.get("GLTF_CLOUD_BIN", REPO / "target" / "debug" / "gltf-cloud"))


@pytest.fixture(scope="session")
def render_server():
    """Starts the render server on 127.0.0.1:0 and yields its base URL; stops it with SIGTERM."""
    binary = server_binary()
    assert binary.exists(), f"{binary} not built: run `cargo build` (make test does)"
    process = subprocess.Popen(
        [str(binary), "render-server", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info"), "NODEVICE_SELECT": "1"},
    )
    log = []
    base_url = None
    for line in process.stderr:
        log.append(line)
        match = LISTENING.search(line)
        if match:
            base_url = match.group(1)
            break
    assert base_url, "render server did not start:\n" + "".join(log)
    # Keep draining the log so the server never blocks on a full pipe.
    drain = threading.Thread(target=lambda: log.extend(process.stderr), daemon=True)
    drain.start()
    yield base_url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, "render server did not exit cleanly:\n" + "".join(log[-40:])
