"""Every look a Drake user can configure, from their own RenderEngineVtkParams (issue 11).

For each parameter set of vtk_looks.LOOKS: the set is written with pydrake's `yaml_dump_typed`,
a render server is started with `--vtk-params FILE`, and pydrake's RenderEngineVtk configured
with the same parameters renders the same SceneGraph in-process; color, depth and label are
compared pixel by pixel (image_compare). Depth and label must always be within Drake's limits
(the look never changes them); color within Drake's 5% where the look is reproduced formula by
formula, and within the set's measured bound (printed, with the reason) for shadows, environment
maps and SSAO. Small images (320×240), one camera and one scene per set keep the file fast.
"""

import time

import numpy as np
import pytest
from pydrake.systems.sensors import CameraInfo

from drake_scenes import TwoEngineScene
from image_compare import compare_all
from render_server_process import RenderServer, server_binary
from vtk_looks import DRAKE_COLOR_LIMIT, LOOKS, write_params

CAMERA = CameraInfo(320, 240, np.pi / 4)


@pytest.fixture(scope="module", params=LOOKS, ids=[look.name for look in LOOKS])
def look_scene(request, tmp_path_factory):
    """(look, scene): a server started with the look's params file, and both engines' scene."""
    look = request.param
    tmp = tmp_path_factory.mktemp(look.name)
    params = look.params(tmp)
    started = time.perf_counter()
    with RenderServer(server_binary(), "--vtk-params", str(write_params(params, tmp / "vtk-params.yaml"))) as server:
        print(f"\n  {look.name}: server up in {time.perf_counter() - started:.1f} s", end="")
        yield look, TwoEngineScene(look.scene(tmp), server.url, vtk_params=params)


def test_look_matches_render_engine_vtk(look_scene):
    look, scene = look_scene
    started = time.perf_counter()
    failures = compare_all(f"look {look.name} 320x240", scene.render, CAMERA, look.limits())
    print(f"\n  {look.name}: rendered in {time.perf_counter() - started:.1f} s", end="")
    if look.why:
        print(f" (color bound {look.color_limit:.1%}, Drake's is {DRAKE_COLOR_LIMIT:.0%}: {look.why})", end="")
    assert not failures, "; ".join(failures)
