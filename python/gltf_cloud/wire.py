"""The binary layouts of the scene API's frames (docs/scene-api.md, "Frames"), with numpy.

A frame request is ``GCF1``, a little-endian u32 header length, the JSON header, zero padding to a
multiple of 8, then one 104-byte record per pose: a u64 geometry id and the 12 float64 of
``X_WG`` (the 3×4 matrix [R | p] row by row). The answer is ``GCI1``, a u32 length, a JSON header
listing the images with their offsets, padding to 8, then the images themselves.

Poses travel as float64 so that the server places geometry exactly where Drake has it; images come
back in Drake's own buffer layouts so that they are copied into pydrake images without conversion.

    >>> import numpy as np
    >>> records = pose_records([7], [np.hstack([np.eye(3), [[0.0], [0.0], [1.5]]])])
    >>> body = encode_frame(records, cameras=[])
    >>> body[:4], len(body) % 8
    (b'GCF1', 0)
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

FRAME_MAGIC = b"GCF1"
IMAGES_MAGIC = b"GCI1"
#: One pose record: the geometry id, then X_WG's 3×4 matrix row by row.
POSE_DTYPE = np.dtype([("id", "<u8"), ("X_WG", "<f8", (12,))])
assert POSE_DTYPE.itemsize == 104

#: Raw pixel formats of the answer: numpy dtype and channels per pixel (Drake's layouts).
RAW_FORMATS = {
    "rgba8": (np.dtype(np.uint8), 4),  # ImageRgba8U
    "f32": (np.dtype("<f4"), 1),  # ImageDepth32F, metres
    "i16": (np.dtype("<i2"), 1),  # ImageLabel16I
}
#: Encoded formats (`"encoding": "png"`): the bytes are returned as they are.
ENCODED_FORMATS = ("png", "tiff")


def _padded(length: int) -> int:
    return (length + 7) & ~7


def _matrix34(matrix) -> np.ndarray:
    """12 float64, row by row, from a 3×4 or 4×4 matrix or 12 numbers."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return (matrix[:3] if matrix.ndim == 2 else matrix).reshape(12)


def pose_records(ids: Iterable[int], matrices: Iterable) -> np.ndarray:
    """A POSE_DTYPE array from geometry ids and 3×4 (or 4×4, or 12-element) X_WG matrices."""
    ids = list(ids)
    records = np.zeros(len(ids), POSE_DTYPE)
    records["id"] = ids
    for row, matrix in enumerate(matrices):
        records["X_WG"][row] = _matrix34(matrix)
    return records


def encode_frame(poses: np.ndarray | None, cameras: Sequence[dict], encoding: str = "raw") -> bytes:
    """The body of ``POST /v1/scenes/{id}/frames``.

    `poses` is a POSE_DTYPE array (or None for no pose change); `cameras` are the header's camera
    objects (see `camera_header`).
    """
    poses = np.zeros(0, POSE_DTYPE) if poses is None else np.ascontiguousarray(poses, dtype=POSE_DTYPE)
    header = json.dumps({"poses": len(poses), "encoding": encoding, "cameras": list(cameras)},
                        separators=(",", ":")).encode()
    start = 8 + len(header)
    padding = _padded(start) - start
    return b"".join((FRAME_MAGIC, struct.pack("<I", len(header)), header, bytes(padding), poses.tobytes()))


def camera_header(*, width: int, height: int, fx: float, fy: float, cx: float, cy: float, near: float,
                  far: float, X_WC, images: Sequence[str], depth_range: Sequence[float] | None = None) -> dict:
    """One camera of a frame request. `X_WC` is the camera's pose in the world (Drake's camera
    frame: +X right, +Y down, +Z forward) as a 3×4 or 4×4 matrix; `images` names what it renders
    ("color", "depth", "label"); `depth_range` ([min, max] metres) is required with "depth"."""
    images = list(images)
    unknown = set(images) - {"color", "depth", "label"}
    if unknown or not images:
        raise ValueError(f"images must name some of color, depth, label; got {images}")
    if "depth" in images and depth_range is None:
        raise ValueError("a camera that renders depth needs depth_range")
    camera = {"width": int(width), "height": int(height), "fx": float(fx), "fy": float(fy), "cx": float(cx),
              "cy": float(cy), "near": float(near), "far": float(far),
              "X_WC": _matrix34(X_WC).tolist(), "images": images}
    if depth_range is not None:
        camera["depth_range"] = [float(depth_range[0]), float(depth_range[1])]
    return camera


@dataclass(frozen=True)
class FrameImage:
    """One image of a frame answer: `pixels` is an (height, width, channels) array in Drake's
    layout for raw formats, or the encoded file's bytes for "png"/"tiff"."""

    camera: int
    type: str
    width: int
    height: int
    format: str
    pixels: np.ndarray | bytes


@dataclass(frozen=True)
class Frame:
    """A decoded frame answer: the server's frame counter and every image, in its order."""

    number: int
    images: list[FrameImage]

    def image(self, camera: int, image_type: str) -> FrameImage:
        """The image `image_type` of camera `camera`, or KeyError."""
        for image in self.images:
            if image.camera == camera and image.type == image_type:
                return image
        raise KeyError(f"the frame has no {image_type} image for camera {camera}")


class FrameDecodeError(ValueError):
    """The answer does not follow the GCI1 layout."""


def decode_frame(body: bytes) -> Frame:
    """Parses a ``GCI1`` answer. The pixel arrays are read-only views into `body` (no copy)."""
    view = memoryview(body)
    if len(view) < 8 or bytes(view[:4]) != IMAGES_MAGIC:
        raise FrameDecodeError(f"the answer does not start with {IMAGES_MAGIC!r} (first bytes {bytes(view[:8])!r})")
    (header_length,) = struct.unpack_from("<I", view, 4)
    if 8 + header_length > len(view):
        raise FrameDecodeError(f"header length {header_length} runs past the answer's {len(view)} bytes")
    try:
        header = json.loads(bytes(view[8:8 + header_length]))
        entries = header["images"]
        number = int(header.get("frame", 0))
    except (ValueError, KeyError, TypeError) as error:
        raise FrameDecodeError(f"the answer's JSON header is not valid: {error}") from None
    data = view[_padded(8 + header_length):]
    images = []
    for index, entry in enumerate(entries):
        try:
            offset, size = int(entry["offset"]), int(entry["bytes"])
            width, height, fmt = int(entry["width"]), int(entry["height"]), str(entry["format"])
            camera, image_type = int(entry["camera"]), str(entry["type"])
        except (KeyError, TypeError, ValueError) as error:
            raise FrameDecodeError(f"images[{index}] lacks a field or has a wrong type: {error}") from None
        if offset < 0 or size < 0 or offset + size > len(data):
            raise FrameDecodeError(f"images[{index}] ({offset}+{size} bytes) runs past the {len(data)} bytes of images")
        chunk = data[offset:offset + size]
        if fmt in RAW_FORMATS:
            dtype, channels = RAW_FORMATS[fmt]
            expected = width * height * channels * dtype.itemsize
            if size != expected:
                raise FrameDecodeError(f"images[{index}]: {size} bytes for a {width}x{height} {fmt} image ({expected} expected)")
            pixels = np.frombuffer(chunk, dtype=dtype).reshape(height, width, channels)
        elif fmt in ENCODED_FORMATS:
            pixels = bytes(chunk)
        else:
            raise FrameDecodeError(f"images[{index}]: unknown format {fmt!r}")
        images.append(FrameImage(camera, image_type, width, height, fmt, pixels))
    return Frame(number, images)
