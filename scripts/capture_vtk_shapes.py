"""Captures RenderEngineVtk's own tessellation of every Drake shape, an OBJ mesh and a Convex, as the
truth `tests/scene/vtk_shapes.rs` compares `scene::shapes` and `scene::mesh_file` against.

Two real sources, written to `tests/fixtures/vtk_shapes.json`:
- pydrake 1.51.1: each shape registered alone with `RenderEngineGltfClient`, whose glTF is VTK's
  exporter writing RenderEngineVtk's own poly data (Drake's `DrakeCubeSource`, VTK's sources,
  Drake's transforms, `DrakeObjSource` for the OBJ): positions and texture coordinates, exactly
  as RenderEngineVtk holds them (the exporter leaves out the normals, which Drake names
  `Normals`, not `NORMAL`).
- VTK's Python wheel (`pip install vtk`, a one-off; `make test` never needs it): the same VTK
  sources and transforms Drake builds, for the normals the exporter leaves out.

The Convex (Drake's qhull hull, faceted) is recorded whole: its triangles may be cut otherwise
than ours, so the test compares faces, corners and area. The rest are recorded as counts, the
SHA-256 of the float32 little-endian positions, and the vertices themselves: all of a small
mesh, every 25th of a large one.

Usage, from the repository root:
    /work/main/.venv/bin/python scripts/capture_vtk_shapes.py
"""

import base64
import hashlib
import importlib.util
import json
import multiprocessing
import pathlib
import struct
import tempfile

import numpy as np
from pydrake.geometry import (
    Box,
    Capsule,
    Convex,
    Cylinder,
    Ellipsoid,
    HalfSpace,
    Mesh,
    Rgba,
    Sphere,
)
from pydrake.math import RigidTransform

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/vtk_shapes.json"
STRIDE = 25
SMALL = 250

spec = importlib.util.spec_from_file_location(
    "capture_drake_gltf", ROOT / "tests/fixtures/gltf/capture_drake_gltf.py"
)
capture_gltf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(capture_gltf)

SHAPES = [
    ({"type": "box", "width": 0.2, "depth": 0.3, "height": 0.1}, Box(0.2, 0.3, 0.1)),
    ({"type": "sphere", "radius": 0.1}, Sphere(0.1)),
    ({"type": "cylinder", "radius": 0.1, "length": 0.4}, Cylinder(0.1, 0.4)),
    ({"type": "capsule", "radius": 0.05, "length": 0.3}, Capsule(0.05, 0.3)),
    ({"type": "ellipsoid", "a": 0.1, "b": 0.2, "c": 0.3}, Ellipsoid(0.1, 0.2, 0.3)),
    ({"type": "half_space"}, HalfSpace()),
]

# Faces without a material first, two MTL materials, a quad, a pentagon, negative indices.
OBJ = """mtllib parts.mtl
v 0 0 0
v 1 0 0
v 1 1 0.2
v 0 1 0
v -0.5 0.5 0.1
v 0.5 -0.5 0.3
vn 0 0 1
vn 0 0.6 0.8
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vt 0.5 0.25
f 1/1/1 2/2/1 6/5/2
usemtl red
f 1/1/1 2/2/1 3/3/2 4/4/1
usemtl wood
f 1/1/1 2/2/2 3/3/1 4/4/2 5/5/1
f -6/-5/-2 -4/-3/-1 -2/-1/-2
"""
# A cloud with inner points, points on faces and a duplicate, for Drake's hull (qhull).
HULL = """v 0 0 0
v 1 0 0
v 0 1 0
v 0 0 1
v 1 1 1
v 0.5 0.5 0.5
v 0.5 0 0
v 1 1 1
v 0.2 0.9 0.7
"""
MTL = """newmtl red
Kd 1 0 0
newmtl wood
Kd 0.5 0.5 0.5
map_Kd wood.png
"""


def f32_bytes(values):
    return np.asarray(values, dtype="<f4").tobytes()


def record(positions, tex_coords, normals=None, indices=None):
    positions = np.asarray(positions, dtype="<f4").reshape(-1, 3)
    tex_coords = np.asarray(tex_coords, dtype="<f4").reshape(-1, 2)
    entry = {
        "points": len(positions),
        "positions_sha256": hashlib.sha256(f32_bytes(positions)).hexdigest(),
        "samples": [
            {"index": i, "position": positions[i].tolist(), "tex_coord": tex_coords[i].tolist()}
            for i in range(0, len(positions), 1 if len(positions) <= SMALL else STRIDE)
        ],
    }
    if normals is not None:
        normals = np.asarray(normals, dtype="<f4").reshape(-1, 3)
        for sample in entry["samples"]:
            sample["normal"] = normals[sample["index"]].tolist()
    if indices is not None:
        entry["indices"] = [int(i) for i in indices]
    return entry


def accessor(gltf, index):
    """An accessor's elements from a glTF whose buffers are data URIs."""
    acc = gltf["accessors"][index]
    view = gltf["bufferViews"][acc["bufferView"]]
    uri = gltf["buffers"][view["buffer"]]["uri"]
    data = base64.b64decode(uri.split(",", 1)[1])
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[acc["type"]]
    fmt = {5126: "f", 5125: "I", 5123: "H", 5121: "B"}[acc["componentType"]]
    size = struct.calcsize(fmt)
    values = struct.unpack_from(f"<{acc['count'] * width}{fmt}", data, start)
    assert size * acc["count"] * width <= view["byteLength"]
    return np.array(values).reshape(acc["count"], width) if width > 1 else np.array(values)


