"""`make bench`: what our render server adds to Drake's own client, against RenderEngineVtk.

Through real pydrake, in one run, on the conformance scenes (tests/python/drake_scenes.py) and a
multi-camera scene (9 geometries, 3 cameras):
  - VTK: Drake's RenderEngineVtk in-process (the reference);
  - ours: RenderEngineGltfClient → our render server;
  - floor: RenderEngineGltfClient → a stub that answers a canned image of the right size at once,
    i.e. what Drake's client itself costs (glTF export, temp files, libcurl, image decoding), which
    no server can go below;
and per image type **server-added = (ours − floor) / VTK**. The engines run in interleaved rounds
(each round renders every scene, camera and image type once per engine, in a rotating order), and
each figure is the median over rounds with its spread (min–max), because this machine is noisy.

Beside it, where the server's own part of each call goes (its debug log's read, load, render and
encode stages), so a ratio that stays high shows whether the adapter's rasteriser alone exceeds it.

Then, with our client's benchmark mode: server-side throughput at concurrency 4 per image type, on
the tabletop example and on the 9-geometry scene exactly as Drake's client sends it, with the CPU
the server spent per image and the share of it in the graphics driver's threads (on lavapipe, the
software renderer); and a synthetic large scene (1.5 M triangles, one 2048² texture, about 61 MB) sent twice to a fresh
server: the repeat's time and load stage against the first's, and the server's peak RSS against
the body. Last, each look's cost (`--features-only` runs only this): one server per
RenderEngineVtkParams set of tests/python/vtk_looks.py (default, lights, PBR, exposure, shadows,
environment map), color through the real client, each against the default look in the same run.
Timings are ratios within one run on one machine, never pass/fail thresholds.

`--baseline-binary PATH` compares two builds instead (before = PATH, after = --binary) in one
interleaved run, per workload and image type (scripts/bench_compare.py).
"""

import argparse
import base64
import http.server
import io
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unittest.mock
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

from drake_scenes import CAMERAS, SCENES, TwoEngineScene, primitives, textured_and_transparent  # noqa: E402
from render_server_process import STAGES, RenderServer  # noqa: E402
from vtk_looks import LOOKS, primitives_and_unpainted, write_params  # noqa: E402

# The server's debug `rendered` line (stage times per request) is what the large-scene and
# feature-cost sections read.
SERVER_LOG = "warn,gltf_cloud=info,gltf_cloud::roles::render_server=debug"
IMAGE_TYPES = ("color", "depth", "label")
ENGINES = ("vtk", "ours", "floor")


def memory_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/PID/status: VmRSS (now) or VmHWM (peak), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# Threads of the graphics driver: the ones it starts for the device take the name of the thread
# that opened it (`gpu-driver`, see render/gpu.rs; lavapipe's queue thread: vertex work, clipping,
# binning), and llvmpipe names its rasteriser threads `llvmpipe-N`.
DRIVER_THREADS = ("gpu-driver", "llvmpipe-")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) the process has used so far, all threads, and of that the
    graphics driver's threads (on lavapipe, the software renderer itself)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def used(stat: str) -> float:
        fields = stat[stat.rindex(")") + 2:].split()  # after the name: state is field 3, utime 14, stime 15
        return (int(fields[11]) + int(fields[12])) / ticks

    total = used(Path(f"/proc/{pid}/stat").read_text())
    driver = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        if stat[stat.index("(") + 1:].startswith(DRIVER_THREADS):
            driver += used(stat)
    return total, driver


def drake_gltf_files(server_url: str, tmp: Path) -> dict:
    """The 9-geometry scene's glTF exactly as Drake's client sends it, one per image type (the
    client keeps its files with `cleanup=False`, in a folder under TEST_TMPDIR)."""
    folder = tmp / "drake-files"
    folder.mkdir()
    with unittest.mock.patch.dict(os.environ, {"TEST_TMPDIR": str(folder)}):
        scene = TwoEngineScene(multi_camera(tmp), server_url, cleanup=False)
        for image_type in IMAGE_TYPES:
            scene.render("gltf", image_type, CAMERAS["default-640x480"])
    return {t: next(folder.rglob(f"*-{t}.gltf")) for t in IMAGE_TYPES}


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


