"""Our render server as a child process, shared by the pydrake tests, `make gallery` and `make bench`."""

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (https?://127\.0\.0\.1:\d+)")
# The debug `rendered` line: image type and every stage.
REQUEST = re.compile(
    r'rendered image_type="?(\w+)"?.*read_ms=([0-9.]+) load_ms=([0-9.]+) render_ms=([0-9.]+) encode_ms=([0-9.]+)'
)
STAGES = ("read", "load", "render", "encode")


def server_binary() -> Path:
    """GLTF_CLOUD_BIN, else the debug build (what `make test-python` sets and builds)."""
    return Path(os.environ.get("GLTF_CLOUD_BIN", REPO / "target" / "debug" / "gltf-cloud"))


class ListeningProcess:
    """`gltf-cloud ARGV…` until `stop()` (or the end of a `with` block), once it logs the URL it
    listens on (`url`).

    Its log is kept in `lines` (drained on a thread, so the process never blocks on a full pipe);
    one that exits before it listens raises with the log, so a bad argument shows the program's
    own error.
    """

    def __init__(self, binary: Path, *argv: str, rust_log: str | None = None):
        binary = Path(binary)
        if not binary.exists():
            raise FileNotFoundError(f"{binary} not built: run `cargo build` (make test does)")
        env = {**os.environ, "RUST_LOG": rust_log or os.environ.get("RUST_LOG", "info"), "NODEVICE_SELECT": "1"}
        self.process = subprocess.Popen([str(binary), *argv], stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self.url = None
        for line in self.process.stderr:
            self.lines.append(line)
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
                break
        if self.url is None:
            self.process.wait(timeout=30)
            raise RuntimeError(f"`gltf-cloud {argv[0]}` did not start:\n" + "".join(self.lines))
        threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True).start()

    def stop(self) -> int:
        """SIGTERM, then the exit status (0 when it shut down cleanly); one still running after a
        minute is killed, so no test leaves it behind."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        status = self.stop()
        if exc[0] is None:
            assert status == 0, f"`{self.process.args[1]}` did not exit cleanly:\n" + "".join(self.lines[-40:])


class RenderServer(ListeningProcess):
    """`gltf-cloud render-server --port PORT ARGS…`; port 0 (the default) lets the system choose,
    `url` says which."""

    def __init__(self, binary: Path, *args: str, rust_log: str | None = None, port: int = 0):
        super().__init__(binary, "render-server", "--port", str(port), *args, rust_log=rust_log)

    def stages(self):
        """(load_ms, render_ms, encode_ms) of each request so far."""
        return [(r["load"], r["render"], r["encode"]) for r in self.requests()]

    def requests(self):
        """Each request so far as {"image_type": …, "read": ms, "load": ms, "render": ms, "encode": ms}
        (the debug `rendered` log line)."""
        rows = []
        for match in filter(None, map(REQUEST.search, self.lines)):
            rows.append({"image_type": match.group(1), **dict(zip(STAGES, map(float, match.groups()[1:])))})
        return rows
