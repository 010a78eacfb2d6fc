"""gltf_cloud.drake against a recording stub (scene_api_stub.py): what RemoteRenderer and
RemoteRgbdSensor send for a real pydrake SceneGraph — the geometry as RenderEngineVtk reads it,
poses only when they change, PATCHes for added and removed geometry, registering again on an
unknown scene, one request for a sensor's images — with no render server. The images themselves
are compared with RenderEngineVtk against the real server in test_remote_renderer.py."""

import numpy as np
import pytest
from pydrake.common import MemoryFile
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
    EnvironmentMap,
    EquirectangularMap,
    GeometryFrame,
    GeometryInstance,
    HalfSpace,
    InMemoryMesh,
    Mesh,
    MeshcatCone,
    PerceptionProperties,
    RenderCameraCore,
    RenderEngineVtkParams,
    RenderLabel,
    Rgba,
    SceneGraph,
    Sphere,
)
from pydrake.math import RigidTransform, RollPitchYaw
from pydrake.multibody.parsing import Parser
from pydrake.multibody.plant import AddMultibodyPlantSceneGraph
from pydrake.multibody.tree import SpatialInertia
from pydrake.systems.framework import DiagramBuilder
from pydrake.systems.sensors import CameraInfo, ImageDepth16U, ImageDepth32F, ImageLabel16I, ImageRgba8U

from drake_scenes import checker_png, props, write_obj
from gltf_cloud.drake import ImageRequest, RemoteRenderer, RemoteRgbdSensor
from gltf_cloud.drake._scene import describe_geometries, properties_description, shape_description
from scene_api_stub import StubServer

INFO = CameraInfo(8, 6, 1.0)
CORE = RenderCameraCore("remote", INFO, ClippingRange(0.01, 10.0), RigidTransform([0.0, 0.0, 0.05]))
COLOR = ColorRenderCamera(CORE)
DEPTH = DepthRenderCamera(CORE, DepthRange(0.1, 5.0))


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


# -- the geometry as the scene API describes it --------------------------------------------------

def test_every_primitive_with_drakes_parameters():
    assert shape_description(Box(0.1, 0.2, 0.3), "g")[0] == {"type": "box", "width": 0.1, "depth": 0.2, "height": 0.3}
    assert shape_description(Sphere(0.5), "g")[0] == {"type": "sphere", "radius": 0.5}
    assert shape_description(Cylinder(0.1, 0.4), "g")[0] == {"type": "cylinder", "radius": 0.1, "length": 0.4}
    assert shape_description(Capsule(0.1, 0.4), "g")[0] == {"type": "capsule", "radius": 0.1, "length": 0.4}
    assert shape_description(Ellipsoid(0.1, 0.2, 0.3), "g")[0] == {"type": "ellipsoid", "a": 0.1, "b": 0.2, "c": 0.3}
    assert shape_description(HalfSpace(), "g")[0] == {"type": "half_space"}
    with pytest.raises(ValueError, match="MeshcatCone"):
        shape_description(MeshcatCone(1, 1, 1), "g")


def test_meshes_from_files_with_scale(tmp_path):
    obj = write_obj(tmp_path / "pyramid.obj")
    obj.write_text("mtllib pyramid.mtl\n" + obj.read_text())
    (tmp_path / "pyramid.mtl").write_text("newmtl m\nmap_Kd checker.png\n")
    checker_png(tmp_path / "checker.png")
    shape, assets = shape_description(Mesh(str(obj), [1.0, 2.0, 0.5]), "g")
    by_hash = {a.sha256: a for a in assets}
    assert shape["type"] == "mesh" and shape["scale"] == [1.0, 2.0, 0.5]
    assert shape["source"]["format"] == "obj" and shape["source"]["name"] == "pyramid.obj"
    assert set(shape["source"]["files"]) == {"pyramid.mtl", "checker.png"}
    assert by_hash[shape["source"]["asset"]].read() == obj.read_bytes()
    assert by_hash[shape["source"]["files"]["checker.png"]].read() == (tmp_path / "checker.png").read_bytes()
    convex, _ = shape_description(Convex(str(obj), 2.0), "g")
    assert convex["type"] == "convex" and convex["scale"] == [2.0, 2.0, 2.0]


