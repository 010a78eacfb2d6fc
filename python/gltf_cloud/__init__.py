"""gltf-cloud's Python package: render pydrake scenes on a gltf-cloud render server.

- `gltf_cloud.drake` (needs pydrake): `RemoteRenderer` and `RemoteRgbdSensor`, the counterparts of
  `QueryObject.Render*Image` and `RgbdSensor`, keeping the scene on the server.
- `gltf_cloud.client` (numpy and urllib3 only): the scene API over HTTP (docs/scene-api.md).
- `gltf_cloud.wire`: the binary frame layouts; `gltf_cloud.errors`: the exceptions.
"""

from .errors import (
    GltfCloudError,
    MissingAssetsError,
    ProtocolError,
    SceneNotFoundError,
    ServerBusyError,
    ServerError,
    ServerUnavailableError,
)

__version__ = "0.1.0"
__all__ = [
    "GltfCloudError",
    "MissingAssetsError",
    "ProtocolError",
    "SceneNotFoundError",
    "ServerBusyError",
    "ServerError",
    "ServerUnavailableError",
]
