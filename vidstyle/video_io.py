"""Reading videos' frames with PyAV (``read_frames``); what a file holds is ``video_info.py``'s.

Frames come out upright (display rotation applied), RGB uint8, in display order, one at a
time, with their presentation timestamps. Time is a ``Fraction`` of seconds or an integer
pts in the stream's time base, never a float.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from vidstyle.errors import NoFramesError, UsageError
from vidstyle.video_info import (
    VideoInfo,
    decode,
    display_rotation,
    fraction,
    is_full_range,
    open_input,
    pixel_aspect,
    shown_width,
    video_stream,
)

log = logging.getLogger(__name__)


# swscale's default YUV<->RGB path rounds with a bias (flat colours darken by 1-3 levels per
# trip) and upsamples chroma coarsely. Accurate rounding, with full horizontal chroma
# interpolation on the way to RGB, keeps flat colours within a level and halves the error on
# fine colour texture (measured on 4:2:0 round trips). Encoding uses RGB_TO_YUV in video_writer.
YUV_TO_RGB = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


RGB_TO_YUV = Interpolation.BILINEAR | Interpolation.ACCURATE_RND


@dataclass(frozen=True)
class Segment:
    """A part of a video: from ``start`` seconds, for ``duration`` seconds and/or ``frames`` frames."""

    start: Fraction = Fraction(0)
    duration: Fraction | None = None
    frames: int | None = None

    def __post_init__(self) -> None:
        if self.start < 0:
            raise UsageError(f"--start must be zero or more; got {float(self.start)}")
        if self.duration is not None and self.duration <= 0:
            raise UsageError(f"--duration must be more than zero; got {float(self.duration)}")
        if self.frames is not None and self.frames < 1:
            raise UsageError(f"--frames must be at least 1; got {self.frames}")

    @property
    def end(self) -> Fraction | None:
        return None if self.duration is None else self.start + self.duration


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded frame: 0-based index within the read, pts in the stream's time base, time in
    seconds since the stream's start (what --start counts from), and the RGB pixels."""

    index: int
    pts: int
    time: Fraction
    frame: np.ndarray


# H.273's "unspecified" matrix, and the ones that need no YUV matrix (RGB, GBR stored planes).
_UNTAGGED_MATRIX = 2


_RGB_MATRIX = 0


def is_hd(width: int, height: int) -> bool:
    """Whether players take an untagged video of this stored size as HD, and so as BT.709:
    1280 px wide or more, or more than 576 lines (mpv's and FFmpeg's rule; 720p and up)."""
    return width >= 1280 or height > 576


def yuv_matrix(width: int, height: int) -> Colorspace:
    """The YUV matrix players assume for an untagged video of this stored size: BT.709 for HD,
    BT.601 below. vidstyle also writes its output with it, so that a player that ignores the
    tag shows the same colours."""
    return Colorspace.ITU709 if is_hd(width, height) else Colorspace.ITU601


def read_matrix(frame: av.VideoFrame) -> Colorspace | int:
    """The YUV matrix a frame is read with: its tag, or for an untagged frame the one players
    assume (``yuv_matrix``). swscale's own default is BT.601 at every size, so an untagged
    720p or 1080p clip (BT.709, as players show it) had its hues shifted: a red patch by 24
    levels."""
    tag = int(frame.colorspace)
    return yuv_matrix(frame.width, frame.height) if tag in (_UNTAGGED_MATRIX, _RGB_MATRIX) else tag


def to_rgb(frame: av.VideoFrame, rotation: int, sample_aspect: Fraction = Fraction(1)) -> np.ndarray:
    """An upright uint8 RGB array of a decoded frame with square pixels, honouring its colour
    range and matrix (``read_matrix``). Non-square pixels are resampled across, the rows kept:
    the network would otherwise paint round brush strokes that the player then stretches, and
    a square-pixel output shows in the right shape without the source's aspect tag."""
    # PyAV treats an unspecified source range as limited; tell it what the stream says.
    src_range = ColorRange.JPEG if is_full_range(frame) else ColorRange.MPEG
    rgb: np.ndarray = frame.to_ndarray(
        width=shown_width(frame.width, sample_aspect),
        format="rgb24",
        src_colorspace=read_matrix(frame),
        src_color_range=src_range,
        dst_color_range=ColorRange.JPEG,
        interpolation=YUV_TO_RGB,
    )
    if frame.interlaced_frame:
        rgb = first_field(rgb)
    if rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
    return rgb


