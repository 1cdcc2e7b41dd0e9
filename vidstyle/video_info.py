"""What a video file holds (``probe``), and the frames of its video stream as PyAV decodes
them (``decode``), damaged packets skipped with a warning. Reading those frames as RGB
pictures is ``video_io.py``'s.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.video.reformatter import ColorRange

from vidstyle.errors import InputFileError, NoFramesError, NotMediaError, NoVideoStreamError

log = logging.getLogger(__name__)


# Stream-level metadata worth keeping on the output; container-level keys are copied except
# those that describe the old encoding (brands, encoder).
# What players show and choose a track by, carried into the output for every track.
TRACK_LABELS = ("language", "title")


_DROPPED_CONTAINER_METADATA = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})


# Where a camera put the clip (QuickTime's location and ISO 6709 keys, their language
# variants, GPS fields): left out of a stylized video unless asked for.
_LOCATION_WORDS = ("location", "gps")


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


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    # Cover art is a one-picture "video" stream; the real video is the first other one.
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise NoVideoStreamError(f"{path}: has no video stream")
    return streams[0]


def fraction(value: Fraction | int | None) -> Fraction | None:
    """A positive Fraction, or None for a missing or zero rate."""
    if value is None:
        return None
    fraction = Fraction(value)
    return fraction if fraction > 0 else None


def probe(path: Path) -> VideoInfo:
    """Read a video's properties. Decodes its first frame, to learn the display rotation and to
    prove the stream is decodable."""
    with open_input(path) as container:
        stream = video_stream(container, path)
        first = _first_frame(container, stream, path)
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)
        frame_rate = fraction(stream.average_rate) or fraction(stream.guessed_rate)
        start = Fraction(stream.start_time or 0) * time_base
        duration = _duration(container, stream, time_base)
        frame_count, exact = _frame_count(stream, duration, frame_rate)
        rotation = display_rotation(first)
        sample_aspect = pixel_aspect(stream)
        shown = shown_width(first.width, sample_aspect)
        width, height = (first.height, shown) if rotation % 180 else (shown, first.height)
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
            color_range="full" if is_full_range(first) else "limited",
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


def display_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in degrees, a multiple of 90 in [0, 360)."""
    return (round((frame.rotation or 0) / 90) * 90) % 360


def is_full_range(frame: av.VideoFrame) -> bool:
    # yuvj* formats are full range by definition, whatever the tag says.
    return frame.color_range == ColorRange.JPEG or frame.format.name.startswith("yuvj")


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> av.VideoFrame:
    for decoded in decode(container, stream, path):
        return decoded
    raise NoFramesError(f"{path}: the video stream has no decodable frame")


def decode(
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


def pixel_aspect(stream: av.video.stream.VideoStream) -> Fraction:
    """The shape of a stored pixel (DV 10:11, anamorphic DVD 32:27, HDV 4:3), 1 where unsaid."""
    aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return Fraction(aspect) if aspect else Fraction(1)


def shown_width(width: int, sample_aspect: Fraction) -> int:
    """How many square pixels wide a stored row of ``width`` pixels is shown."""
    return max(1, round(width * sample_aspect))


def without_location(metadata: dict[str, str]) -> dict[str, str]:
    """``metadata`` without the tags that say where it was filmed."""
    return {key: value for key, value in metadata.items() if not any(w in key.lower() for w in _LOCATION_WORDS)}


def stream_metadata(path: Path) -> dict[str, str]:
    """Language and title of the video stream, worth carrying to the output."""
    with open_input(path) as container:
        stream = video_stream(container, path)
        return {k: v for k, v in stream.metadata.items() if k in TRACK_LABELS}


# Intervals between frames that differ by more than this share are a variable frame rate, not
# the rounding of a constant one to the time base (1/90000 s, or 1 ms in Matroska).
VARIABLE_RATE_SPREAD = 0.02


@dataclass(frozen=True)
class FrameTiming:
    """The video stream's frames as their timestamps space them: the same figures for two
    files whose frames have the same times, whatever durations their containers record (a
    container's average rate divides by its own duration, which a phone's VFR clip and its
    re-encode with identical timestamps do not share)."""

    frames: int
    average_rate: Fraction | None  # frames a second from the first frame to the last; None for one frame
    slowest_rate: Fraction | None  # over the longest interval
    fastest_rate: Fraction | None  # over the shortest

    @property
    def variable(self) -> bool:
        if self.slowest_rate is None or self.fastest_rate is None:
            return False
        return self.fastest_rate > self.slowest_rate * (1 + VARIABLE_RATE_SPREAD)

    def describe(self, nominal: Fraction | None) -> str:
        """``29.970 fps (30000/1001)``: the rate the timestamps give, with the stream's
        ``nominal`` one where the two agree; or ``variable, ...`` with its range."""
        average = self.average_rate
        if average is None:
            return f"{float(nominal):.3f} fps ({nominal})" if nominal else "unknown"
        if self.variable:
            assert self.slowest_rate is not None and self.fastest_rate is not None
            slowest, fastest = float(self.slowest_rate), float(self.fastest_rate)
            return f"variable, {float(average):.3f} fps on average (from {slowest:.3f} to {fastest:.3f})"
        same = nominal is not None and abs(nominal - average) <= average * VARIABLE_RATE_SPREAD
        return f"{float(average):.3f} fps" + (f" ({nominal})" if same else "")


def frame_timing(path: Path) -> FrameTiming:
    """Read the video stream's timestamps (no decoding): see ``FrameTiming``."""
    with open_input(path) as container:
        stream = video_stream(container, path)
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1_000_000)
        stamps: set[int] = set()
        try:
            stamps = {packet.pts for packet in container.demux(stream) if packet.pts is not None}
        except av.error.FFmpegError as exc:
            raise InputFileError(f"{path}: cannot read its timestamps ({exc.strerror or exc})") from exc
    pts = sorted(stamps)
    intervals = [b - a for a, b in itertools.pairwise(pts)]
    if not intervals:
        return FrameTiming(len(pts), None, None, None)
    return FrameTiming(
        frames=len(pts),
        average_rate=len(intervals) / ((pts[-1] - pts[0]) * time_base),
        slowest_rate=1 / (max(intervals) * time_base),
        fastest_rate=1 / (min(intervals) * time_base),
    )
