"""Fixtures for the pydrake tests: a real `gltf-cloud render-server` on a free port, and the scene
API served by it and by the RenderEngineVtk reference."""

import subprocess
import sys
from pathlib import Path

import pytest

from render_server_process import RenderServer, server_binary


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
        return
    # Its own process: VTK's render contexts and the GIL stay out of the tests' way.
    script = Path(__file__).with_name("scene_api_vtk_server.py")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on "), f"the reference did not start: {line!r}"
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)
