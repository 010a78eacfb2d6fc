"""`gltf-cloud client` against real Drake (pydrake 1.51.1).

- Its requests match what pydrake's RenderEngineGltfClient sends, byte for byte, apart from the
  random boundary and the scene itself, and its camera node is the one Drake's exporter writes.
- Its `--check` suite passes against Drake's own RenderEngineVtk (drake_vtk_reference_server.py),
  which shows that the suite's analytic expectations are Drake's.
"""

import hashlib
import io
import json
import os
import re
import subprocess
import multiprocessing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image
from pydrake.geometry import (
    Box,
    ClippingRange,
    ColorRenderCamera,
    DepthRange,
    DepthRenderCamera,
    GeometryInstance,
    MakeRenderEngineGltfClient,
    PerceptionProperties,
    RenderCameraCore,
    RenderEngineGltfClientParams,
    RenderLabel,
    Rgba,
    SceneGraph,
)
from pydrake.math import RigidTransform, RotationMatrix
from pydrake.systems.sensors import CameraInfo

import drake_vtk_reference_server as reference

REPO = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("GLTF_CLOUD_BIN", str(REPO / "target" / "debug" / "gltf-cloud"))
TIMEOUT_S = 300


class Capture(BaseHTTPRequestHandler):
    """Saves each request's headers (in order) and body into `directory`; answers a uniform image
    of the size asked for."""

    protocol_version = "HTTP/1.1"
    directory = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stem = Capture.directory / f"{len(list(Capture.directory.glob('*.json'))):03}"
        stem.with_suffix(".body").write_bytes(body)
        stem.with_suffix(".json").write_text(json.dumps(list(self.headers.items())))
        fields = dict(re.findall(rb'name="(\w+)"\r\n\r\n([^\r]*)\r\n', body))
        width, height = int(fields[b"width"]), int(fields[b"height"])
        out = io.BytesIO()
        if fields[b"image_type"] == b"depth":
            Image.fromarray(np.full((height, width), 1.5, np.float32), "F").save(out, format="TIFF")
        else:
            Image.fromarray(np.full((height, width, 3), 200, np.uint8), "RGB").save(out, format="PNG")
        payload = out.getvalue()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def serve_captures(directory, ports):
    Capture.directory = directory
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    ports.put((str(directory), server.server_address[1]))
    server.serve_forever()


def captured(directory):
    """The requests saved so far, oldest first, as (headers, body)."""
    return [
        ([tuple(h) for h in json.loads(path.read_text())], path.with_suffix(".body").read_bytes())
        for path in sorted(directory.glob("*.json"))
    ]


def look_at(position, target, up):
    """Drake's X_WC for a camera at `position` looking at `target` (+X right, +Y down, +Z ahead)."""
    forward = np.subtract(target, position) / np.linalg.norm(np.subtract(target, position))
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return RigidTransform(RotationMatrix(np.column_stack([right, down, forward])), position)


def render_with_drake(url, pose):
    scene_graph = SceneGraph()
    scene_graph.AddRenderer(
        "gltf", MakeRenderEngineGltfClient(RenderEngineGltfClientParams(base_url=url))
    )
    source = scene_graph.RegisterSource("test")
    instance = GeometryInstance(RigidTransform([0.0, 0.0, 0.1]), Box(0.2, 0.3, 0.1), "box")
    properties = PerceptionProperties()
    properties.AddProperty("label", "id", RenderLabel(42))
    properties.AddProperty("phong", "diffuse", Rgba(1, 0.5, 0.25, 1))
    instance.set_perception_properties(properties)
    scene_graph.RegisterAnchoredGeometry(source, instance)
    query = scene_graph.get_query_output_port().Eval(scene_graph.CreateDefaultContext())
    core = RenderCameraCore(
        "gltf", CameraInfo(64, 48, np.pi / 4), ClippingRange(0.01, 10), RigidTransform()
    )
    world = scene_graph.world_frame_id()
    query.RenderColorImage(ColorRenderCamera(core, False), world, pose)
    query.RenderDepthImage(DepthRenderCamera(core, DepthRange(0.05, 5)), world, pose)


def scene_part(body):
    return re.search(rb'filename="[^"]+"\r\nContent-Type: model/gltf\+json\r\n\r\n(.*)\r\n--', body, re.S)[1]


