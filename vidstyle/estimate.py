"""How long a render will take: before it starts, from a timing of the network at its size,
and after a preview, from the preview's record as well."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol

import cv2
import numpy as np
import torch

from vidstyle.backend import choose_backend
from vidstyle.detail import FIRST_DETAIL_ITERATIONS, LATER_DETAIL_EVALUATIONS, DetailPainter
from vidstyle.flow import FlowEstimator
from vidstyle.objective import StyleObjective
from vidstyle.optimize import stylize_frame
from vidstyle.options import option_flag
from vidstyle.pyramid import level_budgets
from vidstyle.settings import Job, OptimizerSettings, TemporalSettings
from vidstyle.vgg import VGG19Features


class PreviewFigures(Protocol):
    """What an estimate reads of a preview's report (``pipeline.VideoReport``)."""

    @property
    def painted_width(self) -> int: ...
    @property
    def painted_height(self) -> int: ...
    @property
    def frames(self) -> int: ...
    @property
    def cuts(self) -> tuple[int, ...]: ...
    @property
    def evaluations(self) -> int: ...
    @property
    def mean_later_iterations(self) -> float | None: ...
    @property
    def seconds_per_evaluation(self) -> float: ...
    @property
    def first_detail_seconds(self) -> float | None: ...
    @property
    def later_detail_seconds(self) -> float | None: ...


@dataclass(frozen=True)
class RenderEstimate:
    frames: int
    width: int
    height: int
    seconds: float
    step_seconds: float

    @property
    def seconds_per_frame(self) -> float:
        return self.seconds / max(1, self.frames)


def timing_objective(job: Job) -> StyleObjective:
    """The job's network and losses against a stand-in style, for timing steps."""
    backend = choose_backend(job.engine, units=1)
    device = backend.device
    encoder = VGG19Features([job.losses.content_layer, *job.losses.style_layers], weights=job.engine.weights)
    objective = StyleObjective(
        encoder.to(device), job.losses, compute_dtype=backend.dtype, margin=job.engine.edge_margin
    )
    objective.set_style([torch.rand(1, 3, 64, 64, device=device)], [1.0])
    return objective


def measure_step_seconds(objective: StyleObjective, width: int, height: int, repeats: int = 3) -> float:
    """Seconds of one loss evaluation (forward and backward) at ``width`` x ``height``."""
    device = objective.device
    content = torch.rand(1, 3, height, width, device=device)
    target = objective.content_features(content)
    image = content.clone().requires_grad_(True)
    timings = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        image.grad = None
        total, _ = objective.evaluate(image, target)
        total.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    return min(timings[1:])  # the first call pays for one-off setup


def render_seconds(
    optimizer: OptimizerSettings,
    size: tuple[int, int],
    *,
    fresh: int,
    later: int,
    step_seconds: float,
    later_share: float = 1.0,
) -> float:
    """Seconds for ``fresh`` first frames (a shot's or a chunk's start) and ``later`` frame
    visits of ``size`` (width, height) at ``step_seconds`` a full-size evaluation, later
    visits spending ``later_share`` of their budget (they stop early once converged). A first
    frame runs the coarse-to-fine levels that the render runs (``pyramid.level_budgets``),
    each evaluation costing its share of the pixels."""
    width, height = size
    plan = level_budgets(height, width, optimizer.iterations, optimizer.scales)
    first_frame_steps = sum(budget * (h * w) / (height * width) for (h, w), budget in plan)
    return (fresh * first_frame_steps + later * optimizer.later_iterations * later_share) * step_seconds


# What a render spends around the network's evaluations (optimizer bookkeeping, flows,
# warps, saving), as a share of them: the network alone was 15% low for the sample clip
# (estimate_full_render). With it, a 100-frame 1080p render at the normal preset was still
# estimated 9% low on a 2-core bf16 Xeon (3.2 against 3.5 s a frame, 2026-12-03). A
# preview's estimate measures this share instead.
RENDER_OVERHEAD = 0.15


@dataclass(frozen=True)
class Pace:
    """What sets a render's pace beside one unit's network: the units painting at once, and,
    where flows run in workers beside the network (on a GPU), their seconds a later frame
    and the workers sharing them. On a CPU the flows run between frames, in the network's
    time (``RENDER_OVERHEAD``)."""

    units_at_once: int = 1
    flow_seconds: float = 0.0  # one later frame's flows on one worker
    flow_workers: int = 0

    def wall_seconds(self, network_seconds: float, frames: int) -> float:
        """Units at once share the network's seconds (two renders side by side kept an H200
        54% busy against one's 21%: each ran at nearly its own pace); the flows' workers keep
        up or set the pace (on an H200 at 480 px they did: 2.4 frames a second against the
        card's 6, benchmarks/results/device_check.nvidia-h200.2026-11-28.log)."""
        network = network_seconds / max(1, self.units_at_once)
        if self.flow_workers <= 0:
            return network
        return max(network, frames * self.flow_seconds / self.flow_workers)


def estimate_before_render(
    objective: StyleObjective,
    optimizer: OptimizerSettings,
    *,
    fresh: int,
    later: int,
    width: int,
    height: int,
    pace: Pace | None = None,
) -> float:
    """Seconds a render of ``fresh`` first frames and ``later`` later visits will take, from
    a timing of the job's network at ``width`` x ``height``: a budget's worth of evaluations
    (later frames may stop early, so it errs long). On CUDA the iterations are timed as the
    render runs them, captured as a graph with their L-BFGS steps; elsewhere one evaluation
    eagerly, plus ``RENDER_OVERHEAD``."""
    if objective.device.type == "cuda":
        step = measure_graphed_iteration_seconds(objective, optimizer, width, height)
    else:
        step = measure_step_seconds(objective, width, height, repeats=2) * (1 + RENDER_OVERHEAD)
    seconds = render_seconds(optimizer, (width, height), fresh=fresh, later=later, step_seconds=step)
    return (pace or Pace()).wall_seconds(seconds, fresh + later)


