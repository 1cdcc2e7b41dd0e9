"""How long a full render will take, from a preview's record and a timing at full size."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from vidstyle.config import Job
from vidstyle.device import network_dtype, resolve_device
from vidstyle.encoder import VGG19Features
from vidstyle.optimize import StyleObjective
from vidstyle.pipeline import VideoReport


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
    device = resolve_device(job.engine.device)
    encoder = VGG19Features([job.losses.content_layer, *job.losses.style_layers], weights=job.engine.weights)
    objective = StyleObjective(
        encoder.to(device),
        job.losses,
        compute_dtype=network_dtype(device, job.engine.precision),
        margin=job.engine.edge_margin,
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


def estimate_full_render(
    job: Job,
    preview_job: Job,
    preview: VideoReport,
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
    optimizer = job.optimizer
    # A first frame runs each coarse level (1/4 of the pixels per halving) for the full budget,
    # then the full size for half of it.
    coarse = sum(0.25**level for level in range(1, optimizer.scales))
    full_size_steps = optimizer.iterations // 2 if optimizer.scales > 1 else optimizer.iterations
    first_frame_steps = optimizer.iterations * coarse + full_size_steps
    shots = max(1, round(frames * (len(preview.cuts) + 1) / max(1, preview.frames)))
    later_share = 1.0
    if preview.mean_later_iterations is not None:
        later_share = min(1.0, preview.mean_later_iterations / preview_job.optimizer.later_iterations)
    later_steps = optimizer.later_iterations * later_share
    seconds = (shots * first_frame_steps + (frames - shots) * later_steps) * step
    return RenderEstimate(frames=frames, width=width, height=height, seconds=seconds, step_seconds=step)


def _seconds_per_evaluation(job: Job, preview: VideoReport, width: int, height: int) -> float:
    # One network for both timings: the preview differs from the job in size and budget only.
    objective = timing_objective(job)
    return measure_step_seconds(objective, width, height) + _overhead_per_evaluation(objective, preview)


def _overhead_per_evaluation(objective: StyleObjective, preview: VideoReport) -> float:
    """Seconds the preview spent per evaluation beyond the network step itself."""
    if preview.evaluations <= 0:
        return 0.0
    network = measure_step_seconds(objective, preview.width, preview.height)
    return max(0.0, preview.seconds_per_evaluation - network)
