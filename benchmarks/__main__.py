"""One door to the benchmarks: ``python -m benchmarks quick|full|gpu``, from the repository's root.

- ``quick``: a few minutes on a 2-core CPU (10 at most; 4 min 17 s on a 2-core bf16 Xeon,
  2026-12-03): milliseconds per optimization step at 256 px, the peak memory at 192 and 256 px
  against the pre-check, and long-term flows at 176 px on pens.mp4 and on pens crossed by a
  post (10 frames): direct, chained (the default, and with 0.4.0's masks) and --long-term 1.
- ``full``: the figures the README's table and docs/performance.md come from: long-term flows
  at 176 px (20 frames) and 384 px (10 frames) on pens, the 1906 film, and each with a post
  (the same runs as ``quick``);
  steps at 256, 512 and 720 px; the peak memory at 384, 512 and 720 px. About an hour on a
  2-core CPU.
- ``gpu``: what benchmarks/device_check.sh runs on a card (``--dry``: the same on the CPU at
  tiny sizes, no JSON): steps, bench_gpu.py's render table, the peak memory.

Each writes one JSON file, ``benchmarks/results/<door>.<cpu|gpu>.<date>.json``, with the
command, the machine (CPU model and its bf16 flags, cores, GPU) and the versions; the render
rows give full-size evaluations per later frame beside the seconds (evaluations do not drift
with the machine's load). ``python docs/performance.py --write`` then rewrites the documents.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts import each other by name
import bench_gpu
import bench_shots
import bench_step
from common import ROOT, machine_line, write_results

STYLE = ROOT / "samples" / "starry_night.jpg"
# Long-term flows: direct, the default ("chained, own masks"), 0.4.0's ("chained") and none.
LONG_TERM_RUNS = ["direct", "chained, own masks", "chained", "no long-term (1)"]


def quick() -> dict[str, Any]:
    return {
        "steps": bench_step.steps("cpu", [256], repeats=3),
        "memory": bench_step.memory([192, 256], "cpu", "auto"),
        "long_term_flow": {"176px": bench_shots.long_term_flow_rows(["pens", "post"], 176, 10, STYLE, LONG_TERM_RUNS)},
    }


def full() -> dict[str, Any]:
    clips, runs = ["pens", "film", "post", "film-post"], LONG_TERM_RUNS
    return {
        "steps": bench_step.steps("cpu", [256, 512, 720], repeats=5),
        "memory": bench_step.memory([384, 512, 720], "cpu", "auto"),
        "long_term_flow": {
            "176px": bench_shots.long_term_flow_rows(clips, 176, 20, STYLE, runs),
            "384px": bench_shots.long_term_flow_rows(clips, 384, 10, STYLE, runs),
        },
    }


def gpu(dry: bool) -> dict[str, Any]:
    device = "cpu" if dry else "cuda"
    sizes = [64] if dry else [256, 480, 720]
    renders = ["--frames", "96"]
    if dry:
        renders = ["--device", "cpu", "--size", "64", "--sizes", "48", "80", "--frames", "3", "--iterations", "2"]
        renders += ["--only", "renders", "detail", "side-by-side", "profile", "--detail-width", "128"]
    return {
        "steps": bench_step.steps(device, sizes, repeats=1 if dry else 5),
        "renders": bench_gpu.main(renders),
        "memory": bench_step.memory([64] if dry else [480, 720, 1080], device, "auto"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("door", choices=("quick", "full", "gpu"))
    parser.add_argument("--dry", action="store_true", help="gpu: the same on the CPU at tiny sizes, no JSON")
    args = parser.parse_args()
    payload = quick() if args.door == "quick" else full() if args.door == "full" else gpu(args.dry)
    if args.dry:
        return
    path = write_results(args.door, {"machine line": machine_line(), **payload})
    print(f"\n{machine_line()}\nwrote {path.relative_to(ROOT)}; now: python docs/performance.py --write")


if __name__ == "__main__":
    main()
