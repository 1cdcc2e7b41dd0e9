"""The work folder's frames: one lossless PNG per frame (``frames/000000.png``), each
written atomically. A later visit of a frame (a later pass, a seam, the loop) is written
beside it first (``000000.pass2.png``) and replaces it only once its journal line is down
(``WorkDir.save``): a kill in between leaves the earlier visit's frame, which the line-less
visit will start from again."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from vidstyle.errors import OutputPathError
from vidstyle.imageops import encode_image
from vidstyle.outputs import write_bytes_atomically

FRAMES_DIR = "frames"
DETAILS_DIR = "details"  # the frames as delivered, where a detail pass refines them
# A PNG's last chunk: an empty IEND with its CRC.
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class FrameStore:
    """The stylized frames in ``folder``, by index."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, index: int) -> Path:
        return self.folder / f"{index:06d}.png"

    def save(self, index: int, frame: np.ndarray) -> None:
        write_bytes_atomically(self.path(index), encode_image(frame, ".png"))

    def staged_path(self, index: int, pass_number: int) -> Path:
        return self.folder / f"{index:06d}.pass{pass_number}.png"

    def stage(self, index: int, pass_number: int, frame: np.ndarray) -> None:
        """A later visit's frame, beside the frame it will replace (``settle``)."""
        write_bytes_atomically(self.staged_path(index, pass_number), encode_image(frame, ".png"))

    def settle(self, index: int, pass_number: int) -> None:
        """Put a staged visit's frame in its place, once its journal line is down."""
        os.replace(self.staged_path(index, pass_number), self.path(index))

    def staged(self) -> list[tuple[int, int]]:
        """(index, pass) of every staged frame left by a kill."""
        found = []
        for path in self.folder.glob("*.pass*.png"):
            number, _, tag = path.stem.partition(".pass")
            if number.isdigit() and tag.isdigit():
                found.append((int(number), int(tag)))
        return sorted(found)

    def settle_staged(self, line_is_down: Callable[[int, int], bool]) -> None:
        """Finish what a kill interrupted: each staged frame whose journal line is down
        (``line_is_down(index, stage)``: the kill came between the two) goes in place; one
        without its line is forgotten, and the visit starts again from the frame before."""
        for index, stage in self.staged():
            if line_is_down(index, stage):
                self.settle(index, stage)
            else:
                self.staged_path(index, stage).unlink(missing_ok=True)

    def load(self, index: int) -> np.ndarray:
        frame = self.load_if_readable(index)
        if frame is None:
            raise OutputPathError(f"{self.path(index)}: saved frame is unreadable; add --restart")
        return frame

    def load_if_readable(self, index: int) -> np.ndarray | None:
        bgr = cv2.imread(str(self.path(index)), cv2.IMREAD_COLOR)
        return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def is_whole(self, index: int) -> bool:
        """Whether a frame's PNG is there and ends with its last chunk (IEND), without decoding
        it: what a write cut short (a crash, a full disk, a copy that stopped) lacks."""
        try:
            with self.path(index).open("rb") as png:
                png.seek(-len(_PNG_END), os.SEEK_END)
                return png.read() == _PNG_END
        except OSError:
            return False
