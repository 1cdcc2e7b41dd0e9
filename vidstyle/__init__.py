"""vidstyle: neural style transfer for videos, steady in time (Gatys et al. 2015, Ruder et al. 2016)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# torch's CPU threads (GNU OpenMP) spin, by default for some 300,000 rounds, while they wait
# for each other. Two renders side by side on 2 cores then spun in each other's way: each took
# 7.9x as long as alone (benchmarks/experiments/bench_side_by_side.py, 96 px). With 2,000 rounds, 1.85x,
# and a render alone was as fast as before (4.50 s a later frame either way). OpenMP reads
# this once, when torch loads, which happens after this package is imported; a value the user
# set is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "2000")

from vidstyle.errors import VidstyleError
from vidstyle.version import __version__

if TYPE_CHECKING:
    from vidstyle.image_pipeline import ImageReport, stylize_image
    from vidstyle.pipeline import FrameProgress, VideoReport, stylize_video

__all__ = [
    "FrameProgress",
    "ImageReport",
    "VideoReport",
    "VidstyleError",
    "__version__",
    "stylize_image",
    "stylize_video",
]

# The API's heavy parts (torch, OpenCV, PyAV) load on first use, so that importing the
# package, and the command line's --help, answer at once.
_LAZY = {
    "ImageReport": "vidstyle.image_pipeline",
    "stylize_image": "vidstyle.image_pipeline",
    "FrameProgress": "vidstyle.pipeline",
    "VideoReport": "vidstyle.pipeline",
    "stylize_video": "vidstyle.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidstyle' has no attribute {name!r}")