def exported_primitives(gltf):
    """(positions, tex_coords, indices) of every triangle primitive VTK exported."""
    out = []
    for mesh in gltf["meshes"]:
        for primitive in mesh["primitives"]:
            if primitive.get("mode", 4) != 4:
                continue
            attributes = primitive["attributes"]
            out.append(
                (
                    accessor(gltf, attributes["POSITION"]),
                    accessor(gltf, attributes["TEXCOORD_0"]),
                    accessor(gltf, primitive["indices"]).tolist(),
                )
            )
    return out


def capture_all(work):
    port_queue = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=capture_gltf.serve, args=(work, port_queue), daemon=True
    )
    server.start()
    port = port_queue.get(timeout=30)
    capture_gltf.OUT_DIR = work
    captured = {}
    try:
        for params, shape in SHAPES:
            name = params["type"]

            def populate(scene_graph, source, shape=shape, name=name):
                capture_gltf.add_shape(
                    scene_graph, source, RigidTransform(), shape, name, 5,
                    diffuse=Rgba(0.5, 0.5, 0.5, 1),
                )

            capture_gltf.capture(port, work, name, ["color"], populate)
            captured[name] = json.loads((work / f"{name}-color.gltf").read_text())
        (work / "parts.obj").write_text(OBJ)
        (work / "parts.mtl").write_text(MTL)
        from PIL import Image

        Image.new("RGBA", (2, 2), (200, 150, 100, 255)).save(work / "wood.png")

        def mesh(scene_graph, source):
            capture_gltf.add_shape(
                scene_graph, source, RigidTransform(), Mesh(str(work / "parts.obj")), "obj", 5
            )

        capture_gltf.capture(port, work, "obj", ["color"], mesh)
        captured["obj"] = json.loads((work / "obj-color.gltf").read_text())

        (work / "hull.obj").write_text(HULL)

        def convex(scene_graph, source):
            capture_gltf.add_shape(
                scene_graph, source, RigidTransform(), Convex(str(work / "hull.obj")), "hull", 5
            )

        capture_gltf.capture(port, work, "convex", ["color"], convex)
        captured["convex"] = json.loads((work / "convex-color.gltf").read_text())
    finally:
        server.terminate()
        server.join()
    return captured


def vtk_normals(params):
    """The normals of Drake's VTK pipeline for `params`, from VTK's wheel (None for the box,
    which is Drake's own source)."""
    import vtk

    kind = params["type"]
    if kind == "box":
        return None, None
    if kind == "sphere":
        source = vtk.vtkTexturedSphereSource()
        source.SetRadius(params["radius"])
        source.SetThetaResolution(50)
        source.SetPhiResolution(50)
        transform = None
    elif kind == "ellipsoid":
        source = vtk.vtkTexturedSphereSource()
        source.SetRadius(1.0)
        source.SetThetaResolution(50)
        source.SetPhiResolution(50)
        transform = vtk.vtkTransform()
        transform.Scale(params["a"], params["b"], params["c"])
    elif kind in ("cylinder", "capsule"):
        source = vtk.vtkCylinderSource()
        if kind == "capsule":
            source.CappingOn()
            source.CapsuleCapOn()
        source.SetHeight(params["length"])
        source.SetRadius(params["radius"])
        source.SetResolution(50)
        transform = vtk.vtkTransform()
        transform.RotateX(-90)
        turn = vtk.vtkTransform()
        turn.RotateY(90)
        transform.Concatenate(turn)
    else:
        source = vtk.vtkPlaneSource()
        source.SetOrigin(-50, -50, 0)
        source.SetPoint1(-50, 50, 0)
        source.SetPoint2(50, -50, 0)
        source.SetNormal(0, 0, 1)
        transform = None
    source.Update()
    output = source.GetOutput()
    if transform is not None:
        transform_filter = vtk.vtkTransformPolyDataFilter()
        transform_filter.SetInputConnection(source.GetOutputPort())
        transform_filter.SetTransform(transform)
        transform_filter.Update()
        output = transform_filter.GetOutput()
    from vtk.util.numpy_support import vtk_to_numpy

    points = vtk_to_numpy(output.GetPoints().GetData())
    normals = vtk_to_numpy(output.GetPointData().GetNormals())
    return points, normals


def main():
    with tempfile.TemporaryDirectory() as tmp:
        captured = capture_all(pathlib.Path(tmp))
    fixture = {"shapes": [], "obj": {"obj": OBJ, "mtl": MTL, "parts": []}}
    for params, _ in SHAPES:
        [(positions, tex_coords, _)] = exported_primitives(captured[params["type"]])
        points, normals = vtk_normals(params)
        if points is not None:
            same = np.array_equal(points.astype("<f4"), positions.astype("<f4"))
            print(f"{params['type']}: VTK wheel points equal pydrake's export: {same}")
        entry = record(positions, tex_coords, normals)
        entry["shape"] = params
        fixture["shapes"].append(entry)
    for positions, tex_coords, indices in exported_primitives(captured["obj"]):
        fixture["obj"]["parts"].append(record(positions, tex_coords, indices=indices))
    [(hull_positions, _, hull_indices)] = exported_primitives(captured["convex"])
    fixture["convex"] = {
        "obj": HULL,
        "positions": hull_positions.tolist(),
        "indices": [int(i) for i in hull_indices],
    }
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