def multi_camera(tmp):
    """Nine geometries: the primitives and the textured, translucent and opaque boxes."""
    return primitives(tmp) + textured_and_transparent(tmp)[1:]


def median_spread(values):
    return statistics.median(values), min(values), max(values)


def server_added(args, stub_url, server):
    """Interleaved rounds of VTK, ours and floor; returns {image_type: [(vtk, ours, floor) per round]}."""
    camera = CAMERAS[args.camera]
    three = [CAMERAS[name] for name in CAMERAS]
    workloads = [(name, build, [camera]) for name, build in SCENES.items()] + [("multi-camera", multi_camera, three)]
    rounds = {t: [] for t in IMAGE_TYPES}
    with tempfile.TemporaryDirectory() as tmp:
        scenes = []
        for name, build, cameras in workloads:
            ours = TwoEngineScene(build(Path(tmp)), server.url)
            floor = TwoEngineScene(build(Path(tmp)), stub_url)
            scenes.append(({"vtk": (ours, "vtk"), "ours": (ours, "gltf"), "floor": (floor, "gltf")}, cameras))
        for renderers, cameras in scenes:  # warm-up: caches, first-frame shader compiles
            for image_type in IMAGE_TYPES:
                for engine in ENGINES:
                    for cam in cameras:
                        renderers[engine][0].render(renderers[engine][1], image_type, cam)
        warm = len(server.requests())
        for index in range(args.rounds):
            order = ENGINES[index % 3:] + ENGINES[:index % 3]
            for image_type in IMAGE_TYPES:
                totals = dict.fromkeys(ENGINES, 0.0)
                for renderers, cameras in scenes:
                    for engine in order:
                        scene, renderer = renderers[engine]
                        for cam in cameras:
                            started = time.perf_counter()
                            scene.render(renderer, image_type, cam)
                            totals[engine] += (time.perf_counter() - started) * 1e3
                rounds[image_type].append(tuple(totals[e] for e in ENGINES))
        time.sleep(0.2)  # the last `rendered` line
        requests = server.requests()[warm:]
    return rounds, sum(len(c) for _, _, c in workloads), requests


def client_bench(binary, url, scene, image_type, frames, concurrency):
    out = subprocess.run(
        [str(binary), "client", "--server-base-url", url, str(scene), "--image-type", image_type,
         "--frames", str(frames), "--concurrency", str(concurrency), "--json"],
        capture_output=True, text=True, env={**os.environ, "NODEVICE_SELECT": "1"}, check=True,
    )
    return json.loads(out.stdout)


