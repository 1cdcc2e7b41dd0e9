"""The per-job style model: colours, starts, coarse-to-fine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import textured_frame
from vidstyle import imageops, losses
from vidstyle.config import build_job
from vidstyle.errors import UsageError
from vidstyle.pyramid import pyramid
from vidstyle.settings import EngineSettings, LossWeights, OptimizerSettings, StyleSettings
from vidstyle.stylizer import Stylizer


def _stylizer(style_path, frame, *, preserve_colors: bool = False, scales: int = 1) -> Stylizer:
    return Stylizer(
        StyleSettings(paths=(style_path,), preserve_colors=preserve_colors),
        LossWeights(),
        OptimizerSettings(tolerance=0, scales=scales),
        EngineSettings(device="cpu"),
        content_size=(frame.shape[1], frame.shape[0]),
        reference_frame=frame,
    )


def test_preserve_colors_keeps_the_content_chroma(starry_night, photo_path) -> None:
    frame = imageops.read_image(photo_path)
    stylizer = _stylizer(starry_night, frame, preserve_colors=True)
    out = stylizer.stylize(frame, stylizer.first_frame_init(frame, "content", seed=0), iterations=30)
    content = imageops.rgb_to_ycbcr(imageops.frame_to_image(frame))
    styled = imageops.rgb_to_ycbcr(imageops.frame_to_image(out.frame))
    chroma_error = (styled[:, 1:] - content[:, 1:]).abs().mean().item() * 255
    luma_change = (styled[:, :1] - content[:, :1]).abs().mean().item() * 255
    assert chroma_error < 3.0, chroma_error
    assert luma_change > 5.0, luma_change  # the style did change the picture


def test_without_preserve_colors_the_palette_moves_to_the_painting(starry_night, photo_path) -> None:
    frame = imageops.read_image(photo_path)
    stylizer = _stylizer(starry_night, frame)
    out = stylizer.stylize(frame, stylizer.first_frame_init(frame, "content", seed=0), iterations=30)
    content = imageops.rgb_to_ycbcr(imageops.frame_to_image(frame))
    styled = imageops.rgb_to_ycbcr(imageops.frame_to_image(out.frame))
    assert (styled[:, 1:] - content[:, 1:]).abs().mean().item() * 255 > 5.0


def test_random_start_is_reproducible(starry_night) -> None:
    frame = textured_frame(64, 48)
    stylizer = _stylizer(starry_night, frame)
    a = stylizer.first_frame_init(frame, "random", seed=7)
    b = stylizer.first_frame_init(frame, "random", seed=7)
    c = stylizer.first_frame_init(frame, "random", seed=8)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_coarse_to_fine_plans_and_reports_all_levels(starry_night) -> None:
    frame = textured_frame(160, 128)
    stylizer = _stylizer(starry_night, frame, scales=2)
    seen: list[tuple[int, int]] = []
    out = stylizer.stylize(
        frame, stylizer.first_frame_init(frame, "content", seed=0), iterations=10, coarse_to_fine=True,
        on_step=lambda done, planned, loss: seen.append((done, planned)),
    )  # fmt: skip
    # 80x64 for 10 iterations, then full size for half of that.
    assert seen[-1] == (15, 15) and len(seen) == 15
    assert out.iterations == 15 and out.result.iterations == 5
    # Counted at full size: each of the 10 at 80x64 costs a quarter.
    assert out.evaluations == pytest.approx(10 / 4 + 5)
    assert out.frame.shape == (128, 160, 3) and out.frame.dtype == np.uint8


def test_pyramid_skips_levels_that_are_too_small(starry_night) -> None:
    frame = textured_frame(96, 72)
    stylizer = _stylizer(starry_night, frame, scales=3)
    assert pyramid(72, 96, stylizer.optimizer.scales) == [(72, 96)]


def test_edge_margin_reaches_the_network_and_is_checked(starry_night) -> None:
    frame = textured_frame(64, 48)
    stylizer = Stylizer(
        StyleSettings(paths=(starry_night,)),
        LossWeights(),
        OptimizerSettings(),
        build_job([starry_night], edge_margin=16).engine,
        content_size=(64, 48),
    )
    assert stylizer.objective.margin == 16
    features = stylizer.objective.features(imageops.frame_to_image(frame))
    assert features["relu1_1"].shape[-2:] == (48 + 32, 64 + 32)
    with pytest.raises(UsageError, match="--edge-margin must be between 0 and 64 px"):
        build_job([starry_night], edge_margin=100)


def test_each_pyramid_level_has_style_targets_at_its_own_scale(starry_night) -> None:
    # Coarse levels once chased the full size's Grams: brush strokes 2-4x too large there.
    frame = np.zeros((384, 512, 3), np.uint8)
    stylizer = _stylizer(starry_night, frame, scales=3)
    targets = stylizer.style_targets
    assert list(targets) == [(96, 128), (192, 256), (384, 512)]
    painting = imageops.resize_frame(imageops.read_image(starry_night), 512, round(512 * 556 / 708))
    weights = stylizer.losses.style_layer_weights
    for level_h, level_w in list(targets)[:-1]:
        # The painting as the level sees the content: resized by the level's factor.
        width, height = (round(side * level_w / 512) for side in (painting.shape[1], painting.shape[0]))
        small = imageops.frame_to_image(imageops.resize_frame(painting, width, height))
        with torch.no_grad():
            features = stylizer.objective.features(small)
            own = losses.style_loss(features, targets[(level_h, level_w)], weights).item()
            full = losses.style_loss(features, targets[(384, 512)], weights).item()
        assert own < full / 10, (level_w, own, full)
