"""One frame's optimization (Gatys et al. 2015, with Ruder et al. 2016's temporal term).

No I/O here: images in, image out, progress through a callback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidstyle import losses
from vidstyle.config import LossWeights, OptimizerSettings
from vidstyle.device import autocast
from vidstyle.encoder import VGG19Features

# Weight of the squared excess of pixels outside [0, 1] while optimizing (see stylize_frame).
RANGE_PENALTY = 10.0

StepCallback = Callable[[int, int, float], None]
"""Called after each iteration with (iteration, iteration budget, total loss)."""


@dataclass(frozen=True)
class TemporalTerm:
    """A previous output warped into this frame, and where that warp can be trusted.

    warped: (1, 3, H, W) in [0, 1]; mask: (1, 1, H, W) in [0, 1] (Ruder et al.'s c).
    """

    warped: torch.Tensor
    mask: torch.Tensor


@dataclass(frozen=True)
class LossParts:
    """The weighted terms of one evaluation and their sum."""

    total: float
    content: float
    style: float
    tv: float
    temporal: float


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
        amp_dtype: torch.dtype | None = None,
        margin: int = 0,
    ) -> None:
        self.encoder = encoder
        self.weights = weights
        self.amp_dtype = amp_dtype
        self.margin = margin
        self.device = encoder.mean.device
        self.style_grams: dict[str, torch.Tensor] = {}

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        # Reflection needs a margin smaller than the image.
        margin = min(self.margin, image.shape[-2] - 1, image.shape[-1] - 1)
        if margin > 0:
            image = F.pad(image, (margin, margin, margin, margin), mode="reflect")
        with autocast(self.device, self.amp_dtype):
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

    def content_features(self, content: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.features(content)[self.weights.content_layer].detach()

    def evaluate(
        self,
        image: torch.Tensor,
        content_target: torch.Tensor,
        temporal: Sequence[TemporalTerm] = (),
    ) -> tuple[torch.Tensor, LossParts]:
        """Total loss (a differentiable scalar) and its weighted parts."""
        if not self.style_grams:
            raise RuntimeError("set_style() must be called before evaluate()")
        features = self.features(image)
        # Losses are taken outside autocast: they cast to fp32 themselves, and autocast would
        # send the Gram matmul back to bf16.
        w = self.weights
        content = w.content * losses.content_loss(features[w.content_layer], content_target)
        style = w.style * losses.style_loss(features, self.style_grams, w.style_layer_weights)
        tv = w.tv * losses.tv_loss(image)
        temporal_total = torch.zeros((), device=image.device)
        for term in temporal:
            temporal_total = temporal_total + losses.temporal_loss(image, term.warped, term.mask)
        temporal_total = w.temporal * temporal_total
        total = content + style + tv + temporal_total
        parts = LossParts(
            total=float(total.detach()),
            content=float(content.detach()),
            style=float(style.detach()),
            tv=float(tv.detach()),
            temporal=float(temporal_total.detach()),
        )
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
    """
    if content_target is None:
        content_target = objective.content_features(content)
    image = init.detach().clone().float().requires_grad_(True)
    optimizer: torch.optim.Optimizer
    if settings.optimizer == "lbfgs":
        # max_iter=1 per step() keeps L-BFGS's history across calls while giving us control
        # after every iteration; tolerances are ours, so torch's own are disabled.
        optimizer = torch.optim.LBFGS(
            [image],
            lr=1.0,
            max_iter=1,
            history_size=settings.history_size,
            tolerance_grad=-1.0,
            tolerance_change=-1.0,
        )
    else:
        optimizer = torch.optim.Adam([image], lr=settings.learning_rate)

    history: list[float] = []
    best_loss = math.inf
    best_image = image.detach().clone()
    best_parts: LossParts | None = None

    def closure() -> torch.Tensor:
        nonlocal best_loss, best_image, best_parts
        optimizer.zero_grad(set_to_none=True)
        # The network sees the image as it will be delivered, clamped to [0, 1]. The gradient
        # passes the clamp unchanged (a hard clamp would freeze pixels that overshoot), and a
        # penalty pulls strays back. Optimizing unclamped and clamping at the end, as usual,
        # cost 12% of the loss on pens.mp4 (1.68 in the loop, 1.89 once clamped).
        total, parts = objective.evaluate(_StraightThroughClamp.apply(image), content_target, temporal)
        total = total + RANGE_PENALTY * ((image - 1.0).relu().pow(2).mean() + (-image).relu().pow(2).mean())
        total.backward()
        # oneDNN may hand back a channels-last gradient; L-BFGS flattens it with view().
        image.grad = image.grad.contiguous()  # type: ignore[union-attr]
        history.append(parts.total)
        # The image evaluated here is the one before this iteration's update: keep the best
        # evaluated one, so the reported losses belong to the returned image.
        if parts.total < best_loss:
            best_loss, best_parts = parts.total, parts
            best_image = image.detach().clone()
        return total

    iteration = 0
    while iteration < iterations:
        optimizer.step(closure)  # type: ignore[no-untyped-call]
        iteration += 1
        if settings.optimizer == "adam":
            with torch.no_grad():
                image.clamp_(0.0, 1.0)
        loss = history[-1]
        if on_step is not None:
            on_step(iteration, iterations, loss)
        if not math.isfinite(loss):
            break
        if _converged(history, settings.window, settings.tolerance):
            break
    if best_parts is None:
        raise FloatingPointError("the loss was not finite at the first evaluation")
    return FrameResult(
        image=best_image.clamp_(0.0, 1.0),
        losses=best_parts,
        iterations=iteration,
        evaluations=len(history),
        history=tuple(history),
    )


class _StraightThroughClamp(torch.autograd.Function):
    """Clamp to [0, 1] going forward; pass the gradient through unchanged going back."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, image: torch.Tensor) -> torch.Tensor:
        return image.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def _converged(history: Sequence[float], window: int, tolerance: float) -> bool:
    """Whether the loss fell by less than ``tolerance`` relative over the last ``window`` steps."""
    if tolerance <= 0 or len(history) <= window:
        return False
    before, now = history[-window - 1], history[-1]
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
    return parts


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
