"""The scene API over HTTP (docs/scene-api.md), with no pydrake: assets, scenes and frames.

One `SceneClient` per server keeps its connections open (urllib3's pool), so a frame costs one
round trip on a warm connection. Every failure is an exception that names the URL and the
server's reason (gltf_cloud.errors); nothing here ever returns a blank image.

    from gltf_cloud.client import SceneClient
    from gltf_cloud.wire import camera_header, pose_records
    import numpy as np

    client = SceneClient("http://127.0.0.1:8000")
    scene = client.create_scene([
        {"id": 1, "shape": {"type": "box", "width": 0.2, "depth": 0.2, "height": 0.2},
         "X_WG": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0.1],
         "properties": {"phong/diffuse": [0.9, 0.2, 0.2, 1.0], "label/id": 3}},
    ])
    camera = camera_header(width=640, height=480, fx=579.4, fy=579.4, cx=319.5, cy=239.5,
                           near=0.01, far=10.0, X_WC=np.eye(4), images=["color", "depth"],
                           depth_range=[0.1, 5.0])
    X_WG = np.array([[1, 0, 0, 0.1], [0, 1, 0, 0], [0, 0, 1, 1.0]])
    frame = client.render_frame(scene["scene"], [camera], pose_records([1], [X_WG]))
    rgba = frame.image(0, "color").pixels        # (480, 640, 4) uint8
    client.delete_scene(scene["scene"])

The access token, when the server requires one, comes from `token=` or the `GLTF_CLOUD_ACCESS_TOKEN`
environment variable and is sent as `Authorization: Bearer <token>`.

Every request also carries `Gltf-Cloud-Affinity: <key>`, one random key per client. Servers ignore
it; a proxy in front of several replicas hashes on it, so a client's scenes stay on the replica
that holds them (docs/deploy.md, "Several render servers: keep a client on one").
"""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import Iterable, Mapping, Sequence

import numpy as np
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from .assets import Asset
from .errors import GltfCloudError, MissingAssetsError, ProtocolError, ServerUnavailableError, error_for_status
from .wire import Frame, FrameDecodeError, decode_frame, encode_frame

TOKEN_ENVIRONMENT_VARIABLE = "GLTF_CLOUD_ACCESS_TOKEN"
#: The routing key a proxy hashes on to keep a client on one replica; the server ignores it.
AFFINITY_HEADER = "Gltf-Cloud-Affinity"
#: A 503 `busy` is retried this many times, waiting the server's Retry-After (at most
#: MAX_BUSY_WAIT seconds each): nothing changes on a refused request, so a retry is always safe.
BUSY_RETRIES = 3
MAX_BUSY_WAIT = 5.0


