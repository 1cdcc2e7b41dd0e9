"""Farneback's dense flow (OpenCV): smooth across flat areas, blurred at motion edges."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# opencv-python 5's type stubs leave out the video module (DIS, Farneback).
_cv2_video: Any = cv2


def farneback(grey_a: np.ndarray, grey_b: np.ndarray) -> np.ndarray:
    """Flow from ``grey_a`` to ``grey_b`` (uint8 (H, W)), float32 (H, W, 2)."""
    # Pyramid deep enough for large motion at small sizes; window large enough for texture.
    return np.asarray(
        _cv2_video.calcOpticalFlowFarneback(
            grey_a, grey_b, None, pyr_scale=0.5, levels=5, winsize=15, iterations=5, poly_n=7, poly_sigma=1.5, flags=0
        ),
        dtype=np.float32,
    )


class FarnebackFlow:
    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        return farneback(cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY))