def normalised(headers, body):
    """The request with what legitimately differs (boundary, scene bytes, their hash and length, and
    the scene counter, which in pydrake counts every render of the whole process) replaced by
    placeholders, after checking the hash is the scene's and the counter has Drake's 19 digits."""
    header_map = dict(headers)
    boundary = header_map["Content-Type"].split("boundary=")[1].encode()
    scene = scene_part(body)
    sha = hashlib.sha256(scene).hexdigest().encode()
    assert b'name="scene_sha256"\r\n\r\n' + sha + b"\r\n" in body
    text = body.replace(scene, b"SCENE").replace(sha, b"SHA").replace(boundary, b"BOUNDARY")
    text, counters = re.subn(rb'filename="\d{19}-', b'filename="COUNTER-', text)
    assert counters == 1, "the scene part's filename starts with a 19-digit counter"
    names = [name for name, _ in headers]
    # Host differs only by the capture server's port; Content-* by scene and boundary.
    fixed = [(n, v) for n, v in headers if n not in ("Host", "Content-Length", "Content-Type")]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", header_map["Host"])
    return names, fixed, text, json.loads(scene)


def camera_node(gltf):
    return next(node for node in gltf["nodes"] if "camera" in node)


def test_requests_match_pydrake_byte_for_byte(tmp_path):
    # pydrake renders holding the GIL, so the capture server must be another process.
    drake_dir, our_dir = tmp_path / "drake", tmp_path / "ours"
    drake_dir.mkdir()
    our_dir.mkdir()
    ports = multiprocessing.Queue()
    servers = [multiprocessing.Process(target=serve_captures, args=(d, ports), daemon=True)
               for d in (drake_dir, our_dir)]
    for server in servers:
        server.start()
    # The servers start in either order: each names its directory beside its port.
    port_of = dict(ports.get(timeout=30) for _ in servers)
    drake_url, our_url = (f"http://127.0.0.1:{port_of[str(d)]}" for d in (drake_dir, our_dir))
    position, target, up = [0.8, 0.3, 0.5], [0.0, 0.0, 0.1], [0.0, 0.0, 1.0]
    try:
        render_with_drake(drake_url, look_at(position, target, up))
        drake = captured(drake_dir)
        # Drake's own color scene, sent again by our client with the pose from the flags.
        scene = tmp_path / "scene.gltf"
        scene.write_bytes(scene_part(drake[0][1]))
        result = subprocess.run(
            [BINARY, "client", "--server-base-url", our_url, str(scene), "--out", str(tmp_path / "out"),
             "--image-type", "color,depth", "--width", "64", "--height", "48",
             "--min-depth", "0.05", "--max-depth", "5",
             "--camera-position", ",".join(map(str, position)),
             "--camera-target", ",".join(map(str, target))],
            capture_output=True, timeout=TIMEOUT_S,
        )
        assert result.returncode == 0, result.stderr.decode()
        ours = captured(our_dir)
    finally:
        for server in servers:
            server.terminate()
            server.join()

    assert len(drake) == len(ours) == 2
    for theirs, mine in zip(drake, ours):
        names, fixed, text, drake_gltf = normalised(*theirs)
        my_names, my_fixed, my_text, my_gltf = normalised(*mine)
        assert my_names == names
        assert my_fixed == fixed
        assert my_text.decode() == text.decode()
        # The camera node and camera our client writes are those Drake's exporter wrote.
        np.testing.assert_allclose(
            camera_node(my_gltf)["matrix"], camera_node(drake_gltf)["matrix"], atol=1e-6
        )
        mine_p = my_gltf["cameras"][camera_node(my_gltf)["camera"]]["perspective"]
        drake_p = drake_gltf["cameras"][0]["perspective"]
        for key in ("aspectRatio", "yfov", "zfar", "znear"):
            assert abs(mine_p[key] - drake_p[key]) < 1e-6, key


def test_check_suite_passes_against_drake_render_engine_vtk():
    server = reference.start()
    try:
        result = subprocess.run(
            [BINARY, "client", "--check", "--json",
             "--server-base-url", f"http://127.0.0.1:{server.server_address[1]}"],
            capture_output=True, timeout=TIMEOUT_S,
        )
    finally:
        server.shutdown()
    cases = json.loads(result.stdout)
    assert len(cases) == 13
    failed = [case for case in cases if not case["passed"]]
    assert not failed, json.dumps(failed, indent=1)
    assert result.returncode == 0, result.stderr.decode()
