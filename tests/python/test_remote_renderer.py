"""gltf_cloud.drake against a real render server (the scene API), compared pixel by pixel with
pydrake's RenderEngineVtk rendering the same SceneGraph in-process, within the bounds the glTF
path meets on the same scenes (image_compare.LIMITS; labels exactly, background kEmpty as
RenderEngineVtk's): RemoteRenderer on the conformance scenes and cameras, every shape type, a
geometry on a moving frame, geometry added and removed between frames, looks sent with the
scene; a server that is down; a scene the server lost (deleted, or the server restarted).
Each test runs against our render server and against the RenderEngineVtk reference
(conftest.scene_api_server). RemoteRgbdSensor against RgbdSensor is in test_remote_sensor.py."""

import socket

import numpy as np
import pytest
from pydrake.geometry import GeometryInstance, SceneGraph, Sphere
from pydrake.multibody.plant import AddMultibodyPlantSceneGraph
from pydrake.systems.framework import DiagramBuilder
from pydrake.systems.sensors import CameraInfo

from drake_scenes import CAMERAS, SCENES, at, primitives, props
from gltf_cloud import ServerError, ServerUnavailableError
from gltf_cloud.client import SceneClient
from gltf_cloud.drake import RemoteRenderer
from image_compare import LIMITS, compare_all
from remote_scenes import FREE_BODY_POSES, RENDERER, VtkAndRemoteScene, add_free_bodies, every_shape, render_pair
from render_server_process import RenderServer, server_binary
from vtk_looks import LOOKS

SMALL = CameraInfo(320, 240, np.pi / 4)


def assert_matches(name, render, camera, limits=LIMITS):
    failures = compare_all(name, render, camera, limits, ours_renderer="remote", exact_labels=True)
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("camera_name", list(CAMERAS))
@pytest.mark.parametrize("scene_name", list(SCENES))
def test_conformance_scenes(scene_api_server, tmp_path, scene_name, camera_name):
    scene = VtkAndRemoteScene(SCENES[scene_name](tmp_path), scene_api_server)
    assert_matches(f"remote {scene_name} {camera_name}", scene.render, CAMERAS[camera_name])


def test_every_shape_type(scene_api_server, tmp_path):
    scene = VtkAndRemoteScene(every_shape(tmp_path), scene_api_server)
    assert_matches("remote every shape", scene.render, CAMERAS["default-640x480"])
    assert scene.remote.statistics.registrations == 1 and scene.remote.statistics.frames == 3


class FreeBodies:
    """remote_scenes.add_free_bodies in a diagram, with a RemoteRenderer."""

    def __init__(self, base_url):
        builder = DiagramBuilder()
        self.plant, self.scene_graph = AddMultibodyPlantSceneGraph(builder, 0.0)
        self.bodies = add_free_bodies(self.plant, self.scene_graph)
        self.diagram = builder.Build()
        self.context = self.diagram.CreateDefaultContext()
        self.plant_context = self.plant.GetMyMutableContextFromRoot(self.context)
        self.sg_context = self.scene_graph.GetMyMutableContextFromRoot(self.context)
        self.remote = RemoteRenderer(base_url)

    def query(self):
        return self.scene_graph.get_query_output_port().Eval(self.sg_context)

    def render(self, renderer, image_type, camera):
        return render_pair(self.query(), self.remote, renderer, image_type, camera)


def test_geometry_on_moving_frames_over_several_poses(scene_api_server):
    scene = FreeBodies(scene_api_server)
    for step, poses in enumerate(FREE_BODY_POSES):
        for body, X_WB in zip(scene.bodies, poses):
            scene.plant.SetFreeBodyPose(scene.plant_context, body, X_WB)
        assert_matches(f"remote moving step {step}", scene.render, SMALL)
    stats = scene.remote.statistics
    assert stats.registrations == 1 and stats.patches == 0
    assert stats.poses_sent == 4, "two bodies moved twice; the first frame's poses came with the scene"


def test_geometry_added_and_removed_between_frames(scene_api_server, tmp_path):
    scene = VtkAndRemoteScene(primitives(tmp_path), scene_api_server)
    assert_matches("remote before adding", scene.render, SMALL)
    added = []
    for k, (x, y) in enumerate([(0.3, -0.25), (-0.3, 0.3)]):
        instance = GeometryInstance(at(x, y, 0.06), Sphere(0.06), f"added{k}")
        instance.set_perception_properties(props((0.9, 0.2, 0.7, 1.0), 50 + k))
        added.append(scene.scene_graph.RegisterGeometry(scene.context, scene.source, scene.scene_graph.world_frame_id(),
                                                        instance))
    assert_matches("remote after adding two", scene.render, SMALL)
    scene.scene_graph.RemoveGeometry(scene.context, scene.source, added[0])
    assert_matches("remote after removing one", scene.render, SMALL)
    labels = scene.render("remote", "label", SMALL)
    assert 51 in labels and 50 not in labels
    assert scene.remote.statistics.registrations == 1 and scene.remote.statistics.patches == 2


