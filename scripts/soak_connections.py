"""Issue 14's idle-connection flood at the default limits, against all three servers.

    python3 scripts/soak_connections.py [--binary target/debug/gltf-cloud] [--connections 1100]

For each server role: start it on 127.0.0.1 port 0 with its defaults, open N idle connections
(more than the default `maxHttpConnections` of 1024), then ask `/livez` on a fresh connection and
print how long the answer took; fail if it does not come within 5 s. The test suite checks the
same behaviour with small caps; this is the full-size run, too slow and too hungry for file
descriptors to be a unit test (`make soak`). Loopback only, bounded, stops by itself.
"""

import argparse
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
ROLES = ["render-server", "simulation-server", "session-server"]


def start(binary, role, workdir, *args):
    """`binary role ARGS…` on a free loopback port, its log in `workdir/role.log` (a soak logs
    too much to hold in memory); the process and its port once it listens."""
    log = open(workdir / f"{role}.log", "wb+")
    process = subprocess.Popen(
        [binary, role, "--host", "127.0.0.1", "--port", "0", *args], stderr=log, cwd=workdir
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log.seek(0)
        found = LISTENING.search(log.read())
        if found:
            return process, int(found[1])
        if process.poll() is not None:
            sys.exit(f"{role} exited before listening; see {log.name}")
        time.sleep(0.1)
    process.kill()
    sys.exit(f"{role} did not start within 60 s")


def livez_seconds(port):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
        probe.sendall(b"GET /livez HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        answer = probe.recv(64)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"/livez answered {answer!r}")
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(REPO / "target" / "debug" / "gltf-cloud"),
                        type=lambda p: str(Path(p).resolve()))
    parser.add_argument("--connections", type=int, default=1100)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.connections)), hard))

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for role in ROLES:
            process, port = start(args.binary, role, Path(tmp))
            idle = []
            try:
                for _ in range(args.connections):
                    idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                time.sleep(0.5)
                try:
                    print(f"{role}: /livez in {livez_seconds(port) * 1e3:.1f} ms "
                          f"with {len(idle)} idle connections open")
                except (OSError, RuntimeError) as error:
                    print(f"{role}: /livez FAILED with {len(idle)} idle connections: {error}")
                    failed = True
            finally:
                for connection in idle:
                    connection.close()
                process.terminate()
                process.wait(timeout=30)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
