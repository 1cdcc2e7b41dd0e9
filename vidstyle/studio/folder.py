"""The folder the studio serves: every path the page names is resolved inside it, or refused.

A name is relative to the folder; an absolute one, one that climbs out with ``..``, or one
that leads out through a symbolic link is refused (resolved first, then compared, so that no
spelling gets around the check). The bundled sample paintings are offered beside the
folder's own, read-only, as ``samples/NAME`` when the folder has no ``samples`` of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vidstyle.errors import InputFileError
from vidstyle.filetypes import is_image_path
from vidstyle.video_writer import VIDEO_EXTENSIONS

# The repository's (and an editable install's) sample clip and paintings.
BUNDLED_SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"
SAMPLES_PREFIX = "samples/"
# What the studio writes of its own: tries, previews, renders' logs, its list of renders.
STATE_FOLDER = ".vidstyle-studio"
# Listing a large folder (a home directory) stops at this depth and count.
_LIST_DEPTH, _LIST_COUNT = 3, 400
_VIDEO_SUFFIXES = {*VIDEO_EXTENSIONS, ".mov", ".avi", ".ogv", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}


class OutsideFolderError(InputFileError):
    """A path that leads out of the studio's folder."""


@dataclass(frozen=True)
class StudioFolder:
    root: Path

    @classmethod
    def at(cls, root: Path) -> StudioFolder:
        if not root.is_dir():
            raise InputFileError(f"{root}: no such folder")
        return cls(root.resolve())

    @property
    def state(self) -> Path:
        return self.root / STATE_FOLDER

    def resolve(self, name: str, *, readable_sample: bool = False) -> Path:
        """The file ``name`` (relative to the folder) names; a path out of it is refused.
        ``readable_sample``: a bundled sample may be named (read, never written)."""
        if not name or "\x00" in name or Path(name).is_absolute() or name.startswith(("/", "\\")):
            raise OutsideFolderError(f"{name!r}: give a path inside the studio's folder")
        if readable_sample and name.startswith(SAMPLES_PREFIX) and not (self.root / "samples").exists():
            return _inside(BUNDLED_SAMPLES, name.removeprefix(SAMPLES_PREFIX), name)
        return _inside(self.root, name, name)

    def name_of(self, path: Path) -> str:
        """``path`` as the page names it: relative to the folder, or ``samples/NAME``."""
        resolved = path.resolve()
        if resolved.is_relative_to(self.root):
            return resolved.relative_to(self.root).as_posix()
        return SAMPLES_PREFIX + resolved.relative_to(BUNDLED_SAMPLES).as_posix()

    def listing(self) -> tuple[list[str], list[str]]:
        """The clips and the paintings in the folder (a few levels deep), the samples' included."""
        clips: list[str] = []
        images: list[str] = []
        for path in _walk(self.root):
            if not path.resolve().is_relative_to(self.root):
                continue  # a link out of the folder: refused on use, so not offered
            if path.suffix.lower() in _VIDEO_SUFFIXES and not _is_ours(path.name):
                clips.append(self.name_of(path))
            elif is_image_path(path) and not path.name.endswith(".try.jpg"):
                images.append(self.name_of(path))
        if not (self.root / "samples").exists() and BUNDLED_SAMPLES.is_dir():
            images += [self.name_of(path) for path in sorted(BUNDLED_SAMPLES.glob("*.jpg"))]
        return sorted(clips), images


def is_media(path: Path) -> bool:
    """A picture or a video, by its name: what the page may show or play."""
    return is_image_path(path) or path.suffix.lower() in _VIDEO_SUFFIXES


def _inside(base: Path, name: str, shown: str) -> Path:
    resolved = (base / name).resolve()
    if not resolved.is_relative_to(base.resolve()):
        raise OutsideFolderError(f"{shown!r} leads out of the studio's folder; only files inside it are used")
    return resolved


def _is_ours(name: str) -> bool:
    """A render's own by-products: its peek and its previews are outputs, not clips to paint."""
    return ".peek." in name or ".preview." in name


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and not name.endswith(".vidstyle-work")
        )
        if depth >= _LIST_DEPTH:
            subfolders.clear()
        found += [Path(folder) / name for name in sorted(files) if not name.startswith(".")]
        if len(found) >= _LIST_COUNT:
            break
    return found[:_LIST_COUNT]