def test_legacy_png_beside_an_obj_is_sent(tmp_path):
    obj = write_obj(tmp_path / "pyramid.obj")
    checker_png(tmp_path / "pyramid.png")
    shape, _ = shape_description(Mesh(str(obj)), "g")
    assert set(shape["source"]["files"]) == {"pyramid.png"}


def test_in_memory_mesh_and_its_supporting_files(tmp_path):
    texture = checker_png(tmp_path / "t.png")
    mesh = InMemoryMesh(mesh_file=MemoryFile(b"mtllib m.mtl\nv 0 0 0\n", ".obj", "dir/thing.obj"),
                        supporting_files={"m.mtl": MemoryFile(b"map_Kd t.png\n", ".mtl", "m.mtl"), "t.png": texture})
    shape, assets = shape_description(Mesh(mesh, 3.0), "g")
    assert shape["source"]["name"] == "thing.obj" and set(shape["source"]["files"]) == {"m.mtl", "t.png"}
    assert {a.sha256 for a in assets} >= set(shape["source"]["files"].values())


def test_a_mesh_renderengine_vtk_ignores_is_left_out(tmp_path, caplog):
    (tmp_path / "a.stl").write_bytes(b"solid")
    assert shape_description(Mesh(str(tmp_path / "a.stl")), "g") is None
    assert "only draws .obj and .gltf" in caplog.text


def test_a_convex_the_server_cannot_read_is_sent_as_drakes_hull(tmp_path):
    vtk = tmp_path / "tet.vtk"
    vtk.write_text("# vtk DataFile Version 3.0\ntet\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 4 double\n"
                   "0 0 0\n1 0 0\n0 1 0\n0 0 1\nCELLS 1 5\n4 0 1 2 3\nCELL_TYPES 1\n10\n")
    shape, assets = shape_description(Convex(str(vtk), 2.0), "g")
    assert shape["source"]["format"] == "obj" and shape["scale"] == [1.0, 1.0, 1.0]
    text = assets[0].read().decode()
    assert text.count("\nf ") + text.startswith("f ") == 4 and "v 2 0 0" in text


def test_properties_as_renderengine_vtk_reads_them(tmp_path, caplog):
    texture = checker_png(tmp_path / "c.png")
    p = props((0.1, 0.2, 0.3, 0.4), 12, diffuse_map=texture)
    p.AddProperty("phong", "diffuse_scale", np.array([2.0, 3.0]))
    wire, assets = properties_description(p, "g")
    assert wire == {"phong/diffuse": [0.1, 0.2, 0.3, 0.4], "label/id": 12, "phong/diffuse_scale": [2.0, 3.0],
                    "phong/diffuse_map": {"asset": assets[0].sha256, "name": "c.png"}}
    # A map that cannot be read: dropped, and the colour is the white a declared map implies.
    wire, _ = properties_description(props(label=3, diffuse_map=tmp_path / "nowhere.png"), "g")
    assert wire == {"phong/diffuse": [1.0, 1.0, 1.0, 1.0], "label/id": 3} and "could not be found" in caplog.text
    empty = PerceptionProperties()
    empty.AddProperty("label", "id", RenderLabel.kEmpty)
    with pytest.raises(ValueError, match="empty"):
        properties_description(empty, "g")


