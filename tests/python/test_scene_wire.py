"""The Python package's side of the scene API with no render server: the binary frame layouts,
asset discovery, and the HTTP client's behaviour (token, errors, uploads, retries) against a
loopback stub (scene_api_stub.py) that parses every request by hand."""

import hashlib
import json
import os
import socket
import struct
from unittest import mock

import numpy as np
import pytest

from gltf_cloud import assets, wire
from gltf_cloud.client import SceneClient
from gltf_cloud.errors import (
    MissingAssetsError,
    ProtocolError,
    SceneNotFoundError,
    ServerBusyError,
    ServerError,
    ServerUnavailableError,
)
from scene_api_stub import StubServer, images_answer, parse_frame

X = np.arange(12, dtype=float).reshape(3, 4)


# -- GCF1 ----------------------------------------------------------------------------------------

def test_frame_layout_is_the_documented_one():
    records = wire.pose_records([7, 2**63 + 5], [X, np.vstack([X + 1, [0, 0, 0, 1]])])
    cameras = [wire.camera_header(width=4, height=3, fx=2.0, fy=2.5, cx=1.5, cy=1.0, near=0.01, far=10.0,
                                  X_WC=np.eye(4), images=["color", "depth"], depth_range=[0.1, 5.0])]
    body = wire.encode_frame(records, cameras)
    assert body[:4] == b"GCF1"
    (length,) = struct.unpack_from("<I", body, 4)
    header = json.loads(body[8:8 + length])
    assert header == {"poses": 2, "encoding": "raw", "cameras": [
        {"width": 4, "height": 3, "fx": 2.0, "fy": 2.5, "cx": 1.5, "cy": 1.0, "near": 0.01, "far": 10.0,
         "X_WC": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], "images": ["color", "depth"], "depth_range": [0.1, 5.0]}]}
    start = (8 + length + 7) // 8 * 8
    assert body[8 + length:start] == bytes(start - 8 - length)
    assert len(body) == start + 2 * 104
    first = struct.unpack_from("<Q12d", body, start)
    second = struct.unpack_from("<Q12d", body, start + 104)
    assert first == (7, *X.ravel())
    assert second == (2**63 + 5, *(X + 1).ravel())
    # The stub's independent parser reads the same.
    assert parse_frame(body)[1] == {7: list(X.ravel()), 2**63 + 5: list((X + 1).ravel())}


def test_frame_without_poses_and_png_encoding():
    body = wire.encode_frame(None, [], encoding="png")
    header, poses = parse_frame(body)
    assert header == {"poses": 0, "encoding": "png", "cameras": []} and poses == {}


@pytest.mark.parametrize("images, depth_range", [([], None), (["colour"], None), (["depth"], None)])
def test_camera_header_refuses_what_the_server_would(images, depth_range):
    with pytest.raises(ValueError):
        wire.camera_header(width=4, height=3, fx=1, fy=1, cx=1, cy=1, near=0.1, far=1, X_WC=np.eye(4),
                           images=images, depth_range=depth_range)


# -- GCI1 ----------------------------------------------------------------------------------------

def gci1(entries, data: bytes, header_extra=None) -> bytes:
    header = json.dumps({"frame": 3, "images": entries, **(header_extra or {})}).encode()
    pad = (8 + len(header) + 7) // 8 * 8 - 8 - len(header)
    return b"GCI1" + struct.pack("<I", len(header)) + header + bytes(pad) + data


def test_answer_images_are_drake_layouts():
    answer = images_answer(9, [{"width": 3, "height": 2, "images": ["color", "label"]},
                               {"width": 5, "height": 1, "images": ["depth"]}])
    frame = wire.decode_frame(answer)
    assert frame.number == 9
    color, label = frame.image(0, "color"), frame.image(0, "label")
    depth = frame.image(1, "depth")
    assert color.pixels.shape == (2, 3, 4) and color.pixels.dtype == np.uint8 and (color.pixels == 1).all()
    assert label.pixels.shape == (2, 3, 1) and label.pixels.dtype == np.int16 and (label.pixels == 100).all()
    assert depth.pixels.shape == (1, 5, 1) and depth.pixels.dtype == np.float32 and (depth.pixels == 2.5).all()
    with pytest.raises(KeyError):
        frame.image(1, "color")


