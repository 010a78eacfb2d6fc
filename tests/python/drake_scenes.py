"""Scenes and cameras built with pydrake's SceneGraph for the conformance tests.

Each scene is registered once in a SceneGraph holding two renderers: Drake's own RenderEngineVtk
("vtk", the ground truth, in-process) and RenderEngineGltfClient ("gltf") pointed at our server.
"""

import json
import struct
from base64 import b64encode
from pathlib import Path

import numpy as np
from PIL import Image
from pydrake.geometry import (
    Box,
    Capsule,
    ClippingRange,
    ColorRenderCamera,
    Cylinder,
    DepthRange,
    DepthRenderCamera,
    Ellipsoid,
    GeometryInstance,
    MakeRenderEngineGltfClient,
    MakeRenderEngineVtk,
    Mesh,
    PerceptionProperties,
    RenderCameraCore,
    RenderEngineGltfClientParams,
    RenderEngineVtkParams,
    RenderLabel,
    Rgba,
    SceneGraph,
    Sphere,
)
from pydrake.math import RigidTransform, RollPitchYaw, RotationMatrix
from pydrake.systems.sensors import CameraInfo

CAMERAS = {
    "default-640x480": CameraInfo(640, 480, np.pi / 4),
    "fx-ne-fy-off-centre": CameraInfo(640, 480, 520.0, 610.0, 300.25, 262.75),
    "odd-333x250": CameraInfo(333, 250, 0.9),
}
CLIPPING = ClippingRange(0.01, 10.0)
DEPTH_RANGE = DepthRange(0.1, 3.0)