def test_only_geometry_the_renderer_accepts():
    # ('renderer', 'accepting') must be a std::set<std::string>, which Python cannot build: it
    # comes from a model file's <drake:accepting_renderer>, as users write it.
    visuals = "".join(
        f'<visual name="{name}"><geometry><sphere><radius>0.1</radius></sphere></geometry>'
        + "".join(f"<drake:accepting_renderer>{r}</drake:accepting_renderer>" for r in renderers) + "</visual>"
        for name, renderers in (("anyone", []), ("both", ["remote", "vtk"]), ("remote", ["remote"]), ("other", ["vtk"])))
    sdf = f'<sdf version="1.9" xmlns:drake="drake.mit.edu"><model name="m"><link name="l">{visuals}</link></model></sdf>'
    builder = DiagramBuilder()
    plant, scene_graph = AddMultibodyPlantSceneGraph(builder, 0.0)
    Parser(plant).AddModelsFromString(sdf, "sdf")
    plant.Finalize()
    inspector = scene_graph.model_inspector()
    names = {inspector.GetName(d.geometry_id).split("::")[-1] for d in describe_geometries(inspector, "remote", {}).values()}
    assert names == {"anyone", "both", "remote"}


# -- RemoteRenderer's requests -------------------------------------------------------------------

class MovingScene:
    """A plant with two free boxes (one moves), an anchored sphere; SceneGraph has no renderer."""

    def __init__(self):
        builder = DiagramBuilder()
        self.plant, self.scene_graph = AddMultibodyPlantSceneGraph(builder, 0.0)
        self.bodies = []
        for name in ("mover", "sitter"):
            body = self.plant.AddRigidBody(name, SpatialInertia.SolidBoxWithMass(1.0, 0.1, 0.1, 0.1))
            self.plant.RegisterVisualGeometry(body, RigidTransform(), Box(0.1, 0.1, 0.1), name, np.array([0.8, 0.2, 0.2, 1.0]))
            self.bodies.append(body)
        self.plant.RegisterVisualGeometry(self.plant.world_body(), RigidTransform([0, 0, -0.5]), Sphere(0.2), "floor",
                                          np.array([0.5, 0.5, 0.5, 1.0]))
        self.plant.Finalize()
        self.diagram = builder.Build()
        self.context = self.diagram.CreateDefaultContext()
        self.plant_context = self.plant.GetMyMutableContextFromRoot(self.context)
        self.sg_context = self.scene_graph.GetMyMutableContextFromRoot(self.context)
        for k, body in enumerate(self.bodies):
            self.plant.SetFreeBodyPose(self.plant_context, body, RigidTransform([0.3 * k, 0, 0.5]))

    def query(self):
        return self.scene_graph.get_query_output_port().Eval(self.sg_context)

    def geometry_id(self, body):
        return self.plant.GetVisualGeometriesForBody(body)[0]

    def world(self):
        return self.scene_graph.world_frame_id()


def test_registers_once_then_sends_only_changed_poses(stub):
    scene = MovingScene()
    renderer = RemoteRenderer(stub.url)
    X_WC = RigidTransform(RollPitchYaw(np.pi, 0, 0), [0, 0, 3])
    image = renderer.render_color_image(scene.query(), COLOR, scene.world(), X_WC)
    assert isinstance(image, ImageRgba8U) and image.width() == 8 and (image.data == 1).all()
    (_, _, _, created), = [r for r in stub.requests("POST", "/v1/scenes")]
    assert len(created["geometries"]) == 3 and created.get("look") is None
    mover = scene.geometry_id(scene.bodies[0])
    by_id = {g["id"]: g for g in created["geometries"]}
    np.testing.assert_array_equal(by_id[mover.get_value()]["X_WG"], scene.query().GetPoseInWorld(mover).GetAsMatrix34().ravel())
    assert by_id[mover.get_value()]["shape"] == {"type": "box", "width": 0.1, "depth": 0.1, "height": 0.1}
    assert stub.requests("POST", "/frames")[-1][3][1] == {}

    renderer.render_color_image(scene.query(), COLOR, scene.world(), X_WC)
    assert stub.requests("POST", "/frames")[-1][3][1] == {}, "nothing moved, no pose sent"

    X_WB = RigidTransform(RollPitchYaw(0.1, 0.2, 0.3), [0.05, -0.1, 0.6])
    scene.plant.SetFreeBodyPose(scene.plant_context, scene.bodies[0], X_WB)
    renderer.render_color_image(scene.query(), COLOR, scene.world(), X_WC)
    header, poses = stub.requests("POST", "/frames")[-1][3]
    assert list(poses) == [mover.get_value()]
    np.testing.assert_array_equal(poses[mover.get_value()], scene.query().GetPoseInWorld(mover).GetAsMatrix34().ravel())
    np.testing.assert_allclose(poses[mover.get_value()], X_WB.GetAsMatrix34().ravel(), atol=1e-15)
    np.testing.assert_allclose(header["cameras"][0]["X_WC"], (X_WC @ CORE.sensor_pose_in_camera_body()).GetAsMatrix34().ravel())
    assert renderer.statistics.registrations == 1 and renderer.statistics.frames == 3
    assert renderer.statistics.poses_sent == 1
    assert len(stub.requests("POST", "/v1/scenes")) == 1


