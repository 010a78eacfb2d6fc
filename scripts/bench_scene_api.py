"""`make bench`, the scene API's part: what a pydrake user waits for per image, end to end.

Three engines render the same SceneGraph, in interleaved rounds of one run (each round renders
every workload, image type, camera and engine once, the engines in a rotating order):
  - VTK: pydrake's RenderEngineVtk in-process (the reference);
  - remote: gltf_cloud.drake.RemoteRenderer against our server (the scene registered once, then
    only poses; here nothing moves, so each call is one small request);
  - client: Drake's RenderEngineGltfClient against the same server (re-exports and re-sends the
    whole scene for every image);
  - floor: RemoteRenderer against a stub that answers every frame at once with constant images
    (tests/python/scene_api_stub.py, in its own process): what the package itself costs per
    image (poses, encoding, one loopback round trip, decoding, the copy into a pydrake image),
    which no server can remove.
Workloads: the 9-geometry scene seen by 3 cameras (bench.multi_camera); a mesh-heavy scene
(four 100 352-triangle OBJ meshes and a ground: 401 420 triangles); the primitives with a user
glTF mesh (where RenderEngineVtk switches to PBR). Printed: ms per image (median over rounds,
[min-max]) and the ratios remote/VTK, client/remote and floor/VTK; then, on the multi-camera scene, every
camera's color, depth and label in one `render_images` call (one frame request) against the same
nine images requested one by one. Timings are ratios within one run, never pass/fail thresholds.

    .venv/bin/python scripts/bench_scene_api.py --binary target/release/gltf-cloud --rounds 7
"""

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

from bench import IMAGE_TYPES, median_spread, multi_camera  # noqa: E402
from drake_scenes import CAMERAS, CLIPPING, DEPTH_RANGE, X_WC, TwoEngineScene, at, primitives, props  # noqa: E402
from gltf_cloud.drake import ImageRequest, RemoteRenderer  # noqa: E402
from pydrake.geometry import ColorRenderCamera, DepthRenderCamera, Mesh, RenderCameraCore, SceneGraph  # noqa: E402
from pydrake.math import RigidTransform  # noqa: E402
from render_server_process import RenderServer  # noqa: E402
from vtk_looks import primitives_and_gltf  # noqa: E402

ENGINES = ("vtk", "remote", "client", "floor")


