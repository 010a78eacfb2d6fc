"""A Drake-protocol render server backed by Drake's own RenderEngineVtk, for testing the client.

It is the reference `gltf-cloud client --check` is validated against: if the suite's analytic
expectations disagree with Drake's renderer, the suite is wrong. It reads the glTF the client
sends, registers each mesh node as its own glTF `Mesh` geometry (so each can carry the label its
label-mode material encodes), and renders from the camera node's pose with the form's intrinsics.
Run alone: `python drake_vtk_reference_server.py PORT`.
"""

import copy
import hashlib
import io
import json
import math
import os
import sys
import tempfile
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image
from pydrake.geometry import (
    ClippingRange,
    ColorRenderCamera,
    DepthRange,
    DepthRenderCamera,
    GeometryInstance,
    MakeRenderEngineVtk,
    Mesh,
    PerceptionProperties,
    RenderCameraCore,
    RenderEngineVtkParams,
    RenderLabel,
    SceneGraph,
)
from pydrake.math import RigidTransform, RotationMatrix
from pydrake.systems.sensors import CameraInfo

K_EMPTY = 32766
K_DONT_CARE = 32764
# One render at a time: the suite sends its requests one by one anyway, and VTK stays on one thread.
RENDER_LOCK = threading.Lock()


class BadRequest(Exception):
    pass


def parse_form(headers, body):
    """multipart/form-data -> (text fields, scene bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body
    )
    fields, scene = {}, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name == "scene":
            scene = payload
        else:
            fields[name] = payload.decode()
    return fields, scene


def camera_pose(doc):
    """X_WC from the (top-level) camera node, or identity when there is none."""
    for node in doc.get("nodes") or []:
        if "camera" in node:
            m = np.array(node["matrix"], dtype=float).reshape(4, 4).T
            rotation = m[:3, :3] @ np.diag([1.0, -1.0, -1.0])
            return RigidTransform(RotationMatrix(rotation), m[:3, 3])
    return RigidTransform()


def label_of(doc, mesh):
    material = doc["materials"][doc["meshes"][mesh]["primitives"][0]["material"]]
    r, g = material["pbrMetallicRoughness"]["baseColorFactor"][:2]
    return round(r * 255) | (round(g * 255) << 8)


def render(fields, scene):
    image_type = fields.get("image_type")
    if image_type not in ("color", "depth", "label"):
        raise BadRequest("image_type must be color, depth or label")
    if scene is None or hashlib.sha256(scene).hexdigest() != fields.get("scene_sha256"):
        raise BadRequest("scene_sha256 does not match the scene")
    required = ["width", "height", "focal_x", "focal_y", "center_x", "center_y", "near", "far"]
    if image_type == "depth":
        required += ["min_depth", "max_depth"]
    missing = [name for name in required if name not in fields]
    if missing:
        raise BadRequest("missing fields: " + ", ".join(missing))
    w, h = int(fields["width"]), int(fields["height"])
    number = {name: float(fields[name]) for name in required[2:]}
    doc = json.loads(scene)

    with RENDER_LOCK, tempfile.TemporaryDirectory() as tmp:
        scene_graph = SceneGraph()
        scene_graph.AddRenderer("vtk", MakeRenderEngineVtk(RenderEngineVtkParams()))
        source = scene_graph.RegisterSource("reference")
        # Drake rotates glTF meshes from Y-up into its Z-up world; the client's file is already
        # Z-up, so undo that rotation.
        undo_y_up = RigidTransform(RotationMatrix.MakeXRotation(-math.pi / 2))
        for index, node in enumerate(doc.get("nodes") or []):
            if "mesh" not in node:
                continue
            single = copy.deepcopy(doc)
            single["scenes"] = [{"nodes": [index]}]
            single["scene"] = 0
            for other in single["nodes"]:
                other.pop("camera", None)
            single.pop("cameras", None)
            path = os.path.join(tmp, f"node{index}.gltf")
            with open(path, "w") as f:
                json.dump(single, f)
            instance = GeometryInstance(undo_y_up, Mesh(path), f"node{index}")
            properties = PerceptionProperties()
            # Only label scenes encode labels in their materials (color and depth ones do not).
            label = label_of(doc, node["mesh"]) if image_type == "label" else 1
            properties.AddProperty("label", "id", RenderLabel(label))
            instance.set_perception_properties(properties)
            scene_graph.RegisterAnchoredGeometry(source, instance)
        query = scene_graph.get_query_output_port().Eval(scene_graph.CreateDefaultContext())
        core = RenderCameraCore(
            "vtk",
            CameraInfo(w, h, number["focal_x"], number["focal_y"], number["center_x"], number["center_y"]),
            ClippingRange(number["near"], number["far"]),
            RigidTransform(),
        )
        pose = camera_pose(doc)
        world = scene_graph.world_frame_id()
        out = io.BytesIO()
        if image_type == "color":
            image = query.RenderColorImage(ColorRenderCamera(core, False), world, pose)
            Image.fromarray(np.array(image.data, dtype=np.uint8), "RGBA").save(out, format="PNG")
        elif image_type == "depth":
            camera = DepthRenderCamera(core, DepthRange(number["min_depth"], number["max_depth"]))
            image = query.RenderDepthImage(camera, world, pose)
            depth = np.array(image.data, dtype=np.float32)[:, :, 0]
            Image.fromarray(depth, "F").save(out, format="TIFF")
        else:
            image = query.RenderLabelImage(ColorRenderCamera(core, False), world, pose)
            labels = np.array(image.data, dtype=np.int32)[:, :, 0]
            rgb = np.stack([labels & 0xFF, (labels >> 8) & 0xFF, np.zeros_like(labels)], axis=-1)
            rgb[(labels == K_EMPTY) | (labels == K_DONT_CARE)] = 255
            Image.fromarray(rgb.astype(np.uint8), "RGB").save(out, format="PNG")
        return out.getvalue()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            status, payload = 200, render(*parse_form(self.headers, body))
        except BadRequest as e:
            status = 400
            payload = json.dumps({"error": True, "message": str(e), "code": 400}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def start(port=0):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    server = start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    threading.Event().wait()