def test_added_and_removed_geometry_is_patched(stub):
    scene = MovingScene()
    renderer = RemoteRenderer(stub.url)
    renderer.render_label_image(scene.query(), COLOR, scene.world(), RigidTransform())
    source = scene.plant.get_source_id()
    instance = GeometryInstance(RigidTransform([0, 0, 1]), Cylinder(0.1, 0.2), "added")
    instance.set_perception_properties(props((0, 1, 0, 1), 77))
    added = scene.scene_graph.RegisterGeometry(scene.sg_context, source, scene.plant.GetBodyFrameIdOrThrow(
        scene.bodies[1].index()), instance)
    label = renderer.render_label_image(scene.query(), COLOR, scene.world(), RigidTransform())
    assert isinstance(label, ImageLabel16I)
    (_, _, _, patch), = stub.requests("PATCH")
    assert patch["remove"] == [] and [g["id"] for g in patch["add"]] == [added.get_value()]
    assert patch["add"][0]["properties"] == {"phong/diffuse": [0.0, 1.0, 0.0, 1.0], "label/id": 77}
    np.testing.assert_array_equal(patch["add"][0]["X_WG"], scene.query().GetPoseInWorld(added).GetAsMatrix34().ravel())

    scene.scene_graph.RemoveGeometry(scene.sg_context, source, added)
    renderer.render_label_image(scene.query(), COLOR, scene.world(), RigidTransform())
    assert stub.requests("PATCH")[-1][3] == {"remove": [added.get_value()], "add": []}
    scene.plant.SetFreeBodyPose(scene.plant_context, scene.bodies[1], RigidTransform([1, 1, 1]))
    renderer.render_label_image(scene.query(), COLOR, scene.world(), RigidTransform())
    assert list(stub.requests("POST", "/frames")[-1][3][1]) == [scene.geometry_id(scene.bodies[1]).get_value()]


def test_an_unknown_scene_is_registered_again_and_the_frame_retried(stub):
    scene = MovingScene()
    renderer = RemoteRenderer(stub.url)
    renderer.render_color_image(scene.query(), COLOR, scene.world(), RigidTransform())
    first = renderer.scene_id(scene.query(), "remote")
    stub.state.scenes.clear()  # as a restarted server or another replica
    scene.plant.SetFreeBodyPose(scene.plant_context, scene.bodies[0], RigidTransform([0, 0, 2]))
    image = renderer.render_color_image(scene.query(), COLOR, scene.world(), RigidTransform())
    assert (image.data == 1).all()
    second = renderer.scene_id(scene.query(), "remote")
    assert second != first and renderer.statistics.registrations == 2
    created = stub.requests("POST", "/v1/scenes")[-1][3]
    mover = scene.geometry_id(scene.bodies[0]).get_value()
    assert [g["X_WG"][11] for g in created["geometries"] if g["id"] == mover] == [2.0]
    assert stub.requests("POST", "/frames")[-1][3][1] == {}, "the new registration carried the poses"