def large_scene(path: Path, grid: int = 867, texture: int = 2048) -> int:
    """A Drake-shaped glTF: one wavy grid of 2·(grid−1)² triangles with a noise texture, a camera."""
    import numpy as np
    from PIL import Image

    u = np.linspace(0.0, 1.0, grid, dtype=np.float32)
    x, y = np.meshgrid(u - 0.5, u - 0.5)
    z = 0.02 * np.sin(25 * x) * np.cos(25 * y)
    positions = np.stack([x, y, z], axis=-1).reshape(-1, 3).astype(np.float32)
    uvs = np.stack(np.meshgrid(u, u), axis=-1).reshape(-1, 2).astype(np.float32)
    i = np.arange(grid - 1)
    a = (i[:, None] * grid + i[None, :]).ravel()
    quads = np.stack([a, a + 1, a + grid, a + 1, a + grid + 1, a + grid], axis=-1)
    indices = quads.astype(np.uint32).ravel()
    png = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (texture, texture, 3), np.uint8)).save(png, format="PNG", compress_level=1)

    def uri(data: bytes) -> str:
        return "data:application/octet-stream;base64," + base64.b64encode(data).decode()

    blobs = [positions.tobytes(), uvs.tobytes(), indices.tobytes(), png.getvalue()]
    doc = {
        "asset": {"generator": "VTK", "version": "2.0"},
        "scene": 0,
        "scenes": [{"name": "Layer 0", "nodes": [2]}],
        "nodes": [
            {"mesh": 0, "name": "mesh0"},
            {"camera": 0, "name": "Camera Node", "matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1.3, 1]},
            {"children": [0, 1], "name": "Renderer Node"},
        ],
        "cameras": [{"type": "perspective", "perspective": {"aspectRatio": 4 / 3, "yfov": 0.785398, "znear": 0.01, "zfar": 10.0}}],
        "meshes": [{"name": "mesh0", "primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2, "material": 0, "mode": 4}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1], "baseColorTexture": {"index": 0}}}],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9729, "wrapS": 33071, "wrapT": 33071}],
        "images": [{"bufferView": 3, "mimeType": "image/png"}],
        "buffers": [{"byteLength": len(b), "uri": uri(b)} for b in blobs],
        "bufferViews": [{"buffer": k, "byteOffset": 0, "byteLength": len(b)} for k, b in enumerate(blobs)],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(positions), "type": "VEC3",
             "min": positions.min(axis=0).tolist(), "max": positions.max(axis=0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": len(uvs), "type": "VEC2"},
            {"bufferView": 2, "componentType": 5125, "count": len(indices), "type": "SCALAR"},
        ],
    }
    path.write_text(json.dumps(doc))
    return path.stat().st_size


FEATURES = {  # row label: the vtk_looks set whose params turn the feature on
    "default": "default",
    "lights (4, Phong)": "lights",
    "PBR (4 lights)": "pbr",
    "exposure (Phong)": "exposure-phong",
    "PBR + shadows (2 casting)": "pbr-shadows",
    "environment map (HDR, skybox)": "environment-hdr",
}


def feature_costs(args, binary: Path) -> None:
    """Per-feature cost: one server per vtk_looks set (`--vtk-params`), all on the same scene
    (the primitives and an unpainted box), color through RenderEngineGltfClient, in interleaved
    rounds; each feature's median per call against the default look's, in the same run. VTK's own
    cost per feature (RenderEngineVtk with the same params) is beside it, and the server's render
    stage (from its debug log), which is what the feature itself adds without the client around it."""
    camera = CAMERAS[args.camera]
    looks = {look.name: look for look in LOOKS}
    servers, scenes, timings = {}, {}, {label: {"vtk": [], "ours": []} for label in FEATURES}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            for label, name in FEATURES.items():
                folder = tmp / name
                folder.mkdir()
                params = looks[name].params(folder)
                servers[label] = RenderServer(binary, "--vtk-params", str(write_params(params, folder / "params.yaml")),
                                              rust_log=SERVER_LOG)
                scenes[label] = TwoEngineScene(primitives_and_unpainted(folder), servers[label].url, vtk_params=params)
                for renderer in ("vtk", "gltf", "vtk", "gltf"):  # warm-up: bakes, shader compiles, caches
                    scenes[label].render(renderer, "color", camera)
            warm_stages = {label: len(servers[label].stages()) for label in FEATURES}
            labels = list(FEATURES)
            for index in range(args.rounds):
                for label in labels[index % len(labels):] + labels[:index % len(labels)]:
                    for engine, renderer in (("vtk", "vtk"), ("ours", "gltf")):
                        started = time.perf_counter()
                        scenes[label].render(renderer, "color", camera)
                        timings[label][engine].append((time.perf_counter() - started) * 1e3)
            time.sleep(0.2)
            render_ms = {label: [r for _, r, _ in servers[label].stages()[warm_stages[label]:]] for label in FEATURES}
        finally:
            for server in servers.values():
                server.stop()
    base = {engine: statistics.median(timings["default"][engine]) for engine in ("vtk", "ours")}
    base_render = statistics.median(render_ms["default"]) if render_ms["default"] else float("nan")
    print(f"\nfeature costs: color {camera.width()}x{camera.height()}, the primitives + an unpainted box, one server per "
          f"params set, {args.rounds} interleaved rounds; median ms per call [min-max], x = against the default look")
    print(f"{'feature':32} {'VTK ms':>16} {'VTK x':>6} {'ours ms':>16} {'ours x':>7} {'server render ms':>17} {'x':>5}")
    for label in FEATURES:
        vtk = median_spread(timings[label]["vtk"])
        ours = median_spread(timings[label]["ours"])
        render = statistics.median(render_ms[label]) if render_ms[label] else float("nan")
        print(f"{label:32} {f'{vtk[0]:6.1f} [{vtk[1]:.0f}-{vtk[2]:.0f}]':>16} {vtk[0] / base['vtk']:6.2f} "
              f"{f'{ours[0]:6.1f} [{ours[1]:.0f}-{ours[2]:.0f}]':>16} {ours[0] / base['ours']:7.2f} "
              f"{render:17.1f} {render / base_render:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "gltf-cloud"))
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of the engines (and of the features)")
    parser.add_argument("--camera", default="default-640x480", choices=list(CAMERAS))
    parser.add_argument("--frames", type=int, default=200, help="requests per image type in the throughput test")
    parser.add_argument("--workers", default="1,2,4", help="renderWorkers values the throughput test compares")
    parser.add_argument("--skip-large", action="store_true", help="skip the large-scene test")
    parser.add_argument("--features-only", action="store_true", help="only the per-feature cost section")
    parser.add_argument("--skip-features", action="store_true", help="skip the per-feature cost section")
    parser.add_argument("--baseline-binary", help="instead of the sections above, compare --binary (after) with "
                        "this build (before) in one interleaved run (scripts/bench_compare.py)")
    args = parser.parse_args()
    binary = Path(args.binary)
    if args.baseline_binary:
        from bench_compare import compare

        compare(args, binary, Path(args.baseline_binary))
        return
    if not args.features_only:
        server_added_and_throughput(args, binary)
        if not args.skip_large:
            large_scene_cost(binary)
    if not args.skip_features:
        feature_costs(args, binary)


def server_added_and_throughput(args, binary: Path) -> None:
    """Sections 1 and 2: server-added per image type against VTK and the client floor, with the
    server's own stages; then the client bench mode's throughput and CPU per image, per
    renderWorkers value (the default look)."""
    urls = multiprocessing.Queue()
    stub = multiprocessing.Process(target=canned_answers, args=(urls,), daemon=True)
    stub.start()
    stub_url = urls.get(timeout=30)
    server = RenderServer(binary, rust_log=SERVER_LOG)
    drake_files = tempfile.TemporaryDirectory()
    try:
        time.sleep(0.5)
        idle_rss = memory_mib(server.process.pid, "VmRSS")
        rounds, calls, requests = server_added(args, stub_url, server)
        peak_rss = memory_mib(server.process.pid, "VmHWM")
        scenes = {"tabletop": {t: REPO / "examples" / t / "tabletop.gltf" for t in IMAGE_TYPES},
                  "9 geometries (Drake's)": drake_gltf_files(server.url, Path(drake_files.name))}
    finally:
        server.stop()
        stub.terminate()
    throughput = {}
    try:
        for workers in args.workers.split(","):
            server = RenderServer(binary, "--render-workers", workers, rust_log=SERVER_LOG)
            try:
                for scene_name, files in scenes.items():
                    for t in IMAGE_TYPES:
                        client_bench(binary, server.url, files[t], t, 8, 4)  # warm-up
                        before = cpu_seconds(server.process.pid)
                        result = client_bench(binary, server.url, files[t], t, args.frames, 4)
                        after = cpu_seconds(server.process.pid)
                        result["cpuMs"] = [(a - b) * 1e3 / args.frames for a, b in zip(after, before)]
                        throughput[(workers, scene_name, t)] = result
            finally:
                server.stop()
    finally:
        drake_files.cleanup()

    print(f"\nmake bench: {len(SCENES)} conformance scenes at {args.camera} + a 9-geometry scene x 3 cameras "
          f"= {calls} calls per engine and image type per round, {args.rounds} interleaved rounds; server {binary}")
    print("ms per round (all calls), median [min-max] over rounds; floor = Drake's client against a stub answering at once")
    print(f"{'image':6} {'VTK':>18} {'ours':>18} {'floor':>18} {'server-added/VTK':>22}")
    for image_type in IMAGE_TYPES:
        per_round = rounds[image_type]
        cells = [median_spread([r[k] for r in per_round]) for k in range(3)]
        added = median_spread([(ours - floor) / vtk for vtk, ours, floor in per_round])
        print(f"{image_type:6} " + " ".join(f"{m:7.0f} [{lo:.0f}-{hi:.0f}]".rjust(18) for m, lo, hi in cells)
              + f"{added[0]:10.2f} [{added[1]:.2f}-{added[2]:.2f}]".rjust(23))
    print("\nthe server's own stages in those calls (its debug log), ms per round, mean over rounds, and against VTK's "
          "median round; render = the scene drawn and read back on the adapter")
    print(f"{'image':6}" + "".join(f"{stage:>9}" for stage in STAGES) + f"{'all':>9}{'all/VTK':>9}{'render/VTK':>12}")
    for image_type in IMAGE_TYPES:
        rows = [r for r in requests if r["image_type"] == image_type]
        per_round = {stage: sum(r[stage] for r in rows) / args.rounds for stage in STAGES}
        vtk = statistics.median(r[0] for r in rounds[image_type])
        every = sum(per_round.values())
        print(f"{image_type:6}" + "".join(f"{per_round[stage]:9.1f}" for stage in STAGES)
              + f"{every:9.1f}{every / vtk:9.2f}{per_round['render'] / vtk:12.2f}")
    print(f"server RSS: idle {idle_rss:.0f} MiB, peak {peak_rss:.0f} MiB")
    cores = os.cpu_count()
    print(f"\nthroughput (client bench mode, 640x480, {args.frames} requests, concurrency 4), images/s [p50 ms]; "
          f"then the server's CPU per image in ms, of it in the graphics driver's threads (on lavapipe the "
          f"renderer itself), and {cores} cores / that driver CPU: the rate no server on this adapter can pass")
    for scene_name in scenes:
        print(f"{scene_name}:")
        print(f"  {'workers':8}" + "".join(f"{t:>34}" for t in IMAGE_TYPES))
        for workers in args.workers.split(","):
            cells = [throughput[(workers, scene_name, t)] for t in IMAGE_TYPES]
            rates = "".join(f"{r['imagesPerSecond']:6.1f} [{r['latencyMs']['p50']:4.0f}]".rjust(34) for r in cells)
            cpu = "".join((f"cpu {r['cpuMs'][0]:5.1f}, driver {r['cpuMs'][1]:5.1f} "
                           + (f"(<= {cores * 1e3 / r['cpuMs'][1]:5.0f}/s)" if r["cpuMs"][1] > 0 else "")).rjust(34)
                          for r in cells)
            print(f"  {workers:8}{rates}" + ("" if all(r["errors"] == 0 for r in cells) else "  (errors!)"))
            print(f"  {'':8}{cpu}")


def large_scene_cost(binary: Path) -> None:
    """Section 3: the synthetic large scene sent twice to a fresh server (time, load stage, RSS)."""
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "large.gltf"
        body = large_scene(scene)
        server = RenderServer(binary, rust_log=SERVER_LOG)
        try:
            time.sleep(0.5)
            idle = memory_mib(server.process.pid, "VmRSS")
            first = client_bench(binary, server.url, scene, "color", 1, 1)
            peak_first = memory_mib(server.process.pid, "VmHWM")
            repeat = client_bench(binary, server.url, scene, "color", 1, 1)
            peak = memory_mib(server.process.pid, "VmHWM")
            time.sleep(0.2)
            stages = server.stages()
        finally:
            server.stop()
    mib = body / 2**20
    t_first, t_repeat = first["latencyMs"]["p50"], repeat["latencyMs"]["p50"]
    print(f"\nlarge scene: {mib:.0f} MiB body (1.5 M triangles, one 2048x2048 texture), color 640x480, fresh server")
    print(f"  first {t_first:.0f} ms, repeat {t_repeat:.0f} ms: repeat/first {t_repeat / t_first:.2f}")
    if len(stages) >= 2:
        (l1, r1, e1), (l2, r2, e2) = stages[:2]
        print(f"  load stage: first {l1:.0f} ms, repeat {l2:.0f} ms ({l2 / l1:.1%}); render {r1:.0f} / {r2:.0f} ms; "
              f"encode {e1:.0f} / {e2:.0f} ms")
    print(f"  server RSS: idle {idle:.0f} MiB, peak after first {peak_first:.0f} MiB, after repeat {peak:.0f} MiB: "
          f"peak/body {peak / mib:.1f}x, (peak - idle)/body {(peak - idle) / mib:.1f}x")


if __name__ == "__main__":
    main()
