"""Optical flow between source frames: one module an estimator, chosen and checked here.

numpy in and out: frames are uint8 (H, W, 3) RGB, flows float32 (H, W, 2) holding (dx, dy)
in pixels, masks float32 (H, W) in [0, 1].

Conventions: ``flow(a, b)`` maps each pixel x of frame a to where it is in frame b, so
a(x) ~ b(x + flow(x)). The *backward* flow of frame i is flow(i, i-1); warping the previous
output along it brings that output into frame i's geometry.

The estimators (``dis``, ``farneback``, ``deepflow``, ``nvof``) each take two frames and
give the flow; what one needs that a machine may lack is asked in one place,
``missing``, so that a render that cannot run says so before it starts (PySceneDetect's
``backends/`` has the same shape). What the flows say about the frames (reliability,
chains, long-term masks) is ``flow/motion.py``; warping outputs along them, ``warps.py``.
"""

from __future__ import annotations

import numpy as np

from vidstyle.errors import UsageError
from vidstyle.flow import deepflow, nvof
from vidstyle.flow.dis import DisFlow
from vidstyle.flow.farneback import FarnebackFlow
from vidstyle.flow.motion import Estimator
from vidstyle.settings import DisPreset, FlowMethod


def missing(method: FlowMethod) -> str | None:
    """Why ``method`` cannot run on this machine, as the one line a user reads; None if it can."""
    if method == "deepflow" and (why := deepflow.missing()) is not None:
        return f"--flow deepflow needs {why}; use dis or farneback"
    if method == "nvof" and (why := nvof.missing()) is not None:
        return f"--flow nvof needs NVIDIA's optical-flow engine: {why}; use dis"
    return None


class FlowEstimator:
    """Dense optical flow by ``method``: DIS (default), Farneback, DeepFlow (opencv-contrib),
    or an NVIDIA card's optical-flow engine (nvof).

    One estimator per thread: OpenCV's algorithm objects keep state between calls.
    """

    def __init__(self, method: FlowMethod = "dis", dis_preset: DisPreset = "fine") -> None:
        if (why := missing(method)) is not None:
            raise UsageError(why)
        self._estimate: Estimator
        if method == "dis":
            self._estimate = DisFlow(dis_preset)
        elif method == "farneback":
            self._estimate = FarnebackFlow()
        elif method == "deepflow":
            self._estimate = deepflow.DeepFlow()
        else:
            self._estimate = nvof.NvidiaFlow()

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        """Flow from ``frame_a`` to ``frame_b`` (same size), float32 (H, W, 2)."""
        return np.asarray(self._estimate(frame_a, frame_b), dtype=np.float32)