def write_bumpy_sphere(path: Path, segments: int = 224) -> int:
    """An OBJ sphere of radius 0.08 with a bumpy surface and smooth normals: 2·segments²
    triangles (100 352 at 224), the kind of mesh a robot's visual model carries."""
    theta = np.linspace(0, np.pi, segments + 1)
    phi = np.linspace(0, 2 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    r = 0.08 * (1 + 0.05 * np.sin(12 * t) * np.cos(9 * p))
    points = np.stack([r * np.sin(t) * np.cos(p), r * np.sin(t) * np.sin(p), r * np.cos(t)], axis=-1).reshape(-1, 3)
    normals = points / np.linalg.norm(points, axis=1, keepdims=True).clip(1e-9)
    i, j = np.meshgrid(np.arange(segments), np.arange(segments), indexing="ij")
    a = (i * (segments + 1) + j).ravel() + 1
    b, c, d = a + segments + 1, a + 1, a + segments + 2
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    with open(path, "w") as out:
        np.savetxt(out, points, fmt="v %.6f %.6f %.6f")
        np.savetxt(out, normals, fmt="vn %.6f %.6f %.6f")
        np.savetxt(out, np.repeat(faces, 2, axis=1), fmt="f %d//%d %d//%d %d//%d")
    return len(faces)


def mesh_heavy(tmp: Path):
    mesh = tmp / "bumpy.obj"
    triangles = write_bumpy_sphere(mesh)
    ground = primitives(tmp)[0]
    spots = [(-0.15, 0.15), (0.15, 0.15), (-0.15, -0.15), (0.15, -0.15)]
    geometries = [ground] + [(f"bumpy{k}", Mesh(str(mesh), 1.0 + 0.1 * k), at(x, y, 0.09), props((0.7, 0.6 - 0.1 * k, 0.3, 1.0), 40 + k))
                             for k, (x, y) in enumerate(spots)]
    return geometries, 4 * triangles + 12


def serve_stub(urls) -> None:
    """The floor's stub, in its own process (pydrake holds the GIL while it waits for an answer)."""
    from scene_api_stub import StubServer

    stub = StubServer()
    urls.put(stub.url)
    stub.thread.join()


class Workload:
    """One SceneGraph with RenderEngineVtk ("vtk") and Drake's glTF client ("gltf") against the
    server, a RemoteRenderer against the same server and one against the stub."""

    def __init__(self, name, geometries, cameras, url, stub_url):
        self.name, self.cameras = name, cameras
        self.scene = TwoEngineScene(geometries, url)
        self.remote = RemoteRenderer(url)
        self.floor = RemoteRenderer(stub_url)

    def render(self, engine: str, image_type: str, camera) -> None:
        if engine == "vtk":
            self.scene.render("vtk", image_type, camera)
        elif engine == "client":
            self.scene.render("gltf", image_type, camera)
        else:
            renderer = self.remote if engine == "remote" else self.floor
            renderer.render_images(self.scene.query, [request(image_type, camera)])


def request(image_type: str, camera) -> ImageRequest:
    """The RemoteRenderer's request for what TwoEngineScene.render draws (same camera and pose)."""
    core = RenderCameraCore("vtk", camera, CLIPPING, RigidTransform())
    render_camera = DepthRenderCamera(core, DEPTH_RANGE) if image_type == "depth" else ColorRenderCamera(core, False)
    return ImageRequest(image_type, render_camera, SceneGraph.world_frame_id(), X_WC)


def interleaved(workloads, rounds: int) -> dict:
    """{(workload, image type, engine): [ms per image, one per round]}, the engines rotating."""
    times = {}
    for index in range(rounds + 1):  # round 0 warms up: first-frame compiles, caches, registration
        order = ENGINES[index % len(ENGINES):] + ENGINES[:index % len(ENGINES)]
        for workload in workloads:
            for image_type in IMAGE_TYPES:
                for engine in order:
                    started = time.perf_counter()
                    for camera in workload.cameras:
                        workload.render(engine, image_type, camera)
                    per_image = (time.perf_counter() - started) * 1e3 / len(workload.cameras)
                    if index:
                        times.setdefault((workload.name, image_type, engine), []).append(per_image)
    return times


def one_request(workload, rounds: int) -> tuple[list, list]:
    """ms per image: all cameras' color, depth and label in one render_images call, and the same
    images one call each, interleaved."""
    requests = [request(t, camera) for camera in workload.cameras for t in IMAGE_TYPES]
    together, apart = [], []
    for index in range(rounds + 1):
        for mode in (("together", "apart") if index % 2 else ("apart", "together")):
            started = time.perf_counter()
            if mode == "together":
                workload.remote.render_images(workload.scene.query, requests)
            else:
                for r in requests:
                    workload.remote.render_images(workload.scene.query, [r])
            per_image = (time.perf_counter() - started) * 1e3 / len(requests)
            if index:
                (together if mode == "together" else apart).append(per_image)
    return together, apart


def cell(values) -> str:
    median, low, high = median_spread(values)
    return f"{median:6.1f} [{low:.0f}-{high:.0f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "gltf-cloud"))
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (after one warm-up round)")
    parser.add_argument("--camera", default="default-640x480", choices=list(CAMERAS))
    args = parser.parse_args()
    camera = CAMERAS[args.camera]
    urls = multiprocessing.Queue()
    stub = multiprocessing.Process(target=serve_stub, args=(urls,), daemon=True)
    stub.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, RenderServer(Path(args.binary)) as server:
            tmp, stub_url = Path(tmp), urls.get(timeout=30)
            heavy, triangles = mesh_heavy(tmp)
            workloads = [
                Workload("multi-camera (9 geometries, 3 cameras)", multi_camera(tmp), list(CAMERAS.values()),
                         server.url, stub_url),
                Workload(f"mesh-heavy ({triangles:,} triangles)", heavy, [camera], server.url, stub_url),
                Workload("user glTF mesh (PBR)", primitives_and_gltf(tmp), [camera], server.url, stub_url),
            ]
            times = interleaved(workloads, args.rounds)
            together, apart = one_request(workloads[0], args.rounds)
    finally:
        stub.terminate()
    print(f"\nscene API: ms per image through pydrake, {args.rounds} interleaved rounds, median [min-max]; "
          f"remote = RemoteRenderer, client = Drake's RenderEngineGltfClient, both against {args.binary}")
    print(f"{'workload':42} {'image':6} {'VTK':>16} {'remote':>16} {'client':>16} {'floor':>16} {'remote/VTK':>11} "
          f"{'client/remote':>14} {'floor/VTK':>10}")
    for workload in workloads:
        for image_type in IMAGE_TYPES:
            row = {engine: times[(workload.name, image_type, engine)] for engine in ENGINES}
            vs_vtk = statistics.median(r / v for r, v in zip(row["remote"], row["vtk"]))
            speedup = statistics.median(c / r for c, r in zip(row["client"], row["remote"]))
            floor = statistics.median(f / v for f, v in zip(row["floor"], row["vtk"]))
            print(f"{workload.name:42} {image_type:6} {cell(row['vtk']):>16} {cell(row['remote']):>16} "
                  f"{cell(row['client']):>16} {cell(row['floor']):>16} {vs_vtk:11.2f} {speedup:14.2f} {floor:10.2f}")
    count = len(workloads[0].cameras) * len(IMAGE_TYPES)
    print(f"\n{workloads[0].name}: its {count} images (color, depth, label of every camera) in one frame request "
          f"{cell(together)} ms per image, one request each {cell(apart)}: "
          f"{statistics.median(a / t for a, t in zip(apart, together)):.2f}x")


if __name__ == "__main__":
    main()
