"""The large-scene part of `make bench` alone, in rounds: what issue 10's memory and repeat targets
measure, without the pydrake engines.

Each round starts a fresh server, sends the synthetic large scene (bench.large_scene: 1.5 M
triangles, one 2048² texture, about 61 MB) once and then `--repeats` more times, and reads the
server's peak RSS (VmHWM) after the first request and after the last. Printed per round and as
the median over rounds: first and repeat time, repeat/first, the load stage (from the server's
debug `rendered` line) first and repeat, and peak RSS against the body. Loopback only; every
server is stopped before the script ends.

    .venv/bin/python scripts/bench_large.py --binary target/release/gltf-cloud --rounds 3
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench import REPO, SERVER_LOG, RenderServer, client_bench, large_scene, memory_mib


def one_round(binary: Path, scene: Path, image_type: str, repeats: int) -> dict:
    server = RenderServer(binary, rust_log=SERVER_LOG)
    try:
        time.sleep(0.5)
        idle = memory_mib(server.process.pid, "VmRSS")
        first = client_bench(binary, server.url, scene, image_type, 1, 1)["latencyMs"]["p50"]
        peak_first = memory_mib(server.process.pid, "VmHWM")
        repeats = [client_bench(binary, server.url, scene, image_type, 1, 1)["latencyMs"]["p50"] for _ in range(repeats)]
        peak = memory_mib(server.process.pid, "VmHWM")
        time.sleep(0.2)
        stages = server.stages()
    finally:
        server.stop()
    loads = [load for load, _, _ in stages]
    return {
        "idle": idle, "first": first, "repeat": statistics.median(repeats), "peak_first": peak_first, "peak": peak,
        "load_first": loads[0], "load_repeat": statistics.median(loads[1:]),
        "render_first": stages[0][1], "render_repeat": statistics.median(r for _, r, _ in stages[1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "gltf-cloud"))
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers, one after the other")
    parser.add_argument("--repeats", type=int, default=2, help="requests after the first, per round")
    parser.add_argument("--image-type", default="color", choices=("color", "depth", "label"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "large.gltf"
        mib = large_scene(scene) / 2**20
        rounds = [one_round(Path(args.binary), scene, args.image_type, args.repeats) for _ in range(args.rounds)]
    print(f"large scene: {mib:.1f} MiB body, {args.image_type} 640x480, {args.rounds} rounds of 1 + {args.repeats} requests")
    for r in rounds:
        print(f"  first {r['first']:.0f} ms, repeat {r['repeat']:.0f} ms ({r['repeat'] / r['first']:.2f}); "
              f"load {r['load_first']:.0f} / {r['load_repeat']:.0f} ms ({r['load_repeat'] / r['load_first']:.1%}); "
              f"render {r['render_first']:.0f} / {r['render_repeat']:.0f} ms; RSS idle {r['idle']:.0f}, "
              f"peak {r['peak_first']:.0f} / {r['peak']:.0f} MiB")
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"median: repeat/first {statistics.median(r['repeat'] / r['first'] for r in rounds):.2f}, "
          f"load repeat/first {statistics.median(r['load_repeat'] / r['load_first'] for r in rounds):.1%}, "
          f"peak/body {med['peak'] / mib:.1f}x, (peak - idle)/body {(med['peak'] - med['idle']) / mib:.1f}x "
          f"(idle {med['idle']:.0f}, peak {med['peak']:.0f} MiB)")


if __name__ == "__main__":
    main()
