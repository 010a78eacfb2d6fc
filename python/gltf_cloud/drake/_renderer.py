"""RemoteRenderer: QueryObject.Render*Image's counterpart that renders on a gltf-cloud server.

The scene is registered on the server once; every later call sends only the poses that changed
since the server last saw them (and a PATCH when SceneGraph's perception geometry changed), so a
call costs one small request instead of Drake's client re-exporting the whole scene.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from pydrake.geometry import (
    ColorRenderCamera,
    Convex,
    DepthRenderCamera,
    GeometryVersion,
    Mesh,
    RenderEngineVtkParams,
    Role,
)
from pydrake.math import RigidTransform
from pydrake.systems.sensors import ImageDepth32F, ImageLabel16I, ImageRgba8U

from ..client import SceneClient
from ..errors import ProtocolError, SceneNotFoundError
from ..wire import POSE_DTYPE, camera_header
from ._scene import GeometryDescription, describe_geometries, look_description

#: The pydrake image type of each image type, as QueryObject.Render*Image returns them.
IMAGE_TYPES = {"color": ImageRgba8U, "depth": ImageDepth32F, "label": ImageLabel16I}


@dataclass(frozen=True)
class ImageRequest:
    """One image of a `RemoteRenderer.render_images` call: the arguments of
    QueryObject.Render{Color,Depth,Label}Image with the image type in front."""

    image_type: str  # "color", "depth" or "label"
    camera: ColorRenderCamera | DepthRenderCamera
    parent_frame_id: object  # pydrake.geometry.FrameId
    X_PC: RigidTransform


@dataclass
class RenderStatistics:
    """What a RemoteRenderer has sent, for tests and benchmarks: scene registrations (the first
    and any after an unknown scene), PATCHes, frame requests, pose records and images."""

    registrations: int = 0
    patches: int = 0
    frames: int = 0
    poses_sent: int = 0
    images: int = 0


def _scene_graph_key(inspector) -> int:
    """Which SceneGraph a QueryObject reads: the id of the source SceneGraph registers for itself
    (ids are unique in the process, and a context's copy of the geometry state keeps it)."""
    for source_id in inspector.GetAllSourceIds():
        if inspector.GetName(source_id) == "SceneGraphInternal":
            return source_id.get_value()
    raise ValueError("the QueryObject's inspector has no SceneGraph source")


class _ServerScene:
    """One SceneGraph's perception geometry for one renderer name, as registered on the server,
    and the poses the server has for its moving geometry."""

    def __init__(self, renderer: "RemoteRenderer", renderer_name: str):
        self.renderer = renderer
        self.renderer_name = renderer_name
        self.scene_id: str | None = None
        self.version: GeometryVersion | None = None
        self.geometries: dict[int, GeometryDescription] = {}
        self.dynamic_ids: list = []  # pydrake GeometryIds, in the order of `sent`
        self.dynamic_values = np.zeros(0, np.uint64)  # their values, as the pose records carry them
        self.sent = np.zeros((0, 12))  # X_WG (3×4, row by row) the server holds, per dynamic id
        self.accepted: dict[int, bool] = {}  # each geometry's answer to the accepting rule
        self.perception_ids: list = []  # SceneGraph's perception geometry when last followed
        self.shapes: list = []  # _shapes_and_placements of perception_ids when last followed

    def register(self, query_object) -> None:
        """POST the whole scene (uploading only the assets the server lacks) with current poses."""
        inspector = query_object.inspector()
        described = describe_geometries(inspector, self.renderer_name, self.accepted)
        poses = {value: _pose_in_world(query_object, d) for value, d in described.items()}
        look, look_files, look_assets = self.renderer._look()
        summary = self.renderer.client.create_scene(
            [d.with_pose(poses[value]) for value, d in described.items()],
            look=look, look_files=look_files,
            assets=[asset for d in described.values() for asset in d.assets] + look_assets,
        )
        self.scene_id = summary["scene"]
        self.renderer.statistics.registrations += 1
        self._adopt(inspector, described, {value: poses[value] for value in described})

    def follow_changes(self, query_object) -> None:
        """PATCH the geometry added, removed or changed since the last registration or PATCH."""
        inspector = query_object.inspector()
        described = describe_geometries(inspector, self.renderer_name, self.accepted)
        old = self.geometries
        placed = dict(zip((gid.get_value() for gid in self.perception_ids), self.shapes))
        changed = [value for value in old if value not in described or described[value].wire != old[value].wire
                   or (not described[value].dynamic and _placement(inspector, described[value].geometry_id)
                       != placed.get(value, (None, None))[1])]
        added = [value for value in described if value not in old or value in changed]
        poses = {value: _pose_in_world(query_object, described[value]) for value in added}
        if changed or added:
            self.renderer.client.patch_scene(
                self.scene_id, remove=changed, add=[described[value].with_pose(poses[value]) for value in added],
                assets=[asset for value in added for asset in described[value].assets],
            )
            self.renderer.statistics.patches += 1
        held = dict(zip((gid.get_value() for gid in self.dynamic_ids), self.sent))
        held.update(poses)
        self._adopt(inspector, described, held)

    def is_current(self, inspector) -> bool:
        """Whether SceneGraph's perception geometry is what the server has. The geometry version
        alone does not tell: SceneGraph bumps it only when one of its own renderers accepts the
        geometry, and the SceneGraph of a remote renderer usually has none. Ids are never reused
        and perception properties cannot be replaced, so the list of ids tells the rest, but for
        SceneGraph.ChangeShape, which keeps the id and bumps no version without a renderer: each
        geometry's shape and its pose in its frame are compared too (about 8 µs per geometry)."""
        if not inspector.geometry_version().IsSameAs(self.version, Role.kPerception):
            return False
        ids = inspector.GetAllGeometryIds(Role.kPerception)
        return ids == self.perception_ids and _shapes_and_placements(inspector, ids) == self.shapes

    def _adopt(self, inspector, described: dict[int, GeometryDescription], held: dict[int, np.ndarray]) -> None:
        self.version = GeometryVersion(inspector.geometry_version())
        self.perception_ids = inspector.GetAllGeometryIds(Role.kPerception)
        self.shapes = _shapes_and_placements(inspector, self.perception_ids)
        self.geometries = described
        dynamic = [value for value, d in described.items() if d.dynamic]
        self.dynamic_ids = [described[value].geometry_id for value in dynamic]
        self.dynamic_values = np.array(dynamic, dtype=np.uint64)
        self.sent = np.array([np.asarray(held[value]).reshape(12) for value in dynamic]).reshape(-1, 12)

    def current_poses(self, query_object) -> np.ndarray:
        poses = np.empty((len(self.dynamic_ids), 12))
        for row, geometry_id in enumerate(self.dynamic_ids):
            poses[row] = query_object.GetPoseInWorld(geometry_id).GetAsMatrix34().reshape(12)
        return poses


def _pose_in_world(query_object, description: GeometryDescription) -> np.ndarray:
    """X_WG (3×4). An anchored geometry's is its pose in the world frame as the inspector has it:
    QueryObject.GetPoseInWorld keeps an anchored geometry's pose from before SceneGraph.ChangeShape
    moved it (pydrake 1.51), where RenderEngineVtk draws it where ChangeShape put it."""
    if description.dynamic:
        return query_object.GetPoseInWorld(description.geometry_id).GetAsMatrix34()
    return query_object.inspector().GetPoseInFrame(description.geometry_id).GetAsMatrix34()


def _placement(inspector, geometry_id) -> bytes:
    """X_FG, the geometry's pose in its frame, as bytes to compare."""
    return inspector.GetPoseInFrame(geometry_id).GetAsMatrix34().tobytes()


def _shape_key(shape) -> str:
    """A shape's type and every dimension, file and scale. repr says all of it but for an
    in-memory mesh, whose contents it cuts short: there the file's SHA-256 stands in."""
    if isinstance(shape, (Mesh, Convex)) and not shape.source().is_path():
        in_memory = shape.source().in_memory()
        return f"{type(shape).__name__}({in_memory.mesh_file.sha256().to_string()}, {shape.scale3()})"
    return repr(shape)


def _shapes_and_placements(inspector, ids) -> list[tuple[str, bytes]]:
    """What SceneGraph.ChangeShape changes: each geometry's shape and X_FG."""
    return [(_shape_key(inspector.GetShape(geometry_id)), _placement(inspector, geometry_id)) for geometry_id in ids]


class RemoteRenderer:
    """Renders a SceneGraph's perception geometry on a gltf-cloud render server, with the
    arguments and image types of `QueryObject.RenderColorImage`, `RenderDepthImage` and
    `RenderLabelImage`.

    `base_url` is the server (``http://127.0.0.1:8000``); `params` is the RenderEngineVtkParams
    the scene is drawn with (its environment map uploaded with it; None: the server's own look).
    `token` (default: the ``GLTF_CLOUD_ACCESS_TOKEN`` environment variable) is the server's access token.

    The first call registers every perception geometry whose ('renderer', 'accepting') set is
    empty or names the camera's `renderer_name()`: SceneGraph needs no renderer of its own. Later
    calls send only the poses that changed, and follow geometry added, removed or changed
    (SceneGraph.ChangeShape). A scene the server no longer knows (expired, restarted, another replica)
    is registered again, uploading only what that server lacks, and the call retried once.

        from gltf_cloud.drake import RemoteRenderer
        renderer = RemoteRenderer("http://127.0.0.1:8000")
        query_object = scene_graph.get_query_output_port().Eval(scene_graph_context)
        rgba = renderer.render_color_image(query_object, color_camera, scene_graph.world_frame_id(), X_WC)
        depth = renderer.render_depth_image(query_object, depth_camera, scene_graph.world_frame_id(), X_WC)

    Errors are exceptions naming the URL and the server's reason (gltf_cloud.errors).
    """

    def __init__(self, base_url: str, params: RenderEngineVtkParams | None = None, *, token: str | None = None,
                 timeout: float = 120.0):
        self.client = SceneClient(base_url, token=token, timeout=timeout)
        self.params = params
        self.statistics = RenderStatistics()
        self._look_cache = None
        self._scenes: dict[tuple[int, str], _ServerScene] = {}
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def render_color_image(self, query_object, camera: ColorRenderCamera, parent_frame_id, X_PC) -> ImageRgba8U:
        """As QueryObject.RenderColorImage: an ImageRgba8U seen by `camera` at X_WP·X_PC."""
        return self.render_images(query_object, [ImageRequest("color", camera, parent_frame_id, X_PC)])[0]

    def render_depth_image(self, query_object, depth_camera: DepthRenderCamera, parent_frame_id, X_PC) -> ImageDepth32F:
        """As QueryObject.RenderDepthImage: metres, 0 nearer than the depth range, +inf beyond."""
        return self.render_images(query_object, [ImageRequest("depth", depth_camera, parent_frame_id, X_PC)])[0]

    def render_label_image(self, query_object, camera: ColorRenderCamera, parent_frame_id, X_PC) -> ImageLabel16I:
        """As QueryObject.RenderLabelImage: each pixel the RenderLabel of the geometry seen there."""
        return self.render_images(query_object, [ImageRequest("label", camera, parent_frame_id, X_PC)])[0]

    def render_images(self, query_object, requests: list[ImageRequest]) -> list:
        """Every requested image in one frame request per renderer name (usually one): the way to
        render several cameras, or a sensor's color, depth and label, for the price of one round
        trip. Images come back in the order of `requests`. Camera poses are X_WP·X_PC·X_BS, as
        QueryObject computes them (X_BS: the camera core's sensor_pose_in_camera_body)."""
        images = [None] * len(requests)
        by_renderer: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            if request.image_type not in IMAGE_TYPES:
                raise ValueError(f"image_type must be one of {list(IMAGE_TYPES)}, got {request.image_type!r}")
            by_renderer.setdefault(request.camera.core().renderer_name(), []).append(index)
        with self._lock:
            for renderer_name, indices in by_renderer.items():
                rendered = self._render_frame(query_object, renderer_name, [requests[i] for i in indices])
                for index, image in zip(indices, rendered):
                    images[index] = image
        return images

    def scene_id(self, query_object, renderer_name: str) -> str | None:
        """The server's id of the scene this renderer keeps for `query_object`'s SceneGraph and
        `renderer_name`, None before the first render."""
        scene = self._scenes.get((_scene_graph_key(query_object.inspector()), renderer_name))
        return scene.scene_id if scene else None

    def close(self) -> None:
        """Deletes this renderer's scenes on the server (they would expire anyway) and closes
        its connections. Errors are ignored: the server may be gone already."""
        with self._lock:
            for scene in self._scenes.values():
                if scene.scene_id:
                    try:
                        self.client.delete_scene(scene.scene_id)
                    except Exception:  # noqa: BLE001 — best effort; an idle scene expires
                        pass
            self._scenes.clear()
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _look(self):
        if self._look_cache is None:
            self._look_cache = look_description(self.params)
        return self._look_cache

    def _render_frame(self, query_object, renderer_name: str, requests: list[ImageRequest]) -> list:
        inspector = query_object.inspector()
        key = (_scene_graph_key(inspector), renderer_name)
        scene = self._scenes.get(key)
        if scene is None:
            scene = self._scenes[key] = _ServerScene(self, renderer_name)
        cameras, placement = _cameras(query_object, requests)
        try:
            if scene.scene_id is None:
                scene.register(query_object)
            elif not scene.is_current(inspector):
                scene.follow_changes(query_object)
            current = scene.current_poses(query_object)
            frame = self._send(scene, cameras, current)
        except SceneNotFoundError:
            # Expired, deleted, a restarted server or another replica: register the scene again
            # (with today's poses, so the frame sends none) and retry once.
            scene.scene_id = None
            scene.register(query_object)
            current = scene.current_poses(query_object)
            frame = self._send(scene, cameras, current)
        scene.sent = current
        return [_drake_image(frame, camera, request, self.client.url(f"/v1/scenes/{scene.scene_id}/frames"))
                for request, camera in zip(requests, placement)]

    def _send(self, scene: _ServerScene, cameras: list[dict], current: np.ndarray):
        changed = np.flatnonzero(np.any(current != scene.sent, axis=1)) if len(current) else np.zeros(0, int)
        records = np.zeros(len(changed), POSE_DTYPE)
        records["id"] = scene.dynamic_values[changed]
        records["X_WG"] = current[changed]
        frame = self.client.render_frame(scene.scene_id, cameras, records)
        self.statistics.frames += 1
        self.statistics.poses_sent += len(records)
        self.statistics.images += len(frame.images)
        return frame


def _cameras(query_object, requests: list[ImageRequest]) -> tuple[list[dict], list[int]]:
    """The frame's cameras and, per request, the index of the camera that renders it: requests
    with the same intrinsics, clipping and pose share one camera (a sensor's color and label)."""
    cameras, keys, placement = [], [], []
    for request in requests:
        core = request.camera.core()
        intrinsics, clipping = core.intrinsics(), core.clipping()
        X_WC = query_object.GetPoseInWorld(request.parent_frame_id) @ request.X_PC @ core.sensor_pose_in_camera_body()
        depth_range = None
        if request.image_type == "depth":
            if not isinstance(request.camera, DepthRenderCamera):
                raise TypeError("a depth image needs a DepthRenderCamera")
            depth_range = [request.camera.depth_range().min_depth(), request.camera.depth_range().max_depth()]
        elif not isinstance(request.camera, ColorRenderCamera):
            raise TypeError(f"a {request.image_type} image needs a ColorRenderCamera")
        key = (intrinsics.width(), intrinsics.height(), intrinsics.focal_x(), intrinsics.focal_y(),
               intrinsics.center_x(), intrinsics.center_y(), clipping.near(), clipping.far(),
               X_WC.GetAsMatrix34().tobytes())
        for index, (other_key, camera) in enumerate(zip(keys, cameras)):
            if other_key == key and request.image_type not in camera["images"] and (
                    depth_range is None or camera.get("depth_range", depth_range) == depth_range):
                camera["images"].append(request.image_type)
                if depth_range is not None:
                    camera["depth_range"] = depth_range
                placement.append(index)
                break
        else:
            placement.append(len(cameras))
            keys.append(key)
            cameras.append(camera_header(
                width=intrinsics.width(), height=intrinsics.height(), fx=intrinsics.focal_x(),
                fy=intrinsics.focal_y(), cx=intrinsics.center_x(), cy=intrinsics.center_y(), near=clipping.near(),
                far=clipping.far(), X_WC=X_WC.GetAsMatrix34(), images=[request.image_type], depth_range=depth_range))
    return cameras, placement


def _drake_image(frame, camera: int, request: ImageRequest, url: str):
    """The frame's image for `request`, copied into the pydrake image type."""
    try:
        image = frame.image(camera, request.image_type)
    except KeyError as error:
        raise ProtocolError(f"POST {url}: {error.args[0]}", url=url) from None
    intrinsics = request.camera.core().intrinsics()
    if isinstance(image.pixels, bytes) or (image.width, image.height) != (intrinsics.width(), intrinsics.height()):
        raise ProtocolError(f"POST {url}: a {image.width}x{image.height} {image.format} {request.image_type} image "
                            f"for a {intrinsics.width()}x{intrinsics.height()} camera", url=url)
    drake_image = IMAGE_TYPES[request.image_type](image.width, image.height)
    drake_image.mutable_data[:] = image.pixels
    return drake_image