def test_answer_rows_are_top_first_and_values_exact():
    depth = np.array([[0.0, np.inf], [1.25, 3.5]], "<f4")
    data = depth.tobytes()
    frame = wire.decode_frame(gci1([{"camera": 0, "type": "depth", "width": 2, "height": 2, "format": "f32",
                                     "offset": 0, "bytes": len(data)}], data))
    np.testing.assert_array_equal(frame.images[0].pixels[..., 0], depth)


def test_encoded_images_come_back_as_bytes():
    png = b"\x89PNG fake but opaque"
    frame = wire.decode_frame(gci1([{"camera": 0, "type": "color", "width": 2, "height": 2, "format": "png",
                                     "offset": 0, "bytes": len(png)}], png + bytes(4)))
    assert frame.images[0].pixels == png


@pytest.mark.parametrize("body, complaint", [
    (b"GCF1\0\0\0\0", "does not start with"),
    (b"GCI1" + struct.pack("<I", 100) + b"{}", "runs past"),
    (b"GCI1" + struct.pack("<I", 2) + b"[]", "not valid"),
    (gci1([{"camera": 0, "type": "color", "width": 2, "height": 2, "format": "rgba8", "offset": 0, "bytes": 16}],
          bytes(8)), "runs past"),
    (gci1([{"camera": 0, "type": "color", "width": 2, "height": 2, "format": "rgba8", "offset": 0, "bytes": 8}],
          bytes(8)), "expected"),
    (gci1([{"camera": 0, "type": "color", "width": 1, "height": 1, "format": "bgr", "offset": 0, "bytes": 8}],
          bytes(8)), "unknown format"),
    (gci1([{"camera": 0, "type": "color"}], b""), "lacks a field"),
])
def test_malformed_answers_are_refused(body, complaint):
    with pytest.raises(wire.FrameDecodeError, match=complaint):
        wire.decode_frame(body)


# -- assets --------------------------------------------------------------------------------------

def test_obj_pulls_in_its_mtl_and_textures(tmp_path):
    """Keys as written; files read as Drake reads them: map_Kd against the OBJ's folder."""
    (tmp_path / "materials").mkdir()
    (tmp_path / "textures").mkdir()
    (tmp_path / "robot.obj").write_text("mtllib materials/robot.mtl missing.mtl\nv 0 0 0\n")
    (tmp_path / "materials" / "robot.mtl").write_text("newmtl a\nmap_Kd -s 2 2 1 textures/wood.png\nnewmtl b\nKd 1 0 0\n")
    (tmp_path / "textures" / "wood.png").write_bytes(b"wood")
    main = assets.Asset.from_path(tmp_path / "robot.obj")
    found = assets.supporting_files("robot.obj", main, assets.FileSource(folder=tmp_path))
    assert set(found) == {"materials/robot.mtl", "textures/wood.png"}
    assert found["textures/wood.png"].sha256 == hashlib.sha256(b"wood").hexdigest()


def test_gltf_pulls_in_external_buffers_and_images_not_data_uris(tmp_path):
    doc = {"buffers": [{"uri": "data:application/octet-stream;base64,AAAA"}, {"uri": "mesh%20data.bin"}],
           "images": [{"uri": "tex/a.png"}, {"bufferView": 0}]}
    (tmp_path / "m.gltf").write_text(json.dumps(doc))
    (tmp_path / "mesh data.bin").write_bytes(b"bin")
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "a.png").write_bytes(b"png")
    found = assets.supporting_files("m.gltf", assets.Asset.from_path(tmp_path / "m.gltf"),
                                    assets.FileSource(folder=tmp_path))
    assert set(found) == {"mesh%20data.bin", "tex/a.png"}
    assert found["mesh%20data.bin"].read() == b"bin"


def test_glb_json_chunk_is_read():
    chunk = json.dumps({"images": [{"uri": "side.png"}]}).encode()
    chunk += b" " * (-len(chunk) % 4)
    glb = b"glTF" + struct.pack("<II", 2, 20 + len(chunk)) + struct.pack("<II", len(chunk), 0x4E4F534A) + chunk
    assert assets.gltf_references(assets.glb_json(glb)) == ["side.png"]


def test_a_file_edited_after_hashing_is_not_sent(tmp_path):
    path = tmp_path / "a.obj"
    path.write_bytes(b"one")
    asset = assets.Asset.from_path(path)
    path.write_bytes(b"two")
    with pytest.raises(OSError, match="changed"):
        asset.read()


# -- the HTTP client -----------------------------------------------------------------------------

