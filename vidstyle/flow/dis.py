"""DIS (dense inverse search, OpenCV), the default flow, with Farneback's where there is no texture."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from vidstyle.flow.farneback import farneback
from vidstyle.settings import DisPreset

# opencv-python 5's type stubs leave out the video module (DIS, Farneback).
_cv2_video: Any = cv2

_DIS_PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    "fine": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _dis(preset: DisPreset) -> Any:
    dis = _cv2_video.DISOpticalFlow_create(_DIS_PRESETS[preset])
    if preset == "fine":
        # OpenCV's presets stop at 1/2 resolution with 8 px patches, which smears motion across
        # object edges: on a square moving over a painting, disocclusions were found with 60%
        # precision. Full resolution, 6 px patches every 2 px and more refinement reach 90%+
        # (tests/test_flow.py) for about 10x the time of "medium" (150 ms at 384x468, still a
        # few percent of a frame's optimization).
        dis.setFinestScale(0)
        dis.setPatchSize(6)
        dis.setPatchStride(2)
        dis.setVariationalRefinementIterations(15)
    return dis


class DisFlow:
    """One DIS object, kept between calls (one estimator a thread: OpenCV's keeps state)."""

    def __init__(self, preset: DisPreset) -> None:
        self._dis = _dis(preset)

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        grey_a = cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY)
        grey_b = cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY)
        return _dis_with_smooth_flat_areas(self._dis.calc(grey_a, grey_b, None), grey_a, grey_b)


# Smallest eigenvalue of the local structure tensor (cv2.cornerMinEigenVal, 7 px blocks) below
# which a pixel has no texture to match. A white desk filmed on a phone: median 0.09; the
# paintings used in tests/test_flow.py: above 25 for 99% of pixels.
UNTEXTURED_EIGENVALUE = 1.0


def _dis_with_smooth_flat_areas(dis_flow: np.ndarray, grey_a: np.ndarray, grey_b: np.ndarray) -> np.ndarray:
    """DIS's flow where ``grey_a`` has texture, Farneback's where it has none.

    DIS matches small patches, and a patch of a flat wall matches anywhere: on pens.mp4 (pens on
    a white desk, the camera nearly still) it returned 5 to 17 px of motion across the desk, the
    forward-backward check then rejected 60% of the frame, and those pixels were stylized afresh
    each frame. Farneback's polynomial fit is smooth across flat areas but blurs motion edges
    (disocclusions found with 10% precision, against DIS's 92%), so each takes the pixels it is
    good at. The reliable area on pens.mp4 at 480 px rose from 40% to 80%.
    """
    texture = cv2.cornerMinEigenVal(grey_a.astype(np.float32), blockSize=7, ksize=3)
    flat = texture < UNTEXTURED_EIGENVALUE
    if not flat.any():
        return dis_flow
    flow = dis_flow.copy()
    flow[flat] = farneback(grey_a, grey_b)[flat]
    return flow
