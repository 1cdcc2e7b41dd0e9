"""Temporal consistency against independent per-frame stylization, and the warm start's gain.

1. Renders the first N frames of a real clip (default samples/pens.mp4 at its native size)
   twice with the same style and the same iteration budget for every frame: once with
   Ruder et al.'s temporal consistency (warped warm start + temporal loss), once frame by
   frame from the content. Prints the warping error and the style and content losses of
   each, and the ratios.
2. On one frame, counts the iterations a content start needs to reach its loss after a
   fixed budget, and the iterations a warm start from the warped previous output needs to
   reach the same loss.

    python benchmarks/bench_temporal.py [--frames 16] [--iterations 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vidstyle import imageops
from vidstyle.config import OptimizerSettings, build_job
from vidstyle.metrics import measure
from vidstyle.optimize import measure_losses, stylize_frame
from vidstyle.pipeline import stylize_video
from vidstyle.stylizer import Stylizer
from vidstyle.temporal import TemporalContext
from vidstyle.video_io import Segment, read_frames
from vidstyle.workdir import WorkDir, work_dir_for

ROOT = Path(__file__).resolve().parent.parent


def render(clip: Path, style: Path, out: Path, frames: int, **options: object) -> tuple[list[np.ndarray], float]:
    started = time.perf_counter()
    stylize_video(clip, style, out, frames=frames, keep_frames=True, overwrite=True, restart=True, **options)
    seconds = time.perf_counter() - started
    work = WorkDir(work_dir_for(out))
    outputs = [work.load(i) for i in range(frames)]
    work.remove()
    return outputs, seconds


def warm_start_gain(clip: Path, style: Path, frame_index: int, budget: int, size: int | None) -> tuple[int, int, float]:
    """(iterations from content, iterations from warm start, loss reached) on one frame."""
    job = build_job([style], size=size, scales=1, tolerance=0.0)
    sources = [f.frame for f in read_frames(clip, Segment(frames=frame_index + 1))]
    width, height = job.processing_size(sources[0].shape[1], sources[0].shape[0], still=False)
    sources = [imageops.resize_frame(f, width, height) for f in sources]
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), reference_frame=sources[0]
    )
    settings = OptimizerSettings(tolerance=0.0, scales=1)
    # The previous frame as a converged render of it would be.
    previous_content = sources[-2]
    previous = stylizer.stylize(previous_content, stylizer.to_optimization_space(previous_content), iterations=budget)
    current = sources[-1]
    content = stylizer.to_optimization_space(current)
    cold = stylize_frame(stylizer.objective, content, content, settings, iterations=budget)
    target = measure_losses(stylizer.objective, cold.image, content).total
    context = TemporalContext(job.temporal)
    context.commit(previous_content, previous.frame)
    plan = context.plan(current)
    assert plan.init is not None
    warm_init = stylizer.to_optimization_space(plan.init)
    # Same objective as the cold start (no temporal term): the gain is the start alone.
    warm = stylize_frame(stylizer.objective, content, warm_init, settings, iterations=budget)
    cold_needed = next(i for i, loss in enumerate(cold.history, 1) if loss <= target * 1.0001)
    warm_needed = next((i for i, loss in enumerate(warm.history, 1) if loss <= target), budget + 1)
    return cold_needed, warm_needed, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "pens.mp4")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
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

    frame_index = min(8, args.frames - 1)
    cold, warm, loss = warm_start_gain(args.clip, args.style, frame_index, 200, args.size)
    print(
        f"\nwarm start, frame {frame_index}: a content start needs {cold} iterations to reach loss {loss:.4f}; "
        f"the warped previous output reaches it in {warm} ({cold / warm:.1f}x fewer)"
    )


if __name__ == "__main__":
    main()
