"""Fixtures for the pydrake tests: a real `gltf-cloud render-server` on a free port, and the scene
API served by it and by the RenderEngineVtk reference."""

import pytest

from render_server_process import RenderServer, server_binary
from scene_api_vtk_server import ReferenceServer


@pytest.fixture(scope="session")
def render_server():
    """Starts the render server (default look) on 127.0.0.1:0 and yields its base URL."""
    with RenderServer(server_binary()) as server:
        yield server.url


@pytest.fixture(scope="session", params=["gltf-cloud", "vtk-reference"])
def scene_api_server(request):
    """A scene API's base URL: our render server's, then the RenderEngineVtk reference's
    (scene_api_vtk_server.py). The same test against both tells whether a difference comes from
    the Python package (both fail) or from our server (only it fails)."""
    if request.param == "gltf-cloud":
        yield request.getfixturevalue("render_server")
    else:
        with ReferenceServer() as server:
            yield server.url
