"""Scenes for the scene API's end-to-end tests and `make bench`: one SceneGraph that pydrake's
RenderEngineVtk renders in-process (the truth, renderer "vtk") and gltf_cloud.drake's
RemoteRenderer renders on our server, so both see exactly the same geometry and poses."""

from pathlib import Path

import numpy as np
from pydrake.common import MemoryFile
from pydrake.geometry import (
    Box,
    Capsule,
    ColorRenderCamera,
    Convex,
    Cylinder,
    DepthRenderCamera,
    Ellipsoid,
    GeometryInstance,
    HalfSpace,
    InMemoryMesh,
    MakeRenderEngineVtk,
    Mesh,
    RenderCameraCore,
    RenderEngineVtkParams,
    SceneGraph,
    Sphere,
)
from pydrake.math import RigidTransform, RollPitchYaw
from pydrake.multibody.tree import SpatialInertia

from drake_scenes import CLIPPING, DEPTH_RANGE, X_WC, at, checker_png, primitives, props, write_gltf, write_obj
from gltf_cloud.drake import RemoteRenderer

#: The renderer name the cameras carry: SceneGraph's RenderEngineVtk answers to it, and the
#: RemoteRenderer takes every geometry that has no ('renderer', 'accepting') property.
RENDERER = "vtk"


def cameras(camera_info, renderer_name: str = RENDERER):
    """(ColorRenderCamera, DepthRenderCamera) with the conformance clipping and depth range."""
    core = RenderCameraCore(renderer_name, camera_info, CLIPPING, RigidTransform())
    return ColorRenderCamera(core, False), DepthRenderCamera(core, DEPTH_RANGE)


def render_pair(query_object, remote: RemoteRenderer, renderer: str, image_type: str, camera_info,
                parent_frame_id=None, X_PC: RigidTransform = X_WC) -> np.ndarray:
    """One image from RenderEngineVtk (`renderer` "vtk") or the RemoteRenderer ("remote"), as an array."""
    parent_frame_id = parent_frame_id if parent_frame_id is not None else SceneGraph.world_frame_id()
    color, depth = cameras(camera_info)
    if renderer == "vtk":
        render = {"color": query_object.RenderColorImage, "depth": query_object.RenderDepthImage,
                  "label": query_object.RenderLabelImage}[image_type]
    else:
        render = {"color": remote.render_color_image, "depth": remote.render_depth_image,
                  "label": remote.render_label_image}[image_type]
        render = (lambda f: lambda *args: f(query_object, *args))(render)
    image = render(depth if image_type == "depth" else color, parent_frame_id, X_PC)
    return np.array(image.data)


class VtkAndRemoteScene:
    """Anchored geometries in one SceneGraph with RenderEngineVtk (`vtk_params`) as "vtk", and a
    RemoteRenderer at `base_url` with the same params; `render` fits image_compare.compare_all
    with `ours_renderer="remote"`."""

    def __init__(self, geometries, base_url: str, vtk_params: RenderEngineVtkParams | None = None):
        self.scene_graph = SceneGraph()
        self.scene_graph.AddRenderer(RENDERER, MakeRenderEngineVtk(vtk_params or RenderEngineVtkParams()))
        self.source = self.scene_graph.RegisterSource("remote-conformance")
        for name, shape, pose, properties in geometries:
            instance = GeometryInstance(pose, shape, name)
            instance.set_perception_properties(properties)
            self.scene_graph.RegisterAnchoredGeometry(self.source, instance)
        self.context = self.scene_graph.CreateDefaultContext()
        self.remote = RemoteRenderer(base_url, vtk_params)

    def query(self):
        return self.scene_graph.get_query_output_port().Eval(self.context)

    def render(self, renderer: str, image_type: str, camera_info) -> np.ndarray:
        return render_pair(self.query(), self.remote, renderer, image_type, camera_info)


def add_free_bodies(plant, scene_graph) -> tuple:
    """RenderEngineVtk as "vtk" in `scene_graph`, the primitives' ground anchored, and two free
    bodies of `plant` (a box, label 31; a sphere, label 32) with perception properties; finalizes
    the plant and returns the two bodies."""
    scene_graph.AddRenderer(RENDERER, MakeRenderEngineVtk(RenderEngineVtkParams()))
    ground_name, ground, X_WG, ground_props = primitives(None)[0]
    instance = GeometryInstance(X_WG, ground, ground_name)
    instance.set_perception_properties(ground_props)
    scene_graph.RegisterAnchoredGeometry(plant.get_source_id(), instance)
    inertia = SpatialInertia.SolidBoxWithMass(1.0, 0.1, 0.1, 0.1)
    bodies = []
    for name, shape, rgba, label in (("box", Box(0.12, 0.08, 0.1), (0.9, 0.4, 0.2, 1.0), 31),
                                     ("ball", Sphere(0.06), (0.2, 0.5, 0.9, 1.0), 32)):
        body = plant.AddRigidBody(name, inertia)
        geometry = GeometryInstance(RigidTransform(), shape, name)
        geometry.set_perception_properties(props(rgba, label))
        plant.RegisterVisualGeometry(body, geometry)
        bodies.append(body)
    plant.Finalize()
    return tuple(bodies)


