"""Hostile render clients against a render-server binary: time and memory of each attack.

    python3 scripts/attack_budget.py [--binary target/debug/gltf-cloud] [--data-limit-gib 6]
                                     [--only cost|held]

`cost`, issue 14's hostile requests: a fresh server per attack (so VmHWM is that attack's peak);
one line per attack: HTTP status, seconds to the answer, the server's peak RSS (MiB) and the start
of the message. `held`, issue 21's clients that hold what they are not using, at the server's
defaults: 40 stalled uploads, 40 stalled HTTP/2 streams on one connection, and 6 never-read
8192x8192 depth answers; for each, a normal client's render from the same address while the
attack runs (against its time without one), and when what the attack held was given back.
`--data-limit-gib` caps the server's heap (RLIMIT_DATA) so an old binary that allocates gigabytes
aborts instead of taking the machine down. Not part of CI: `make soak`, stdlib only, loopback
only, bounded. The numbers go into docs/reliability.md.
"""

import argparse
import base64
import hashlib
import http.client
import json
import math
import re
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOUNDARY = "------------------------gltfcloudattackboundary"
LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")

# An 8x8 baseline JPEG (pillow); its SOF0 dimensions are patched to make the bomb.
RED_JPEG_SOURCE = REPO / "src" / "scene" / "gltf" / "images.rs"


def red_jpeg() -> bytes:
    text = RED_JPEG_SOURCE.read_text()
    start = text.index("const RED_JPEG")
    body = text[start : text.index("];", start)]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9A-F]{2})", body))


def document(buffer: bytes, parts: dict) -> bytes:
    parts["asset"] = {"version": "2.0"}
    parts["cameras"] = [{"type": "perspective", "perspective": {"yfov": 0.8, "znear": 0.01, "zfar": 10.0}}]
    parts["buffers"] = [
        {"byteLength": len(buffer), "uri": "data:application/octet-stream;base64," + base64.b64encode(buffer).decode()}
    ]
    parts.setdefault("nodes", [{"camera": 0}, {"mesh": 0}])
    return json.dumps(parts, separators=(",", ":")).encode()


def triangle(half: float) -> bytes:
    return struct.pack("<9f", -half, -half, -1.0, half, -half, -1.0, 0.0, half, -1.0)


def huge_accessor() -> bytes:
    return document(
        triangle(1.0),
        {
            "accessors": [{"componentType": 5126, "count": 19_999_999, "type": "VEC3"}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        },
    )


def jpeg_bomb() -> bytes:
    jpeg = bytearray(red_jpeg())
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = b"\x40\x00\x40\x00"  # 16384 x 16384
    buffer = triangle(1.0) + struct.pack("<6f", 0, 0, 1, 0, 0.5, 1)
    return document(
        buffer,
        {
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 36},
                {"buffer": 0, "byteOffset": 36, "byteLength": 24},
            ],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
                {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"},
            ],
            "images": [{"uri": "data:image/jpeg;base64," + base64.b64encode(bytes(jpeg)).decode()}],
            "textures": [{"source": 0}],
            "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "material": 0}]}],
        },
    )


def many_nodes(count: int = 200_000) -> bytes:
    return document(
        triangle(0.01),
        {
            "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "nodes": [{"camera": 0}] + [{"mesh": 0}] * count,
        },
    )


def blended(count: int = 20_000) -> bytes:
    indices = bytes([0, 1, 2]) * count
    return document(
        triangle(100.0) + indices,
        {
            "bufferViews": [
                {"buffer": 0, "byteOffset": 0, "byteLength": 36},
                {"buffer": 0, "byteOffset": 36, "byteLength": len(indices)},
            ],
            "accessors": [
                {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
                {"bufferView": 1, "componentType": 5121, "count": len(indices), "type": "SCALAR"},
            ],
            "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1, 0, 0, 0.5]}}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
        },
    )


def form(scene: bytes, image_type: str, width: int, height: int) -> bytes:
    fov_y = 0.8
    focal = height / 2 / math.tan(fov_y / 2)
    fields = {
        "center_x": f"{width / 2 - 0.5:f}",
        "center_y": f"{height / 2 - 0.5:f}",
        "far": "10.000000",
        "focal_x": f"{focal:f}",
        "focal_y": f"{focal:f}",
        "fov_x": f"{2 * math.atan(width / 2 / focal):f}",
        "fov_y": f"{fov_y:f}",
        "height": str(height),
        "image_type": image_type,
        "near": "0.010000",
        "scene_sha256": hashlib.sha256(scene).hexdigest(),
        "submit": "Render",
        "width": str(width),
    }
    if image_type == "depth":
        fields.update(min_depth="0.050000", max_depth="5.000000")
    body = b""
    for name, value in fields.items():
        body += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="scene"; filename="0-{image_type}.gltf"\r\n'
        "Content-Type: model/gltf+json\r\n\r\n"
    ).encode()
    return body + scene + f"\r\n--{BOUNDARY}--\r\n".encode()


