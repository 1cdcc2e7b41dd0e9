"""Shared fixtures: real sample files, the real VGG19 with its bundled weights, tiny sizes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vidstyle.vgg import VGG19Features

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
# The smallest budgets that still paint: 64 px, a few iterations, no early stop. For tests
# that check what a render does, not how well it paints.
TINY = {"size": 64, "iterations": 6, "frame_iterations": 3, "scales": 1, "tolerance": 0.0}
TINY_ARGS = ["--size", "64", "--iterations", "6", "--frame-iterations", "3", "--scales", "1", "--tolerance", "0"]
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope="session")
def starry_night() -> Path:
    return SAMPLES / "starry_night.jpg"


@pytest.fixture(scope="session")
def great_wave() -> Path:
    return SAMPLES / "great_wave.jpg"


@pytest.fixture(scope="session")
def pens_clip() -> Path:
    return SAMPLES / "pens.mp4"


@pytest.fixture(scope="session")
def encoder() -> VGG19Features:
    return VGG19Features(["relu4_2", *STYLE_LAYERS])


def textured_frame(width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    """A smooth random texture with edges: something for flow and VGG to see."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, height // 6), max(2, width // 6), 3), dtype=np.uint8)
    frame = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return frame


@pytest.fixture
def photo_path(tmp_path: Path, pens_clip: Path) -> Path:
    """A real photo: a frame of the sample clip, shrunk to 64x48, as PNG."""
    from vidstyle.video_io import read_frames

    frame = next(iter(read_frames(pens_clip))).frame
    small = cv2.resize(frame, (48, 64), interpolation=cv2.INTER_AREA)
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test sees the same random numbers, so a pass or a failure is repeatable."""
    torch.manual_seed(0)
