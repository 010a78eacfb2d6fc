"""A scene-API server (docs/scene-api.md) backed by pydrake's own RenderEngineVtk: the reference
for the scene API, as drake_vtk_reference_server.py is for Drake's glTF protocol.

Each scene is a SceneGraph with a RenderEngineVtk configured from the scene's `look`, every
geometry on its own frame (so a frame's pose records move it), meshes and textures written from
the assets into the scene's folder under their names. If gltf_cloud.drake's images through this
server differ from RenderEngineVtk in-process, the package (or the contract) loses information
on the way; the Rust server is then measured against the same tests. It implements what the
package uses, with the documented errors for unknown scenes and assets; limits are not enforced.
Run alone: `python scene_api_vtk_server.py PORT`.
"""

import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import numpy as np
from pydrake.common.yaml import yaml_load_typed
from pydrake.geometry import (
    Box,
    Capsule,
    ClippingRange,
    ColorRenderCamera,
    Convex,
    Cylinder,
    DepthRange,
    DepthRenderCamera,
    Ellipsoid,
    EquirectangularMap,
    FramePoseVector,
    GeometryFrame,
    GeometryInstance,
    HalfSpace,
    MakeRenderEngineVtk,
    Mesh,
    PerceptionProperties,
    RenderCameraCore,
    RenderEngineVtkParams,
    RenderLabel,
    Rgba,
    SceneGraph,
    Sphere,
)
from pydrake.math import RigidTransform, RotationMatrix
from pydrake.systems.sensors import CameraInfo

from scene_api_stub import gci1, parse_frame

RENDERER = "vtk"


class BadRequest(Exception):
    def __init__(self, status, reason, message, **extra):
        super().__init__(message)
        self.status, self.reason, self.extra = status, reason, extra


def transform(numbers) -> RigidTransform:
    m = np.asarray(numbers, dtype=float).reshape(3, 4)
    return RigidTransform(RotationMatrix(m[:, :3]), m[:, 3])


class VtkScene:
    def __init__(self, folder: Path, assets: dict, look: str | None, look_files: dict):
        self.folder, self.assets = folder, assets
        params = RenderEngineVtkParams() if look is None else yaml_load_typed(schema=RenderEngineVtkParams, data=look)
        environment = params.environment_map
        if environment is not None and isinstance(environment.texture, EquirectangularMap):
            path = environment.texture.path
            environment.texture = EquirectangularMap(path=str(self.write(look_files[path], Path(path).name)))
            params.environment_map = environment
        self.params = params
        self.entries = {}  # geometry id -> (shape, properties); SceneGraph is rebuilt when they change
        self.poses = {}
        self.built = None  # (scene_graph, source, frames by geometry id, context)
        self.frame_count = 0

    def write(self, sha256: str, name: str) -> Path:
        if sha256 not in self.assets:
            raise BadRequest(409, "missing_assets", "upload them", missing=[sha256])
        path = self.folder / uuid.uuid4().hex / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.assets[sha256])
        return path

    def shape(self, shape: dict):
        kind = shape["type"]
        simple = {"box": lambda s: Box(s["width"], s["depth"], s["height"]), "sphere": lambda s: Sphere(s["radius"]),
                  "cylinder": lambda s: Cylinder(s["radius"], s["length"]),
                  "capsule": lambda s: Capsule(s["radius"], s["length"]),
                  "ellipsoid": lambda s: Ellipsoid(s["a"], s["b"], s["c"]), "half_space": lambda s: HalfSpace()}
        if kind in simple:
            return simple[kind](shape)
        source = shape["source"]
        # Files are named as written and read, as Drake reads them, from the main file's folder;
        # two levels down, so that "../" names stay inside this mesh's own folder.
        folder = self.folder / uuid.uuid4().hex / "mesh" / "files"
        for name, sha256 in [(source["name"], source["asset"]), *source.get("files", {}).items()]:
            if sha256 not in self.assets:
                raise BadRequest(409, "missing_assets", "upload them", missing=[sha256])
            if Path(name).is_absolute():
                raise BadRequest(400, "bad_request", f"the reference does not write absolute paths: {name}")
            path = Path(os.path.normpath(folder / unquote(name)))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.assets[sha256])
        scale = shape.get("scale", 1.0)
        scale = [scale] * 3 if isinstance(scale, (int, float)) else scale
        return (Mesh if kind == "mesh" else Convex)(str(folder / source["name"]), scale)

    def add(self, geometry: dict) -> None:
        gid = geometry["id"]
        if gid in self.entries:
            raise BadRequest(409, "duplicate_geometry", f"geometry {gid} is already in the scene")
        properties = PerceptionProperties()
        wire = geometry.get("properties", {})
        if "phong/diffuse" in wire:
            properties.AddProperty("phong", "diffuse", Rgba(*wire["phong/diffuse"]))
        if "phong/diffuse_map" in wire:
            texture = wire["phong/diffuse_map"]
            properties.AddProperty("phong", "diffuse_map", str(self.write(texture["asset"], texture["name"])))
        if "phong/diffuse_scale" in wire:
            properties.AddProperty("phong", "diffuse_scale", np.array(wire["phong/diffuse_scale"], dtype=float))
        if "label/id" in wire:
            properties.AddProperty("label", "id", RenderLabel(wire["label/id"]))
        self.entries[gid] = (self.shape(geometry["shape"]), properties)
        self.poses[gid] = transform(geometry["X_WG"])
        self.built = None

    def remove(self, gid: int) -> None:
        del self.entries[gid]
        del self.poses[gid]
        self.built = None

    def build(self):
        """A SceneGraph with every geometry on its own frame (frames can only be added to the
        model, so a changed scene is built anew), and its context."""
        scene_graph = SceneGraph()
        scene_graph.AddRenderer(RENDERER, MakeRenderEngineVtk(self.params))
        source = scene_graph.RegisterSource("scene")
        frames = {}
        for gid, (shape, properties) in self.entries.items():
            frames[gid] = scene_graph.RegisterFrame(source, GeometryFrame(f"frame {gid}"))
            instance = GeometryInstance(RigidTransform(), shape, str(gid))
            instance.set_perception_properties(properties)
            scene_graph.RegisterGeometry(source, frames[gid], instance)
        return scene_graph, source, frames, scene_graph.CreateDefaultContext()

    def render(self, header: dict, poses: dict) -> bytes:
        for gid, matrix in poses.items():
            if gid not in self.poses:
                raise BadRequest(400, "bad_request", f"no geometry {gid}", field="poses")
            self.poses[gid] = transform(matrix)
        if self.built is None:
            self.built = self.build()
        scene_graph, source, frames, context = self.built
        frame_poses = FramePoseVector()
        for gid, X_WG in self.poses.items():
            frame_poses.set_value(frames[gid], X_WG)
        scene_graph.get_source_pose_port(source).FixValue(context, frame_poses)
        query = scene_graph.get_query_output_port().Eval(context)
        world = scene_graph.world_frame_id()
        images = []
        for index, camera in enumerate(header["cameras"]):
            info = CameraInfo(camera["width"], camera["height"], camera["fx"], camera["fy"], camera["cx"], camera["cy"])
            core = RenderCameraCore(RENDERER, info, ClippingRange(camera["near"], camera["far"]), RigidTransform())
            X_WC = transform(camera["X_WC"])
            for image_type in camera["images"]:
                if image_type == "color":
                    image, fmt = query.RenderColorImage(ColorRenderCamera(core, False), world, X_WC), "rgba8"
                elif image_type == "depth":
                    depth = DepthRenderCamera(core, DepthRange(*camera["depth_range"]))
                    image, fmt = query.RenderDepthImage(depth, world, X_WC), "f32"
                else:
                    image, fmt = query.RenderLabelImage(ColorRenderCamera(core, False), world, X_WC), "i16"
                pixels = np.ascontiguousarray(image.data)
                images.append((index, image_type, fmt, pixels.shape[1], pixels.shape[0], pixels.tobytes()))
        self.frame_count += 1
        return gci1(self.frame_count, images)


