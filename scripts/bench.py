"""`make bench`: RenderEngineVtk in-process vs RenderEngineGltfClient → our render server, same scenes.

Renders the conformance scenes (tests/python/drake_scenes.py) through pydrake in one run and prints,
per image type, the median milliseconds per call of:
  - VTK: Drake's RenderEngineVtk in-process (the reference);
  - ours: RenderEngineGltfClient → our render server;
  - floor: RenderEngineGltfClient → a stub that answers a canned image of the right size at once,
    i.e. what Drake's client itself costs (glTF export, temp files, libcurl, image decoding), which
    no server can go below;
and the ratios ours/VTK and floor/VTK. Also reports the server's idle and peak RSS. Timings are
ratios within one run on one machine, never absolute pass/fail thresholds.
"""

import argparse
import http.server
import io
import multiprocessing
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


def memory_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/PID/status: VmRSS (now) or VmHWM (peak), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def canned_answers(queue) -> None:
    """A stub render server (run in its own process: pydrake holds the GIL while it waits)."""
    import numpy as np
    from PIL import Image

    cache = {}

    def answer(image_type: str, width: int, height: int) -> bytes:
        key = (image_type, width, height)
        if key not in cache:
            buffer = io.BytesIO()
            if image_type == "depth":
                Image.fromarray(np.ones((height, width), np.float32)).save(buffer, format="TIFF")
            else:
                Image.fromarray(np.full((height, width, 3), 255, np.uint8)).save(buffer, format="PNG")
            cache[key] = buffer.getvalue()
        return cache[key]

    def field(body: bytes, name: str) -> str:
        return re.search(rb'name="' + name.encode() + rb'"\r\n\r\n([^\r]*)', body).group(1).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            image = answer(field(body, "image_type"), int(field(body, "width")), int(field(body, "height")))
            self.send_response(200)
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    queue.put(f"http://127.0.0.1:{server.server_address[1]}")
    server.serve_forever()


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

    urls = multiprocessing.Queue()
    stub = multiprocessing.Process(target=canned_answers, args=(urls,), daemon=True)
    stub.start()
    stub_url = urls.get(timeout=30)
    process, base_url = start_server(Path(args.binary))
    engines = ("vtk", "ours", "floor")
    try:
        time.sleep(0.5)
        idle_rss = memory_mib(process.pid, "VmRSS")
        times = {(engine, t): [] for engine in engines for t in ("color", "depth", "label")}
        with tempfile.TemporaryDirectory() as tmp:
            for name, build in SCENES.items():
                ours = TwoEngineScene(build(Path(tmp)), base_url)
                floor = TwoEngineScene(build(Path(tmp)), stub_url)
                renderers = {"vtk": (ours, "vtk"), "ours": (ours, "gltf"), "floor": (floor, "gltf")}
                for image_type in ("color", "depth", "label"):
                    for engine in engines:
                        scene, renderer = renderers[engine]
                        scene.render(renderer, image_type, CAMERAS[args.camera])  # warm-up: caches, first-frame shader compiles
                        for _ in range(args.repeats):
                            started = time.perf_counter()
                            scene.render(renderer, image_type, CAMERAS[args.camera])
                            times[(engine, image_type)].append((time.perf_counter() - started) * 1e3)
        peak_rss = memory_mib(process.pid, "VmHWM")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        stub.terminate()

    camera = CAMERAS[args.camera]
    print(f"\nmake bench: {len(SCENES)} scenes x {args.repeats} calls, camera {args.camera} ({camera.width()}x{camera.height()}), "
          f"server {args.binary}")
    print("median ms per call; floor = Drake's client against a stub answering at once")
    print(f"{'image':6} {'VTK':>8} {'ours':>8} {'floor':>8} {'ours/VTK':>9} {'floor/VTK':>10} {'ours-floor':>11}")
    for image_type in ("color", "depth", "label"):
        vtk, ours, floor = (statistics.median(times[(engine, image_type)]) for engine in engines)
        print(f"{image_type:6} {vtk:8.1f} {ours:8.1f} {floor:8.1f} {ours / vtk:9.2f} {floor / vtk:10.2f} {ours - floor:11.1f}")
    print(f"server RSS: idle {idle_rss:.0f} MiB, peak {peak_rss:.0f} MiB")


if __name__ == "__main__":
    main()
