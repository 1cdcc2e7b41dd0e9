"""A file sent from the page: kept in ``uploads/`` in the studio's folder, under a name of its
own (never over a file there), refused past the upload limit, and checked before it is listed.

The body is the file itself (the page sends it as is, named in the address), so nothing parses
a multipart form; it is written to a temporary name and renamed when whole, so a stopped or
failed upload leaves nothing half-written behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from vidstyle.errors import InputFileError, UsageError, VidstyleError
from vidstyle.filetypes import IMAGE_EXTENSIONS, is_image_path
from vidstyle.studio.folder import StudioFolder

UPLOADS = "uploads"
_CHUNK = 1 << 20
_MB = 1 << 20


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class UploadTooLargeError(UsageError):
    """An upload over the studio's limit."""


def save_upload(folder: StudioFolder, name: str, body: Readable, length: int, limit: int) -> Path:
    """Write the ``length`` bytes of ``body`` to ``uploads/NAME`` (a new name if it is taken)
    and check that vidstyle can read it; a file it cannot read is removed and refused."""
    if length < 0:
        raise UsageError("the upload gave no length")
    if length > limit:
        raise UploadTooLargeError(
            f"the file is {length / _MB:.0f} MB; the studio takes files up to {limit / _MB:.0f} MB "
            "(start it with --upload-limit to change that, or put the file in its folder)"
        )
    path = _free_path(folder.resolve(UPLOADS), _clean_name(name))
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("wb") as file:
            left = length
            while left > 0:
                chunk = body.read(min(_CHUNK, left))
                if not chunk:
                    raise UsageError("the upload stopped before the end of the file")
                file.write(chunk)
                left -= len(chunk)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    try:
        _check_readable(path)
    except VidstyleError:
        path.unlink(missing_ok=True)
        raise
    return path


def _clean_name(name: str) -> str:
    """The file's own name, with no folder and only plain characters."""
    base = re.sub(r"[^\w.+-]", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    if not base or "." not in base:
        raise UsageError(f"{name!r}: send a video or an image file")
    return base


def _free_path(uploads: Path, name: str) -> Path:
    uploads.mkdir(exist_ok=True)
    path, number = uploads / name, 2
    while path.exists():
        path = uploads / f"{Path(name).stem}-{number}{Path(name).suffix}"
        number += 1
    return path


def _check_readable(path: Path) -> None:
    if is_image_path(path) and path.suffix.lower() in IMAGE_EXTENSIONS:
        from vidstyle.imageops import read_image

        read_image(path)
        return
    from vidstyle.video_info import probe

    try:
        probe(path)
    except VidstyleError as error:
        raise InputFileError(f"{path.name} is not a video or image vidstyle can read ({error})") from None
