"""warps.DeviceWarps: the host warps in torch, equal to OpenCV's. Run here on the CPU's
torch (the same code as on a GPU), and on CUDA where there is one (benchmarks/device_check.sh)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import textured_frame
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import Motion, reliability
from vidstyle.warps import HOST_WARPS, DeviceWarps

W, H = 80, 60


def _scene(shift: float) -> tuple[np.ndarray, np.ndarray, Motion]:
    """A painted-looking output, the next content frame, and the real motion between them:
    the frame moved by ``shift`` px and turned, so that its edges leave holes."""
    content = textured_frame(W, H, seed=3)
    matrix = cv2.getRotationMatrix2D((W / 2, H / 2), 4.0, 1.0)
    matrix[:, 2] += (shift, -shift / 2)
    moved = cv2.warpAffine(content, matrix, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    estimate = FlowEstimator()
    backward, forward = estimate(moved, content), estimate(content, moved)
    output = cv2.GaussianBlur(np.random.default_rng(5).integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 0.8)
    return output, moved, Motion(backward, reliability(backward, forward))


NO_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=NO_CUDA)])
def test_device_warps_equal_opencvs(device: str) -> None:
    output, content, motion = _scene(shift=6.0)
    holes = motion.reliability.holes
    assert 0.03 < holes.mean() < 0.5  # the fill has pixels to fill, and pixels to take colours from
    warps = DeviceWarps(torch.device(device))
    target, start = warps.target(output, motion), warps.start(output, content, motion)
    assert target.dtype == start.dtype == np.float32 and target.shape == start.shape == (H, W, 3)
    # Lanczos at 1/32 pixel, as cv2.remap samples: the warp's sharp noise leaves no room to be near.
    assert np.abs(target - HOST_WARPS.target(output, motion)).max() < 0.01
    assert np.abs(start - HOST_WARPS.start(output, content, motion)).max() < 0.01
    # The fill changed the holes (the warp alone is not the warm start) and nothing else.
    assert np.abs(start - target)[holes].mean() > 5.0
    assert np.array_equal(start[~holes], target[~holes])


def test_a_frame_with_no_pixel_to_take_colours_from_starts_from_the_content() -> None:
    output, content, motion = _scene(shift=6.0)
    everywhere = reliability(np.full((H, W, 2), 100.0, np.float32), np.zeros((H, W, 2), np.float32))
    assert everywhere.holes.all()
    start = DeviceWarps(torch.device("cpu")).start(output, content, Motion(motion.backward, everywhere))
    assert np.array_equal(start, content.astype(np.float32))
