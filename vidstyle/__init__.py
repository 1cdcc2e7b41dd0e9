"""vidstyle: neural style transfer for videos, steady in time (Gatys et al. 2015, Ruder et al. 2016)."""

from __future__ import annotations

from vidstyle.errors import VidstyleError
from vidstyle.image_pipeline import ImageReport, stylize_image
from vidstyle.pipeline import FrameProgress, VideoReport, stylize_video
from vidstyle.version import __version__

__all__ = [
    "FrameProgress",
    "ImageReport",
    "VideoReport",
    "VidstyleError",
    "__version__",
    "stylize_image",
    "stylize_video",
]