class SceneClient:
    """A connection pool to one render server's scene API.

    `base_url` is the server's root (``http://host:port``, or a prefix a proxy serves it under);
    `timeout` bounds each answer in seconds (a frame waits for its render); `token` is the access
    token (default: the ``GLTF_CLOUD_ACCESS_TOKEN`` environment variable); `affinity_key` is sent
    as the ``Gltf-Cloud-Affinity`` header for a proxy to route on (default: random, one per client;
    give processes that share scenes the same key). Thread-safe: urllib3's pool hands each
    concurrent request its own connection.
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 120.0, connect_timeout: float = 5.0,
                 affinity_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        token = token if token is not None else os.environ.get(TOKEN_ENVIRONMENT_VARIABLE) or None
        self.affinity_key = affinity_key or secrets.token_hex(16)
        #: Assets and bytes this client has uploaded (what registering on a new replica cost).
        self.uploaded_assets = 0
        self.uploaded_bytes = 0
        self._headers = {AFFINITY_HEADER: self.affinity_key}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        # Connection attempts are retried (a request that never connected changed nothing); reads
        # are not, because a frame that timed out may have rendered and a retry would wait again.
        retries = urllib3.Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0, backoff_factor=0.1)
        self._pool = urllib3.PoolManager(
            num_pools=2, maxsize=8, retries=retries,
            timeout=urllib3.Timeout(connect=connect_timeout, read=timeout),
        )

    def close(self) -> None:
        """Closes the pooled connections (a later request opens new ones)."""
        self._pool.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, body: bytes | None = None, json_body=None,
                content_type: str | None = None, expect: Iterable[int] = (200,)) -> urllib3.BaseHTTPResponse:
        """One request; an answer outside `expect` raises the matching ServerError."""
        url = self.url(path)
        headers = dict(self._headers)
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        busy_retries = 0
        while True:
            try:
                response = self._pool.request(method, url, body=body, headers=headers)
            except Urllib3Error as error:
                raise ServerUnavailableError(f"{method} {url}: cannot reach the render server: {_cause(error)}",
                                             url=url) from None
            if response.status in expect:
                return response
            retry_after = _retry_after(response)
            if response.status == 503 and busy_retries < BUSY_RETRIES:
                busy_retries += 1
                time.sleep(min(MAX_BUSY_WAIT, retry_after if retry_after is not None else 0.2 * busy_retries))
                continue
            text = response.data.decode("utf-8", errors="replace")
            raise error_for_status(method=method, url=url, status=response.status, body=_json_object(text),
                                   text=text, retry_after=retry_after)

    def _json(self, method: str, path: str, json_body=None, expect=(200,)) -> dict:
        response = self.request(method, path, json_body=json_body, expect=expect)
        document = _json_object(response.data.decode("utf-8", errors="replace"))
        if document is None:
            raise ProtocolError(f"{method} {self.url(path)}: the answer is not a JSON object", url=self.url(path))
        return document

    # -- the API, resource by resource --------------------------------------------------------

    def info(self) -> dict:
        """``GET /v1``: the API version and the limits this server enforces."""
        return self._json("GET", "/v1")

    def missing_assets(self, hashes: Iterable[str]) -> list[str]:
        """The SHA-256 names among `hashes` that this server does not hold."""
        hashes = list(dict.fromkeys(hashes))
        if not hashes:
            return []
        return list(self._json("POST", "/v1/assets/missing", {"sha256": hashes})["missing"])

    def put_asset(self, asset: Asset) -> bool:
        """Uploads one asset; True when the server did not hold it yet (201)."""
        body = asset.read()
        response = self.request("PUT", f"/v1/assets/{asset.sha256}", body=body,
                                content_type="application/octet-stream", expect=(200, 201))
        self.uploaded_assets += 1
        self.uploaded_bytes += len(body)
        return response.status == 201

    def upload_assets(self, assets: Iterable[Asset]) -> list[str]:
        """Uploads the assets this server lacks (asking first), and returns their names."""
        by_hash = {asset.sha256: asset for asset in assets}
        missing = self.missing_assets(by_hash)
        for sha256 in missing:
            self.put_asset(by_hash[sha256])
        return missing

    def create_scene(self, geometries: Sequence[dict], *, look: str | None = None,
                     look_files: Mapping[str, str] | None = None, assets: Iterable[Asset] = ()) -> dict:
        """``POST /v1/scenes``: registers `geometries` (docs/scene-api.md's geometry objects),
        with an optional look (RenderEngineVtkParams as `yaml_dump_typed` writes it) and the
        assets each names, uploading only those the server lacks. Returns the summary
        (``{"scene": id, "geometries": n, "idle_expiry_seconds": s}``)."""
        body = {"geometries": list(geometries)}
        if look is not None:
            body["look"] = look
        if look_files:
            body["look_files"] = dict(look_files)
        return self._with_assets("POST", "/v1/scenes", body, list(assets), expect=(201,))

    def patch_scene(self, scene_id: str, *, remove: Iterable[int] = (), add: Sequence[dict] = (),
                    assets: Iterable[Asset] = ()) -> dict:
        """``PATCH /v1/scenes/{id}``: removes the geometries `remove`, then adds `add`."""
        body = {"remove": [int(i) for i in remove], "add": list(add)}
        return self._with_assets("PATCH", f"/v1/scenes/{scene_id}", body, list(assets), expect=(200,))

    def get_scene(self, scene_id: str) -> dict:
        return self._json("GET", f"/v1/scenes/{scene_id}")

    def delete_scene(self, scene_id: str) -> None:
        self.request("DELETE", f"/v1/scenes/{scene_id}", expect=(200, 204))

    def render_frame(self, scene_id: str, cameras: Sequence[dict], poses: np.ndarray | None = None,
                     encoding: str = "raw") -> Frame:
        """``POST /v1/scenes/{id}/frames``: applies `poses` (a wire.POSE_DTYPE array, only the
        ones that changed) and renders every camera (wire.camera_header objects)."""
        path = f"/v1/scenes/{scene_id}/frames"
        response = self.request("POST", path, body=encode_frame(poses, cameras, encoding),
                                content_type="application/octet-stream")
        try:
            return decode_frame(response.data)
        except FrameDecodeError as error:
            raise ProtocolError(f"POST {self.url(path)}: {error}", url=self.url(path)) from None

    def _with_assets(self, method: str, path: str, body: dict, assets: list[Asset], expect) -> dict:
        """A scene request whose assets are uploaded first; a `missing_assets` answer (an asset
        evicted meanwhile) uploads what it lists and tries once more."""
        self.upload_assets(assets)
        try:
            return self._json(method, path, body, expect=expect)
        except MissingAssetsError as error:
            by_hash = {asset.sha256: asset for asset in assets}
            unknown = [h for h in error.missing if h not in by_hash]
            if unknown or not error.missing:
                raise
            for sha256 in error.missing:
                self.put_asset(by_hash[sha256])
            return self._json(method, path, body, expect=expect)


def _json_object(text: str) -> dict | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def _cause(error: Exception) -> str:
    """The innermost reason of a urllib3 failure ("Connection refused", "timed out")."""
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text


__all__ = ["SceneClient", "GltfCloudError", "TOKEN_ENVIRONMENT_VARIABLE"]
