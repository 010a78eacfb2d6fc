"""RemoteRgbdSensor against pydrake's RgbdSensor (RenderEngineVtk) in one diagram, on our render
server and on the RenderEngineVtk reference (conftest.scene_api_server): the same images on every port over a moving scene, the same body pose and time,
and one frame request per time step once the first step has shown what is read."""

import numpy as np
from pydrake.geometry import ClippingRange, ColorRenderCamera, DepthRange, DepthRenderCamera, RenderCameraCore
from pydrake.math import RigidTransform, RollPitchYaw
from pydrake.multibody.plant import AddMultibodyPlantSceneGraph
from pydrake.systems.framework import DiagramBuilder
from pydrake.systems.sensors import CameraInfo, RgbdSensor

from drake_scenes import look_at
from gltf_cloud.drake import RemoteRgbdSensor
from image_compare import LIMITS, differing_fraction
from remote_scenes import FREE_BODY_POSES, RENDERER, add_free_bodies

# The camera body above the scene, and the sensor offset in it (X_BS): RgbdSensor hands X_PB to
# QueryObject, which applies X_BS; the remote sensor must place the camera at the same pose.
X_WB = look_at([0.7, -0.6, 0.55], [0.0, 0.0, 0.05])
X_BS = RigidTransform(RollPitchYaw(0.02, -0.03, 0.01), [0.01, -0.02, 0.0])
COLOR = ColorRenderCamera(RenderCameraCore(RENDERER, CameraInfo(320, 240, np.pi / 4), ClippingRange(0.01, 10.0), X_BS))
DEPTH = DepthRenderCamera(RenderCameraCore(RENDERER, CameraInfo(240, 180, 0.9), ClippingRange(0.01, 10.0), X_BS),
                          DepthRange(0.1, 2.0))


def test_remote_sensor_matches_rgbd_sensor(scene_api_server):
    builder = DiagramBuilder()
    plant, scene_graph = AddMultibodyPlantSceneGraph(builder, 0.0)
    bodies = add_free_bodies(plant, scene_graph)
    world = scene_graph.world_frame_id()
    truth = builder.AddSystem(RgbdSensor(world, X_WB, COLOR, DEPTH))
    remote = builder.AddSystem(RemoteRgbdSensor(world, X_WB, COLOR, DEPTH, base_url=scene_api_server))
    for sensor in (truth, remote):
        builder.Connect(scene_graph.get_query_output_port(), sensor.query_object_input_port())
    diagram = builder.Build()
    context = diagram.CreateDefaultContext()
    plant_context = plant.GetMyMutableContextFromRoot(context)
    truth_context, remote_context = truth.GetMyContextFromRoot(context), remote.GetMyContextFromRoot(context)

    frames_per_step = []
    for step, poses in enumerate(FREE_BODY_POSES):
        context.SetTime(0.1 * step)
        for body, X_W_body in zip(bodies, poses):
            plant.SetFreeBodyPose(plant_context, body, X_W_body)
        before = remote.renderer().statistics.frames
        for port, image_type in (("color_image", "color"), ("depth_image_32f", "depth"), ("label_image", "label")):
            ours = np.array(remote.GetOutputPort(port).Eval(remote_context).data)
            vtk = np.array(truth.GetOutputPort(port).Eval(truth_context).data)
            fraction = differing_fraction(image_type, ours, vtk, exact_labels=True)
            print(f"\n  remote sensor step {step} {image_type:5} differing {fraction:7.3%} (limit {LIMITS[image_type]:.1%})", end="")
            assert fraction <= LIMITS[image_type], f"step {step} {image_type}: {fraction:.3%}"
        ours16 = np.array(remote.GetOutputPort("depth_image_16u").Eval(remote_context).data).astype(int)
        vtk16 = np.array(truth.GetOutputPort("depth_image_16u").Eval(truth_context).data).astype(int)
        assert np.mean(np.abs(ours16 - vtk16) > 1) <= LIMITS["depth"], "depth_image_16u: millimetres, as RgbdSensor's"
        frames_per_step.append(remote.renderer().statistics.frames - before)
        X_ours = remote.GetOutputPort("body_pose_in_world").Eval(remote_context)
        X_vtk = truth.GetOutputPort("body_pose_in_world").Eval(truth_context)
        np.testing.assert_allclose(X_ours.GetAsMatrix4(), X_vtk.GetAsMatrix4(), atol=1e-12)
        assert remote.GetOutputPort("image_time").Eval(remote_context)[0] == truth.GetOutputPort("image_time").Eval(truth_context)[0]
    assert frames_per_step == [3, 1, 1], "the first step learns what is read; then one request renders it all"
