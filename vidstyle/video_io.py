"""Reading videos with PyAV: what a file holds (``probe``) and its frames (``read_frames``).

Frames come out upright (display rotation applied), RGB uint8, in display order, one at a
time, with their presentation timestamps. Time is a ``Fraction`` of seconds or an integer
pts in the stream's time base, never a float.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from vidstyle.errors import InputFileError, NoFramesError, NotMediaError, NoVideoStreamError, UsageError

log = logging.getLogger(__name__)

# Stream-level metadata worth keeping on the output; container-level keys are copied except
# those that describe the old encoding (brands, encoder).
# What players show and choose a track by, carried into the output for every track.
TRACK_LABELS = ("language", "title")
_DROPPED_CONTAINER_METADATA = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})
# Where a camera put the clip (QuickTime's location and ISO 6709 keys, their language
# variants, GPS fields): left out of a stylized video unless asked for.
_LOCATION_WORDS = ("location", "gps")

# swscale's default YUV<->RGB path rounds with a bias (flat colours darken by 1-3 levels per
# trip) and upsamples chroma coarsely. Accurate rounding, with full horizontal chroma
# interpolation on the way to RGB, keeps flat colours within a level and halves the error on
# fine colour texture (measured on 4:2:0 round trips). Encoding uses RGB_TO_YUV in video_writer.
YUV_TO_RGB = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
RGB_TO_YUV = Interpolation.BILINEAR | Interpolation.ACCURATE_RND


@dataclass(frozen=True)
class AudioInfo:
    """One audio stream of the input."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    time_base: Fraction


@dataclass(frozen=True)
class SubtitleInfo:
    """One subtitle stream of the input."""

    index: int
    codec: str
    language: str | None


# The colour tags vidstyle tells apart (ITU-T H.273 code points); everything is read as BT.709.
_TRANSFERS = {1: "bt709", 2: "unknown", 6: "bt601", 13: "srgb", 14: "bt2020", 15: "bt2020", 16: "pq", 18: "hlg"}
_PRIMARIES = {1: "bt709", 2: "unknown", 5: "bt601", 6: "bt601", 9: "bt2020"}
_HDR_NAMES = ("pq", "hlg", "bt2020")


def _colour_name(names: dict[int, str], code: int) -> str:
    return names.get(code, f"code {code}")


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds. ``width`` and ``height`` are upright (rotation applied)."""

    path: Path
    container: str
    codec: str
    width: int
    height: int
    rotation: int
    frame_rate: Fraction | None
    time_base: Fraction
    start_time: Fraction
    duration: Fraction | None
    frame_count: int
    frame_count_exact: bool
    pixel_format: str
    color_range: str
    audio: tuple[AudioInfo, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    subtitles: tuple[SubtitleInfo, ...] = ()
    chapters: int = 0
    attachments: tuple[str, ...] = ()  # file names
    transfer: str = "unknown"
    primaries: str = "unknown"
    interlaced: bool = False  # as its first frame says; each interlaced frame is read as its top field
    sample_aspect: Fraction = Fraction(1)  # of the stored pixels; frames are read with square ones

    @property
    def hdr(self) -> str | None:
        """What makes the video HDR or wide-gamut (PQ, HLG, BT.2020), or None for SDR."""
        marks = [name for name in (self.transfer, self.primaries) if name in _HDR_NAMES]
        return ", ".join(dict.fromkeys(marks)) or None

    @property
    def has_alpha(self) -> bool:
        """Whether the frames carry transparency (ProRes 4444, PNG or QuickTime Animation in .mov)."""
        return any(component.is_alpha for component in av.VideoFormat(self.pixel_format).components)

    @property
    def frame_interval(self) -> Fraction:
        """Nominal time between frames: from the frame rate, else one time-base tick."""
        return 1 / self.frame_rate if self.frame_rate else self.time_base


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


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file, turning PyAV's errors into one-line ``InputFileError``s."""
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory, not a video")
    try:
        return av.open(str(path), mode="r")
    except PermissionError as exc:
        raise InputFileError(f"{path}: permission denied") from exc
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise NotMediaError(f"{path}: not a video or image file that FFmpeg can read") from exc
    except av.error.FFmpegError as exc:
        raise NotMediaError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    # Cover art is a one-picture "video" stream; the real video is the first other one.
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise NoVideoStreamError(f"{path}: has no video stream")
    return streams[0]


def _fraction(value: Fraction | int | None) -> Fraction | None:
    """A positive Fraction, or None for a missing or zero rate."""
    if value is None:
        return None
    fraction = Fraction(value)
    return fraction if fraction > 0 else None


