"""vidstyle: neural style transfer for videos, steady in time (Gatys et al. 2015, Ruder et al. 2016)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
