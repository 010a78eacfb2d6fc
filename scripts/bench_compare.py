"""`scripts/bench.py --baseline-binary PATH`: two builds of the render server in one interleaved run.

A change that should not alter speed (a refactoring, issue 19's layering) is checked by running
the build before it and the build after it side by side: both servers run at once, each
workload is rendered through the same pydrake client against one and then the other (the order
alternating between rounds), so the machine's load, which moves by ±50 % within minutes on a
shared machine, hits both alike. Printed per workload and image type: ms per call through
RenderEngineGltfClient (what a Drake user waits for) and the server's render stage (its debug
`rendered` log line: the adapter drawing and reading back the image, without the client's share
around it), as after/before ratios, the median over rounds of each round's ratio [min-max], and the
server's CPU for those calls (all its threads, from /proc, summed over the rounds): CPU time
barely moves with the machine's load, where wall time does. Then
throughput (the client bench mode at concurrency 4, the two servers in alternate rounds) and, unless
`--skip-features`, each look of tests/python/vtk_looks.py in colour. Ratios near 1.00 with spreads
on both sides mean no measurable change; the figures are never pass/fail thresholds.
"""

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import (FEATURES, IMAGE_TYPES, REPO, SERVER_LOG, client_bench, cpu_seconds, drake_gltf_files, median_spread,
                   multi_camera)
from drake_scenes import CAMERAS, SCENES, TwoEngineScene
from render_server_process import RenderServer
from vtk_looks import LOOKS, primitives_and_unpainted, write_params

BUILDS = ("before", "after")


def ratio_cell(values) -> str:
    middle, low, high = median_spread(values)
    return f"{middle:5.2f} [{low:.2f}-{high:.2f}]"


class Timed:
    """One build's server and the calls made to it, in order, so that its `rendered` log lines
    (one per call, in the same order) can be matched back to the workload that made them."""

    def __init__(self, binary: Path, *args: str):
        self.server = RenderServer(binary, *args, rust_log=SERVER_LOG)
        self.calls = []  # (workload, image_type, round) per request, after the warm-up
        self.warm = 0
        self.cpu = {}  # (workload, image_type): server CPU seconds over the timed calls

    def mark_warm(self) -> None:
        time.sleep(0.2)
        self.warm = len(self.server.requests())

    def render_stages(self):
        """{(workload, image_type, round): summed render ms} over the timed calls."""
        time.sleep(0.3)  # the last `rendered` lines
        rows = self.server.requests()[self.warm:]
        if len(rows) != len(self.calls):
            return {}
        totals = {}
        for call, row in zip(self.calls, rows):
            assert call[1] == row["image_type"], "a rendered line out of order"
            totals[call] = totals.get(call, 0.0) + row["render"]
        return totals


def interleaved(args, builds, workloads, image_types):
    """Rounds of every workload × image type × camera through each build's scene, the builds'
    order alternating per round. Returns {(workload, image_type): {build: [ms per round]}}.
    The warm-up's images (caches, first-frame shader compiles) are compared between the builds
    first: a change meant to keep every answer byte-identical shows here if it does not."""
    timings = {(name, t): {b: [] for b in BUILDS} for name, _, _ in workloads for t in image_types}
    for name, scenes, cameras in workloads:
        for t in image_types:
            for camera in cameras:
                before, after = (scenes[build].render("gltf", t, camera) for build in BUILDS)
                mask = before != after
                different = np.count_nonzero(mask)
                largest = np.abs(before[mask].astype(np.float64) - after[mask].astype(np.float64)).max() if different else 0
                print(f"  images {name}, {t}, {camera.width()}x{camera.height()}: "
                      + (f"{different} of {before.size} values differ, by at most {largest:g}" if different
                         else "byte-identical"))
    for build in BUILDS:
        builds[build].mark_warm()
    for index in range(args.rounds):
        order = BUILDS if index % 2 == 0 else BUILDS[::-1]
        for name, scenes, cameras in workloads:
            for t in image_types:
                for build in order:
                    pid = builds[build].server.process.pid
                    cpu = cpu_seconds(pid)[0]
                    started = time.perf_counter()
                    for camera in cameras:
                        scenes[build].render("gltf", t, camera)
                        builds[build].calls.append((name, t, index))
                    timings[(name, t)][build].append((time.perf_counter() - started) * 1e3)
                    used = builds[build].cpu
                    used[(name, t)] = used.get((name, t), 0.0) + cpu_seconds(pid)[0] - cpu
    return timings