@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def test_token_from_argument_or_environment(stub):
    SceneClient(stub.url, token="abc").missing_assets(["0" * 64])
    with mock.patch.dict(os.environ, {"GLTF_CLOUD_ACCESS_TOKEN": "from-env"}):
        SceneClient(stub.url).missing_assets(["0" * 64])
    with mock.patch.dict(os.environ, {}, clear=True):
        SceneClient(stub.url).missing_assets(["0" * 64])
    sent = [headers.get("Authorization") for _, _, headers, _ in stub.requests()]
    assert sent == ["Bearer abc", "Bearer from-env", None]


def test_only_missing_assets_are_uploaded(stub):
    client = SceneClient(stub.url)
    a, b = assets.Asset.from_bytes(b"a"), assets.Asset.from_bytes(b"b")
    assert client.upload_assets([a]) == [a.sha256]
    assert client.upload_assets([a, b]) == [b.sha256]
    assert client.upload_assets([a, b]) == []
    assert [path for method, path, _, _ in stub.requests("PUT")] == [f"/v1/assets/{a.sha256}", f"/v1/assets/{b.sha256}"]


def test_an_asset_evicted_meanwhile_is_uploaded_again(stub):
    client = SceneClient(stub.url)
    mesh = assets.Asset.from_bytes(b"v 0 0 0\n")
    client.upload_assets([mesh])
    stub.state.fail_next.append(("/v1/scenes", 409, {"error": True, "reason": "missing_assets", "missing": [mesh.sha256],
                                       "message": "upload them", "code": 409}, ()))
    summary = client.create_scene([{"id": 1, "shape": {"type": "sphere", "radius": 1}}], assets=[mesh])
    assert summary["geometries"] == 1
    methods = [(m, p) for m, p, _, _ in stub.requests()]
    assert methods[-3:] == [("POST", "/v1/scenes"), ("PUT", f"/v1/assets/{mesh.sha256}"), ("POST", "/v1/scenes")]


def test_server_errors_name_url_reason_and_field(stub):
    client = SceneClient(stub.url)
    stub.state.fail_next.append(("/v1/scenes", 400, {"error": True, "reason": "bad_request", "field": "geometries[0].shape.radius",
                                       "message": "radius must be positive", "code": 400}, ()))
    with pytest.raises(ServerError) as raised:
        client.create_scene([{"id": 1, "shape": {"type": "sphere", "radius": -1}}])
    text = str(raised.value)
    assert f"{stub.url}/v1/scenes" in text and "bad_request" in text and "geometries[0].shape.radius" in text
    assert "radius must be positive" in text and raised.value.status == 400


def test_unknown_scene_has_its_own_error(stub):
    with pytest.raises(SceneNotFoundError) as raised:
        SceneClient(stub.url).render_frame("0" * 32, [])
    assert raised.value.reason == "unknown_scene" and f"{stub.url}/v1/scenes/{'0' * 32}/frames" in str(raised.value)


def test_a_proxy_page_is_an_error_with_its_text(stub):
    stub.state.fail_next.append(("/v1", 502, b"<html>Bad Gateway</html>", ()))
    with pytest.raises(ServerError, match="HTTP 502.*Bad Gateway"):
        SceneClient(stub.url).info()


def test_busy_is_retried_then_reported(stub):
    client = SceneClient(stub.url)
    busy = ("/missing", 503, {"error": True, "reason": "busy", "message": "queue full", "code": 503}, (("Retry-After", "0"),))
    stub.state.fail_next.extend([busy, busy])
    assert client.missing_assets(["0" * 64]) == ["0" * 64]
    stub.state.fail_next.extend([busy] * 4)
    with pytest.raises(ServerBusyError) as raised:
        client.missing_assets(["0" * 64])
    assert raised.value.retry_after == 0.0


def test_a_garbled_frame_answer_is_a_protocol_error(stub):
    client = SceneClient(stub.url)
    scene = client.create_scene([])["scene"]
    stub.state.fail_next.append(("/frames", 200, b"GCI1garbage", ()))
    with pytest.raises(ProtocolError, match="frames"):
        client.render_frame(scene, [])


def test_missing_assets_error_lists_them():
    error = MissingAssetsError(method="POST", url="u", status=409, body={"missing": ["a"]}, text="")
    assert error.missing == ["a"]


def test_a_down_server_names_the_url():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(ServerUnavailableError, match=f"{url}/v1.*connection refused") as raised:
        SceneClient(url).info()
    assert isinstance(raised.value, ConnectionError) and raised.value.url == f"{url}/v1"
