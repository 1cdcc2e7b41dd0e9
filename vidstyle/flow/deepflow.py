"""DeepFlow (Weinzaepfel et al. 2013), from opencv-contrib's ``optflow`` module."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# opencv-python's type stubs leave out contrib's optflow.
_cv2_contrib: Any = cv2


def missing() -> str | None:
    """Why DeepFlow cannot run here, or None."""
    if hasattr(_cv2_contrib, "optflow") and hasattr(_cv2_contrib.optflow, "createOptFlow_DeepFlow"):
        return None
    return "opencv-contrib-python (cv2.optflow)"


class DeepFlow:
    def __init__(self) -> None:
        self._deepflow = _cv2_contrib.optflow.createOptFlow_DeepFlow()

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        grey_a = cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY)
        grey_b = cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY)
        return np.asarray(self._deepflow.calc(grey_a, grey_b, None), dtype=np.float32)
