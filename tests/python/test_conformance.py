"""Conformance with the real client: pydrake's RenderEngineGltfClient against our render server,
compared pixel by pixel with pydrake's own RenderEngineVtk rendering the same SceneGraph.

Pass criteria: Drake's limits (image_compare.LIMITS). Every image's measured fraction is printed
(run pytest with -s to see them).
"""

import pytest

from drake_scenes import CAMERAS, SCENES, TwoEngineScene
from image_compare import LIMITS, compare_all


@pytest.mark.parametrize("camera_name", list(CAMERAS))
@pytest.mark.parametrize("scene_name", list(SCENES))
def test_matches_render_engine_vtk(render_server, tmp_path, scene_name, camera_name):
    scene = TwoEngineScene(SCENES[scene_name](tmp_path), render_server)
    failures = compare_all(f"{scene_name} {camera_name}", scene.render, CAMERAS[camera_name], LIMITS)
    assert not failures, "; ".join(failures)


def test_server_errors_reach_the_drake_user(render_server):
    """A request Drake's client cannot satisfy comes back as Drake's RuntimeError with our message."""
    scene = TwoEngineScene(SCENES["primitives"](None), render_server, render_endpoint="no-such-endpoint")
    with pytest.raises(RuntimeError, match=r"HTTP Code:\s+404") as raised:
        scene.render("gltf", "color", CAMERAS["odd-333x250"])
    assert "no-such-endpoint" in str(raised.value)
