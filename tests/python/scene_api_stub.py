"""A scene-API server in a thread that records what a client sends: the tests of the Python
package's protocol side (what crosses the wire, in which order) without the render server.

It follows docs/scene-api.md for the requests the package makes, parsing and answering the
binary layouts by hand (struct), independently of gltf_cloud.wire. Images are constant: the
colour answer is (cam index + 1) in every channel, so a test sees which camera an image came from.
Real rendering is tested against the real server (test_remote_renderer.py).
"""

import hashlib
import http.server
import json
import re
import struct
import threading
import uuid


class StubState:
    def __init__(self):
        self.lock = threading.Lock()
        self.assets = {}
        self.scenes = {}  # id -> {geometry id: geometry}
        self.requests = []  # (method, path, headers, parsed body)
        # (path suffix, status, body, headers): the next request whose path ends so gets this answer.
        self.fail_next = []


def _padded(n):
    return (n + 7) & ~7


def parse_frame(body: bytes):
    assert body[:4] == b"GCF1", body[:8]
    (length,) = struct.unpack_from("<I", body, 4)
    header = json.loads(body[8:8 + length])
    start = _padded(8 + length)
    assert body[8 + length:start] == bytes(start - 8 - length), "padding must be zeros"
    poses = {}
    for k in range(header["poses"]):
        gid, *matrix = struct.unpack_from("<Q12d", body, start + 104 * k)
        poses[gid] = matrix
    assert len(body) == start + 104 * header["poses"], "the body ends with the last pose record"
    return header, poses


def gci1(frame_number: int, images) -> bytes:
    """A GCI1 answer from (camera, type, format, width, height, raw bytes) tuples."""
    entries, blobs, offset = [], [], 0
    for camera, image_type, fmt, width, height, blob in images:
        entries.append({"camera": camera, "type": image_type, "width": width, "height": height, "format": fmt,
                        "offset": offset, "bytes": len(blob)})
        blobs.append(blob + bytes(_padded(len(blob)) - len(blob)))
        offset += _padded(len(blob))
    header = json.dumps({"frame": frame_number, "images": entries}).encode()
    return b"GCI1" + struct.pack("<I", len(header)) + header + bytes(_padded(8 + len(header)) - 8 - len(header)) \
        + b"".join(blobs)


def images_answer(frame_number: int, cameras: list) -> bytes:
    """The stub's constant images for a frame's cameras (camera k: colour k + 1, depth 1.5 + k,
    label 100 + k)."""
    images = []
    for index, camera in enumerate(cameras):
        w, h = camera["width"], camera["height"]
        for image_type in camera["images"]:
            if image_type == "color":
                fmt, blob = "rgba8", bytes([index + 1]) * (w * h * 4)
            elif image_type == "depth":
                fmt, blob = "f32", struct.pack("<f", 1.5 + index) * (w * h)
            else:
                fmt, blob = "i16", struct.pack("<h", 100 + index) * (w * h)
            images.append((index, image_type, fmt, w, h, blob))
    return gci1(frame_number, images)


class StubServer:
    """`with StubServer() as stub:` → stub.url, stub.state."""

    def __init__(self):
        state = self.state = StubState()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body=b"", content_type="application/json", headers=()):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def handle_any(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length) if length else b""
                path = self.path
                if path.endswith("/frames"):
                    parsed = parse_frame(raw)
                elif self.headers.get("Content-Type") == "application/json":
                    parsed = json.loads(raw)
                else:
                    parsed = raw
                with state.lock:
                    state.requests.append((self.command, path, dict(self.headers), parsed))
                    for index, (suffix, status, body, headers) in enumerate(state.fail_next):
                        if path.endswith(suffix):
                            del state.fail_next[index]
                            return self.answer(status, body, headers=headers)
                    return self.route(self.command, path, parsed, raw)

            def route(self, method, path, parsed, raw):
                if method == "POST" and path == "/v1/assets/missing":
                    return self.answer(200, {"missing": [h for h in parsed["sha256"] if h not in state.assets]})
                match = re.fullmatch(r"/v1/assets/([0-9a-f]{64})", path)
                if method == "PUT" and match:
                    if hashlib.sha256(raw).hexdigest() != match.group(1):
                        return self.answer(400, {"error": True, "reason": "hash_mismatch", "message": "hash", "code": 400})
                    new = match.group(1) not in state.assets
                    state.assets[match.group(1)] = raw
                    return self.answer(201 if new else 200, {})
                if method == "POST" and path == "/v1/scenes":
                    scene = uuid.uuid4().hex
                    state.scenes[scene] = {g["id"]: g for g in parsed["geometries"]}
                    return self.answer(201, {"scene": scene, "geometries": len(parsed["geometries"]),
                                             "idle_expiry_seconds": 600})
                match = re.fullmatch(r"/v1/scenes/([0-9a-f]+)(/frames)?", path)
                if not match or match.group(1) not in state.scenes:
                    return self.answer(404, {"error": True, "reason": "unknown_scene", "message": "no such scene",
                                             "code": 404})
                scene = state.scenes[match.group(1)]
                if method == "DELETE":
                    del state.scenes[match.group(1)]
                    return self.answer(204)
                if method == "PATCH":
                    for gid in parsed["remove"]:
                        del scene[gid]
                    for g in parsed["add"]:
                        scene[g["id"]] = g
                    return self.answer(200, {"scene": match.group(1), "geometries": len(scene)})
                if method == "POST" and match.group(2):
                    header, poses = parsed
                    return self.answer(200, images_answer(len(state.requests), header["cameras"]),
                                       content_type="application/octet-stream")
                return self.answer(405, {"error": True, "reason": "bad_request", "message": "method", "code": 405})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self, method=None, suffix=""):
        with self.state.lock:
            return [r for r in self.state.requests if (method is None or r[0] == method) and r[1].endswith(suffix)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
