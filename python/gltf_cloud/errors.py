"""The exceptions a render server's answers become.

Every failure names the URL it happened on and, where the server gave one, its stable `reason`
(docs/scene-api.md's error table) and the field at fault, so a Drake user sees why a frame was
refused instead of a blank image.
"""

from __future__ import annotations


class GltfCloudError(Exception):
    """Base of every error this package raises; `url` is the request's URL."""

    def __init__(self, message: str, *, url: str):
        super().__init__(message)
        self.url = url


class ServerUnavailableError(GltfCloudError, ConnectionError):
    """The server could not be reached or dropped the connection (refused, reset, timed out).

    It is also a builtin `ConnectionError`, so code written for sockets catches it.
    """


class ServerError(GltfCloudError):
    """The server answered with an error status.

    Attributes: `status` (HTTP status), `reason` (the stable reason, e.g. ``"bad_request"``, or
    None when the body was not the server's JSON), `field` (the path of the field at fault, if
    any), `server_message` (the server's own words) and `body` (the parsed JSON body, or None).
    """

    def __init__(self, *, method: str, url: str, status: int, body: dict | None, text: str):
        self.method = method
        self.status = status
        self.body = body
        self.reason = body.get("reason") if body else None
        self.field = body.get("field") if body else None
        self.server_message = (body.get("message") if body else None) or text[:300]
        parts = [f"{method} {url}: HTTP {status}"]
        if self.reason:
            parts.append(self.reason)
        if self.field:
            parts.append(f"({self.field})")
        super().__init__(" ".join(parts) + (f": {self.server_message}" if self.server_message else ""), url=url)


class SceneNotFoundError(ServerError):
    """404 `unknown_scene`: the scene expired, was deleted, or this is a restarted server or
    another replica. `gltf_cloud.drake` registers the scene again and retries once on its own."""


class MissingAssetsError(ServerError):
    """409 `missing_assets`: `missing` lists the SHA-256 names the server lacks."""

    @property
    def missing(self) -> list[str]:
        return list(self.body.get("missing", [])) if self.body else []


class ServerBusyError(ServerError):
    """503 `busy` after the client's own retries; `retry_after` is the server's hint in seconds."""

    def __init__(self, *, retry_after: float | None, **kwargs):
        super().__init__(**kwargs)
        self.retry_after = retry_after


class ProtocolError(GltfCloudError):
    """The server's answer does not follow docs/scene-api.md (bad magic, sizes that do not add up)."""


def error_for_status(*, method: str, url: str, status: int, body: dict | None, text: str,
                     retry_after: float | None = None) -> ServerError:
    """The most specific ServerError for an error answer."""
    reason = body.get("reason") if body else None
    common = dict(method=method, url=url, status=status, body=body, text=text)
    if status == 404 and reason == "unknown_scene":
        return SceneNotFoundError(**common)
    if status == 409 and reason == "missing_assets":
        return MissingAssetsError(**common)
    if status == 503:
        return ServerBusyError(retry_after=retry_after, **common)
    return ServerError(**common)
