"""Debian's nginx (unpacked into the venv by scripts/install-deps.sh) on the deploy recipe's files,
with every path it writes (pid, logs, temporary files) in one directory, so neither root nor
/var/lib/nginx is needed: `nginx -t` for the offline checks, a running proxy for the replica tests."""

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def nginx_binary() -> str:
    venv_bin = Path(sys.executable).parent
    found = shutil.which("nginx", path=str(venv_bin)) or shutil.which("nginx")
    if not found:
        pytest.fail("nginx not installed: run scripts/install-deps.sh (it unpacks Debian's nginx into the venv)")
    return found


def write_main_config(conf_files: list[Path], workdir: Path) -> Path:
    """An nginx.conf that includes `conf_files` in its http {} block; returns its path."""
    includes = "\n".join(f"include {path};" for path in conf_files)
    temporary = "\n".join(
        f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = workdir / "nginx.conf"
    main.write_text(
        f"pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log {workdir}/access.log;\n{temporary}\n{includes}\n}}\n"
    )
    return main


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx:
    """nginx in the foreground on `conf_files` until `stop()` (or the end of a `with` block)."""

    def __init__(self, conf_files: list[Path], workdir: Path, port: int):
        main = write_main_config(conf_files, workdir)
        self.workdir = workdir
        self.process = subprocess.Popen(
            [nginx_binary(), "-g", "daemon off;", "-p", str(workdir), "-c", str(main)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not listen within 20 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
