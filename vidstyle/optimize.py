"""One frame's optimization (Gatys et al. 2015, with Ruder et al. 2016's temporal term).

No I/O here: images in, image out, progress through a callback.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidstyle import losses
from vidstyle.config import LossWeights, OptimizerSettings
from vidstyle.lbfgs import LBFGS
from vidstyle.vgg import VGG19Features

log = logging.getLogger(__name__)

# Weight of the squared excess of pixels outside [0, 1] while optimizing (see stylize_frame).
RANGE_PENALTY = 10.0

# fp16 gradients through VGG19 underflow: at 256x192 the image gradient of an fp16 network
# pointed 66 degrees away from fp32's (cosine 0.41). The loss is multiplied by this before the
# backward pass and the gradient divided by it after: cosine 0.9997 from 2^8 to 2^24 at 128 and
# 256 px, with no overflow. bf16 has fp32's range and needs no scaling.
FP16_GRADIENT_SCALE = 2.0**16

StepCallback = Callable[[int, int, float], None]
"""Called after each iteration with (iteration, iteration budget, total loss)."""


@dataclass(frozen=True)
class TemporalTerm:
    """A previous output warped into this frame, and where that warp can be trusted.

    warped: (1, 3, H, W) in [0, 1]; mask: (1, 1, H, W) in [0, 1] (Ruder et al.'s c).
    """

    warped: torch.Tensor
    mask: torch.Tensor


LOSS_PART_NAMES = ("total", "content", "style", "tv", "temporal")


@dataclass(frozen=True)
class LossParts:
    """The weighted terms of one evaluation and their sum."""

    total: float
    content: float
    style: float
    tv: float
    temporal: float

    @classmethod
    def from_tensor(cls, values: torch.Tensor) -> LossParts:
        """From the stacked parts (5,) that ``StyleObjective.evaluate`` returns: one host read."""
        total, content, style, tv, temporal = values.tolist()
        return cls(total=total, content=content, style=style, tv=tv, temporal=temporal)


@dataclass(frozen=True)
class FrameResult:
    """The best image found, (1, 3, H, W) in [0, 1], with the losses measured on it."""

    image: torch.Tensor
    losses: LossParts
    iterations: int
    evaluations: int
    history: tuple[float, ...]


class StyleObjective:
    """The loss of Gatys et al. against fixed style targets, for frames of any size.

    Style Gram matrices are computed once (``set_style``) and reused for every frame;
    content features once per frame (``content_features``).

    ``compute_dtype`` is the dtype the network runs in (None: fp32); its weights are cast to it
    once, here. On CUDA and on the CPU the network runs channels-last, the layout that cuDNN's
    tensor-core convolutions and oneDNN's read directly: on a 2-core AVX2 CPU one evaluation at
    394x480 (forward, losses, backward) took 2.38-2.56 s instead of 2.75-2.84 s in fp32. On the
    CPU in fp32 the convolutions with 256 outputs or more run by Winograd's F(4x4, 3x3)
    (winograd.py): a later frame at 394x480 took 32.4-32.5 s instead of 44.7 s.

    ``margin`` mirrors that many pixels around each image before the network. VGG19 pads every
    convolution with zeros, so each layer sees a dark edge around the picture, and a stylized
    frame grows a frame of its own: a line some 10 px inside each border (pens.mp4 at 176 px).
    With the picture mirrored outwards, the edge the network sees lies outside it. Losses as
    Gatys et al. define them, for measuring, take no margin (see ``EngineSettings.edge_margin``).
    """

    def __init__(
        self,
        encoder: VGG19Features,
        weights: LossWeights,
        *,
        compute_dtype: torch.dtype | None = None,
        margin: int = 0,
    ) -> None:
        self.device = encoder.mean.device
        self.encoder = encoder.in_compute_form(
            compute_dtype,
            channels_last=self.device.type in ("cuda", "cpu"),
            winograd=self.device.type == "cpu" and compute_dtype in (None, torch.float32),
        )
        self.weights = weights
        self.compute_dtype = compute_dtype
        self.gradient_scale = FP16_GRADIENT_SCALE if compute_dtype == torch.float16 else 1.0
        self.margin = margin
        self.style_grams: dict[str, torch.Tensor] = {}
        # CUDA graphs of the iteration (see _FrameRun); benchmarks turn them off to compare.
        self.use_cuda_graphs = True
        self._runs: dict[tuple[object, ...], _FrameRun] = {}

    def frame_run(
        self, shape: tuple[int, ...], settings: OptimizerSettings, iterations: int, temporal_terms: int
    ) -> _FrameRun:
        """The optimization state for frames of this shape and budget.

        Kept across frames where CUDA graphs replay it; elsewhere made afresh, so that its
        L-BFGS history (2 x history_size floats per pixel) is freed after each frame.
        """
        if not (self.use_cuda_graphs and self.device.type == "cuda"):
            return _FrameRun(self, shape, settings, iterations, temporal_terms)
        key = (shape, settings, iterations, temporal_terms)
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = _FrameRun(self, shape, settings, iterations, temporal_terms)
        return run

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        # Reflection needs a margin smaller than the image.
        margin = min(self.margin, image.shape[-2] - 1, image.shape[-1] - 1)
        if margin > 0:
            image = F.pad(image, (margin, margin, margin, margin), mode="reflect")
        return self.encoder(image)

    def set_style(self, style_images: Sequence[torch.Tensor], blend: Sequence[float]) -> None:
        """Target Grams: the blend-weighted mean of each style image's Grams."""
        grams: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for image, share in zip(style_images, blend, strict=True):
                features = self.features(image)
                for layer in self.weights.style_layers:
                    layer_gram = losses.gram(features[layer]) * share
                    grams[layer] = grams[layer] + layer_gram if layer in grams else layer_gram
        self.style_grams = grams
        self._runs.clear()  # their graphs read the old targets

    def content_features(self, content: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.features(content)[self.weights.content_layer].detach()

    def evaluate(
        self,
        image: torch.Tensor,
        content_target: torch.Tensor,
        temporal: Sequence[TemporalTerm] = (),
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Total loss (a differentiable scalar) and its weighted parts, stacked as
        ``LOSS_PART_NAMES`` (5,) and detached. Nothing here waits for the device."""
        if not self.style_grams:
            raise RuntimeError("set_style() must be called before evaluate()")
        features = self.features(image)
        # Losses cast to fp32 themselves (losses.py).
        w = self.weights
        content = w.content * losses.content_loss(features[w.content_layer], content_target)
        style = w.style * losses.style_loss(features, self.style_grams, w.style_layer_weights)
        tv = w.tv * losses.tv_loss(image)
        temporal_total = torch.zeros((), device=image.device)
        for term in temporal:
            temporal_total = temporal_total + losses.temporal_loss(image, term.warped, term.mask)
        temporal_total = w.temporal * temporal_total
        total = content + style + tv + temporal_total
        parts = torch.stack([total, content, style, tv, temporal_total]).detach()
        return total, parts


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
    run = objective.frame_run(tuple(init.shape), settings, iterations, len(temporal))
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


# Eager iterations before a CUDA graph is captured: cuDNN picks its algorithms and the
# allocator settles during these (on a side stream, as torch.cuda.graph asks).
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
        self.graphable = objective.use_cuda_graphs and device.type == "cuda" and self.lbfgs is not None
        self.graph: torch.cuda.CUDAGraph | None = None
        self._eager_iterations = 0

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
        if self.graph is not None:
            self.graph.replay()
            return
        if not self.graphable or last:
            self._iteration(step=not last)
            return
        if self._eager_iterations < _GRAPH_WARMUP:
            side = torch.cuda.Stream(self.image.device)
            side.wait_stream(torch.cuda.current_stream(self.image.device))
            with torch.cuda.stream(side):
                self._iteration()
            torch.cuda.current_stream(self.image.device).wait_stream(side)
            self._eager_iterations += 1
            return
        try:
            graph = torch.cuda.CUDAGraph()
            # thread_local: the flow workers, the saver and callers' threads may touch CUDA while
            # this thread captures. With the default ("global") one of them voided the capture
            # of a 480 px render on an H200, whose iterations then ran eagerly (10 ms, not 3).
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._iteration()  # recorded, not run
        except RuntimeError as exc:
            # Capture refuses anything that waits for the device; run eagerly rather than fail.
            log.warning("CUDA graph capture failed, optimizing without graphs: %s", exc)
            self.graphable = False
            self.objective.use_cuda_graphs = False
            self._iteration()
            return
        self.graph = graph
        graph.replay()

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


def measure_losses(
    objective: StyleObjective,
    image: torch.Tensor,
    content: torch.Tensor,
    temporal: Sequence[TemporalTerm] = (),
) -> LossParts:
    """The weighted loss parts of ``image`` against ``content``, without optimizing."""
    with torch.no_grad():
        _, parts = objective.evaluate(image, objective.content_features(content), temporal)
    return LossParts.from_tensor(parts)


def unweighted(parts: LossParts, weights: LossWeights) -> Mapping[str, float]:
    """Loss parts divided by their weights, for comparing runs with different weights."""

    def divide(value: float, weight: float) -> float:
        return value / weight if weight else 0.0

    return {
        "content": divide(parts.content, weights.content),
        "style": divide(parts.style, weights.style),
        "tv": divide(parts.tv, weights.tv),
        "temporal": divide(parts.temporal, weights.temporal),
    }
