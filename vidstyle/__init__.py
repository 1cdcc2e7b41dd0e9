"""vidstyle: neural style transfer for videos, steady in time (Gatys et al. 2015, Ruder et al. 2016)."""

from __future__ import annotations

__version__ = "0.1.0"

from vidstyle.errors import VidstyleError
from vidstyle.image_pipeline import stylize_image

__all__ = ["VidstyleError", "__version__", "stylize_image"]
