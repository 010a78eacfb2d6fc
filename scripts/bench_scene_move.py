"""`make bench`, what a scene API client pays when its scene moves to another replica.

A scene lives in one server's memory. Behind a load balancer without affinity, or when a replica
restarts or is scaled away, the next frame reaches a server that does not know the scene: it
answers 404 `unknown_scene`, and RemoteRenderer registers the scene again (uploading only the
assets that server lacks) and retries the frame once. Measured here per workload, through pydrake,
in interleaved rounds of one run:
  - steady: one color image of a registered scene (the frame alone);
  - move, assets held: the scene is gone (deleted behind the client's back, as on a replica that
    holds the assets: moving back, or the assets shared on a volume), so the frame costs a 404,
    a registration and the frame again;
  - move, fresh replica: the server restarted (a new process on the same port: a replica that
    has never seen this client), so the assets are uploaded as well.
Printed: ms (median [min-max]) and the cost of a move in steady frames; the bytes uploaded.

    .venv/bin/python scripts/bench_scene_move.py --binary target/release/gltf-cloud --rounds 5
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests" / "python")]

from bench import multi_camera  # noqa: E402
from bench_scene_api import cell, mesh_heavy, request  # noqa: E402
from drake_scenes import CAMERAS, TwoEngineScene  # noqa: E402
from gltf_cloud.client import SceneClient  # noqa: E402
from gltf_cloud.drake import RemoteRenderer  # noqa: E402
from gltf_cloud.wire import camera_header  # noqa: E402
from render_server_process import RenderServer  # noqa: E402

MODES = ("steady", "move, assets held", "move, fresh replica")


def timed_color(renderer: RemoteRenderer, scene: TwoEngineScene, camera) -> float:
    started = time.perf_counter()
    renderer.render_images(scene.query, [request("color", camera)])
    return (time.perf_counter() - started) * 1e3


def warm_up(url: str) -> None:
    """One frame of a one-box scene, so the new server's first-render costs (adapter, pipelines)
    stay out of the move: a replica a client moves to has been serving others."""
    with SceneClient(url) as client:
        box = {"id": 1, "shape": {"type": "box", "width": 0.1, "depth": 0.1, "height": 0.1},
               "X_WG": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], "properties": {}}
        scene = client.create_scene([box])["scene"]
        camera = camera_header(width=640, height=480, fx=579.4, fy=579.4, cx=319.5, cy=239.5, near=0.01,
                               far=10.0, X_WC=np.eye(4), images=["color"])
        client.render_frame(scene, [camera])
        client.delete_scene(scene)


def measure(binary: Path, name: str, geometries, camera, rounds: int) -> tuple[dict, int, int]:
    """{mode: [ms]} for one workload, and the assets and bytes one fresh-replica move uploads."""
    times = {mode: [] for mode in MODES}
    uploads = (0, 0)
    server = RenderServer(binary)
    port = int(server.url.rsplit(":", 1)[1])
    try:
        scene = TwoEngineScene(geometries, server.url)
        renderer = RemoteRenderer(server.url)
        timed_color(renderer, scene, camera)  # registers, uploads, compiles: not measured
        for index in range(rounds):
            for mode in MODES[index % 3:] + MODES[:index % 3]:
                if mode == "move, assets held":
                    with SceneClient(server.url) as other:
                        other.delete_scene(renderer.scene_id(scene.query, "vtk"))
                elif mode == "move, fresh replica":
                    server.stop()
                    server = RenderServer(binary, port=port)
                    warm_up(server.url)
                    before = (renderer.client.uploaded_assets, renderer.client.uploaded_bytes)
                times[mode].append(timed_color(renderer, scene, camera))
                if mode == "move, fresh replica":
                    uploads = (renderer.client.uploaded_assets - before[0], renderer.client.uploaded_bytes - before[1])
        renderer.close()
    finally:
        server.stop()
    return times, *uploads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "gltf-cloud"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    camera = CAMERAS["default-640x480"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        heavy, triangles = mesh_heavy(tmp)
        workloads = [("multi-camera (9 geometries)", multi_camera(tmp)),
                     (f"mesh-heavy ({triangles:,} triangles)", heavy)]
        results = [(name, *measure(Path(args.binary), name, geometries, camera, args.rounds))
                   for name, geometries in workloads]
    print(f"\nscene API, a scene moving to another replica: ms for one 640x480 color image through "
          f"RemoteRenderer, {args.rounds} rounds, median [min-max], against {args.binary}")
    print(f"{'workload':34} {'steady':>16} {'move, assets held':>25} {'move, fresh replica':>25}  uploaded")
    for name, times, assets, size in results:
        steady = statistics.median(times["steady"])
        moved = [(cell(times[mode]), statistics.median(times[mode]) / steady) for mode in MODES[1:]]
        print(f"{name:34} {cell(times['steady']):>16} "
              + " ".join(f"{text:>17} ({ratio:4.1f}x)" for text, ratio in moved)
              + f"  {assets} file{'s' * (assets != 1)}, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