def post(port: int, body: bytes, timeout: float) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("POST", "/render", body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    response = connection.getresponse()
    data = response.read()
    text = data.decode(errors="replace") if response.getheader("Content-Type") == "application/json" else f"{len(data)} bytes"
    return response.status, text


def hang_up(port: int, body: bytes) -> None:
    head = (
        f"POST /render HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + body)


def metric(port: int, series: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith(f"gltf_cloud_{series} "):
            return float(line.split()[1])
    return math.nan


def in_flight(port: int) -> float:
    return metric(port, "render_requests_in_flight")


def discard(stream) -> None:
    for _ in stream:
        pass


class Server:
    def __init__(self, binary: str, data_limit: int):
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))

        self.process = subprocess.Popen(
            [binary, "render-server", "--port", "0"], stderr=subprocess.PIPE, preexec_fn=limit
        )
        line = b""
        while not (match := LISTENING.search(line)):
            line = self.process.stderr.readline()
            if not line:
                raise RuntimeError("the server exited before listening")
        self.port = int(match.group(1))
        # Read the rest of the log, so a full pipe never blocks the server.
        threading.Thread(target=discard, args=(self.process.stderr,), daemon=True).start()

    def status_mib(self, field: str) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except FileNotFoundError:
            return math.nan
        kb = re.search(field + r":\s+(\d+)", status)
        return int(kb.group(1)) / 1024 if kb else math.nan

    def peak_mib(self) -> float:
        return self.status_mib("VmHWM")

    def rss_mib(self) -> float:
        return self.status_mib("VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def cost_attacks(args, data_limit: int) -> None:
    attacks = [
        ("huge accessor (depth 640x480)", form(huge_accessor(), "depth", 640, 480)),
        ("JPEG bomb 16384^2 (color 640x480)", form(jpeg_bomb(), "color", 640, 480)),
        ("200 000 one-triangle nodes (label 640x480)", form(many_nodes(), "label", 640, 480)),
        ("20 000 blended full-screen triangles (color 640x480)", form(blended(), "color", 640, 480)),
    ]
    for name, body in attacks:
        server = Server(args.binary, data_limit)
        idle = server.peak_mib()
        started = time.monotonic()
        try:
            status, text = post(server.port, body, args.timeout)
        except (OSError, http.client.HTTPException) as error:
            status, text = 0, f"no answer: {error!r}"
        seconds = time.monotonic() - started
        alive = server.process.poll() is None
        print(
            f"{name}: {len(body) / 1024:.1f} KB body -> {status} in {seconds:.2f} s, "
            f"peak RSS {server.peak_mib():.0f} MiB (idle {idle:.0f}){'' if alive else ', SERVER DIED'}: {text[:150]}"
        )
        server.stop()

    server = Server(args.binary, data_limit)
    slow = form(blended(300), "color", 640, 480)
    for _ in range(150):
        hang_up(server.port, slow)
    started = time.monotonic()
    status, text = post(server.port, form(blended(1), "label", 64, 48), args.timeout)
    answered = time.monotonic() - started
    while in_flight(server.port) != 0 and time.monotonic() - started < args.timeout:
        time.sleep(0.05)
    print(
        f"150 post-and-hang-up clients (300 blended layers each), then one small label: {status} in "
        f"{answered:.2f} s; in flight back to 0 after {time.monotonic() - started:.2f} s; "
        f"peak RSS {server.peak_mib():.0f} MiB"
    )
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(REPO / "target" / "debug" / "gltf-cloud"))
    parser.add_argument("--data-limit-gib", type=float, default=6.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer")
    parser.add_argument("--only", choices=["cost", "held"], help="run one group of attacks")
    args = parser.parse_args()
    data_limit = int(args.data_limit_gib * 2**30)
    if args.only in (None, "cost"):
        cost_attacks(args, data_limit)
    if args.only in (None, "held"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import attack_held

        if not attack_held.run(args, data_limit):
            sys.exit(1)


if __name__ == "__main__":
    main()