def look_at(eye, target):
    """Drake camera pose (X right, Y down, Z forward) at `eye` looking at `target`, world Z up."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return RigidTransform(RotationMatrix(np.column_stack([right, down, forward])), eye)


X_WC = look_at([0.9, 0.55, 0.65], [0.02, 0.0, 0.05])


def props(rgba=None, label=None, diffuse_map=None):
    p = PerceptionProperties()
    if rgba is not None:
        p.AddProperty("phong", "diffuse", Rgba(*rgba))
    if diffuse_map is not None:
        p.AddProperty("phong", "diffuse_map", str(diffuse_map))
    if label is not None:
        p.AddProperty("label", "id", RenderLabel(label))
    return p


def at(x, y, z, yaw=0.0, roll=0.0):
    return RigidTransform(RollPitchYaw(roll, 0.0, yaw), [x, y, z])


GROUND = ("ground", Box(1.2, 1.2, 0.02), at(0, 0, -0.01), props((0.6, 0.6, 0.6, 1.0), 1))


def primitives(_tmp):
    return [
        GROUND,
        # Label 10 is the rounding edge case: 10/255 = 0.0392156862745098, and 0.039215...*255 < 10.
        ("box", Box(0.15, 0.2, 0.1), at(-0.2, 0.2, 0.05, yaw=0.3), props((1.0, 0.5, 0.25, 1.0), 10)),
        ("sphere", Sphere(0.08), at(0.1, -0.2, 0.08), props((0.2, 0.4, 0.9, 1.0), 300)),
        ("cylinder", Cylinder(0.05, 0.2), at(0.25, 0.2, 0.1), props((0.9, 0.9, 0.1, 1.0), 42)),
        ("capsule", Capsule(0.04, 0.12), at(-0.15, -0.25, 0.1), props((0.5, 0.1, 0.6, 1.0), 7)),
        ("ellipsoid", Ellipsoid(0.1, 0.06, 0.04), at(0.0, 0.0, 0.04), props((0.1, 0.7, 0.3, 1.0), 1234)),
    ]


def checker_png(path: Path) -> Path:
    """A 64x64 four-colour checker: a texture whose orientation errors would show."""
    colours = [(230, 40, 40), (40, 200, 60), (40, 60, 230), (240, 220, 40)]
    pixels = np.zeros((64, 64, 3), np.uint8)
    for row in range(64):
        for col in range(64):
            pixels[row, col] = colours[(row // 16) % 2 * 2 + (col // 16) % 2]
    Image.fromarray(pixels).save(path)
    return path


def textured_and_transparent(tmp):
    texture = checker_png(tmp / "checker.png")
    return [
        GROUND,
        ("textured_box", Box(0.2, 0.2, 0.2), at(-0.1, 0.15, 0.1, yaw=0.4), props(label=5, diffuse_map=texture)),
        ("opaque_box", Box(0.1, 0.3, 0.15), at(-0.05, -0.3, 0.075), props((0.9, 0.3, 0.2, 1.0), 9)),
        # Half-transparent, in front of the opaque box as the camera sees it.
        ("glass_sphere", Sphere(0.08), at(0.2, -0.15, 0.1), props((0.2, 0.8, 0.2, 0.5), 8)),
    ]


def write_obj(path: Path) -> Path:
    """A square pyramid with per-face normals, as CAD exports write it."""
    v = [(-0.08, -0.08, 0), (0.08, -0.08, 0), (0.08, 0.08, 0), (-0.08, 0.08, 0), (0, 0, 0.15)]
    faces = [(0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4), (0, 3, 2), (0, 2, 1)]
    lines = [f"v {x} {y} {z}" for x, y, z in v]
    for n, (a, b, c) in enumerate(faces, start=1):
        pa, pb, pc = (np.array(v[i]) for i in (a, b, c))
        normal = np.cross(pb - pa, pc - pa)
        normal /= np.linalg.norm(normal)
        lines.append("vn {} {} {}".format(*normal))
        lines.append(f"f {a + 1}//{n} {b + 1}//{n} {c + 1}//{n}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_gltf(path: Path) -> Path:
    """A Y-up glTF wedge with its own material and normals; Drake merges it into the client's scene."""
    positions = [(-0.06, 0, -0.06), (0.06, 0, -0.06), (0.06, 0, 0.06), (-0.06, 0, 0.06), (-0.06, 0.1, -0.06), (0.06, 0.1, -0.06)]
    tris = [(0, 2, 1), (0, 3, 2), (0, 1, 5), (0, 5, 4), (3, 4, 5), (3, 5, 2), (0, 4, 3), (1, 2, 5)]
    pos, nor = [], []
    for a, b, c in tris:
        pa, pb, pc = (np.array(positions[i]) for i in (a, b, c))
        n = np.cross(pb - pa, pc - pa)
        n /= np.linalg.norm(n)
        for p in (pa, pb, pc):
            pos.append(p)
            nor.append(n)
    data = b"".join(struct.pack("<3f", *p) for p in pos) + b"".join(struct.pack("<3f", *n) for n in nor)
    count = len(pos)
    half = count * 12
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.8, 0.2, 0.6, 1.0], "metallicFactor": 0.0, "roughnessFactor": 1.0}}],
        "buffers": [{"byteLength": len(data), "uri": "data:application/octet-stream;base64," + b64encode(data).decode()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": half, "target": 34962},
            {"buffer": 0, "byteOffset": half, "byteLength": half, "target": 34962},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": count, "type": "VEC3",
             "min": np.min(pos, axis=0).tolist(), "max": np.max(pos, axis=0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": count, "type": "VEC3"},
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def meshes(tmp):
    return [
        GROUND,
        ("obj_pyramid", Mesh(str(write_obj(tmp / "pyramid.obj"))), at(-0.1, 0.1, 0.0, yaw=0.5), props((0.3, 0.6, 0.9, 1.0), 21)),
        ("gltf_wedge", Mesh(str(write_gltf(tmp / "wedge.gltf"))), at(0.15, -0.15, 0.0, yaw=-0.4), props(label=22)),
    ]


def empty(_tmp):
    return []


SCENES = {
    "primitives": primitives,
    "textured-and-transparent": textured_and_transparent,
    "meshes": meshes,
    "empty": empty,
}


class TwoEngineScene:
    """One SceneGraph with both renderers, so both see exactly the same geometry."""

    def __init__(self, geometries, base_url: str, vtk_params: RenderEngineVtkParams | None = None, **client_params):
        """`vtk_params` configure RenderEngineVtk (Drake's defaults when None): the server at
        `base_url` must have been started with the same ones (`--vtk-params`) for the images to
        be comparable. `client_params` go to the glTF client's RenderEngineGltfClientParams."""
        self.scene_graph = SceneGraph()
        self.scene_graph.AddRenderer("vtk", MakeRenderEngineVtk(vtk_params or RenderEngineVtkParams()))
        self.scene_graph.AddRenderer(
            "gltf",
            MakeRenderEngineGltfClient(RenderEngineGltfClientParams(base_url=base_url, **client_params)),
        )
        source = self.scene_graph.RegisterSource("conformance")
        for name, shape, pose, properties in geometries:
            instance = GeometryInstance(pose, shape, name)
            instance.set_perception_properties(properties)
            self.scene_graph.RegisterAnchoredGeometry(source, instance)
        self.context = self.scene_graph.CreateDefaultContext()
        self.query = self.scene_graph.get_query_output_port().Eval(self.context)

    def render(self, renderer: str, image_type: str, camera: CameraInfo):
        core = RenderCameraCore(renderer, camera, CLIPPING, RigidTransform())
        world = self.scene_graph.world_frame_id()
        if image_type == "color":
            return np.array(self.query.RenderColorImage(ColorRenderCamera(core, False), world, X_WC).data)
        if image_type == "depth":
            return np.array(self.query.RenderDepthImage(DepthRenderCamera(core, DEPTH_RANGE), world, X_WC).data)
        return np.array(self.query.RenderLabelImage(ColorRenderCamera(core, False), world, X_WC).data)
