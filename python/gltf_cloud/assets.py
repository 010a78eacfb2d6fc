"""Assets by content: SHA-256 names, and the files a mesh pulls in by relative path.

The server stores every asset under the SHA-256 of its bytes and tells a client which ones it
lacks, so each file crosses the network at most once per server. A mesh is its main file plus
what that file names: an OBJ's `mtllib` files and their `map_Kd` textures (the only map
RenderEngineVtk reads), a glTF's external buffers and images. Those supporting files are keyed by
the name exactly as written (docs/scene-api.md) and read, as Drake reads them, relative to the
main file's folder: Drake resolves an MTL's `map_Kd` against the OBJ's folder, not the MTL's.

    >>> asset = Asset.from_bytes(b"hello")
    >>> asset.sha256[:16]
    '2cf24dba5fb0a30e'
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote


@dataclass(frozen=True)
class Asset:
    """Bytes the server may need, named by their SHA-256: held in memory (`data`) or read from
    `path` when uploaded (so a server that already has the file costs no read)."""

    sha256: str
    path: Path | None = None
    data: bytes | None = None

    @staticmethod
    def from_bytes(data: bytes) -> "Asset":
        return Asset(hashlib.sha256(data).hexdigest(), data=bytes(data))

    @staticmethod
    def from_path(path: os.PathLike | str) -> "Asset":
        """The file's asset; the hash is cached while the file's size and mtime stay the same."""
        path = Path(path).resolve()
        return Asset(_FILE_HASHES.sha256(path), path=path)

    def read(self) -> bytes:
        """The bytes, checked against the name: a file edited since it was hashed is refused
        here rather than by the server's `hash_mismatch`."""
        if self.data is not None:
            return self.data
        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise OSError(f"{self.path} changed while it was being sent; render again to send the new version")
        return data


class _FileHashCache:
    """SHA-256 of files by (path, size, mtime), so a scene registered again hashes nothing."""

    def __init__(self):
        self._lock = threading.Lock()
        self._known: dict[Path, tuple[int, int, str]] = {}

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        with self._lock:
            known = self._known.get(path)
        if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
        with self._lock:
            self._known[path] = (stat.st_size, stat.st_mtime_ns, digest.hexdigest())
        return digest.hexdigest()


_FILE_HASHES = _FileHashCache()


_MTLLIB = re.compile(r"^[ \t]*mtllib[ \t]+([^\r\n]*)", re.M)


def obj_references(obj_text: str) -> list[str]:
    """The material libraries an OBJ names (`mtllib a.mtl b.mtl`), in order. One regular
    expression over the text: a robot's OBJ has hundreds of thousands of lines and one mtllib."""
    return [name for match in _MTLLIB.finditer(obj_text) for name in match.group(1).split()]


def mtl_references(mtl_text: str) -> list[str]:
    """The diffuse textures an MTL names (`map_Kd [options] file`: the file is the last field)."""
    names = []
    for line in mtl_text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "map_Kd":
            names.append(fields[-1])
    return names


def gltf_references(document: dict) -> list[str]:
    """The external files a glTF document names: buffers' and images' `uri`s that are not
    `data:` URIs, as written (percent-encoded; the file's name is the decoded form)."""
    names = []
    for item in list(document.get("buffers", [])) + list(document.get("images", [])):
        uri = item.get("uri") if isinstance(item, dict) else None
        if isinstance(uri, str) and not uri.startswith("data:"):
            names.append(uri)
    return names


def glb_json(data: bytes) -> dict:
    """The JSON chunk of a binary glTF (GLB), or {} when `data` is not one."""
    if len(data) < 20 or data[:4] != b"glTF":
        return {}
    chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
    if chunk_type != 0x4E4F534A:  # "JSON"
        return {}
    try:
        return json.loads(data[20:20 + chunk_length])
    except ValueError:
        return {}


class FileSource:
    """Where a mesh's supporting files come from: a folder on disk (the main file's), or an
    InMemoryMesh's map of names to bytes or paths. `asset(name)` is None for a file that cannot
    be found (the server then draws as RenderEngineVtk does when a file is missing)."""

    def __init__(self, folder: Path | None = None, named: dict | None = None):
        self.folder = folder
        self.named = named or {}

    def asset(self, name: str, file_name: str | None = None) -> Asset | None:
        """The file written as `name` (`file_name`: its name on disk, when the reference is
        encoded, as a glTF URI is)."""
        if name in self.named:
            value = self.named[name]
            return Asset.from_bytes(value) if isinstance(value, (bytes, bytearray)) else Asset.from_path(value)
        file_name = (file_name or name).replace("\\", "/")
        if posixpath.isabs(file_name):
            path = Path(file_name)
        elif self.folder is not None:
            path = Path(os.path.normpath(self.folder / file_name))
        else:
            return None  # an in-memory mesh's file that its map does not hold
        return Asset.from_path(path) if path.is_file() else None


def supporting_files(main_name: str, main: Asset, source: FileSource) -> dict[str, Asset]:
    """Every file the mesh `main_name` (its bytes in `main`) names, directly or through its MTL
    files, keyed by the name as written. Files that cannot be found are left out: the server
    then renders as RenderEngineVtk does when a file is missing."""
    extension = posixpath.splitext(main_name)[1].lower()
    found: dict[str, Asset] = {}

    def add(name: str, file_name: str | None = None) -> Asset | None:
        if name not in found:
            asset = source.asset(name, file_name)
            if asset is None:
                return None
            found[name] = asset
        return found[name]

    if extension == ".obj":
        for library in _references(main, extension):
            mtl = add(library)
            if mtl is not None:
                for texture in mtl_references(mtl.read().decode("utf-8", errors="replace")):
                    add(texture)
    elif extension in (".gltf", ".glb"):
        for uri in _references(main, extension):
            add(uri, unquote(uri))
    return found


#: The names each main file refers to, by its SHA-256: a scene registered again (a restarted
#: server, another replica) or several geometries of one mesh read a large file once.
_REFERENCES: "OrderedDict[tuple[str, str], list[str]]" = OrderedDict()
_REFERENCES_KEPT = 256
_REFERENCES_LOCK = threading.Lock()


def _references(main: Asset, extension: str) -> list[str]:
    key = (main.sha256, extension)
    with _REFERENCES_LOCK:
        if key in _REFERENCES:
            _REFERENCES.move_to_end(key)
            return _REFERENCES[key]
    data = main.read()
    if extension == ".obj":
        names = obj_references(data.decode("utf-8", errors="replace"))
    else:
        names = gltf_references(glb_json(data) if extension == ".glb" else _json_or_empty(data))
    with _REFERENCES_LOCK:
        _REFERENCES[key] = names
        if len(_REFERENCES) > _REFERENCES_KEPT:
            _REFERENCES.popitem(last=False)
    return names


def _json_or_empty(data: bytes) -> dict:
    try:
        document = json.loads(data)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
