"""`make bench`: RenderEngineVtk in-process vs RenderEngineGltfClient → our render server, same scenes.

Renders the conformance scenes (tests/python/drake_scenes.py) through pydrake twice in one run and
prints, per image type, the median milliseconds per call for both engines and their ratio (ours /
VTK: below 1 means the server is faster than Drake's own in-process renderer). Also reports the
server's idle RSS and its peak RSS while serving. Timings are ratios within one run on one machine,
never absolute pass/fail thresholds.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

from drake_scenes import CAMERAS, SCENES, TwoEngineScene  # noqa: E402

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(binary: Path):
    process = subprocess.Popen(
        [str(binary), "render-server", "--port", "0"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "NODEVICE_SELECT": "1", "RUST_LOG": "warn,gltf_cloud=info"},
    )
    for line in process.stderr:
        match = LISTENING.search(line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            return process, match.group(1)
    raise SystemExit("render server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "gltf-cloud"))
    parser.add_argument("--repeats", type=int, default=5, help="calls per scene, camera and image type")
    parser.add_argument("--camera", default="default-640x480", choices=list(CAMERAS))
    args = parser.parse_args()

    process, base_url = start_server(Path(args.binary))
    try:
        time.sleep(0.5)
        idle_rss = rss_mib(process.pid)
        times = {(engine, t): [] for engine in ("vtk", "gltf") for t in ("color", "depth", "label")}
        with tempfile.TemporaryDirectory() as tmp:
            for name, build in SCENES.items():
                scene = TwoEngineScene(build(Path(tmp)), base_url)
                for image_type in ("color", "depth", "label"):
                    for engine in ("vtk", "gltf"):
                        scene.render(engine, image_type, CAMERAS[args.camera])  # warm-up: caches, first-frame shader compiles
                        for _ in range(args.repeats):
                            started = time.perf_counter()
                            scene.render(engine, image_type, CAMERAS[args.camera])
                            times[(engine, image_type)].append((time.perf_counter() - started) * 1e3)
        peak_rss = hwm_mib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    camera = CAMERAS[args.camera]
    print(f"\nmake bench: {len(SCENES)} scenes x {args.repeats} calls, camera {args.camera} ({camera.width()}x{camera.height()}), "
          f"server {args.binary}")
    print(f"{'image':6} {'VTK ms (median)':>16} {'ours ms (median)':>17} {'ratio ours/VTK':>15}")
    for image_type in ("color", "depth", "label"):
        vtk = statistics.median(times[("vtk", image_type)])
        ours = statistics.median(times[("gltf", image_type)])
        print(f"{image_type:6} {vtk:16.1f} {ours:17.1f} {ours / vtk:15.2f}")
    print(f"server RSS: idle {idle_rss:.0f} MiB, peak {peak_rss:.0f} MiB")


if __name__ == "__main__":
    main()