def test_registering_again_uploads_only_what_the_server_lacks(stub, tmp_path):
    scene_graph = SceneGraph()
    instance = GeometryInstance(RigidTransform(), Mesh(str(write_obj(tmp_path / "p.obj"))), "mesh")
    instance.set_perception_properties(props((1, 1, 1, 1), 4))
    scene_graph.RegisterAnchoredGeometry(scene_graph.RegisterSource("s"), instance)
    query = scene_graph.get_query_output_port().Eval(scene_graph.CreateDefaultContext())
    renderer = RemoteRenderer(stub.url)
    renderer.render_color_image(query, COLOR, scene_graph.world_frame_id(), RigidTransform())
    assert len(stub.requests("PUT")) == 1
    stub.state.scenes.clear()  # the scene expired; the server still holds the mesh
    renderer.render_color_image(query, COLOR, scene_graph.world_frame_id(), RigidTransform())
    assert len(stub.requests("PUT")) == 1 and len(stub.requests("POST", "/v1/scenes")) == 2
    stub.state.scenes.clear()
    stub.state.assets.clear()  # a restarted server: nothing left
    renderer.render_color_image(query, COLOR, scene_graph.world_frame_id(), RigidTransform())
    assert len(stub.requests("PUT")) == 2 and renderer.statistics.registrations == 3


def test_several_images_in_one_request(stub):
    scene = MovingScene()
    renderer = RemoteRenderer(stub.url)
    other = ColorRenderCamera(RenderCameraCore("remote", CameraInfo(4, 2, 0.7), ClippingRange(0.01, 10.0), RigidTransform()))
    parent = scene.plant.GetBodyFrameIdOrThrow(scene.bodies[0].index())
    X_PC = RigidTransform([0, 0, -1])
    images = renderer.render_images(scene.query(), [
        ImageRequest("color", COLOR, scene.world(), RigidTransform()),
        ImageRequest("depth", DEPTH, scene.world(), RigidTransform()),
        ImageRequest("label", COLOR, scene.world(), RigidTransform()),
        ImageRequest("color", other, parent, X_PC),
    ])
    assert [type(i) for i in images] == [ImageRgba8U, ImageDepth32F, ImageLabel16I, ImageRgba8U]
    assert len(stub.requests("POST", "/frames")) == 1
    header, _ = stub.requests("POST", "/frames")[0][3]
    assert [c["images"] for c in header["cameras"]] == [["color", "depth", "label"], ["color"]]
    assert header["cameras"][0]["depth_range"] == [0.1, 5.0]
    assert (images[3].data == 2).all() and images[3].width() == 4, "each image from its own camera"
    X_WC = scene.query().GetPoseInWorld(parent) @ X_PC
    np.testing.assert_allclose(header["cameras"][1]["X_WC"], X_WC.GetAsMatrix34().ravel())


def test_a_look_travels_with_its_environment_map(stub, tmp_path):
    from vtk_looks import sky, write_hdr

    hdr = write_hdr(tmp_path / "sky.hdr", sky(8, 4))
    params = RenderEngineVtkParams(environment_map=EnvironmentMap(skybox=True, texture=EquirectangularMap(path=str(hdr))))
    renderer = RemoteRenderer(stub.url, params)
    renderer.render_color_image(MovingScene().query(), COLOR, SceneGraph.world_frame_id(), RigidTransform())
    created = stub.requests("POST", "/v1/scenes")[0][3]
    assert "environment_map" in created["look"] and str(hdr) in created["look"]
    sha = created["look_files"][str(hdr)]
    assert stub.state.assets[sha] == hdr.read_bytes()


# -- RemoteRgbdSensor ----------------------------------------------------------------------------

