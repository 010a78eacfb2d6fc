"""Where a RemoteRenderer image's time goes, stage by stage (issue 20: why a ratio stays above 1).

For each workload of scripts/bench_scene_api.py and image type, N frames of one image through
gltf_cloud.drake.RemoteRenderer against a fresh server, interleaved with RenderEngineVtk
in-process on the same SceneGraph. Per image, from the client's clock, the server's `/metrics`
and `/proc`:
  - client: what the pydrake user waits for (RemoteRenderer.render_images);
  - frame: the server's `scene_api_frame_duration_seconds` (arrival to answer: parse, coverage
    bound, the scene built for the camera, queue, render, encode);
  - render: `render_gpu_seconds` (a render worker on the image: upload, passes, readback);
  - the rest of the client's time is the package and the loopback round trip (the floor of
    bench_scene_api.py measures it against a stub);
  - the server's CPU per image, split by thread: lavapipe's queue thread (`gpu-driver`: vertex
    shading, clipping, binning), its rasteriser threads (`llvmpipe-N`: fragment shading, depth
    test, blending, per tile) and everything else (HTTP, the scene, encoding, the render
    worker's own part).
On this CPU-only machine the adapter is lavapipe, so the split between vertex and fragment work
shows which of the two a change to a pass must attack. Figures are medians per image.

    .venv/bin/python scripts/bench_scene_stages.py --binary target/release/gltf-cloud --frames 30
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
sys.path.insert(0, str(REPO / "scripts"))

from bench import IMAGE_TYPES, multi_camera  # noqa: E402
from bench_scene_api import mesh_heavy, request  # noqa: E402
from drake_scenes import CAMERAS, TwoEngineScene  # noqa: E402
from gltf_cloud.drake import RemoteRenderer  # noqa: E402
from render_server_process import RenderServer  # noqa: E402
from vtk_looks import primitives_and_gltf  # noqa: E402

THREADS = {"vertex": "gpu-driver", "fragment": "llvmpipe-"}  # thread group: name prefix


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds so far of the driver's queue thread, its rasteriser threads and the rest."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys([*THREADS, "rest"], 0.0)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        group = next((g for g, prefix in THREADS.items() if name.startswith(prefix)), "rest")
        totals[group] += seconds
    return totals


def histogram_sums(url: str) -> dict[str, float]:
    """{series: sum in seconds} of the two histograms read here, and their counts."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    wanted = re.compile(r'^gltf_cloud_(scene_api_frame_duration_seconds|render_gpu_seconds)_(sum|count)(\{[^}]*\})? (\S+)$',
                        re.M)
    return {f"{m[1]}{m[3] or ''}_{m[2]}": float(m[4]) for m in wanted.finditer(text)}


def stages(server, remote, scene, image_type, camera, frames):
    """Per image (ms): client, frame, render, and CPU by thread group; and VTK's, interleaved."""
    kind = f'{{image_type="{image_type}"}}'
    client, vtk = [], []
    metrics_before, cpu_before = histogram_sums(server.url), cpu_by_thread(server.process.pid)
    for _ in range(frames):
        started = time.perf_counter()
        remote.render_images(scene.query, [request(image_type, camera)])
        client.append((time.perf_counter() - started) * 1e3)
        started = time.perf_counter()
        scene.render("vtk", image_type, camera)
        vtk.append((time.perf_counter() - started) * 1e3)
    metrics_after, cpu_after = histogram_sums(server.url), cpu_by_thread(server.process.pid)

    def mean_ms(series):
        count = metrics_after[f"{series}_count"] - metrics_before.get(f"{series}_count", 0.0)
        return (metrics_after[f"{series}_sum"] - metrics_before.get(f"{series}_sum", 0.0)) * 1e3 / count

    row = {
        "VTK": statistics.median(vtk),
        "client": statistics.median(client),
        "frame": mean_ms("scene_api_frame_duration_seconds"),
        "render": mean_ms(f"render_gpu_seconds{kind}"),
    }
    row.update({f"cpu {group}": (cpu_after[group] - cpu_before[group]) * 1e3 / frames for group in cpu_after})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "gltf-cloud"))
    parser.add_argument("--frames", type=int, default=30, help="images per workload and image type")
    parser.add_argument("--camera", default="default-640x480", choices=list(CAMERAS))
    parser.add_argument("--only", help="a substring of the workloads to run")
    args = parser.parse_args()
    camera = CAMERAS[args.camera]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp, RenderServer(Path(args.binary)) as server:
        tmp = Path(tmp)
        heavy, triangles = mesh_heavy(tmp)
        workloads = {
            "multi-camera (first camera)": multi_camera(tmp),
            f"mesh-heavy ({triangles:,} triangles)": heavy,
            "user glTF mesh (PBR)": primitives_and_gltf(tmp),
        }
        for name, geometries in workloads.items():
            if args.only and args.only not in name:
                continue
            scene = TwoEngineScene(geometries, server.url)
            remote = RemoteRenderer(server.url)
            for image_type in IMAGE_TYPES:
                stages(server, remote, scene, image_type, camera, 3)  # warm-up: registration, compiles
                rows[(name, image_type)] = stages(server, remote, scene, image_type, camera, args.frames)
            remote.close()
    columns = list(next(iter(rows.values())))
    print(f"\nscene API stages, ms per image ({args.frames} frames each, {args.camera}), server {args.binary}")
    print("VTK and client: medians; frame and render: means (the server's histograms); cpu: the server's threads")
    print(f"{'workload':38} {'image':6}" + "".join(f"{c:>13}" for c in columns))
    for (name, image_type), row in rows.items():
        print(f"{name:38} {image_type:6}" + "".join(f"{row[c]:13.1f}" for c in columns))


if __name__ == "__main__":
    main()
