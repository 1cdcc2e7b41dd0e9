"""Encoding stylized frames with PyAV, with the source's tracks carried across.

H.264 (yuv420p) into mp4, mov or mkv; VP9 into webm. Every frame keeps its source
timestamp, so variable frame rates and durations survive. The source's audio, subtitles,
chapters and attachments come along (``carried_tracks.py``). The file is written beside the
target under a temporary name and renamed at the end.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import cast

import av
import av.error
import numpy as np
from av.video.reformatter import ColorRange, Colorspace
from av.video.stream import VideoStream

from vidstyle.carried_tracks import CarriedTracks
from vidstyle.device import cpu_has_avx512
from vidstyle.errors import OutputPathError
from vidstyle.options import DEFAULT_CRF
from vidstyle.outputs import temporary_output
from vidstyle.settings import EncodeSettings
from vidstyle.video_info import VideoInfo
from vidstyle.video_io import RGB_TO_YUV, yuv_matrix

# x264's AVX-512 code makes its output differ from run to run, as if it read memory it never
# wrote: on a 2-core AVX-512 Xeon, 12 frames of a render encoded 12 times in one process gave
# 2 to 6 different streams at widths of 48 to 200 px (not at 64), also with threads=1; with
# x264's instructions capped at AVX2, one stream (30 encodes at 200 px, 10 at 394 px), as
# without macroblock-tree (8 encodes). So the same render could give another file. Every CPU
# with AVX-512 also has what x264's AVX2 level needs. libvpx (webm) was stable either way.
X264_DETERMINISTIC: dict[str, str] = {"x264-params": "asm=avx2"} if cpu_has_avx512() else {}


@dataclass(frozen=True)
class ContainerPlan:
    """How an output extension is written."""

    muxer: str
    video_codec: str
    audio_copyable: frozenset[str] | None  # None: any codec may be copied
    audio_fallback: str


_CONTAINERS: dict[str, ContainerPlan] = {
    ".mp4": ContainerPlan("mp4", "libx264", frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}), "aac"),
    ".m4v": ContainerPlan("mp4", "libx264", frozenset({"aac", "mp3", "alac", "ac3", "eac3"}), "aac"),
    ".mov": ContainerPlan(
        "mov", "libx264", frozenset({"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le"}), "aac"
    ),
    ".mkv": ContainerPlan("matroska", "libx264", None, "aac"),
    ".webm": ContainerPlan("webm", "libvpx-vp9", frozenset({"opus", "vorbis"}), "libopus"),
}
VIDEO_EXTENSIONS: tuple[str, ...] = tuple(_CONTAINERS)


def container_plan(path: Path) -> ContainerPlan:
    plan = _CONTAINERS.get(path.suffix.lower())
    if plan is None:
        raise OutputPathError(f"{path}: unsupported output type; use one of {', '.join(VIDEO_EXTENSIONS)}")
    return plan


class VideoWriter:
    """Write RGB frames with their timestamps to a video file, with the audio, subtitles and
    chapters of ``source``.

    Use as a context manager: the file appears under its final name only when the block ends
    without an exception. ``origin`` (seconds, in the source's timeline) becomes time zero in
    the output, for video, audio and subtitles alike: 0 keeps the source's timestamps as they
    are. Audio packets and subtitle cues that start before ``origin`` or at ``end`` or later
    are left out; chapters are cut to the part.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        time_base: Fraction,
        frame_rate: Fraction | None,
        source: VideoInfo | None = None,
        origin: Fraction = Fraction(0),
        end: Fraction | None = None,
        encode: EncodeSettings | None = None,
        metadata: dict[str, str] | None = None,
        stream_metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.plan = container_plan(path)
        self.width, self.height = width, height
        self.time_base = time_base
        self.frame_rate = frame_rate or Fraction(25)
        self.source = source
        self.origin = origin
        self.end = end
        self.encode = encode or EncodeSettings()
        self.metadata = metadata or {}
        self.stream_metadata = stream_metadata or {}
        # H.273's code points: 1 is BT.709 for the matrix, primaries and transfer alike; 6 is
        # SMPTE 170M (BT.601's 525-line variant) for all three.
        self._matrix = 1 if yuv_matrix(width, height) == Colorspace.ITU709 else 6
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> VideoWriter:
        try:
            temp = self._stack.enter_context(temporary_output(self.path))
            self._output = self._stack.enter_context(av.open(str(temp), mode="w", format=self.plan.muxer))
            self._setup_video()
            self._carried: CarriedTracks | None = None
            if self.source is not None:
                self._carried = CarriedTracks(
                    self._output, self.plan, self.source, self._stack, origin=self.origin, end=self.end, into=self.path
                )
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            try:
                self._finish()
            except BaseException as finish_error:
                self._stack.__exit__(type(finish_error), finish_error, finish_error.__traceback__)
                raise
        self._stack.__exit__(exc_type, exc, tb)

    def _setup_video(self) -> None:
        stream = cast(VideoStream, self._output.add_stream(self.plan.video_codec, rate=self.frame_rate))
        stream.width, stream.height = self.width + self.width % 2, self.height + self.height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        crf = self.encode.crf if self.encode.crf is not None else DEFAULT_CRF[self.plan.video_codec]
        if self.plan.video_codec == "libx264":
            stream.options = {"crf": str(crf), "preset": self.encode.preset or "medium", **X264_DETERMINISTIC}
        else:
            stream.options = {"crf": str(crf), "b": "0", "row-mt": "1"}
        # Tag what we write, so players need not guess, and write with the matrix a player that
        # ignores the tag assumes for the size: BT.709 for HD, else BT.601 (SMPTE 170M, whose
        # primaries and transfer curve the tags name with it), limited range.
        stream.codec_context.colorspace = self._matrix
        stream.codec_context.color_range = ColorRange.MPEG
        stream.codec_context.color_primaries = self._matrix
        stream.codec_context.color_trc = self._matrix
        for key, value in self.stream_metadata.items():
            stream.metadata[key] = value
        for key, value in self.metadata.items():
            self._output.metadata[key] = value
        self._video = stream

    def write(self, frame: np.ndarray, pts: int) -> None:
        """Encode one RGB frame (H, W, 3) uint8 shown at ``pts`` (source time base)."""
        if frame.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, writer is {self.width}x{self.height}")
        if self.width % 2 or self.height % 2:
            # 4:2:0 chroma needs even sides: repeat the last row/column rather than scale.
            frame = np.pad(frame, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        video_frame = video_frame.reformat(
            format="yuv420p",
            src_color_range=ColorRange.JPEG,
            dst_colorspace=self._matrix,
            dst_color_range=ColorRange.MPEG,
            interpolation=RGB_TO_YUV,
        )
        video_frame.pts = pts - round(self.origin / self.time_base)
        video_frame.time_base = self.time_base
        if self._carried is not None:
            self._carried.mux_until(video_frame.pts * self.time_base + self.origin)
        for packet in self._video.encode(video_frame):
            self._output.mux(packet)

    def _finish(self) -> None:
        for packet in self._video.encode(None):
            self._output.mux(packet)
        if self._carried is not None:
            self._carried.finish()
