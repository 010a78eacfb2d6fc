"""Rendering for pydrake on a gltf-cloud render server (needs pydrake).

- `RemoteRenderer`: `render_color_image`, `render_depth_image`, `render_label_image` with
  QueryObject.Render*Image's arguments, and `render_images` for several cameras in one request.
- `RemoteRgbdSensor`: a LeafSystem with RgbdSensor's ports, for diagrams and simulations.

The scene is registered on the server once; each image then sends only the poses that changed.

    import numpy as np
    from pydrake.geometry import (Box, ClippingRange, ColorRenderCamera, GeometryInstance,
                                  PerceptionProperties, RenderCameraCore, Rgba, SceneGraph)
    from pydrake.math import RigidTransform
    from pydrake.systems.sensors import CameraInfo
    from gltf_cloud.drake import RemoteRenderer

    scene_graph = SceneGraph()
    source = scene_graph.RegisterSource("example")
    box = GeometryInstance(RigidTransform([0, 0, 1]), Box(0.2, 0.2, 0.2), "box")
    properties = PerceptionProperties()
    properties.AddProperty("phong", "diffuse", Rgba(0.9, 0.2, 0.2, 1.0))
    box.set_perception_properties(properties)
    scene_graph.RegisterAnchoredGeometry(source, box)
    query_object = scene_graph.get_query_output_port().Eval(scene_graph.CreateDefaultContext())
    camera = ColorRenderCamera(RenderCameraCore("remote", CameraInfo(640, 480, np.pi / 4),
                                                ClippingRange(0.01, 10.0), RigidTransform()))
    with RemoteRenderer("http://127.0.0.1:8000") as renderer:
        image = renderer.render_color_image(query_object, camera, scene_graph.world_frame_id(),
                                            RigidTransform())   # camera at the origin, +Z forward
    print(image.data.shape)   # (480, 640, 4)
"""

try:
    import pydrake  # noqa: F401
except ImportError as error:
    raise ImportError("gltf_cloud.drake needs pydrake: pip install drake (gltf_cloud.client works without it)") from error

from ._renderer import ImageRequest, RemoteRenderer, RenderStatistics
from ._sensor import RemoteRgbdSensor

__all__ = ["ImageRequest", "RemoteRenderer", "RemoteRgbdSensor", "RenderStatistics"]