def result(status, body, content_type="application/json"):
    return status, body, content_type


class ReferenceServer:
    """`with ReferenceServer() as server:` → server.url."""

    def __init__(self, port: int = 0):
        self.folder = tempfile.TemporaryDirectory()
        # VTK's render windows belong to the thread that made them: every request runs on one.
        self.worker = worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vtk")
        assets, scenes, root = {}, {}, Path(self.folder.name)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, status, body=b"", content_type="application/json"):
                body = json.dumps(body).encode() if isinstance(body, dict) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                try:
                    status, answer_body, content_type = worker.submit(self.route, self.command, self.path, body).result()
                    self.send(status, answer_body, content_type)
                except BadRequest as error:
                    self.send(error.status, {"error": True, "code": error.status, "reason": error.reason,
                                             "message": str(error), **error.extra})

            def route(self, method, path, body):
                """(status, body, content type) of one request; runs on the VTK thread."""
                if method == "POST" and path == "/v1/assets/missing":
                    return result(200, {"missing": [h for h in json.loads(body)["sha256"] if h not in assets]})
                match = re.fullmatch(r"/v1/assets/([0-9a-f]{64})", path)
                if match and method == "PUT":
                    if hashlib.sha256(body).hexdigest() != match.group(1):
                        raise BadRequest(400, "hash_mismatch", "the body does not hash to its name")
                    status = 200 if match.group(1) in assets else 201
                    assets[match.group(1)] = body
                    return result(status, {})
                if method == "POST" and path == "/v1/scenes":
                    request = json.loads(body)
                    scene_id = uuid.uuid4().hex
                    folder = root / scene_id
                    folder.mkdir()
                    scene = VtkScene(folder, assets, request.get("look"), request.get("look_files", {}))
                    for geometry in request["geometries"]:
                        scene.add(geometry)
                    scenes[scene_id] = scene
                    return result(201, {"scene": scene_id, "geometries": len(scene.entries), "idle_expiry_seconds": 600})
                match = re.fullmatch(r"/v1/scenes/([0-9a-f]+)(/frames)?", path)
                if not match or match.group(1) not in scenes:
                    raise BadRequest(404, "unknown_scene", f"no scene {path}")
                scene = scenes[match.group(1)]
                if method == "POST" and match.group(2):
                    return result(200, scene.render(*parse_frame(body)), "application/octet-stream")
                if method == "PATCH":
                    request = json.loads(body)
                    for gid in request.get("remove", []):
                        scene.remove(gid)
                    for geometry in request.get("add", []):
                        scene.add(geometry)
                    return result(200, {"scene": match.group(1), "geometries": len(scene.entries)})
                if method == "DELETE":
                    del scenes[match.group(1)]
                    return result(204, b"")
                if method == "GET":
                    return result(200, {"scene": match.group(1), "geometries": len(scene.entries),
                                           "frames": scene.frame_count, "idle_expiry_seconds": 600})
                raise BadRequest(400, "bad_request", f"{method} {path}")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.worker.shutdown()
        self.folder.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    with ReferenceServer(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as reference:
        print(f"listening on {reference.url}", flush=True)
        threading.Event().wait()