def sensor_diagram(url, count=1):
    builder = DiagramBuilder()
    plant, scene_graph = AddMultibodyPlantSceneGraph(builder, 0.0)
    plant.RegisterVisualGeometry(plant.world_body(), RigidTransform(), Box(1, 1, 0.1), "ground", np.array([1, 1, 1, 1.0]))
    plant.Finalize()
    sensors = []
    for k in range(count):
        sensor = builder.AddSystem(RemoteRgbdSensor(scene_graph.world_frame_id(), RigidTransform([0, 0, 1.0 + k]),
                                                    COLOR, DEPTH, base_url=url))
        builder.Connect(scene_graph.get_query_output_port(), sensor.query_object_input_port())
        sensors.append(sensor)
    diagram = builder.Build()
    return diagram, sensors


def test_sensor_ports_and_one_request_per_step(stub):
    diagram, (sensor,) = sensor_diagram(stub.url)
    context = diagram.CreateDefaultContext()
    names = [sensor.get_output_port(i).get_name() for i in range(sensor.num_output_ports())]
    assert names == ["color_image", "depth_image_32f", "depth_image_16u", "label_image", "body_pose_in_world", "image_time"]
    assert sensor.get_input_port(0).get_name() == "geometry_query"
    sensor_context = sensor.GetMyContextFromRoot(context)

    def evaluate_all():
        return (sensor.color_image_output_port().Eval(sensor_context), sensor.depth_image_32F_output_port().Eval(sensor_context),
                sensor.depth_image_16U_output_port().Eval(sensor_context), sensor.label_image_output_port().Eval(sensor_context))

    color, depth, depth16, label = evaluate_all()
    assert isinstance(color, ImageRgba8U) and isinstance(depth16, ImageDepth16U)
    assert (depth.data == 1.5).all() and (depth16.data == 1500).all() and (label.data == 100).all()
    first_step = len(stub.requests("POST", "/frames"))
    assert first_step == 3, "the first step learns what is read: one request per image"
    evaluate_all()
    assert len(stub.requests("POST", "/frames")) == first_step, "the same time reuses the images"
    context.SetTime(0.1)
    evaluate_all()
    assert len(stub.requests("POST", "/frames")) == first_step + 1, "later steps: one request for all"
    assert sorted(stub.requests("POST", "/frames")[-1][3][0]["cameras"][0]["images"]) == ["color", "depth", "label"]
    context.SetTime(0.2)
    sensor.body_pose_in_world_output_port().Eval(sensor_context)
    assert sensor.body_pose_in_world_output_port().Eval(sensor_context).translation()[2] == 1.0
    assert sensor.image_time_output_port().Eval(sensor_context)[0] == 0.2
    assert len(stub.requests("POST", "/frames")) == first_step + 1, "the pose and time render nothing"


def test_sensors_on_one_scene_graph_share_one_server_scene(stub):
    diagram, sensors = sensor_diagram(stub.url, count=2)
    context = diagram.CreateDefaultContext()
    for sensor in sensors:
        sensor.color_image_output_port().Eval(sensor.GetMyContextFromRoot(context))
    assert len(stub.requests("POST", "/v1/scenes")) == 1
    assert sensors[0].renderer() is sensors[1].renderer()
    assert len(stub.requests("POST", "/frames")) == 2


def test_sensor_parameters_live_in_the_context(stub):
    diagram, (sensor,) = sensor_diagram(stub.url)
    context = diagram.CreateDefaultContext()
    sensor_context = sensor.GetMyMutableContextFromRoot(context)
    assert sensor.GetX_PB(sensor_context).translation()[2] == 1.0
    sensor.SetX_PB(sensor_context, RigidTransform([0, 0, 4.0]))
    small = ColorRenderCamera(RenderCameraCore("remote", CameraInfo(4, 2, 0.7), ClippingRange(0.01, 10.0), RigidTransform()))
    sensor.SetColorRenderCamera(sensor_context, small)
    color = sensor.color_image_output_port().Eval(sensor_context)
    assert (color.width(), color.height()) == (4, 2)
    assert sensor.body_pose_in_world_output_port().Eval(sensor_context).translation()[2] == 4.0
    assert sensor.default_X_PB().translation()[2] == 1.0
