"""The detail pass: a frame painted at the processing size, refined at the size it is delivered at.

A frame painted small and enlarged keeps the painted size's composition (the bold strokes
the preview showed) but none of the brushwork a painting has at the delivered size: at 1:1
it is as smooth as a photo. Painting at the delivered size instead loses that composition
(strokes shrink with the frame) and costs the pixels' ratio in time. The field's answer for
stills is coarse to fine: paint small, enlarge, and refine at the large size from the
enlargement with the style image at that size (Gatys et al. 2017, "Controlling Perceptual
Factors in Neural Style Transfer"). Here, per frame and steady in time:

- the style loss takes relu1_1, relu2_1 and relu3_1 only (a third of VGG19's arithmetic up to
  relu5_1): the brushwork; the painted frame already holds what the deeper layers see;
- a composition term holds the refined frame, shrunk to the painted size, to the painted
  frame: ``COMPOSITION_WEIGHT * mean((shrink(x) - painted)^2)``. Detail is free to appear
  only at the scales the painted size cannot hold;
- a later frame starts from the previous delivered frame warped along the flow between the
  source frames (at up to 480 px, enlarged: Ruder et al.'s warm start, at this size), its own
  painted frame enlarged in the warp's holes, and takes one step from there
  (``DetailPainter.carry``), in which the temporal term's pull towards the warped frame is
  solved exactly: where the warp is reliable the brushwork stays where the motion took it,
  and only a fraction of the step the style asks for is taken; in the holes, the whole step.

The weights and budgets were chosen by measuring (docs/experiments.md, "The detail pass").
No I/O here: frames in, frames out.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle import imageops, losses
from vidstyle.backend import Backend
from vidstyle.colour_space import ColourSpace
from vidstyle.lbfgs import LBFGS
from vidstyle.optimize import RANGE_PENALTY
from vidstyle.settings import LossWeights, StyleSettings
from vidstyle.sizes import fit_long_side
from vidstyle.style_targets import read_painting, style_image, style_long_side
from vidstyle.vgg import VGG19Features

log = logging.getLogger(__name__)

DETAIL_LAYERS = ("relu1_1", "relu2_1", "relu3_1")
# The detail pass's weights, in the objective's units (losses.py). At a 4x enlargement of
# pens.mp4 in The Starry Night's style, 1000 kept the style loss at the painted size within
# 15% of the painted frame's own while the style loss at the delivered size fell to a sixth
# of the Lanczos enlargement's; 10000 held the composition no better and let less detail in.
DETAIL_STYLE_WEIGHT = 10.0
COMPOSITION_WEIGHT = 1000.0
# The flow that carries the delivered frames from one to the next is measured on the source
# frames at the painted size or at this long side, whichever is larger (never above the
# delivered size), and enlarged: at 640x360 from 160 px, the painted size's flow left the
# warping error at 1.6x the painted frames' own, 480 px's at 1.0x, for two DIS flows at 480
# px a frame instead of at the painted size (docs/experiments.md, "The detail pass").
DETAIL_FLOW_LONG_SIDE = 480
# Iterations for a shot's first frame (from the plain enlargement), and network evaluations
# for a later one (one: the gradient its step is taken along, ``DetailPainter.carry``).
FIRST_DETAIL_ITERATIONS = 20
LATER_DETAIL_EVALUATIONS = 1
# How firmly a later frame holds the warped previous delivered frame where the flow is
# reliable, at the default --temporal-weight (it scales with it): the temporal term's
# curvature as a multiple of L-BFGS's estimate of the rest of the objective's (1/gamma), so
# that a reliable pixel takes 1/(1 + DETAIL_HOLD) of the step the style asks for. Not the
# painting's temporal weight copied to the delivered size: its curvature falls with the
# pixel count (the loss is a mean), so it held almost nothing and each frame's step
# repainted still brushwork (docs/experiments.md, "Steady at the size delivered").
DETAIL_HOLD = 3.0


@dataclass(frozen=True)
class DetailResult:
    """A delivered frame (uint8 RGB at the delivered size) and the iterations it took."""

    frame: np.ndarray
    iterations: int
    style_loss: float
    curvature_scale: float | None  # what later frames of the shot step with (DetailPainter.carry)


@dataclass(frozen=True)
class HeldDetail:
    """The previous delivered frame warped into this one, float32 (H, W, 3) 0-255; where that
    warp is reliable, float32 (H, W) in [0, 1] (Ruder et al.'s c, enlarged), which the
    temporal term weighs by; and where it has nothing to bring, float32 (H, W) in [0, 1] (out
    of frame or disoccluded, enlarged), which the start fills from this frame's own painting."""

    warped: np.ndarray
    mask: np.ndarray
    holes: np.ndarray


class DetailPainter:
    """Refines painted frames at the delivered size (``size``: width, height) for one job."""

    def __init__(
        self,
        style: StyleSettings,
        backend: Backend,
        size: tuple[int, int],
        painted: tuple[int, int],
        *,
        temporal_weight: float,
        reference_frame: np.ndarray | None = None,
    ) -> None:
        self.size = size
        # The size the flows between source frames are measured at (DETAIL_FLOW_LONG_SIDE).
        long_side = min(max(size), max(max(painted), DETAIL_FLOW_LONG_SIDE))
        self.flow_size = fit_long_side(size[0], size[1], long_side, even=True)
        self.device = backend.device
        # DETAIL_HOLD at the default temporal weight; 0 takes the style's whole step everywhere.
        self.hold = DETAIL_HOLD * temporal_weight / LossWeights().temporal
        self.colours = ColourSpace(style.preserve_colors, self.device)
        encoder = VGG19Features(DETAIL_LAYERS).to(self.device)
        self.network = encoder.in_compute_form(
            backend.dtype,
            channels_last=self.device.type in ("cuda", "cpu"),
            winograd=self.device.type == "cpu" and backend.dtype in (None, torch.float32),
        )
        self.gradient_scale = 2.0**16 if backend.dtype == torch.float16 else 1.0
        self.style_grams = self._style_grams(style, encoder, reference_frame)
        # The inverse curvature scale (L-BFGS's gamma) a shot's first frame ended with (``carry``).
        self.curvature_scale: float | None = None

    def _style_grams(
        self, style: StyleSettings, encoder: VGG19Features, reference_frame: np.ndarray | None
    ) -> dict[str, torch.Tensor]:
        """The style images' Grams at the delivered size (the style scale relative to it, as
        at every size), blended; luminance-matched with preserve_colors."""
        width, height = self.size
        long_side = style_long_side((height, width), style.scale)
        reference = None
        if reference_frame is not None:
            reference = self.colours.style_reference(imageops.enlarge_frame(reference_frame, width, height))
        grams: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for path, share in zip(style.paths, style.normalized_blend, strict=True):
                painting = read_painting(path, long_side, keep_borders=style.keep_borders)
                if max(painting.shape[:2]) < long_side:
                    log.warning(
                        "%s is %dx%d, smaller than the %dx%d frames it details: the detail pass can add only the "
                        "brushwork the painting holds (a larger scan of it gives finer strokes)",
                        path.name, painting.shape[1], painting.shape[0], width, height,
                    )  # fmt: skip
                image = style_image(painting, long_side, self.device)
                if reference is not None:
                    image = imageops.match_luminance(imageops.luminance_image(image), reference)
                features = encoder(image)
                for layer in DETAIL_LAYERS:
                    gram = losses.gram(features[layer]) * share
                    grams[layer] = grams[layer] + gram if layer in grams else gram
        return grams

    def start(self, painted: np.ndarray, held: HeldDetail | None) -> np.ndarray:
        """Where a frame's refinement starts, float32 (H, W, 3) 0-255: the previous delivered
        frame warped, and the painted frame enlarged in its holes (Ruder et al.'s warm start,
        its holes filled from this frame's own painting; the composition term then pulls the
        whole towards this frame's painted composition). Filling every pixel the check did
        not trust (motion boundaries too) made the detail fade on a handheld clip, a quarter
        of whose pixels fail the check at each frame: the sharpness of 1080p frames fell from
        9.3 to 4.7 over 24 frames. Laying only the warped frame's fine scales over the
        enlargement moved a seam with every frame: at 640x360 from 160 px the warping error
        was 2.4x (docs/experiments.md)."""
        width, height = self.size
        enlarged = imageops.enlarge_frame(painted, width, height).astype(np.float32)
        if held is None:
            return enlarged
        fill = held.holes[..., None]
        return (1.0 - fill) * held.warped + fill * enlarged

    def refine(
        self, painted: np.ndarray, held: HeldDetail | None = None, *, iterations: int | None = None
    ) -> DetailResult:
        """The delivered frame of ``painted`` (uint8 RGB at the processing size); ``held``:
        the previous delivered frame warped into this one, for a later frame of a shot
        (``carry``). Without it, ``iterations`` (default ``FIRST_DETAIL_ITERATIONS``) of
        L-BFGS from the enlargement, whose curvature scale the shot's later frames step with."""
        if held is not None and self.curvature_scale is not None:
            return self.carry(painted, held)
        budget = iterations or FIRST_DETAIL_ITERATIONS
        width, height = self.size
        enlarged = imageops.enlarge_frame(painted, width, height)
        image = self.colours.image(self.start(painted, held)).contiguous().clone().requires_grad_(True)
        target = self.colours.image(painted)
        optimizer = LBFGS(image.numel(), history_size=max(1, budget - 1), device=self.device, dtype=torch.float32)
        best_loss, best_style, best = math.inf, math.inf, image.detach().clone()
        for iteration in range(budget):
            total, style = self._gradient(image, target)
            with torch.no_grad():
                assert image.grad is not None
                loss = float(total)
                if loss < best_loss:
                    best_loss, best_style = loss, float(style)
                    best.copy_(image)
                if iteration < budget - 1:
                    optimizer.step(image.view(-1), image.grad.contiguous().view(-1))
        self.curvature_scale = float(optimizer.gamma)
        return DetailResult(
            frame=self.colours.frame(best.clamp(0.0, 1.0), enlarged),
            iterations=budget,
            style_loss=best_style / DETAIL_STYLE_WEIGHT,
            curvature_scale=self.curvature_scale,
        )

    def carry(self, painted: np.ndarray, held: HeldDetail) -> DetailResult:
        """A later frame: one evaluation at its start (``start``) and one step, the temporal
        term (Ruder et al.'s, towards ``held.warped`` where ``held.mask`` trusts it) solved
        exactly rather than linearized. With L-BFGS's inverse curvature gamma for the rest of
        the objective (the shot's first frame's, ``curvature_scale``) and k = hold * c:

            x1 = argmin g.(x - x0) + |x - x0|^2 / (2 gamma) + (k / (2 gamma)) c |x - w|^2
               = (x0 - gamma g + k w) / (1 + k).

        Two iterations of plain L-BFGS took the style's whole step or none: its temporal
        gradient is zero at a warped start, and the best of the two evaluations was kept, so
        still brushwork was kept unchanged for some frames and painted anew at the next
        (docs/experiments.md). Here every frame moves the same small way, and one evaluation
        is half the cost of two."""
        assert self.curvature_scale is not None
        width, height = self.size
        image = self.colours.image(self.start(painted, held)).contiguous().requires_grad_(True)
        _, style = self._gradient(image, self.colours.image(painted))
        with torch.no_grad():
            assert image.grad is not None
            gamma = self.curvature_scale
            k = self.hold * torch.from_numpy(held.mask)[None, None].to(self.device)
            warped = self.colours.image(held.warped)
            stepped = (image - gamma * image.grad + k * warped) / (1.0 + k)
        return DetailResult(
            frame=self.colours.frame(stepped.clamp(0.0, 1.0), imageops.enlarge_frame(painted, width, height)),
            iterations=LATER_DETAIL_EVALUATIONS,
            style_loss=float(style) / DETAIL_STYLE_WEIGHT,  # at the start: the step is not evaluated
            curvature_scale=self.curvature_scale,
        )

    def _gradient(self, image: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective at ``image`` and its weighted style part, its gradient left in
        ``image.grad`` (unscaled)."""
        image.grad = None
        total, style = self._loss(image, target)
        (total * self.gradient_scale).backward()
        if self.gradient_scale != 1.0:
            assert image.grad is not None
            image.grad.div_(self.gradient_scale)
        return total.detach(), style.detach()

    def seconds_per_iteration(self, repeats: int = 2) -> float:
        """Seconds of one iteration at the delivered size (the network forward and backward,
        and the objective around it), timed on a grey frame: for the estimate."""
        width, height = self.size
        painted = np.full((max(16, height // 4), max(16, width // 4), 3), 128, dtype=np.uint8)
        target = self.colours.image(painted)
        image = self.colours.image(np.full((height, width, 3), 128, dtype=np.uint8)).contiguous().requires_grad_(True)
        timings = []
        for _ in range(repeats + 1):
            started = time.perf_counter()
            self._gradient(image, target)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            timings.append(time.perf_counter() - started)
        return min(timings[1:])  # the first pays for one-off setup

    def _loss(self, image: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The detail pass's objective but the temporal term (``carry`` solves that one) and
        its weighted style part (the network sees the image clamped to [0, 1], the gradient
        passing the clamp, as in optimize.py)."""
        seen = image + (image.clamp(0.0, 1.0) - image).detach()
        features = self.network(seen)
        style = DETAIL_STYLE_WEIGHT * losses.style_loss(
            features, self.style_grams, {layer: 1.0 / len(DETAIL_LAYERS) for layer in DETAIL_LAYERS}
        )
        shrunk = F.interpolate(seen, size=target.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
        total = style + COMPOSITION_WEIGHT * (shrunk - target).pow(2).mean()
        total = total + RANGE_PENALTY * ((image - 1.0).relu().pow(2).mean() + (-image).relu().pow(2).mean())
        return total, style
