"""bf16 autocast against fp32 on one frame: time per step and how far the results differ.

Stylizes the same frame from the same start with the same fixed budget (no early stop, one
scale) once in fp32 and once with bf16 autocast, then measures both results with the fp32
objective, so that the losses compare like with like.

    python benchmarks/bench_precision.py [--size 480] [--iterations 60]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vidstyle import imageops
from vidstyle.config import build_job
from vidstyle.device import bf16_is_fast, configure_threads, network_threads
from vidstyle.optimize import measure_losses, unweighted
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "pens.mp4")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--iterations", type=int, default=60)
    args = parser.parse_args()
    configure_threads(network_threads(None), network_threads(None))

    frame = next(iter(read_frames(args.clip, Segment(frames=1)))).frame
    stylizers: dict[str, Stylizer] = {}
    outputs: dict[str, np.ndarray] = {}
    step_seconds: dict[str, float] = {}
    for precision in ("fp32", "bf16"):
        job = build_job([args.style], size=args.size, precision=precision, tolerance=0.0, scales=1)
        width, height = job.processing_size(frame.shape[1], frame.shape[0], still=False)
        content = imageops.resize_frame(frame, width, height)
        stylizer = Stylizer(job.style, job.losses, job.optimizer, job.engine, content_size=(width, height))
        started = time.perf_counter()
        stylized = stylizer.stylize(content, stylizer.to_optimization_space(content), iterations=args.iterations)
        step_seconds[precision] = (time.perf_counter() - started) / stylized.iterations
        stylizers[precision], outputs[precision] = stylizer, stylized.frame

    print(f"{args.clip.name} frame 0 at {width}x{height}, {args.iterations} L-BFGS iterations from the content")
    print(f"bf16 runs natively here: {bf16_is_fast(stylizers['fp32'].device)}\n")
    print(f"{'':<8} {'s/step':>8} {'total':>10} {'style':>10} {'content':>10} {'tv':>10}")
    # Both results measured by the fp32 objective.
    reference = stylizers["fp32"]
    totals: dict[str, float] = {}
    for precision, output in outputs.items():
        image = imageops.frame_to_image(output, reference.device)
        parts = measure_losses(reference.objective, image, reference.to_optimization_space(content))
        raw = unweighted(parts, job.losses)
        totals[precision] = parts.total
        print(
            f"{precision:<8} {step_seconds[precision]:8.3f} {parts.total:10.4f} {raw['style']:10.5f} "
            f"{raw['content']:10.4f} {raw['tv']:10.5f}"
        )
    speed = step_seconds["fp32"] / step_seconds["bf16"]
    difference = (totals["bf16"] - totals["fp32"]) / totals["fp32"]
    print(f"\nbf16 steps are {speed:.2f}x as fast; its final loss differs from fp32's by {100 * difference:+.2f}%")


if __name__ == "__main__":
    main()