def measure_graphed_iteration_seconds(
    objective: StyleObjective, optimizer: OptimizerSettings, width: int, height: int, iterations: int = 12
) -> float:
    """Seconds of one iteration as a frame runs it (on CUDA, replayed from a graph): a frame
    of ``iterations`` run twice, the second timed (the first warms up and captures)."""
    device = objective.device
    content = torch.rand(1, 3, height, width, device=device)
    settings = replace(optimizer, tolerance=0.0)
    timings = []
    for _ in range(2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        stylize_frame(objective, content, content, settings, iterations=iterations)
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    objective.release_runs()  # the render's own frames keep their own graphs
    return timings[-1] / iterations


def flow_seconds_per_frame(temporal: TemporalSettings, width: int, height: int) -> float:
    """Seconds of one later frame's flows on one worker: both ways to each neighbour measured
    apart (one link for chained long-term flows, one a neighbour for direct ones)."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (max(2, height // 6), max(2, width // 6), 3), dtype=np.uint8)
    frame = cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
    moved = np.roll(frame, 2, axis=1)
    estimator = FlowEstimator(temporal.flow, temporal.dis_preset)
    estimator(frame, moved)  # the first call sets the estimator up
    started = time.perf_counter()
    estimator(frame, moved)
    one = time.perf_counter() - started
    links = len(temporal.long_term) if temporal.long_term_flow == "direct" else 1
    return 2 * links * one


# What a later detail-pass frame spends beyond its one evaluation (two flows at up to 480 px,
# the warps, the start), as a share of an evaluation; a first frame's twenty iterations hide
# theirs (docs/experiments.md, "Steady at the size delivered" and "The detail pass").
LATER_DETAIL_HOST_SHARE = 0.1


def detail_seconds(painter: DetailPainter, *, fresh: int, later: int) -> float:
    """Seconds the detail pass will take over ``fresh`` first frames and ``later`` later
    ones, from a timing of its iteration at the delivered size."""
    step = painter.seconds_per_iteration()
    later_evaluations = LATER_DETAIL_EVALUATIONS + LATER_DETAIL_HOST_SHARE
    return (fresh * FIRST_DETAIL_ITERATIONS + later * later_evaluations) * step


def detail_seconds_after_preview(preview: PreviewFigures, *, fresh: int, later: int) -> float | None:
    """The detail pass's seconds over a full render, from what a preview's frames took (its
    detail pass runs at the full render's size and budget); None where the preview had none
    of a kind to go by."""
    first, rest = preview.first_detail_seconds, preview.later_detail_seconds
    if first is None or (later and rest is None):
        return None
    return fresh * first + later * (rest or 0.0)


def duration_text(seconds: float) -> str:
    """A duration in the unit a person reads it in: 45 s, 12 min, 3.5 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def at_source_size(job: Job, seconds: float, painted: tuple[int, int], source: tuple[int, int]) -> str:
    """What painting at the source's size would take, as a clause to add to an estimate of
    ``seconds`` at ``painted``: the same estimate scaled by the pixels, which the network's
    time grows with. Empty where the source is no larger or is painted at its size already."""
    pixels, source_pixels = painted[0] * painted[1], source[0] * source[1]
    if source_pixels <= pixels or job.size == "source":
        return ""
    larger = duration_text(seconds * source_pixels / pixels)
    return f"; {option_flag('size')} source would paint at {source[0]}x{source[1]}: about {larger}"


def estimate_full_render(
    job: Job,
    preview_job: Job,
    preview: PreviewFigures,
    frames: int,
    width: int,
    height: int,
    *,
    step_seconds: float | None = None,
) -> RenderEstimate:
    """Seconds to render ``frames`` frames with ``job`` at ``width`` x ``height``.

    Evaluations per frame come from the job's budgets, with the share of the later-frame
    budget that the preview's frames actually used (they stop early once converged); shots
    are as frequent as in the preview. Each evaluation costs a network step timed at the full
    size plus what the preview spent around each of its own (optimizer bookkeeping, flow,
    saving): timing the network alone was 15% low for the sample clip and 3x low for tiny ones.
    ``step_seconds`` gives that cost instead of timing it.
    """
    step = step_seconds if step_seconds is not None else _seconds_per_evaluation(job, preview, width, height)
    shots = max(1, round(frames * (len(preview.cuts) + 1) / max(1, preview.frames)))
    later_share = 1.0
    if preview.mean_later_iterations is not None:
        later_share = min(1.0, preview.mean_later_iterations / preview_job.optimizer.later_iterations)
    seconds = render_seconds(
        job.optimizer, (width, height), fresh=shots, later=frames - shots, step_seconds=step, later_share=later_share
    )
    return RenderEstimate(frames=frames, width=width, height=height, seconds=seconds, step_seconds=step)


def _seconds_per_evaluation(job: Job, preview: PreviewFigures, width: int, height: int) -> float:
    # One network for both timings: the preview differs from the job in size and budget only.
    objective = timing_objective(job)
    return measure_step_seconds(objective, width, height) + _overhead_per_evaluation(objective, preview)


def _overhead_per_evaluation(objective: StyleObjective, preview: PreviewFigures) -> float:
    """Seconds the preview spent per evaluation beyond the network step itself."""
    if preview.evaluations <= 0:
        return 0.0
    network = measure_step_seconds(objective, preview.painted_width, preview.painted_height)
    return max(0.0, preview.seconds_per_evaluation - network)
