"""Temporal consistency against independent per-frame stylization, and the warm start's gain.

1. Renders the first N frames of a real clip (default samples/pens.mp4 at its native size)
   twice with the same style and the same iteration budget for every frame: once with
   Ruder et al.'s temporal consistency (warped warm start + temporal loss), once frame by
   frame from the content. Prints the warping error and the style and content losses of
   each, and the ratios.
2. On two frames, the iterations a warm start from the warped previous output needs to
   reach the loss a content start reaches after 25, 50, 100 and 200 iterations.

    python benchmarks/experiments/bench_temporal.py [--frames 16] [--iterations 100]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/, for common
from common import parser_for

from vidstyle import imageops
from vidstyle.config import build_job
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import measure_motion
from vidstyle.frame_plan import FramePlanner, Visit
from vidstyle.metrics import measure
from vidstyle.optimize import stylize_frame
from vidstyle.pipeline import stylize_video
from vidstyle.settings import OptimizerSettings
from vidstyle.shots import Shot
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames
from vidstyle.workdir import WorkDir, work_dir_for

ROOT = Path(__file__).resolve().parent.parent.parent


def render(clip: Path, style: Path, out: Path, frames: int, **options: Any) -> tuple[list[np.ndarray], float]:
    started = time.perf_counter()
    stylize_video(clip, style, out, frames=frames, keep_frames=True, overwrite=True, restart=True, **options)
    seconds = time.perf_counter() - started
    work = WorkDir(work_dir_for(out))
    outputs = [work.load(i) for i in range(frames)]
    work.remove()
    return outputs, seconds


def warm_start_curves(
    clip: Path, style: Path, frame_index: int, budget: int, size: int | None
) -> tuple[Any, Any, float]:
    """Loss histories on one frame from a content start and from the warped previous output.

    The previous frame is first rendered as a converged render would leave it. Both runs
    optimize the same objective (no temporal term), so the difference is the start alone.
    Returns (content-start history, warm-start history, reliable share of the frame).
    """
    job = build_job([style], size=size, scales=1, tolerance=0.0)
    sources = [f.frame for f in read_frames(clip, Segment(frames=frame_index + 1))]
    width, height = job.processing_size(sources[0].shape[1], sources[0].shape[0], still=False)
    previous_content, current = (imageops.resize_frame(f, width, height) for f in sources[-2:])
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), reference_frame=current
    )
    settings = OptimizerSettings(tolerance=0.0, scales=1)
    previous = stylizer.stylize(previous_content, stylizer.to_optimization_space(previous_content), iterations=budget)
    content = stylizer.to_optimization_space(current)
    cold = stylize_frame(stylizer.objective, content, content, settings, iterations=budget)
    planner = FramePlanner(job.temporal, Shot(0, 0, 2))
    motion = measure_motion(FlowEstimator(job.temporal.flow, job.temporal.dis_preset), current, {0: previous_content})
    plan = planner.plan(Visit(1, 1, 1), current, motion, {0: previous.frame}.get)
    assert plan.init is not None and plan.coverage is not None
    warm = stylize_frame(
        stylizer.objective, content, stylizer.to_optimization_space(plan.init), settings, iterations=budget
    )
    return np.array(cold.history), np.array(warm.history), plan.coverage


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=100, help="per frame, every frame")
    parser.add_argument("--size", type=int, default=None, help="long side (default: the clip's own)")
    args = parser.parse_args()

    budget = {"iterations": args.iterations, "frame_iterations": args.iterations, "scales": 1, "tolerance": 0.0}
    if args.size:
        budget["size"] = args.size
    sources = [f.frame for f in read_frames(args.clip, Segment(frames=args.frames))]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name, options in (
            ("temporal", {}),
            ("independent", {"temporal_weight": 0.0, "temporal_init": "content"}),
        ):
            outputs, seconds = render(
                args.clip, args.style, Path(tmp) / f"{name}.mp4", args.frames, **budget, **options
            )
            metrics = measure(sources, outputs, styles=(args.style,))
            runs[name] = (metrics, seconds)
    height, width = runs["temporal"][0].height, runs["temporal"][0].width
    print(f"clip {args.clip.name}, first {args.frames} frames at {width}x{height}, style {args.style.name}")
    print(f"{args.iterations} L-BFGS iterations for every frame, both runs\n")
    print(f"{'run':<12} {'warping error':>14} {'style loss':>11} {'content loss':>13} {'s/frame':>8}")
    for name, (metrics, seconds) in runs.items():
        print(
            f"{name:<12} {metrics.warping_error:>14.3e} {metrics.style_loss:>11.4f} "
            f"{metrics.content_loss:>13.4f} {seconds / args.frames:>8.2f}"
        )
    steady, free = runs["temporal"][0], runs["independent"][0]
    assert steady.warping_error and free.warping_error and steady.style_loss and free.style_loss
    print(
        f"\nwarping error temporal / independent: {steady.warping_error / free.warping_error:.3f} "
        f"(1/{free.warping_error / steady.warping_error:.1f})"
    )
    print(f"style loss temporal / independent:    {steady.style_loss / free.style_loss:.3f}")

    print("\nwarm start: iterations the warped previous output needs to reach a content start's loss")
    print(f"{'frame':>5} {'reliable':>8} {'content start':>14} {'loss':>7} {'warm start':>11} {'ratio':>6}")
    for frame_index in (8, 40):
        cold, warm, coverage = warm_start_curves(args.clip, args.style, frame_index, 200, args.size)
        for spent in (25, 50, 100, 200):
            target = cold[:spent].min()
            reached = np.nonzero(warm <= target)[0]
            needed = int(reached[0]) + 1 if reached.size else None
            ratio = f"{spent / needed:.1f}x" if needed else "-"
            print(f"{frame_index:>5} {coverage:>8.0%} {spent:>14} {target:>7.3f} {needed or '>200':>11} {ratio:>6}")


if __name__ == "__main__":
    main()