def probe(path: Path) -> VideoInfo:
    """Read a video's properties. Decodes its first frame, to learn the display rotation and to
    prove the stream is decodable."""
    with open_input(path) as container:
        stream = _video_stream(container, path)
        first = _first_frame(container, stream, path)
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)
        frame_rate = _fraction(stream.average_rate) or _fraction(stream.guessed_rate)
        start = Fraction(stream.start_time or 0) * time_base
        duration = _duration(container, stream, time_base)
        frame_count, exact = _frame_count(stream, duration, frame_rate)
        rotation = _rotation(first)
        sample_aspect = _sample_aspect(stream)
        shown_width = _shown_width(first.width, sample_aspect)
        width, height = (first.height, shown_width) if rotation % 180 else (shown_width, first.height)
        audio = tuple(
            AudioInfo(
                index=s.index,
                codec=s.codec_context.name,
                sample_rate=s.codec_context.sample_rate,
                channels=s.codec_context.channels,
                time_base=Fraction(s.time_base) if s.time_base else Fraction(1, s.codec_context.sample_rate),
            )
            for s in container.streams.audio
            if s.codec_context is not None
        )
        subtitles = tuple(
            SubtitleInfo(index=s.index, codec=s.codec_context.name, language=s.metadata.get("language"))
            for s in container.streams.subtitles
            if s.codec_context is not None
        )
        metadata = {k: v for k, v in container.metadata.items() if k not in _DROPPED_CONTAINER_METADATA}
        return VideoInfo(
            path=path,
            container=container.format.name,
            codec=stream.codec_context.name,
            width=width,
            height=height,
            rotation=rotation,
            frame_rate=frame_rate,
            time_base=time_base,
            start_time=start,
            duration=duration,
            frame_count=frame_count,
            frame_count_exact=exact,
            pixel_format=first.format.name,
            color_range="full" if _is_full_range(first) else "limited",
            audio=audio,
            metadata=metadata,
            subtitles=subtitles,
            chapters=len(container.chapters()),
            attachments=tuple(a.name or "unnamed" for a in container.streams.attachments),
            transfer=_colour_name(_TRANSFERS, stream.codec_context.color_trc),
            primaries=_colour_name(_PRIMARIES, stream.codec_context.color_primaries),
            interlaced=bool(first.interlaced_frame),
            sample_aspect=sample_aspect,
        )


def _duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, time_base: Fraction
) -> Fraction | None:
    if stream.duration:
        return stream.duration * time_base
    if container.duration:
        return Fraction(container.duration, av.time_base)
    return None


def _frame_count(
    stream: av.video.stream.VideoStream, duration: Fraction | None, frame_rate: Fraction | None
) -> tuple[int, bool]:
    """The container's frame count when it records one (exact), else duration x rate (estimate)."""
    if stream.frames:
        return stream.frames, True
    if duration is not None and frame_rate is not None:
        return max(1, math.ceil(duration * frame_rate)), False
    return 0, False


def _rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in degrees, a multiple of 90 in [0, 360)."""
    return (round((frame.rotation or 0) / 90) * 90) % 360


def _is_full_range(frame: av.VideoFrame) -> bool:
    # yuvj* formats are full range by definition, whatever the tag says.
    return frame.color_range == ColorRange.JPEG or frame.format.name.startswith("yuvj")


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> av.VideoFrame:
    for decoded in _decode(container, stream, path):
        return decoded
    raise NoFramesError(f"{path}: the video stream has no decodable frame")


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> Iterator[av.VideoFrame]:
    """Decode ``stream``, warning about (and skipping) corrupt packets instead of failing."""
    decoded = 0
    try:
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.InvalidDataError:
                log.warning("%s: unreadable data at frame %d; skipped", path, decoded)
                continue
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                log.warning("%s: frame %d is corrupt and cannot be decoded; skipped", path, decoded)
                continue
            for frame in frames:
                if frame.is_corrupt:
                    log.warning("%s: frame %d is damaged (decoded with errors)", path, decoded)
                decoded += 1
                yield frame
    except av.error.FFmpegError as exc:
        raise InputFileError(f"{path}: decoding failed after frame {decoded} ({exc.strerror or exc})") from exc


def _sample_aspect(stream: av.video.stream.VideoStream) -> Fraction:
    """The shape of a stored pixel (DV 10:11, anamorphic DVD 32:27, HDV 4:3), 1 where unsaid."""
    aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return Fraction(aspect) if aspect else Fraction(1)


def _shown_width(width: int, sample_aspect: Fraction) -> int:
    """How many square pixels wide a stored row of ``width`` pixels is shown."""
    return max(1, round(width * sample_aspect))


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
    src_range = ColorRange.JPEG if _is_full_range(frame) else ColorRange.MPEG
    rgb: np.ndarray = frame.to_ndarray(
        width=_shown_width(frame.width, sample_aspect),
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
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)
        rate = _fraction(stream.average_rate) or _fraction(stream.guessed_rate)
        tick = max(1, round((1 / rate) / time_base)) if rate else 1
        origin = stream.start_time or 0
        sample_aspect = _sample_aspect(stream)
        if segment.start > 0:
            # Seek lands on the keyframe at or before start; frames before start are dropped below.
            target = origin + math.floor(segment.start / time_base)
            container.seek(target, stream=stream, backward=True, any_frame=False)
        end = segment.end
        index = 0
        last_pts: int | None = None
        rotation: int | None = None
        skipped_to: Fraction | None = None  # the time of the last frame before start
        for frame in _decode(container, stream, path):
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
                rotation = _rotation(frame)
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


def without_location(metadata: dict[str, str]) -> dict[str, str]:
    """``metadata`` without the tags that say where it was filmed."""
    return {key: value for key, value in metadata.items() if not any(w in key.lower() for w in _LOCATION_WORDS)}


def stream_metadata(path: Path) -> dict[str, str]:
    """Language and title of the video stream, worth carrying to the output."""
    with open_input(path) as container:
        stream = _video_stream(container, path)
        return {k: v for k, v in stream.metadata.items() if k in TRACK_LABELS}
