"""The objective of one frame's optimization: Gatys et al.'s content and Gram-style losses and
total variation, with Ruder et al. 2016's temporal term, against fixed style targets, for
frames of any size. No optimizer here (``optimize.py``): an image in, a loss out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vidstyle import losses
from vidstyle.settings import LossWeights
from vidstyle.vgg import VGG19Features

# fp16 gradients through VGG19 underflow: at 256x192 the image gradient of an fp16 network
# pointed 66 degrees away from fp32's (cosine 0.41). The loss is multiplied by this before the
# backward pass and the gradient divided by it after: cosine 0.9997 from 2^8 to 2^24 at 128 and
# 256 px, with no overflow. bf16 has fp32's range and needs no scaling.
FP16_GRADIENT_SCALE = 2.0**16


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
        # CUDA graphs of the iteration (optimize.py); benchmarks turn them off to compare.
        self.use_cuda_graphs = True
        # The optimizations kept for frames of one shape and budget where graphs replay them
        # (optimize.frame_run), by that shape and budget.
        self.runs: dict[tuple[object, ...], Any] = {}

    def release_runs(self) -> None:
        """Forget the kept runs and their graphs (their memory returns to the allocator)."""
        self.runs.clear()

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
        self.runs.clear()  # their graphs read the old targets

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
