"""Two render servers behind the deploy recipe's nginx file (deploy/nginx/render-server.conf), as an
operator runs replicas: a scene-API client stays on the replica that holds its scene (the
`Gltf-Cloud-Affinity` header it sends is what nginx hashes on), requests without the header are
spread over both, and when a client's replica goes away RemoteRenderer registers its scene on the
other and carries on, with the same image."""

import re
import subprocess

import numpy as np
import pytest
import urllib3
from drake_scenes import CAMERAS, CLIPPING, X_WC, TwoEngineScene, primitives
from gltf_cloud.client import AFFINITY_HEADER, SceneClient
from gltf_cloud.drake import ImageRequest, RemoteRenderer
from nginx_process import Nginx, free_port
from pydrake.geometry import ColorRenderCamera, RenderCameraCore, SceneGraph
from pydrake.math import RigidTransform
from render_server_process import RenderServer, server_binary
from test_deploy import NGINX

BOX = {"id": 1, "shape": {"type": "box", "width": 0.1, "depth": 0.1, "height": 0.1},
       "X_WG": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], "properties": {}}
REQUESTS = 12


class Replicas:
    """Two render servers and nginx in front of them on the recipe's file, its single upstream
    server line replaced by the two replicas and its listen line by a loopback port."""

    def __init__(self, workdir):
        self.servers = [RenderServer(server_binary()), RenderServer(server_binary())]
        port = free_port()
        text = (NGINX / "render-server.conf").read_text()
        upstreams = "".join(f"server {s.url.removeprefix('http://')};\n    " for s in self.servers)
        text, replaced = re.subn(r"server 127\.0\.0\.1:8000;\n    ", upstreams, text)
        assert replaced == 1, "the recipe's upstream no longer names 127.0.0.1:8000"
        text, replaced = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
        assert replaced == 1, "the recipe no longer listens on port 80"
        conf = workdir / "render-server.conf"
        conf.write_text(text)
        self.proxy = Nginx([conf], workdir, port)
        self.url = f"http://127.0.0.1:{port}"

    def holding(self, scene_id: str) -> list[int]:
        """The running replicas (0, 1) that know `scene_id`, asked directly."""
        http = urllib3.PoolManager(retries=False)
        return [index for index, server in enumerate(self.servers) if server.process.poll() is None
                and http.request("GET", f"{server.url}/v1/scenes/{scene_id}").status == 200]

    def close(self):
        self.proxy.stop()
        for server in self.servers:
            if server.process.poll() is None:
                server.stop()


@pytest.fixture
def replicas(tmp_path):
    replicas = Replicas(tmp_path)
    yield replicas
    replicas.close()


def test_a_client_stays_on_the_replica_that_holds_its_scene(replicas):
    for _ in range(3):  # three clients, three keys: each sticks, wherever it hashes
        with SceneClient(replicas.url) as client:
            scene = client.create_scene([BOX])["scene"]
            for _ in range(REQUESTS):
                client.get_scene(scene)  # SceneNotFoundError if a request reached the other replica
            assert len(replicas.holding(scene)) == 1


def test_requests_without_the_header_are_spread_over_both(replicas):
    # What the header prevents: without it, nginx spreads requests round-robin, and half of them
    # reach the replica that does not know the scene.
    http = urllib3.PoolManager()
    created = http.request("POST", f"{replicas.url}/v1/scenes", json={"geometries": [BOX]})
    assert created.status == 201, created.data
    scene = created.json()["scene"]
    statuses = [http.request("GET", f"{replicas.url}/v1/scenes/{scene}").status for _ in range(REQUESTS)]
    assert sorted(set(statuses)) == [200, 404], statuses


def test_a_renderer_whose_replica_goes_registers_on_the_other(replicas, tmp_path):
    scene = TwoEngineScene(primitives(tmp_path), replicas.url)
    core = RenderCameraCore("vtk", CAMERAS["odd-333x250"], CLIPPING, RigidTransform())
    request = ImageRequest("color", ColorRenderCamera(core, False), SceneGraph.world_frame_id(), X_WC)
    with RemoteRenderer(replicas.url) as renderer:
        (before,) = renderer.render_images(scene.query, [request])
        (held,) = replicas.holding(renderer.scene_id(scene.query, "vtk"))
        assert replicas.servers[held].stop() == 0
        (after,) = renderer.render_images(scene.query, [request])
        assert renderer.statistics.registrations == 2
        assert replicas.holding(renderer.scene_id(scene.query, "vtk")) == [1 - held]
        np.testing.assert_array_equal(before.data, after.data)


def test_every_request_of_the_package_names_its_affinity_key():
    client = SceneClient("http://127.0.0.1:9", affinity_key="robot-7")
    assert client.affinity_key == "robot-7"
    assert client._headers[AFFINITY_HEADER] == "robot-7"
    assert SceneClient("http://127.0.0.1:9").affinity_key != SceneClient("http://127.0.0.1:9").affinity_key


def test_the_render_clients_scene_checks_pass_through_the_proxy(replicas):
    # Seventeen cases, each several requests about one scene: every one must reach its replica.
    checked = subprocess.run(
        [str(server_binary()), "client", "--scene-api", "--check", "--server-base-url", replicas.url],
        capture_output=True, text=True, timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