def first_field(rgb: np.ndarray) -> np.ndarray:
    """An interlaced frame as its top field, the lines between taken halfway between their
    neighbours ("bob"). The two fields of a frame are shot a field apart: a moving edge, woven,
    is a comb of lines, which the network would paint as stripes. A field has half the lines,
    more than the processing size keeps of most sources (1080i at 384 px: 216 of 540)."""
    field = rgb[0::2].astype(np.uint16)
    below = np.concatenate([field[1:], field[-1:]])
    out = np.empty_like(rgb)
    out[0::2] = rgb[0::2]
    out[1::2] = ((field + below + 1) // 2)[: rgb.shape[0] // 2].astype(np.uint8)
    return out


@functools.cache
def _warn_nudged(path: Path, index: int) -> None:
    """Once per frame and process: a render reads its frames more than once (shots, then frames)."""
    log.warning("%s: frame %d has a timestamp that does not increase; moved by one tick", path, index)


def read_frames(path: Path, segment: Segment | None = None) -> Iterator[DecodedFrame]:
    """Yield the frames of ``path`` (or of ``segment`` of it) in display order.

    Memory stays at a few frames whatever the length. Missing timestamps are filled in
    from the frame rate; a timestamp that does not increase is nudged forward one tick with
    a warning, since containers need strictly increasing times.
    """
    segment = segment or Segment()
    with open_input(path) as container:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)
        rate = fraction(stream.average_rate) or fraction(stream.guessed_rate)
        tick = max(1, round((1 / rate) / time_base)) if rate else 1
        origin = stream.start_time or 0
        sample_aspect = pixel_aspect(stream)
        if segment.start > 0:
            # Seek lands on the keyframe at or before start; frames before start are dropped below.
            target = origin + math.floor(segment.start / time_base)
            container.seek(target, stream=stream, backward=True, any_frame=False)
        end = segment.end
        index = 0
        last_pts: int | None = None
        rotation: int | None = None
        skipped_to: Fraction | None = None  # the time of the last frame before start
        for frame in decode(container, stream, path):
            pts = frame.pts
            if pts is None:
                pts = 0 if last_pts is None else last_pts + tick
            time = (pts - origin) * time_base
            if time < segment.start:
                skipped_to = time
                continue
            if end is not None and time >= end:
                return
            if last_pts is not None and pts <= last_pts:
                _warn_nudged(path, index)
                pts = last_pts + 1
                time = (pts - origin) * time_base
            if rotation is None:
                rotation = display_rotation(frame)
            yield DecodedFrame(index=index, pts=pts, time=time, frame=to_rgb(frame, rotation, sample_aspect))
            last_pts = pts
            index += 1
            if segment.frames is not None and index >= segment.frames:
                return
        if index == 0:
            where = f" after {float(segment.start):.3f} s" if segment.start > 0 else ""
            if skipped_to is not None:
                where += f" (its last frame is at {float(skipped_to):.3f} s)"
            raise NoFramesError(f"{path}: no decodable frame{where}")


def expected_frame_count(info: VideoInfo, segment: Segment) -> int:
    """How many frames ``segment`` of the video should hold (an estimate where the container
    keeps no count); at least 1."""
    count = info.frame_count
    if info.frame_rate is not None:
        if segment.start > 0 and count:
            count = max(1, count - round(segment.start * info.frame_rate))
        if segment.duration is not None:
            within = round(segment.duration * info.frame_rate)
            count = min(count, within) if count else within
    if segment.frames is not None:
        count = min(count, segment.frames) if count else segment.frames
    return max(count, 1)
