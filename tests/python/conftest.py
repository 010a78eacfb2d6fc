"""Fixtures for the pydrake conformance tests: a real `gltf-cloud render-server` on a free port."""

import pytest

from render_server_process import RenderServer, server_binary


@pytest.fixture(scope="session")
def render_server():
    """Starts the render server (default look) on 127.0.0.1:0 and yields its base URL."""
    with RenderServer(server_binary()) as server:
        yield server.url