#: Poses of add_free_bodies' (box, ball) over three frames: both move every time.
FREE_BODY_POSES = [
    (at(-0.1, 0.1, 0.05), at(0.15, -0.1, 0.06)),
    (RigidTransform(RollPitchYaw(0.4, 0.2, 1.0), [0.05, 0.15, 0.12]), at(0.1, -0.2, 0.2)),
    (RigidTransform(RollPitchYaw(-0.3, 0.6, -0.5), [-0.2, -0.05, 0.08]), at(-0.05, 0.05, 0.06)),
]


def write_textured_obj(folder: Path) -> Path:
    """A cube with texture coordinates, its MTL and the checker texture, each in a subfolder: the
    OBJ + MTL + map_Kd path RenderEngineVtk reads, where map_Kd names the texture from the OBJ's
    folder (as Drake resolves it), not from the MTL's."""
    (folder / "tex").mkdir(exist_ok=True)
    (folder / "materials").mkdir(exist_ok=True)
    checker_png(folder / "tex" / "checker.png")
    (folder / "materials" / "cube.mtl").write_text("newmtl checker\nKd 1 1 1\nmap_Kd tex/checker.png\n")
    h = 0.06
    faces = [  # normal, then four corners counter-clockwise seen from outside
        ((1, 0, 0), [(h, -h, -h), (h, h, -h), (h, h, h), (h, -h, h)]),
        ((-1, 0, 0), [(-h, h, -h), (-h, -h, -h), (-h, -h, h), (-h, h, h)]),
        ((0, 1, 0), [(h, h, -h), (-h, h, -h), (-h, h, h), (h, h, h)]),
        ((0, -1, 0), [(-h, -h, -h), (h, -h, -h), (h, -h, h), (-h, -h, h)]),
        ((0, 0, 1), [(-h, -h, h), (h, -h, h), (h, h, h), (-h, h, h)]),
        ((0, 0, -1), [(-h, h, -h), (h, h, -h), (h, -h, -h), (-h, -h, -h)]),
    ]
    lines = ["mtllib materials/cube.mtl", "vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1", "usemtl checker"]
    for n, (normal, corners) in enumerate(faces):
        lines += [f"v {x} {y} {z}" for x, y, z in corners]
        lines.append("vn {} {} {}".format(*normal))
        base = 4 * n
        lines.append(f"f {base + 1}/1/{n + 1} {base + 2}/2/{n + 1} {base + 3}/3/{n + 1}")
        lines.append(f"f {base + 1}/1/{n + 1} {base + 3}/3/{n + 1} {base + 4}/4/{n + 1}")
    path = folder / "cube.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


def every_shape(tmp: Path):
    """Every Drake shape RenderEngineVtk draws, on a HalfSpace floor: the primitives, a Convex,
    OBJ meshes at uniform and non-uniform scale, an in-memory OBJ, a scaled glTF and a textured
    OBJ (MTL + map_Kd), within the conformance camera's view."""
    pyramid = write_obj(tmp / "pyramid.obj")
    in_memory = InMemoryMesh(mesh_file=MemoryFile(pyramid.read_bytes(), ".obj", "pyramid.obj"))
    return [
        ("floor", HalfSpace(), at(0, 0, -0.001), props((0.45, 0.5, 0.55, 1.0), 2)),
        ("box", Box(0.08, 0.12, 0.06), at(-0.25, 0.25, 0.03, yaw=0.3), props((1.0, 0.5, 0.25, 1.0), 10)),
        ("sphere", Sphere(0.05), at(-0.05, 0.28, 0.05), props((0.2, 0.4, 0.9, 1.0), 11)),
        ("cylinder", Cylinder(0.035, 0.12), at(0.15, 0.27, 0.06), props((0.9, 0.9, 0.1, 1.0), 12)),
        ("capsule", Capsule(0.03, 0.08), at(0.28, 0.1, 0.07, roll=1.2), props((0.5, 0.1, 0.6, 1.0), 13)),
        ("ellipsoid", Ellipsoid(0.07, 0.04, 0.03), at(-0.27, 0.02, 0.03), props((0.1, 0.7, 0.3, 1.0), 14)),
        ("convex", Convex(str(pyramid), 0.7), at(-0.1, 0.08, 0.0, yaw=0.4), props((0.8, 0.3, 0.5, 1.0), 15)),
        ("mesh_uniform", Mesh(str(pyramid), 0.6), at(0.1, 0.1, 0.0, yaw=-0.3), props((0.3, 0.6, 0.9, 1.0), 16)),
        ("mesh_nonuniform", Mesh(str(pyramid), [1.4, 0.5, 0.7]), at(-0.2, -0.15, 0.0, yaw=0.2),
         props((0.9, 0.6, 0.3, 1.0), 17)),
        ("mesh_in_memory", Mesh(in_memory, 0.5), at(0.02, -0.1, 0.0, yaw=0.8), props((0.6, 0.9, 0.6, 1.0), 18)),
        ("gltf_scaled", Mesh(str(write_gltf(tmp / "wedge.gltf")), [1.3, 0.8, 1.1]), at(0.25, -0.12, 0.0, yaw=-0.5),
         props(label=19)),
        ("textured_obj", Mesh(str(write_textured_obj(tmp))), at(0.12, -0.3, 0.06, yaw=0.5), props(label=20)),
    ]
