"""Borders: the uniform frames of paintings, and the line they leave in stylized pictures.

A painting's photo often comes with a frame, a mat, a canvas edge or a scan margin. Gram
matrices do not know where a colour was, so the optimizer paints those colours somewhere,
and zero padding makes the picture's own edges the cheapest place: samples/starry_night.jpg
as it first came (a black frame, then a beige canvas edge) left a dark and beige line a few
pixels inside every side of its results. Trimming the border before the Grams are taken
removes it (``Stylizer``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# A line (row or column) is part of a border when its grey levels vary less than this: a
# scanned black frame varies by 0-1, the flattest painted rows seen (the sky of
# great_wave.jpg) by 9.
UNIFORM_LINE_STD = 6.0
# Past a uniform band, where frame and painting meet, the edge is ragged (starry_night.jpg's
# beige canvas edge, 3-5 px); this share of the side is trimmed with the band.
RAGGED_EDGE_SHARE = 0.025
# A band needs at least this many lines, and a trim never takes more than this share of a side.
MIN_BAND_LINES = 2
MAX_TRIM_SHARE = 0.2

# border_line_score: a line shows as a step 2-24 px inside; further in is the picture.
LINE_ZONE = (2, 24)
INNER_ZONE = (24, 64)
# The smallest side that has an inner zone at all.
MIN_PROFILE_SIDE = 2 * (INNER_ZONE[0] + 2)


@dataclass(frozen=True)
class Border:
    """Pixels to trim from each side."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    def __bool__(self) -> bool:
        return any((self.top, self.bottom, self.left, self.right))

    def trim(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        return frame[self.top : height - self.bottom, self.left : width - self.right]


def uniform_border(frame: np.ndarray) -> Border:
    """The uniform band along each side of ``frame`` (RGB, uint8), with its ragged edge."""
    grey = frame.astype(np.float32).mean(axis=2)
    height, width = grey.shape

    def side(lines: np.ndarray, length: int) -> int:
        limit = int(length * MAX_TRIM_SHARE)
        band = 0
        while band < limit and lines[band].std() < UNIFORM_LINE_STD:
            band += 1
        if band < MIN_BAND_LINES:
            return 0
        return min(limit, band + math.ceil(length * RAGGED_EDGE_SHARE))

    return Border(
        top=side(grey, height),
        bottom=side(grey[::-1], height),
        left=side(grey.T, width),
        right=side(grey.T[::-1], width),
    )


def border_line_score(frame: np.ndarray) -> float:
    """How strongly a line runs along the sides of ``frame`` (RGB): the largest step across the
    sides 2-24 px inside, against the median step 24-64 px inside.

    The step at each distance from a side is the mean, along the side, of the signed
    luminance difference between that line and the next: a line parallel to the side adds up,
    texture cancels out. The four sides are averaged. Photos and paintings without frames
    score about 1-4; a painted frame scores far higher (samples/starry_night.jpg before it was
    cropped: 47). A source can carry such a line itself (an old film's dark gate edge scores
    6-12), so compare a result with its source.
    """
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)
    depth = min(INNER_ZONE[1], min(grey.shape) // 2)
    if min(grey.shape) < MIN_PROFILE_SIDE:
        raise ValueError(f"a {grey.shape[1]}x{grey.shape[0]} picture is too small for a border profile")
    sides = (grey, grey[::-1], grey.T, grey.T[::-1])
    profile = np.mean([np.abs(np.diff(s[: depth + 1], axis=0).mean(axis=1)) for s in sides], axis=0)
    line = profile[LINE_ZONE[0] : LINE_ZONE[1]].max()
    inner = float(np.median(profile[INNER_ZONE[0] : depth]))
    return float(line / max(inner, 1e-6))
