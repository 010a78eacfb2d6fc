"""Regenerates the example scenes in this folder: real glTF files exported by pydrake's
RenderEngineGltfClient, one per image type (`color/`, `depth/`, `label/`: Drake writes a different
glTF for each, with label colours as materials in the label one), exactly as Drake sends them.

Run with the project's venv: `.venv/bin/python examples/make_example_scenes.py`. Drake writes each
scene to its temp dir before POSTing it; with `cleanup=False` and no server listening, the POST fails
and the file stays behind, so no capture server is needed.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
work = Path(tempfile.mkdtemp(prefix="gltf-cloud-examples-"))
os.environ["TMPDIR"] = str(work)  # Drake's temp files go here; must be set before pydrake runs.
sys.path.insert(0, str(HERE.parent / "tests" / "python"))

import numpy as np  # noqa: E402
from pydrake.geometry import Box, Cylinder, Sphere  # noqa: E402

from drake_scenes import CAMERAS, GROUND, TwoEngineScene, at, checker_png, props  # noqa: E402


def tabletop(tmp: Path):
    texture = checker_png(tmp / "checker.png")
    return [
        GROUND,
        ("crate", Box(0.2, 0.2, 0.2), at(-0.15, 0.2, 0.1, yaw=0.4), props(label=5, diffuse_map=texture)),
        ("can", Cylinder(0.05, 0.18), at(0.2, 0.15, 0.09), props((0.9, 0.8, 0.1, 1.0), 42)),
        ("ball", Sphere(0.07), at(0.05, -0.2, 0.07), props((0.2, 0.4, 0.9, 1.0), 300)),
        ("brick", Box(0.25, 0.08, 0.06), at(-0.2, -0.15, 0.03, yaw=-0.3), props((0.8, 0.3, 0.2, 1.0), 10)),
    ]


def main() -> None:
    scene = TwoEngineScene(tabletop(work), "http://127.0.0.1:9", cleanup=False)
    for image_type in ("color", "depth", "label"):
        try:
            scene.render("gltf", image_type, CAMERAS["default-640x480"])
        except RuntimeError:
            pass  # expected: nothing listens on port 9
    for image_type in ("color", "depth", "label"):
        (exported,) = work.rglob(f"*-{image_type}.gltf")
        target = HERE / image_type / "tabletop.gltf"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(exported, target)
        print(f"wrote {target.relative_to(HERE.parent)} ({target.stat().st_size // 1024} KiB)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
