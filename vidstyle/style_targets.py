"""The style targets of a job: the Gram matrices of the style images, for each size a frame is
optimized at. A function of the style images, the style settings and the sizes alone (and
of the network that measures them), computed once per job.

Each pyramid level gets its own targets, from the style images resized as that level resizes
the content. One set for all levels had a half-size level chase brush strokes twice too
large: samples/starry_night.jpg itself, resized as the half-size level of a 512 px frame
resizes it, scored a style loss of 0.22 against the full size's targets (0.85 at a quarter)
and under 0.002 against its own (tests/test_stylizer.py); finished frames score about 0.05.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vidstyle import imageops
from vidstyle.borders import uniform_border
from vidstyle.device import check_style_fits
from vidstyle.objective import StyleObjective
from vidstyle.settings import StyleSettings
from vidstyle.sizes import fit_long_side

log = logging.getLogger(__name__)

# Style images are read at least this large to find their borders.
_BORDER_LONG_SIDE = 1024


def style_targets(
    objective: StyleObjective,
    style: StyleSettings,
    levels: Sequence[tuple[int, int]],
    reference: torch.Tensor | None = None,
) -> dict[tuple[int, int], dict[str, torch.Tensor]]:
    """The style Grams for each level ((height, width), the last the full size), measured by
    ``objective``'s network. ``reference``: the content's luminance image, to match the style
    images' luminance to it (``preserve_colors``)."""
    device = objective.device
    full_long_side = style_long_side(levels[-1], style.scale)
    paintings = [read_painting(path, full_long_side, keep_borders=style.keep_borders) for path in style.paths]
    for painting in paintings:
        check_style_fits(device, *fit_long_side(painting.shape[1], painting.shape[0], full_long_side), style.scale)
    targets = {}
    for level in levels:
        long_side = style_long_side(level, style.scale)
        images = [style_image(painting, long_side, device) for painting in paintings]
        if reference is not None:
            images = [imageops.match_luminance(imageops.luminance_image(image), reference) for image in images]
        objective.set_style(images, style.normalized_blend)
        targets[level] = objective.style_grams
    return targets


def style_long_side(level: tuple[int, int], scale: float) -> int:
    """The style image's long side for content of this (height, width): the style scale is
    relative to the content, at every level."""
    return max(16, round(max(level) * scale))


def read_painting(path: Path, long_side: int, *, keep_borders: bool = False) -> np.ndarray:
    """A style image as read (no larger than needed), its uniform border trimmed unless
    ``keep_borders``: frames and mats would otherwise be painted along the picture's edges."""
    if keep_borders:
        return imageops.read_image(path, max_long_side=long_side)
    # Read large enough to see a thin frame: at 1/8 scale a 7 px one is gone.
    frame = imageops.read_image(path, max_long_side=max(long_side, _BORDER_LONG_SIDE))
    border = uniform_border(frame)
    if border:
        height, width = frame.shape[:2]
        log.info(
            "%s: trimmed its border (%d, %d, %d, %d px from the top, bottom, left and right of %dx%d); "
            "--keep-style-borders keeps it",
            path.name, border.top, border.bottom, border.left, border.right, width, height,
        )  # fmt: skip
    return border.trim(frame)


def style_image(painting: np.ndarray, long_side: int, device: torch.device) -> torch.Tensor:
    """A painting as the network sees it at this long side: enlarged too where it is smaller
    (the style scale is relative to the content)."""
    width, height = fit_long_side(painting.shape[1], painting.shape[0], long_side)
    return imageops.frame_to_image(imageops.resize_frame(painting, width, height), device)
