"""One frame's optimization (Gatys et al. 2015, with Ruder et al. 2016's temporal term):
L-BFGS (or Adam) over the pixels of an image, iteration by iteration on the device, its
iterations captured as a CUDA graph where they can be (``cuda_graphs.py``). The loss is
``objective.py``'s.

No I/O here: images in, image out, progress through a callback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from vidstyle.cuda_graphs import GraphedStep
from vidstyle.lbfgs import LBFGS
from vidstyle.objective import LOSS_PART_NAMES, LossParts, StyleObjective, TemporalTerm
from vidstyle.settings import OptimizerSettings

# Weight of the squared excess of pixels outside [0, 1] while optimizing (see stylize_frame).
RANGE_PENALTY = 10.0


StepCallback = Callable[[int, int, float], None]


"""Called after each iteration with (iteration, iteration budget, total loss)."""


@dataclass(frozen=True)
class FrameResult:
    """The best image found, (1, 3, H, W) in [0, 1], with the losses measured on it."""

    image: torch.Tensor
    losses: LossParts
    iterations: int
    evaluations: int
    history: tuple[float, ...]


def stylize_frame(
    objective: StyleObjective,
    content: torch.Tensor,
    init: torch.Tensor,
    settings: OptimizerSettings,
    *,
    iterations: int,
    temporal: Sequence[TemporalTerm] = (),
    content_target: torch.Tensor | None = None,
    on_step: StepCallback | None = None,
) -> FrameResult:
    """Optimize the pixels of ``init`` towards content ``content`` in the objective's style.

    content, init: (1, 3, H, W) in [0, 1]. Stops after ``iterations`` iterations, or once the
    loss fell by less than ``settings.tolerance`` (relative) over ``settings.window``
    iterations. L-BFGS here evaluates the loss once per iteration (fixed step, no line
    search, as in Gatys' and Ruder's Torch code), so iterations equal network evaluations.

    The iterations never wait for the device: the losses are logged on it and read every
    ``window`` iterations on an accelerator (every iteration on the CPU, where reading costs
    nothing), and the stopping test and ``on_step`` run then. So on a GPU a frame may run up to
    ``window - 1`` iterations past the point where the CPU would have stopped.
    """
    if content_target is None:
        content_target = objective.content_features(content)
    run = frame_run(objective, tuple(init.shape), settings, iterations, len(temporal))
    run.load(init, content_target, temporal)
    read_every = 1 if run.image.device.type == "cpu" else settings.window
    history: list[float] = []
    done = 0
    while done < iterations:
        run.iterate(last=done == iterations - 1)
        done += 1
        if done % read_every and done < iterations:
            continue
        fresh = run.log[len(history) : done, 0].tolist()  # the one host read of these iterations
        stop = False
        for loss in fresh:
            history.append(loss)
            if on_step is not None:
                on_step(len(history), iterations, loss)
            stop = stop or not math.isfinite(loss) or _converged(history, settings.window, settings.tolerance)
        if stop:
            break
    best = LossParts.from_tensor(run.best_parts)
    if not math.isfinite(best.total):
        raise FloatingPointError("the loss was not finite at the first evaluation")
    return FrameResult(
        image=run.best_image.clamp(0.0, 1.0),
        losses=best,
        iterations=done,
        evaluations=done,
        history=tuple(history),
    )


def frame_run(
    objective: StyleObjective, shape: tuple[int, ...], settings: OptimizerSettings, iterations: int, temporal_terms: int
) -> _FrameRun:
    """The optimization state for frames of this shape and budget.

    Kept across frames where CUDA graphs replay it; elsewhere made afresh, so that its
    L-BFGS history (2 x history_size floats per pixel) is freed after each frame.
    """
    if not (objective.use_cuda_graphs and objective.device.type == "cuda"):
        return _FrameRun(objective, shape, settings, iterations, temporal_terms)
    key = (shape, settings, iterations, temporal_terms)
    run = objective.runs.get(key)
    if run is None:
        run = objective.runs[key] = _FrameRun(objective, shape, settings, iterations, temporal_terms)
    return run


# Eager iterations before a CUDA graph is captured: cuDNN picks its algorithms and the
# allocator settles during these.
_GRAPH_WARMUP = 3


class _FrameRun:
    """The state of one frame's optimization, advanced one iteration at a time.

    Every buffer lives on the device, and ``iterate`` is a fixed sequence of kernels with no
    host read, so iterations queue up on a GPU without waiting for each other. On CUDA, after
    a few eager iterations, one iteration (forward, backward, L-BFGS step, bookkeeping) is
    captured as a CUDA graph and replayed: one launch instead of some 300. The buffers are
    static for that reason, and a run is kept by the objective and reloaded for every frame of
    the same shape (``load``), so a shot's frames share one graph.
    """

    def __init__(
        self,
        objective: StyleObjective,
        shape: tuple[int, ...],
        settings: OptimizerSettings,
        iterations: int,
        temporal_terms: int,
    ) -> None:
        self.objective = objective
        device = objective.device
        self.image = torch.zeros(shape, device=device).requires_grad_(True)
        self.content_target: torch.Tensor | None = None
        height, width = shape[-2:]
        self.temporal = [
            TemporalTerm(
                warped=torch.zeros(1, 3, height, width, device=device),
                mask=torch.zeros(1, 1, height, width, device=device),
            )
            for _ in range(temporal_terms)
        ]
        self.log = torch.empty((iterations, len(LOSS_PART_NAMES)), device=device)
        self.count = torch.zeros((), dtype=torch.long, device=device)
        self.best_parts = torch.empty((len(LOSS_PART_NAMES),), device=device)
        self.best_image = torch.empty(shape, device=device)
        self.lbfgs: LBFGS | None = None
        self.settings = settings
        if settings.optimizer == "lbfgs":
            # A frame of k iterations takes k - 1 steps and stores at most k - 1 pairs; further
            # slots would hold zeros and still be read, seven times an iteration. The iterates
            # are the same (tests/test_lbfgs.py): a 15-iteration later frame keeps 14 pairs, not 50.
            history_size = min(settings.history_size, max(1, iterations - 1))
            self.lbfgs = LBFGS(self.image.numel(), history_size=history_size, device=device, dtype=torch.float32)
        self.adam: torch.optim.Adam | None = None
        # Adam keeps its step count on the host: graphs are for L-BFGS only.
        graphable = objective.use_cuda_graphs and device.type == "cuda" and self.lbfgs is not None
        self.graphed = GraphedStep(self._iteration, device, _GRAPH_WARMUP) if graphable else None

    def load(self, init: torch.Tensor, content_target: torch.Tensor, temporal: Sequence[TemporalTerm]) -> None:
        """Start a new frame: copy its inputs into the static buffers and reset the state."""
        with torch.no_grad():
            self.image.copy_(init)
            if self.content_target is None or self.content_target.shape != content_target.shape:
                self.content_target = content_target.detach().clone()
            else:
                self.content_target.copy_(content_target)
            for static, term in zip(self.temporal, temporal, strict=True):
                static.warped.copy_(term.warped.expand_as(static.warped))
                static.mask.copy_(term.mask.reshape(static.mask.shape))
            self.log.fill_(math.nan)
            self.count.zero_()
            self.best_parts.fill_(math.inf)
            self.best_image.copy_(init)
        if self.lbfgs is not None:
            self.lbfgs.reset()
        else:
            self.adam = torch.optim.Adam([self.image], lr=self.settings.learning_rate)

    def iterate(self, *, last: bool = False) -> None:
        """One evaluation and, unless ``last``, the step it gives. The frame's result is the
        best image evaluated, so the last iteration's step would never be looked at. A graph
        replays the step regardless (its result is discarded the same way)."""
        if self.graphed is None or (last and self.graphed.graph is None):
            self._iteration(step=not last)
            return
        self.graphed()

    def _iteration(self, *, step: bool = True) -> None:
        image = self.image
        assert self.content_target is not None
        image.grad = None
        # The network sees the image as it will be delivered, clamped to [0, 1]. The gradient
        # passes the clamp unchanged (a hard clamp would freeze pixels that overshoot), and a
        # penalty pulls strays back. Optimizing unclamped and clamping at the end, as usual,
        # cost 12% of the loss on pens.mp4 (1.68 in the loop, 1.89 once clamped).
        total, parts = self.objective.evaluate(_StraightThroughClamp.apply(image), self.content_target, self.temporal)
        total = total + RANGE_PENALTY * ((image - 1.0).relu().pow(2).mean() + (-image).relu().pow(2).mean())
        scale = self.objective.gradient_scale
        (total * scale if scale != 1.0 else total).backward()
        with torch.no_grad():
            assert image.grad is not None
            if scale != 1.0:
                image.grad.div_(scale)
            # The image evaluated here is the one before this iteration's update: keep the best
            # evaluated one, so the reported losses belong to the returned image. NaN is never better.
            better = parts[0] < self.best_parts[0]
            self.best_parts.copy_(torch.where(better, parts, self.best_parts))
            self.best_image.copy_(torch.where(better, image, self.best_image))
            self.log.index_copy_(0, self.count.view(1), parts[None])
            self.count.add_(1)
            if self.lbfgs is not None and step:
                # oneDNN may hand back a channels-last gradient; L-BFGS works on flat views.
                self.lbfgs.step(image.view(-1), image.grad.contiguous().view(-1))
        if self.adam is not None and step:
            self.adam.step()
            with torch.no_grad():
                image.clamp_(0.0, 1.0)


class _StraightThroughClamp(torch.autograd.Function):
    """Clamp to [0, 1] going forward; pass the gradient through unchanged going back."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, image: torch.Tensor) -> torch.Tensor:
        return image.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def _converged(history: Sequence[float], window: int, tolerance: float) -> bool:
    """Whether the best loss so far fell by less than ``tolerance`` relative over the last
    ``window`` steps. The best, not the latest: without a line search the loss is not
    monotone, and comparing the latest let one upward spike end a frame early."""
    if tolerance <= 0 or len(history) <= window:
        return False
    before, now = min(history[:-window]), min(history)
    return (before - now) < tolerance * abs(before)
