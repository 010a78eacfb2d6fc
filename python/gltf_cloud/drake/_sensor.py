"""RemoteRgbdSensor: pydrake's RgbdSensor, rendered by a gltf-cloud server.

Same ports under the same names, same image types and conventions, so it drops into a diagram
where an RgbdSensor was; SceneGraph needs no renderer of its own.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref

from pydrake.common.value import AbstractValue
from pydrake.common.yaml import yaml_dump_typed
from pydrake.geometry import ColorRenderCamera, DepthRenderCamera, QueryObject, RenderEngineVtkParams
from pydrake.math import RigidTransform
from pydrake.systems.framework import LeafSystem, ValueProducer
from pydrake.systems.sensors import ConvertDepth32FTo16U, ImageDepth16U, ImageDepth32F, ImageLabel16I, ImageRgba8U

from ..client import TOKEN_ENVIRONMENT_VARIABLE
from ._renderer import ImageRequest, RemoteRenderer

log = logging.getLogger("gltf_cloud")
#: The farthest depth_image_16u can hold, in metres (its values are millimetres; 65535 is "too far").
MAX_DEPTH_16U = (65535 - 1) / 1000.0
_SHARED_LOCK = threading.Lock()
_SHARED: "weakref.WeakValueDictionary[tuple, RemoteRenderer]" = weakref.WeakValueDictionary()


def shared_renderer(base_url: str, params: RenderEngineVtkParams | None, token: str | None) -> RemoteRenderer:
    """The process's RemoteRenderer for one server, look and token: every sensor built with them
    uses it, so the sensors on one SceneGraph share one server scene (RemoteRenderer keeps a
    scene per SceneGraph), each pose crosses the network once per frame, and each mesh once."""
    token = token if token is not None else os.environ.get(TOKEN_ENVIRONMENT_VARIABLE)
    key = (base_url.rstrip("/"), None if params is None else yaml_dump_typed(params), token)
    with _SHARED_LOCK:
        renderer = _SHARED.get(key)
        if renderer is None:
            renderer = RemoteRenderer(base_url, params, token=token)
            _SHARED[key] = renderer
        return renderer


class _Fixed:
    """A context parameter's value that is replaced, never changed in place: a context copy
    shares it (FrameId and the render cameras cannot be deep-copied, as Value[object] would)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __deepcopy__(self, memo):
        return self


class _Rendered:
    """The images one context rendered at one time (a cache entry's value, refilled lazily)."""

    def __init__(self):
        self.images: dict = {}
        self.used: set = set()


