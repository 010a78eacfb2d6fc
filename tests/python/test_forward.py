"""pydrake's RenderEngineGltfClient through `gltf-cloud client --forward` to a TLS render server
that requires an access token.

pydrake's libcurl has no TLS and Drake's client sends no headers, so an `https://` base_url fails
and a token cannot be given; the forward mode listens in plain HTTP on this machine and hands each
request on over TLS with the token. The images that come back must be those the same server
renders for a direct plain-HTTP client, byte for byte.
"""

import subprocess

import numpy as np
import pytest

from drake_scenes import CAMERAS, SCENES, TwoEngineScene
from render_server_process import ListeningProcess, RenderServer, server_binary


class Forwarder(ListeningProcess):
    """`gltf-cloud client --forward 127.0.0.1:0 ARGS…` until `stop()`."""

    def __init__(self, *args):
        super().__init__(server_binary(), "client", "--forward", "127.0.0.1:0", *args)

    def stop(self):
        status = super().stop()
        assert status == 0, "".join(self.lines)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ssl")
    subprocess.run([str(server_binary()), "make-cert", "--name", "127.0.0.1", "--out-dir", str(directory)],
                   check=True, capture_output=True)
    return directory / "cert.pem", directory / "key.pem"


def images(base_url, scene, camera):
    return {image_type: TwoEngineScene(scene, base_url).render("gltf", image_type, camera)
            for image_type in ("color", "depth", "label")}


TOKENS = ("old-token-0123456789abcdef", "new-token-0123456789abcdef")


def test_pydrake_reaches_a_tls_server_with_a_token_through_the_forward_mode(
        render_server, certificate, tmp_path, monkeypatch):
    cert, key = certificate
    scene = SCENES["primitives"](tmp_path)
    camera = CAMERAS["odd-333x250"]
    token_file = tmp_path / "token"
    token_file.write_text(f"# the new one, while both are valid\n{TOKENS[1]}\n")
    # The server takes its tokens from the environment here (and from --access-tokens-file).
    monkeypatch.setenv("GLTF_CLOUD_ACCESS_TOKENS", ",".join(TOKENS))
    with RenderServer(server_binary(), "--tls-cert", str(cert), "--tls-key", str(key)) as tls_server:
        monkeypatch.delenv("GLTF_CLOUD_ACCESS_TOKENS")
        assert tls_server.url.startswith("https://")
        # What the forward mode is for: pydrake cannot speak TLS itself.
        with pytest.raises(RuntimeError, match="Unsupported protocol|https"):
            TwoEngineScene(scene, tls_server.url).render("gltf", "color", camera)
        # Without the token the server refuses, and Drake's exception says why.
        tokenless = Forwarder("--server-base-url", tls_server.url, "--ca-cert", str(cert))
        try:
            with pytest.raises(RuntimeError, match=r"HTTP Code:\s+401") as refused:
                TwoEngineScene(scene, tokenless.url).render("gltf", "color", camera)
            assert "needs an access token" in str(refused.value)
        finally:
            tokenless.stop()
        forwarder = Forwarder("--server-base-url", tls_server.url, "--ca-cert", str(cert),
                              "--token-file", str(token_file))
        try:
            forwarded = images(forwarder.url, scene, camera)
        finally:
            forwarder.stop()
    direct = images(render_server, scene, camera)
    for image_type, image in direct.items():
        assert image.shape == forwarded[image_type].shape, image_type
        assert np.array_equal(image, forwarded[image_type]), image_type
    # Not a blank frame: the scene's objects are in it.
    assert len(np.unique(direct["label"].reshape(-1))) > 2
