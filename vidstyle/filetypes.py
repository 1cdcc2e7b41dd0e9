"""Which files are images, by their extension (no image library needed to tell)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from vidstyle.errors import InputFileError

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
WRITABLE_IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_image_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def local_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path. A URL is refused by name: as a Path its ``//`` would fold to ``/``
    and the error would be a puzzling "http:/...: no such file"."""
    text = os.fspath(path)
    if _URL.match(text):
        raise InputFileError(f"{text}: vidstyle takes files on this machine, not URLs; download it first")
    return Path(text)
