"""What a SceneGraph holds, as the scene API describes it: shapes, perception properties, poses,
the look, and the assets they name.

It reads SceneGraph through its QueryObject (a Python RenderEngine cannot be registered with
SceneGraph in pydrake 1.51: docs/upstream/pydrake-facts.md) and follows RenderEngineVtk's own
rules, so that the server draws what RenderEngineVtk would: which geometry a renderer accepts,
which meshes it reads (OBJ and glTF; anything else is ignored with Drake's warning), a texture
that cannot be read (dropped, the colour then white), and reserved labels.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydrake.common import MemoryFile
from pydrake.common.yaml import yaml_dump_typed
from pydrake.geometry import (
    Box,
    Capsule,
    ClippingRange,
    ColorRenderCamera,
    Convex,
    Cylinder,
    Ellipsoid,
    EquirectangularMap,
    GeometryInstance,
    HalfSpace,
    MakeRenderEngineVtk,
    Mesh,
    PerceptionProperties,
    RenderCameraCore,
    RenderEngineVtkParams,
    RenderLabel,
    Role,
    SceneGraph,
    Sphere,
)
from pydrake.math import RigidTransform
from pydrake.systems.sensors import CameraInfo

from ..assets import Asset, FileSource, supporting_files

log = logging.getLogger("gltf_cloud")

#: The mesh files RenderEngineVtk 1.51 draws; it ignores other Mesh files with a warning.
MESH_FORMATS = {".obj": "obj", ".gltf": "gltf"}


@dataclass
class GeometryDescription:
    """One geometry as the scene API registers it (`wire` without its pose), its pydrake
    GeometryId, the assets it names, and whether it moves (is on a frame other than the world's)."""

    geometry_id: object  # pydrake.geometry.GeometryId
    wire: dict
    assets: list[Asset] = field(default_factory=list)
    dynamic: bool = False

    def with_pose(self, X_WG: np.ndarray) -> dict:
        return {**self.wire, "X_WG": np.asarray(X_WG, dtype=np.float64).reshape(12).tolist()}


def _mesh_source(shape, what: str) -> tuple[dict, list[Asset]]:
    """A Mesh's or Convex's `source` object (main file and supporting files) and its assets."""
    source = shape.source()
    extension = source.extension().lower()
    if source.is_path():
        path = Path(source.path())
        if not path.is_file():
            raise FileNotFoundError(f"{what}: mesh file {path} not found")
        main = Asset.from_path(path)
        name = path.name
        files = supporting_files(name, main, FileSource(folder=path.parent))
        if extension == ".obj":
            # RenderEngineVtk's legacy texture: foo.png beside foo.obj when nothing else colours it.
            legacy = FileSource(folder=path.parent).asset(path.with_suffix(".png").name)
            if legacy is not None:
                files[path.with_suffix(".png").name] = legacy
    else:
        in_memory = source.in_memory()
        main = Asset.from_bytes(in_memory.mesh_file.contents())
        name = posixpath.basename(in_memory.mesh_file.filename_hint().replace("\\", "/")) or f"mesh{extension}"
        if not name.lower().endswith(extension):
            name += extension
        named = {key: value.contents() if isinstance(value, MemoryFile) else Path(value)
                 for key, value in in_memory.supporting_files.items()}
        files = {key: FileSource(named=named).asset(key) for key in named}
        files.update(supporting_files(name, main, FileSource(named=named)))
    wire = {"format": MESH_FORMATS[extension], "name": name, "asset": main.sha256,
            "files": {key: asset.sha256 for key, asset in files.items()}}
    return wire, [main, *files.values()]


def _hull_obj(convex: Convex) -> bytes:
    """Drake's own convex hull of `convex` (scale applied) as OBJ text: how a Convex whose file
    the server cannot read (e.g. .vtk) still draws exactly RenderEngineVtk's hull."""
    hull = convex.GetConvexHull()
    lines = ["v {:.17g} {:.17g} {:.17g}".format(*hull.vertex(i)) for i in range(hull.num_vertices())]
    for e in range(hull.num_elements()):
        polygon = hull.element(e)
        lines.append("f " + " ".join(str(polygon.vertex(k) + 1) for k in range(polygon.num_vertices())))
    return ("\n".join(lines) + "\n").encode()


def shape_description(shape, what: str) -> tuple[dict, list[Asset]] | None:
    """The scene API's `shape` for a Drake Shape and the assets it names; None for a shape
    RenderEngineVtk ignores (logged). Raises ValueError for one it refuses (MeshcatCone)."""
    if isinstance(shape, Box):
        return {"type": "box", "width": shape.width(), "depth": shape.depth(), "height": shape.height()}, []
    if isinstance(shape, Sphere):
        return {"type": "sphere", "radius": shape.radius()}, []
    if isinstance(shape, Cylinder):
        return {"type": "cylinder", "radius": shape.radius(), "length": shape.length()}, []
    if isinstance(shape, Capsule):
        return {"type": "capsule", "radius": shape.radius(), "length": shape.length()}, []
    if isinstance(shape, Ellipsoid):
        return {"type": "ellipsoid", "a": shape.a(), "b": shape.b(), "c": shape.c()}, []
    if isinstance(shape, HalfSpace):
        return {"type": "half_space"}, []
    if isinstance(shape, (Mesh, Convex)):
        kind = "mesh" if isinstance(shape, Mesh) else "convex"
        extension = shape.source().extension().lower()
        if extension not in MESH_FORMATS:
            if kind == "mesh":
                log.warning("%s: RenderEngineVtk only draws .obj and .gltf meshes; this %s mesh is ignored",
                            what, extension)
                return None
            hull = Asset.from_bytes(_hull_obj(shape))
            return {"type": kind, "scale": [1.0, 1.0, 1.0],
                    "source": {"format": "obj", "name": "hull.obj", "asset": hull.sha256, "files": {}}}, [hull]
        source, assets = _mesh_source(shape, what)
        return {"type": kind, "source": source, "scale": [float(s) for s in shape.scale3()]}, assets
    raise ValueError(f"{what}: RenderEngineVtk does not support {type(shape).__name__}")


def properties_description(properties, what: str) -> tuple[dict, list[Asset]]:
    """The perception properties RenderEngineVtk reads, as the scene API's `properties`."""
    wire, assets = {}, []
    if properties.HasProperty("phong", "diffuse"):
        wire["phong/diffuse"] = [float(c) for c in properties.GetProperty("phong", "diffuse").rgba]
    if properties.HasProperty("phong", "diffuse_map"):
        path = Path(properties.GetProperty("phong", "diffuse_map"))
        if path.is_file():
            texture = Asset.from_path(path)
            wire["phong/diffuse_map"] = {"asset": texture.sha256, "name": path.name}
            assets.append(texture)
        else:
            # As RenderEngineVtk: a warning, no map, and the colour a declared map implies (white).
            log.warning("%s: the ('phong', 'diffuse_map') property referenced a map that could not be found: '%s'",
                        what, path)
            wire.setdefault("phong/diffuse", [1.0, 1.0, 1.0, 1.0])
    if properties.HasProperty("phong", "diffuse_scale"):
        scale = np.asarray(properties.GetProperty("phong", "diffuse_scale"), dtype=float).reshape(-1)
        wire["phong/diffuse_scale"] = [float(s) for s in scale[:2]]
    if properties.HasProperty("label", "id"):
        label = properties.GetProperty("label", "id")
        if label in (RenderLabel.kEmpty, RenderLabel.kUnspecified):
            raise ValueError(f"{what}: cannot render a geometry with the 'unspecified' or 'empty' label "
                             "(RenderEngineVtk refuses it too)")
        wire["label/id"] = int(label)
    return wire, assets


class _AcceptingProbe:
    """SceneGraph's ('renderer', 'accepting') rule, asked of SceneGraph itself.

    pydrake cannot read that property (a std::set<std::string> with no Python binding), so a
    scratch SceneGraph holding a RenderEngineVtk under the camera's renderer name registers a box
    with only the geometry's 'renderer' group and a label, and a 2×2 label render says whether
    the engine took it. It costs ~30 ms once per renderer name and a few ms per geometry that
    has the property; the answer never changes for a geometry (Drake cannot replace perception
    properties), so callers keep it.
    """

    _lock = threading.Lock()
    _probes: dict[str, "_AcceptingProbe"] = {}

    def __init__(self, renderer_name: str):
        self.scene_graph = SceneGraph()
        self.scene_graph.AddRenderer(renderer_name, MakeRenderEngineVtk(RenderEngineVtkParams()))
        self.source = self.scene_graph.RegisterSource("gltf_cloud accepting probe")
        self.context = self.scene_graph.CreateDefaultContext()
        core = RenderCameraCore(renderer_name, CameraInfo(2, 2, 0.5), ClippingRange(0.1, 10.0), RigidTransform())
        self.camera = ColorRenderCamera(core)

    @classmethod
    def accepts(cls, properties, renderer_name: str) -> bool:
        with cls._lock:
            probe = cls._probes.get(renderer_name)
            if probe is None:
                probe = cls._probes[renderer_name] = cls(renderer_name)
            return probe._accepts(properties)

    def _accepts(self, properties) -> bool:
        only_renderer = PerceptionProperties(properties)
        for group in only_renderer.GetGroupNames():
            if group != "renderer":
                for name in list(only_renderer.GetPropertiesInGroup(group)):
                    only_renderer.RemoveProperty(group, name)
        only_renderer.AddProperty("label", "id", RenderLabel(1))
        box = GeometryInstance(RigidTransform([0.0, 0.0, 1.0]), Box(1.0, 1.0, 0.1), "probe")
        box.set_perception_properties(only_renderer)
        drake_log = logging.getLogger("drake")
        level = drake_log.level
        drake_log.setLevel(logging.ERROR)  # "no renderer accepted it" is the answer, not a warning
        try:
            geometry_id = self.scene_graph.RegisterGeometry(self.context, self.source, self.scene_graph.world_frame_id(), box)
        finally:
            drake_log.setLevel(level)
        try:
            query_object = self.scene_graph.get_query_output_port().Eval(self.context)
            label = query_object.RenderLabelImage(self.camera, self.scene_graph.world_frame_id(), RigidTransform())
            return int(label.data[0, 0, 0]) == 1
        finally:
            self.scene_graph.RemoveGeometry(self.context, self.source, geometry_id)


def accepts(properties, renderer_name: str) -> bool:
    """SceneGraph's rule: a renderer takes a geometry whose ('renderer', 'accepting') set is
    absent or empty, or names it."""
    if not properties.HasProperty("renderer", "accepting"):
        return True
    return _AcceptingProbe.accepts(properties, renderer_name)


def describe_geometries(inspector, renderer_name: str, accepted: dict[int, bool]) -> dict[int, GeometryDescription]:
    """Every perception geometry `renderer_name` would draw, by GeometryId value. `accepted`
    keeps each geometry's answer to the accepting rule across calls."""
    world = inspector.world_frame_id()
    described = {}
    for geometry_id in inspector.GetAllGeometryIds(Role.kPerception):
        what = f"geometry {geometry_id.get_value()} ('{inspector.GetName(geometry_id)}')"
        if inspector.IsDeformableGeometry(geometry_id):
            log.warning("%s: deformable geometry is not drawn by the remote renderer", what)
            continue
        properties = inspector.GetPerceptionProperties(geometry_id)
        value = geometry_id.get_value()
        if value not in accepted:
            accepted[value] = accepts(properties, renderer_name)
        if not accepted[value]:
            continue
        shape = shape_description(inspector.GetShape(geometry_id), what)
        if shape is None:
            continue
        wire_properties, property_assets = properties_description(properties, what)
        described[value] = GeometryDescription(
            geometry_id=geometry_id,
            wire={"id": value, "shape": shape[0], "properties": wire_properties},
            assets=shape[1] + property_assets,
            dynamic=inspector.GetFrameId(geometry_id) != world,
        )
    return described


def look_description(params: RenderEngineVtkParams | None) -> tuple[str | None, dict[str, str], list[Asset]]:
    """The scene's `look` (pydrake's own YAML of `params`), its `look_files` (the environment
    map's path → asset) and the assets to upload; (None, {}, []) for the server's own look."""
    if params is None:
        return None, {}, []
    files, assets = {}, []
    environment = params.environment_map
    if environment is not None and isinstance(environment.texture, EquirectangularMap):
        path = environment.texture.path
        asset = Asset.from_path(path)
        files[path] = asset.sha256
        assets.append(asset)
    return yaml_dump_typed(params), files, assets
