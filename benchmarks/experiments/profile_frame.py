"""Where a frame's time goes: decode, flow, planning, forward, backward, optimizer, saving.

Renders a few frames of a real clip the way the pipeline does and times each part of the
last (a later frame, warm-started). The flow is timed apart: in a render on a GPU it runs
in worker threads while earlier frames are optimized; on a CPU it runs between frames, on
every core, as part of the frame's time.

    python benchmarks/experiments/profile_frame.py [--size 480] [--frames 3]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/, for common
from common import parser_for

from vidstyle import imageops
from vidstyle.config import build_job
from vidstyle.device import configure_threads, network_threads
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import measure_motion
from vidstyle.frame_plan import FramePlanner
from vidstyle.journal import FrameRecord
from vidstyle.objective import StyleObjective, TemporalTerm
from vidstyle.shot_render import render_frame, visit_budget
from vidstyle.shots import Shot
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames
from vidstyle.workdir import WorkDir

ROOT = Path(__file__).resolve().parent.parent.parent
TIMES: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)


class TimedObjective(StyleObjective):
    """The objective with its forward pass and its loss arithmetic timed."""

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        started = time.perf_counter()
        features = super().features(image)
        TIMES["network forward"] += time.perf_counter() - started
        return features

    def evaluate(
        self, image: torch.Tensor, content_target: torch.Tensor, temporal: Sequence[TemporalTerm] = ()
    ) -> tuple[torch.Tensor, torch.Tensor]:
        started = time.perf_counter()
        forward_before = TIMES["network forward"]
        total, parts = super().evaluate(image, content_target, temporal)
        elapsed = time.perf_counter() - started
        TIMES["losses (Gram, content, tv, temporal)"] += elapsed - (TIMES["network forward"] - forward_before)
        TIMES["_evaluate"] += elapsed
        COUNTS["evaluations"] += 1
        return total, parts


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--quality", default="normal")
    parser.add_argument("--first-iterations", type=int, default=50, help="budget of the unprofiled first frame")
    args = parser.parse_args()
    configure_threads(network_threads(None), network_threads(None))

    job = build_job([args.style], size=args.size, quality=args.quality, iterations=args.first_iterations)
    started = time.perf_counter()
    decoded = list(read_frames(args.clip, Segment(frames=args.frames)))
    decode_seconds = (time.perf_counter() - started) / len(decoded)
    width, height = job.processing_size(decoded[0].frame.shape[1], decoded[0].frame.shape[0], still=False)
    contents = [imageops.resize_frame(d.frame, width, height) for d in decoded]
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), reference_frame=contents[0]
    )
    stylizer.objective.__class__ = TimedObjective
    shot = Shot(0, 0, len(contents))
    planner = FramePlanner(job.temporal, shot)
    estimator = FlowEstimator(job.temporal.flow, job.temporal.dis_preset)
    outputs: dict[int, np.ndarray] = {}
    work = WorkDir(Path(tempfile.mkdtemp()))
    work.frames.folder.mkdir(parents=True)
    for visit in planner.visits():
        index, content = visit.index, contents[visit.index]
        if index == len(contents) - 1:
            TIMES.clear()
            COUNTS.clear()
        flow_started = time.perf_counter()
        motion = measure_motion(estimator, content, {i: contents[i] for i in planner.needs(visit)})
        TIMES["flow (between frames on a CPU)"] = time.perf_counter() - flow_started
        frame_started = time.perf_counter()
        plan = planner.plan(visit, content, motion, outputs.get)
        plan_seconds = time.perf_counter() - frame_started
        budget = visit_budget(job, plan, only_visit=False)
        output, record = render_frame(stylizer, job, plan, shot.number, content, budget, None)
        render_seconds = time.perf_counter() - frame_started - plan_seconds
        save_started = time.perf_counter()
        work.save(output, FrameRecord(**{**record.__dict__, "seconds": render_seconds}))
        save_seconds = time.perf_counter() - save_started
        outputs[index] = output
        print(f"frame {index}: {record.iterations} iterations, {render_seconds + plan_seconds:.1f} s")
    evaluations = COUNTS["evaluations"]
    # Backward = everything in the optimizer's closure after the loss; measured as the rest of
    # the optimization time once forward, losses and bookkeeping are taken out.
    optimize_seconds = render_seconds
    bookkeeping = optimize_seconds - TIMES["_evaluate"]
    # Time a few backward passes on their own to split the remainder into backward and L-BFGS.
    image = stylizer.to_optimization_space(contents[-1]).requires_grad_(True)
    target = stylizer.objective.content_features(image.detach())
    backward = 0.0
    for _ in range(3):
        total, _ = stylizer.objective.evaluate(image, target)
        backward_started = time.perf_counter()
        total.backward()
        backward += time.perf_counter() - backward_started
    backward_per = backward / 3
    rows = [
        ("decode + resize", decode_seconds),
        ("flow (between frames on a CPU)", TIMES["flow (between frames on a CPU)"]),
        ("plan: mask, warps, init", plan_seconds),
        ("network forward", TIMES["network forward"]),
        ("losses (Gram, content, tv, temporal)", TIMES["losses (Gram, content, tv, temporal)"]),
        ("network backward", backward_per * evaluations),
        ("L-BFGS bookkeeping, clamps, copies", max(0.0, bookkeeping - backward_per * evaluations)),
        ("save PNG + log", save_seconds),
    ]
    total_main = sum(seconds for name, seconds in rows if not name.startswith("flow"))
    print(f"\nlast frame at {width}x{height}: {evaluations} evaluations, {total_main:.2f} s on the main thread")
    for name, seconds in rows:
        share = "" if name.startswith("flow") else f"{100 * seconds / total_main:5.1f}%"
        print(f"  {name:<38} {seconds:8.3f} s {share}")
    work.remove()


if __name__ == "__main__":
    main()
