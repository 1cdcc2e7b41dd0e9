"""Multi-pass, long-term consistency and loops, measured on real footage.

Every run renders the same frames of one shot with the same total iterations per frame
(``--tolerance 0``: no early stop), and is measured the same way on the saved lossless
frames: warping error between frames 1, 2, 5 and 10 apart (flow and masks from the source
frames), the warping error of the shot's first frames (1-3), style and content losses, and
render seconds per frame. A strip of each run's first frames goes to --pictures.

    python benchmarks/bench_shots.py passes       # 1, 2, 4 and 8 passes
    python benchmarks/bench_shots.py long-term    # offsets 1 / 1,2,4 / 1,10,20,40 / 1,2,4 with 2,4 by DIS medium
    python benchmarks/bench_shots.py loop         # the seam from the last frame to the first
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from bench_gpu import long_term_by_medium, replaced  # beside this script
from bench_video import render_kept, save_picture

from vidstyle import imageops, prefetch
from vidstyle.flow import FlowEstimator
from vidstyle.metrics import measure, pair_warping_error, warping_error_at_gap
from vidstyle.video_io import Segment, read_frames

ROOT = Path(__file__).resolve().parent.parent
# Real footage within one shot: a handheld camera over a desk, and the 1906 film after its
# cut (a moving car, grain and flicker).
CLIPS: dict[str, tuple[Path, Fraction]] = {
    "pens": (ROOT / "samples" / "pens.mp4", Fraction(0)),
    "film": (ROOT / "samples" / "shepard_calais_1906.ogv", Fraction(6)),
}
GAPS = (1, 2, 5, 10)


@dataclass(frozen=True)
class Run:
    name: str
    options: dict[str, Any]
    context: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext


def render(clip: Path, start: Fraction, frames: int, style: Path, size: int, options: dict[str, Any]) -> dict[str, Any]:
    rendered = render_kept(clip, style, frames, size, {"start": start, "tolerance": 0.0, **options})
    report, outputs = rendered.report, rendered.outputs
    height, width = outputs[0].shape[:2]
    sources = [
        imageops.resize_frame(d.frame, width, height) for d in read_frames(clip, Segment(start=start, frames=frames))
    ]
    metrics = measure(sources, outputs, styles=(style,))
    flow = FlowEstimator()
    first = [pair_warping_error(flow, sources[i], sources[i - 1], outputs[i], outputs[i - 1]) for i in (1, 2, 3)]
    seam = pair_warping_error(flow, sources[0], sources[-1], outputs[0], outputs[-1])
    return {
        "gaps": {gap: warping_error_at_gap(sources, outputs, gap) for gap in GAPS},
        "first": float(np.mean(first)),
        "seam": seam,
        "style": metrics.style_loss,
        "content": metrics.content_loss,
        "s/frame": report.seconds_per_frame,
        "wall s": rendered.seconds,
        "iterations/frame": report.mean_iterations,
        "strip": np.hstack(outputs[:4]),
        "size": f"{width}x{height}",
    }


def runs_for(study: str) -> list[Run]:
    if study == "passes":
        return [Run(f"{n} pass{'es' if n > 1 else ''}", {"passes": n}) for n in (1, 2, 4, 8)]
    if study == "long-term":
        # The default offsets with the far neighbours' flows by DIS medium: bench_gpu.py's variant.
        by_medium = Run("1,2,4, far by medium", {}, lambda: replaced(prefetch, "measure_motion", long_term_by_medium))
        offsets = ("1", "1,2,4", "1,10,20,40")
        return [*(Run(f"offsets {o}", {"long_term": [int(x) for x in o.split(",")]}) for o in offsets), by_medium]
    if study == "loop":
        return [Run("no loop", {}), Run("--loop", {"loop": True})]
    raise SystemExit(f"unknown study {study!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", choices=("passes", "long-term", "loop"))
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--pictures", type=Path, default=None, help="folder for strips of each run's first frames")
    args = parser.parse_args()
    for clip_name in args.clips:
        clip, start = CLIPS[clip_name]
        print(f"\n{clip_name}: {clip.name} from {float(start):.1f} s, {args.frames} frames, long side {args.size} px")
        header = f"{'run':<22}" + "".join(f"{'warp@' + str(g):>10}" for g in GAPS)
        print(f"{header}{'first 1-3':>10}{'seam':>10}{'style':>8}{'content':>8}{'it/frame':>9}{'s/frame':>8}")
        for run in runs_for(args.study):
            with run.context():
                result = render(clip, start, args.frames, args.style, args.size, run.options)
            gaps = "".join(
                f"{result['gaps'][g]:>10.3e}" if result["gaps"][g] is not None else f"{'-':>10}" for g in GAPS
            )
            print(
                f"{run.name:<22}{gaps}{result['first']:>10.3e}{result['seam']:>10.3e}{result['style']:>8.4f}"
                f"{result['content']:>8.3f}{result['iterations/frame']:>9.1f}{result['s/frame']:>8.2f}",
                flush=True,
            )
            if args.pictures is not None:
                save_picture(args.pictures, f"{args.study}.{clip_name}.{run.name}", result["strip"])


if __name__ == "__main__":
    main()