def print_table(title, args, builds, timings) -> None:
    stages = {build: builds[build].render_stages() for build in BUILDS}
    print(f"\n{title}")
    print(f"{'workload':28} {'image':6} {'before ms':>10} {'after ms':>10} {'after/before':>19} {'render after/before':>21} "
          f"{'CPU ms bef/aft':>15} {'after/before':>12}")
    for (name, t), per_build in timings.items():
        before, after = per_build["before"], per_build["after"]
        calls = ratio_cell([a / b for a, b in zip(after, before)])
        render = [stages["after"][(name, t, i)] / stages["before"][(name, t, i)]
                  for i in range(args.rounds) if stages["before"].get((name, t, i)) and stages["after"].get((name, t, i))]
        cpu = {b: builds[b].cpu.get((name, t), 0.0) * 1e3 / args.rounds for b in BUILDS}
        cpu_ratio = f"{cpu['after'] / cpu['before']:12.2f}" if cpu["before"] else f"{'n/a':>12}"
        print(f"{name:28} {t:6} {statistics.median(before):10.1f} {statistics.median(after):10.1f} {calls:>19} "
              f"{ratio_cell(render) if render else 'n/a':>21} {cpu['before']:6.1f}/{cpu['after']:<7.1f} {cpu_ratio}")
    # Every workload together, per image type: small scenes alone are within the noise.
    names = sorted({name for name, _ in timings})
    for t in sorted({t for _, t in timings}, key=IMAGE_TYPES.index):
        rows = [timings[(name, t)] for name in names if (name, t) in timings]
        if len(rows) < 2:
            continue
        before = [sum(r["before"][i] for r in rows) for i in range(args.rounds)]
        after = [sum(r["after"][i] for r in rows) for i in range(args.rounds)]
        cpu = {b: sum(builds[b].cpu.get((name, t), 0.0) for name in names) * 1e3 / args.rounds for b in BUILDS}
        print(f"{'all of the above':28} {t:6} {statistics.median(before):10.1f} {statistics.median(after):10.1f} "
              f"{ratio_cell([a / b for a, b in zip(after, before)]):>19} {'':>21} "
              f"{cpu['before']:6.1f}/{cpu['after']:<7.1f} {cpu['after'] / cpu['before']:12.2f}")


def compare(args, binary: Path, baseline: Path) -> None:
    binaries = {"before": baseline, "after": binary}
    print(f"make bench, before vs after in one run: before {baseline}, after {binary}; {args.rounds} rounds, "
          f"the builds' order alternating; per round, every camera of the workload once")
    builds = {b: Timed(binaries[b]) for b in BUILDS}
    drake_files = tempfile.TemporaryDirectory()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            camera = CAMERAS[args.camera]
            workloads = [(name, {b: TwoEngineScene(build(Path(tmp)), builds[b].server.url) for b in BUILDS}, [camera])
                         for name, build in SCENES.items()]
            workloads.append(("multi-camera (3 cameras)",
                              {b: TwoEngineScene(multi_camera(Path(tmp)), builds[b].server.url) for b in BUILDS},
                              list(CAMERAS.values())))
            timings = interleaved(args, builds, workloads, IMAGE_TYPES)
            print_table("through RenderEngineGltfClient, ms per round (median); ratios per round, median [min-max]",
                        args, builds, timings)
            files = {"tabletop": {t: REPO / "examples" / t / "tabletop.gltf" for t in IMAGE_TYPES},
                     "9 geometries (Drake's)": drake_gltf_files(builds["after"].server.url, Path(drake_files.name))}
        throughput(args, builds, files, binary)
    finally:
        for build in builds.values():
            build.server.stop()
        drake_files.cleanup()
    if not args.skip_features:
        looks(args, binaries)


def throughput(args, builds, files, client: Path) -> None:
    """The client bench mode (the after build's client against both servers), per scene and image
    type, the two servers in alternate rounds."""
    rounds = max(3, args.rounds // 2)
    rates = {(scene, t): {b: [] for b in BUILDS} for scene in files for t in IMAGE_TYPES}
    for index in range(rounds):
        order = BUILDS if index % 2 == 0 else BUILDS[::-1]
        for scene, by_type in files.items():
            for t in IMAGE_TYPES:
                for build in order:
                    url = builds[build].server.url
                    if index == 0:
                        client_bench(client, url, by_type[t], t, 8, 4)  # warm-up
                    result = client_bench(client, url, by_type[t], t, args.frames, 4)
                    rates[(scene, t)][build].append(result["imagesPerSecond"])
    print(f"\nthroughput (client bench mode, {args.frames} requests at concurrency 4, {rounds} rounds), images/s "
          f"median; after/before per round, median [min-max]")
    print(f"{'scene':24} {'image':6} {'before':>8} {'after':>8} {'after/before':>19}")
    for (scene, t), per_build in rates.items():
        before, after = per_build["before"], per_build["after"]
        print(f"{scene:24} {t:6} {statistics.median(before):8.1f} {statistics.median(after):8.1f} "
              f"{ratio_cell([a / b for a, b in zip(after, before)]):>19}")


def looks(args, binaries) -> None:
    """Each vtk_looks set in colour (the primitives and an unpainted box), one server per build
    started with the set's params, the two in alternate order per round."""
    camera = CAMERAS[args.camera]
    by_name = {look.name: look for look in LOOKS}
    timings = {}
    builds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, name in FEATURES.items():
            folder = Path(tmp) / name
            folder.mkdir()
            params = by_name[name].params(folder)
            params_file = str(write_params(params, folder / "params.yaml"))
            builds = {b: Timed(binaries[b], "--vtk-params", params_file) for b in BUILDS}
            try:
                scenes = {b: TwoEngineScene(primitives_and_unpainted(folder), builds[b].server.url, vtk_params=params)
                          for b in BUILDS}
                timings.update(interleaved(args, builds, [(label, scenes, [camera])], ("color",)))
            finally:
                for build in builds.values():
                    build.server.stop()
            print_table(f"look {label!r}: colour through RenderEngineGltfClient", args, builds,
                        {k: v for k, v in timings.items() if k[0] == label})
