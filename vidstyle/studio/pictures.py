"""The pictures the page shows: a clip's facts and frames, a frame painted in a style, a
render's latest frame.

A try is painted in the studio's own process, one at a time (two at once would each take twice
as long), one style a call, so that the page shows each style as it comes; it is written to the
studio's folder under a name of its own, never over a user's file.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidstyle import imageops
from vidstyle.filetypes import is_image_path
from vidstyle.outputs import write_bytes_atomically
from vidstyle.render_status import frame_time, latest_frame
from vidstyle.studio.folder import StudioFolder
from vidstyle.style_sheet import content_for, frame_at, painted_frame, try_jobs
from vidstyle.video_info import probe

# The page's pictures of a frame are at most this wide: enough to judge, quick to send.
SHOWN_WIDTH = 480
_painting = threading.Lock()


def clip_facts(path: Path) -> dict[str, Any]:
    """What the page's frame slider needs: the clip's length, frame count and size."""
    if is_image_path(path):
        height, width = imageops.read_image(path).shape[:2]
        return {"duration": 0.0, "frames": 1, "width": width, "height": height}
    info = probe(path)
    duration = float(info.duration) if info.duration else 0.0
    return {"duration": duration, "frames": info.frame_count, "width": info.width, "height": info.height}


def frame_jpeg(path: Path, at: Fraction | None) -> bytes:
    """The frame of ``path`` at ``at`` seconds, shrunk to the page's width, as JPEG."""
    return imageops.encode_image(_shown(frame_at(path, at)[1]), ".jpg")


@dataclass(frozen=True)
class Panel:
    """A frame painted in one style: the JPEG's path, its size, the frame's time."""

    path: Path
    width: int
    height: int
    time: Fraction


def tries_folder(folder: StudioFolder) -> Path:
    """Where tries are kept, for the page to show: emptied when a studio starts."""
    return folder.state / "tries"


def paint_panel(folder: StudioFolder, clip: Path, style: Path, at: Fraction, options: dict[str, Any]) -> Panel:
    """``clip``'s frame at ``at`` painted in ``style`` as ``vidstyle try`` paints it: the page
    asks for one style at a time, and shows each as it comes."""
    [job] = try_jobs([style], options)
    time, frame = frame_at(clip, at)
    content = content_for(frame, job)
    with _painting:
        painted = painted_frame(content, job)
    path = tries_folder(folder) / f"{uuid.uuid4().hex[:12]}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, imageops.encode_image(painted, ".jpg"))
    return Panel(path, painted.shape[1], painted.shape[0], time)


def latest_pair_jpeg(output: Path, source: Path, index: int) -> bytes:
    """Frame ``index`` of the render into ``output`` as last painted, beside its source frame."""
    painted = latest_frame(output, index)
    _, original = frame_at(source, frame_time(output, index))
    original = imageops.resize_frame(original, painted.shape[1], painted.shape[0])
    gap = np.full((painted.shape[0], 8, 3), 255, np.uint8)
    return imageops.encode_image(_shown(np.concatenate([original, gap, painted], axis=1)), ".jpg")


def _shown(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    if width <= SHOWN_WIDTH:
        return frame
    return imageops.resize_frame(frame, SHOWN_WIDTH, max(1, round(height * SHOWN_WIDTH / width)))