class RemoteRgbdSensor(LeafSystem):
    """An RgbdSensor whose images come from a gltf-cloud render server.

    Arguments as RgbdSensor's (`parent_id`, `X_PB`, `color_camera`, `depth_camera`), plus the
    server's `base_url`, the `params` (RenderEngineVtkParams) the scene is drawn with (None: the
    server's look) and the access `token` (default: the ``GLTF_CLOUD_ACCESS_TOKEN`` environment variable).

    Ports, as RgbdSensor's: input ``geometry_query``; outputs ``color_image`` (ImageRgba8U),
    ``depth_image_32f`` (ImageDepth32F, metres), ``depth_image_16u`` (ImageDepth16U, mm),
    ``label_image`` (ImageLabel16I), ``body_pose_in_world`` (RigidTransform) and ``image_time``.
    Only the images an evaluated output needs are rendered. The images of one context and time
    are kept, and once a time step has shown which outputs are read, the next step renders all of
    them in one request (color, depth and label for one round trip).

        from gltf_cloud.drake import RemoteRgbdSensor
        sensor = builder.AddSystem(RemoteRgbdSensor(
            scene_graph.world_frame_id(), X_WB, color_camera, depth_camera,
            base_url="http://127.0.0.1:8000"))
        builder.Connect(scene_graph.get_query_output_port(), sensor.query_object_input_port())

    The parent frame, X_PB and both cameras are parameters of the context, as in RgbdSensor
    (`GetColorRenderCamera(context)`, `SetX_PB(context, X_PB)`, ...). The renderer's camera name
    (`camera.core().renderer_name()`) picks the geometry as SceneGraph's ('renderer', 'accepting')
    property does.
    """

    def __init__(self, parent_id, X_PB: RigidTransform, color_camera: ColorRenderCamera,
                 depth_camera: DepthRenderCamera, *, base_url: str, params: RenderEngineVtkParams | None = None,
                 token: str | None = None):
        LeafSystem.__init__(self)
        self._renderer = shared_renderer(base_url, params, token)
        self._last_used: set = set()
        self._color_camera_index = self.DeclareAbstractParameter(AbstractValue.Make(_Fixed(color_camera)))
        self._depth_camera_index = self.DeclareAbstractParameter(AbstractValue.Make(_Fixed(depth_camera)))
        self._parent_index = self.DeclareAbstractParameter(AbstractValue.Make(_Fixed(parent_id)))
        self._X_PB_index = self.DeclareAbstractParameter(AbstractValue.Make(_Fixed(RigidTransform(X_PB))))
        self._query_port = self.DeclareAbstractInputPort("geometry_query", AbstractValue.Make(QueryObject()))
        color, depth = color_camera.core().intrinsics(), depth_camera.core().intrinsics()
        self._rendered = self.DeclareCacheEntry(
            "rendered images", ValueProducer(allocate=AbstractValue.Make(_Rendered()).Clone, calc=self._new_frame),
            {self.all_sources_ticket()})
        self._color_port = self.DeclareAbstractOutputPort(
            "color_image", lambda: AbstractValue.Make(ImageRgba8U(color.width(), color.height())),
            lambda context, output: output.set_value(self._image(context, "color")))
        self._depth_32f_port = self.DeclareAbstractOutputPort(
            "depth_image_32f", lambda: AbstractValue.Make(ImageDepth32F(depth.width(), depth.height())),
            lambda context, output: output.set_value(self._image(context, "depth")))
        self._depth_16u_port = self.DeclareAbstractOutputPort(
            "depth_image_16u", lambda: AbstractValue.Make(ImageDepth16U(depth.width(), depth.height())),
            self._calc_depth_16u)
        self._label_port = self.DeclareAbstractOutputPort(
            "label_image", lambda: AbstractValue.Make(ImageLabel16I(color.width(), color.height())),
            lambda context, output: output.set_value(self._image(context, "label")))
        self._body_pose_port = self.DeclareAbstractOutputPort(
            "body_pose_in_world", lambda: AbstractValue.Make(RigidTransform()), self._calc_body_pose)
        self._image_time_port = self.DeclareVectorOutputPort(
            "image_time", 1, lambda context, output: output.SetAtIndex(0, context.get_time()))
        self._defaults = (color_camera, depth_camera, parent_id, RigidTransform(X_PB))
        max_depth = depth_camera.depth_range().max_depth()
        if max_depth > MAX_DEPTH_16U:  # RgbdSensor's own warning, for the same reason
            log.warning("Specified max depth is %g m > max valid depth for 16 bits %g m. depth_image_16u might not "
                        "be able to capture the full depth range.", max_depth, MAX_DEPTH_16U)

    # -- RgbdSensor's accessors ---------------------------------------------------------------

    def query_object_input_port(self):
        return self._query_port

    def color_image_output_port(self):
        return self._color_port

    def depth_image_32F_output_port(self):
        return self._depth_32f_port

    def depth_image_16U_output_port(self):
        return self._depth_16u_port

    def label_image_output_port(self):
        return self._label_port

    def body_pose_in_world_output_port(self):
        return self._body_pose_port

    def image_time_output_port(self):
        return self._image_time_port

    def default_color_render_camera(self) -> ColorRenderCamera:
        return self._defaults[0]

    def default_depth_render_camera(self) -> DepthRenderCamera:
        return self._defaults[1]

    def default_parent_frame_id(self):
        return self._defaults[2]

    def default_X_PB(self) -> RigidTransform:
        return self._defaults[3]

    def GetColorRenderCamera(self, context) -> ColorRenderCamera:
        return context.get_abstract_parameter(self._color_camera_index).get_value().value

    def SetColorRenderCamera(self, context, camera: ColorRenderCamera) -> None:
        context.get_mutable_abstract_parameter(self._color_camera_index).set_value(_Fixed(camera))

    def GetDepthRenderCamera(self, context) -> DepthRenderCamera:
        return context.get_abstract_parameter(self._depth_camera_index).get_value().value

    def SetDepthRenderCamera(self, context, camera: DepthRenderCamera) -> None:
        context.get_mutable_abstract_parameter(self._depth_camera_index).set_value(_Fixed(camera))

    def GetParentFrameId(self, context):
        return context.get_abstract_parameter(self._parent_index).get_value().value

    def SetParentFrameId(self, context, parent_id) -> None:
        context.get_mutable_abstract_parameter(self._parent_index).set_value(_Fixed(parent_id))

    def GetX_PB(self, context) -> RigidTransform:
        return context.get_abstract_parameter(self._X_PB_index).get_value().value

    def SetX_PB(self, context, X_PB: RigidTransform) -> None:
        context.get_mutable_abstract_parameter(self._X_PB_index).set_value(_Fixed(RigidTransform(X_PB)))

    def renderer(self) -> RemoteRenderer:
        """The RemoteRenderer this sensor shares with every sensor on the same server and look."""
        return self._renderer

    # -- calculations -------------------------------------------------------------------------

    @staticmethod
    def _new_frame(context, value) -> None:
        value.set_value(_Rendered())

    def _image(self, context, image_type: str):
        """The image of this context and time, rendered on first use with every image the last
        time step used (one request for all of them)."""
        rendered = self._rendered.Eval(context)
        rendered.used.add(image_type)
        if image_type not in rendered.images:
            wanted = sorted(({image_type} | self._last_used) - rendered.images.keys())
            color_camera, depth_camera = self.GetColorRenderCamera(context), self.GetDepthRenderCamera(context)
            parent, X_PB = self.GetParentFrameId(context), self.GetX_PB(context)
            requests = [ImageRequest(t, depth_camera if t == "depth" else color_camera, parent, X_PB) for t in wanted]
            query_object = self._query_port.Eval(context)
            rendered.images.update(zip(wanted, self._renderer.render_images(query_object, requests)))
            self._last_used = rendered.used
        return rendered.images[image_type]

    def _calc_depth_16u(self, context, output) -> None:
        ConvertDepth32FTo16U(self._image(context, "depth"), output.get_mutable_value())

    def _calc_body_pose(self, context, output) -> None:
        X_PB = self.GetX_PB(context)
        query_object = self._query_port.Eval(context)
        output.set_value(query_object.GetPoseInWorld(self.GetParentFrameId(context)) @ X_PB)