def test_a_changed_shape_is_followed_without_a_renderer_in_the_scene_graph(scene_api_server, tmp_path):
    """SceneGraph.ChangeShape keeps the geometry's id and, with no renderer of SceneGraph's own
    accepting the geometry (a remote renderer's usual set-up), bumps no geometry version."""
    ground, box = primitives(tmp_path)[:2]
    changed = ("box", Sphere(0.05), at(-0.1, 0.1, 0.05), box[3])
    scene_graph = SceneGraph()
    source = scene_graph.RegisterSource("change-shape")
    ids = []
    for name, shape, pose, properties in (ground, box):
        instance = GeometryInstance(pose, shape, name)
        instance.set_perception_properties(properties)
        ids.append(scene_graph.RegisterAnchoredGeometry(source, instance))
    context = scene_graph.CreateDefaultContext()
    query = lambda: scene_graph.get_query_output_port().Eval(context)  # noqa: E731
    truth = VtkAndRemoteScene([ground, changed], scene_api_server)  # RenderEngineVtk, born changed
    with RemoteRenderer(scene_api_server) as remote:
        before = render_pair(query(), remote, "remote", "label", SMALL)
        scene_graph.ChangeShape(context, source, ids[1], changed[1], changed[2])
        after = {t: render_pair(query(), remote, "remote", t, SMALL) for t in ("color", "depth", "label")}
        assert remote.statistics.registrations == 1 and remote.statistics.patches == 1
    assert np.count_nonzero(after["label"] == 10) < np.count_nonzero(before == 10) / 2
    assert_matches("remote after ChangeShape",
                   lambda renderer, image_type, camera: after[image_type] if renderer == "remote"
                   else truth.render("vtk", image_type, camera), SMALL)


@pytest.mark.parametrize("look", [look for look in LOOKS if look.name in ("lights", "environment-hdr", "pbr")],
                         ids=lambda look: look.name)
def test_a_look_sent_with_the_scene(scene_api_server, tmp_path, look):
    """The server runs its default look; the scene brings its own (the environment map as an asset)."""
    params = look.params(tmp_path)
    scene = VtkAndRemoteScene(look.scene(tmp_path), scene_api_server, vtk_params=params)
    assert_matches(f"remote look {look.name}", scene.render, SMALL, look.limits())


def test_a_down_server_raises_naming_the_url(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    scene = VtkAndRemoteScene(primitives(tmp_path), url)
    with pytest.raises(ServerUnavailableError, match=f"{url}/v1/.*connection refused"):
        scene.render("remote", "color", SMALL)


def test_a_deleted_scene_is_registered_again(scene_api_server, tmp_path):
    scene = VtkAndRemoteScene(SCENES["textured-and-transparent"](tmp_path), scene_api_server)
    assert_matches("remote before the delete", scene.render, SMALL)
    first = scene.remote.scene_id(scene.query(), RENDERER)
    SceneClient(scene_api_server).delete_scene(first)
    assert_matches("remote after the delete", scene.render, SMALL)
    assert scene.remote.scene_id(scene.query(), RENDERER) != first
    assert scene.remote.statistics.registrations == 2


def test_a_restarted_server_gets_the_scene_and_its_assets_again(tmp_path):
    """Same port, new process: no scene, no asset; the pooled connections are dead too."""
    scene_geometries = SCENES["meshes"](tmp_path)
    with RenderServer(server_binary()) as first:
        scene = VtkAndRemoteScene(scene_geometries, first.url)
        assert_matches("remote before the restart", scene.render, SMALL)
        port = int(first.url.rsplit(":", 1)[1])
    with RenderServer(server_binary(), port=port):
        assert_matches("remote after the restart", scene.render, SMALL)
    assert scene.remote.statistics.registrations == 2


def test_a_server_with_access_tokens_renders_for_the_token_and_refuses_without(tmp_path, monkeypatch):
    """The token travels from `token=` or GLTF_CLOUD_ACCESS_TOKEN, the variable the render client
    reads too; without it the server's 401 reaches the user with its reason, never an image."""
    token = "scene-api-token-0123456789abcdef"
    monkeypatch.setenv("GLTF_CLOUD_ACCESS_TOKENS", token)
    with RenderServer(server_binary()) as server:
        monkeypatch.delenv("GLTF_CLOUD_ACCESS_TOKENS")
        refused = VtkAndRemoteScene(primitives(tmp_path), server.url)
        with pytest.raises(ServerError) as error:
            refused.render("remote", "color", SMALL)
        assert error.value.status == 401 and error.value.reason == "unauthorized", error.value
        monkeypatch.setenv("GLTF_CLOUD_ACCESS_TOKEN", token)
        assert_matches("remote with a token", VtkAndRemoteScene(primitives(tmp_path), server.url).render, SMALL)
