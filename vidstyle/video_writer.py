"""Encoding stylized frames with PyAV, with the source's audio carried across.

H.264 (yuv420p) into mp4, mov or mkv; VP9 into webm. Every frame keeps its source
timestamp, so variable frame rates and durations survive. Audio is stream-copied where the
output container accepts its codec, and transcoded (AAC, or Opus for webm) where not, at a
rate and channel layout that the encoder opens. Subtitles are stream-copied where the
output's muxer takes their codec, by FFmpeg's own list (SubRip, ASS, WebVTT and bitmap
subtitles into mkv; mov_text into mp4 and mov; WebVTT into webm), and left out with a
warning where not: FFmpeg converts text subtitles only through a decode and encode that PyAV
does not offer. Chapters come along, and attached files (fonts for subtitles) into mkv. The
file is written beside the target under a temporary name and renamed at the end.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, cast

import av
import av.error
import numpy as np
from av.audio.stream import AudioStream
from av.video.reformatter import ColorRange, Colorspace
from av.video.stream import VideoStream

from vidstyle.config import DEFAULT_CRF, EncodeSettings
from vidstyle.device import cpu_has_avx512
from vidstyle.errors import OutputPathError
from vidstyle.outputs import temporary_output
from vidstyle.video_io import RGB_TO_YUV, TRACK_LABELS, VideoInfo, open_input, yuv_matrix

if TYPE_CHECKING:
    from av.container.core import Chapter  # a TypedDict of PyAV's stubs only

log = logging.getLogger(__name__)

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


def _chapters_within(chapters: list[Chapter], origin: Fraction, end: Fraction | None) -> list[Chapter]:
    """The chapters that overlap the rendered part, cut to it, with ``origin`` as time zero."""
    kept: list[Chapter] = []
    for chapter in chapters:
        time_base = Fraction(chapter["time_base"] or Fraction(1, av.time_base))
        start = max(chapter["start"] * time_base, origin)
        stop = chapter["end"] * time_base if end is None else min(chapter["end"] * time_base, end)
        if stop > start:
            cut = round((start - origin) / time_base), round((stop - origin) / time_base)
            kept.append({**chapter, "start": cut[0], "end": cut[1], "time_base": time_base})
    return kept


# Channel layouts by channel count that both fallback encoders open (tried one by one: AAC
# opens every named layout, libopus these alone); a layout that names no channels ("1
# channels", from PCM without a channel mask) opens neither.
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _encodable_layout(layout: av.AudioLayout | None, encoder: str) -> str:
    """The source's channel layout where the encoder opens it, else the usual one for its
    channel count, else stereo (more than 8 channels are mixed down)."""
    if layout is None:
        return "stereo"
    named = not layout.name.endswith("channels") and layout.name != "downmix"
    if named and (encoder == "aac" or layout.name in _DEFAULT_LAYOUTS.values()):
        return layout.name
    return _DEFAULT_LAYOUTS.get(len(layout.channels), "stereo")


def _encodable_rate(rate: int, rates: list[int] | None) -> int:
    """The source's sample rate where the encoder takes it, else the nearest above it that it
    takes, else its highest (AAC stops at 96 kHz, Opus takes 8 to 48 kHz)."""
    if not rates or rate in rates:
        return rate
    return min((r for r in rates if r > rate), default=max(rates))


def _copy_track_labels(source: av.stream.Stream, copy: av.stream.Stream) -> None:
    """What players show and choose a track by: its language and title, and its disposition
    (default, forced, for the hearing impaired ...)."""
    for key in TRACK_LABELS:
        if key in source.metadata:
            copy.metadata[key] = source.metadata[key]
    copy.disposition = source.disposition


class _AudioTrack:
    """One source audio stream, muxed into the output in step with the video."""

    def __init__(
        self,
        output: av.container.OutputContainer,
        source: av.audio.stream.AudioStream,
        plan: ContainerPlan,
    ) -> None:
        self.stream: AudioStream
        codec = source.codec_context.name
        # Ours is the list of codecs that players take in the container; the muxer's own list
        # (avformat_query_codec) is what it can write at all: mkv refuses pcm_mulaw, say.
        taken = plan.audio_copyable is None or codec in plan.audio_copyable
        self.copy = taken and codec in output.supported_codecs
        self.bsf: av.bitstream.BitStreamFilterContext | None = None
        if self.copy:
            self.stream = cast(AudioStream, output.add_stream_from_template(source))
            # ADTS AAC (MPEG-TS, raw .aac) must be repacked for mp4/mov.
            adts = source.codec_context.name == "aac" and source.container.format.name in ("mpegts", "aac")
            if adts and plan.muxer in ("mp4", "mov"):
                self.bsf = av.bitstream.BitStreamFilterContext("aac_adtstoasc", source, self.stream)
        else:
            encoder = av.codec.Codec(plan.audio_fallback, "w")
            rate = _encodable_rate(source.codec_context.sample_rate, encoder.audio_rates)
            self.stream = cast(AudioStream, output.add_stream(plan.audio_fallback, rate=rate))
            layout = _encodable_layout(source.codec_context.layout, plan.audio_fallback)
            self.stream.codec_context.layout = layout
            channels = self.stream.codec_context.channels or 2
            # 64 kbit/s a channel, but within what the encoder can spend: FFmpeg's AAC encoder
            # refuses more than 6 bits a sample (an 8 kHz mono phone clip: 48 kbit/s at most).
            self.stream.codec_context.bit_rate = min(64_000, 6 * rate) * channels
            formats = self.stream.codec_context.codec.audio_formats or []
            self.resampler = av.AudioResampler(format=formats[0].name if formats else "fltp", layout=layout, rate=rate)
            self.rate = rate
            self.next_pts: int | None = None  # in samples of the output, from the first sample muxed
            log.info(
                "audio stream %d (%s) is transcoded to %s", source.index, source.codec_context.name, plan.audio_fallback
            )
        _copy_track_labels(source, self.stream)


@dataclass(frozen=True)
class _SubtitleTrack:
    """One source subtitle stream, stream-copied into the output stream ``stream``."""

    stream: av.stream.Stream


def _trim_cue(packet: av.Packet, origin: Fraction, end: Fraction | None) -> None:
    """Fit a subtitle cue into the rendered part: one still shown at ``origin`` starts there
    instead (a render from --start keeps the line on screen at its first frame), and one
    shown past ``end`` ends there."""
    assert packet.pts is not None and packet.time_base is not None
    time_base = Fraction(packet.time_base)
    start, duration = packet.pts * time_base, (packet.duration or 0) * time_base
    stop = start + duration
    if end is not None and start < end < stop:
        stop = end
    if start < origin < stop:
        start = origin
        packet.pts = packet.dts = math.ceil(start / time_base)
    if duration:
        packet.duration = round(stop / time_base) - packet.pts


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
            self._audio_tracks: list[_AudioTrack] = []
            self._carried_tracks: dict[int, _AudioTrack | _SubtitleTrack] = {}  # by the source stream's index
            self._carried_packets: Iterator[av.Packet] | None = None
            self._pending: av.Packet | None = None
            if self.source is not None:
                self._setup_carried_streams(self.source)
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
            stream.options = {"crf": str(crf), "preset": self.encode.preset, **X264_DETERMINISTIC}
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

    def _setup_carried_streams(self, info: VideoInfo) -> None:
        source = self._stack.enter_context(open_input(info.path))
        chapters = _chapters_within(source.chapters(), self.origin, self.end)
        if chapters:
            self._output.set_chapters(chapters)
        self._copy_attachments(source, info.path)
        audio = [cast(AudioStream, s) for s in source.streams.audio if s.codec_context is not None]
        for audio_stream in audio:
            track = _AudioTrack(self._output, audio_stream, self.plan)
            self._audio_tracks.append(track)
            self._carried_tracks[audio_stream.index] = track
        subtitles: list[av.stream.Stream] = []
        for subtitle_stream in source.streams.subtitles:
            codec = subtitle_stream.codec_context.name if subtitle_stream.codec_context is not None else "unknown"
            # The muxer's own list (avformat_query_codec): copying anything else fails at the end.
            if codec not in self._output.supported_codecs:
                log.warning(
                    "%s: subtitle stream %d (%s) cannot be copied into %s and is left out; write .mkv to keep it",
                    info.path, subtitle_stream.index, codec, self.path.suffix,
                )  # fmt: skip
                continue
            copy = self._output.add_stream_from_template(subtitle_stream)
            _copy_track_labels(subtitle_stream, copy)
            self._carried_tracks[subtitle_stream.index] = _SubtitleTrack(copy)
            subtitles.append(subtitle_stream)
        if self.origin > 0:
            source.seek(int(self.origin * av.time_base), backward=True, any_frame=False)
        self._carried_packets = source.demux(*audio, *subtitles) if audio or subtitles else None

    def _copy_attachments(self, source: av.container.InputContainer, path: Path) -> None:
        """Attached files (the fonts that ASS subtitles are drawn with, cover pictures) go into
        Matroska, the one output container that holds them."""
        attachments = list(source.streams.attachments)
        if attachments and self.plan.muxer != "matroska":
            log.warning(
                "%s: %d attached file(s) (%s) cannot go into %s and are left out; write .mkv to keep them",
                path, len(attachments), ", ".join(a.name or "unnamed" for a in attachments), self.path.suffix,
            )  # fmt: skip
            return
        for index, attachment in enumerate(attachments):
            name, mimetype = attachment.name or f"attachment{index}", attachment.mimetype or "application/octet-stream"
            self._output.add_attachment(name=name, mimetype=mimetype, data=attachment.data)

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
        self._mux_carried_until(video_frame.pts * self.time_base + self.origin)
        for packet in self._video.encode(video_frame):
            self._output.mux(packet)

    def _mux_carried_until(self, time: Fraction | None) -> None:
        """Mux source audio and subtitles up to ``time`` (source seconds), or all of them (within
        the end) for None."""
        if self._carried_packets is None:
            return
        while True:
            packet = self._pending or next(self._carried_packets, None)
            self._pending = None
            if packet is None:
                self._carried_packets = None
                return
            if packet.pts is None or packet.time_base is None:
                continue
            packet_time = packet.pts * Fraction(packet.time_base)
            if time is not None and packet_time > time:
                self._pending = packet
                return
            track = self._carried_tracks[packet.stream.index]
            if isinstance(track, _SubtitleTrack):
                _trim_cue(packet, self.origin, self.end)
                packet_time = packet.pts * Fraction(packet.time_base)
            # A full render keeps everything, encoder priming (negative times) included.
            before_cut = self.origin > 0 and packet_time < self.origin
            if before_cut or (self.end is not None and packet_time >= self.end):
                continue
            if isinstance(track, _SubtitleTrack):
                self._mux_copied([packet], track.stream, Fraction(packet.time_base))
            else:
                self._mux_audio_packet(track, packet)

    def _mux_copied(self, packets: list[av.Packet], stream: av.stream.Stream, time_base: Fraction) -> None:
        """Mux stream-copied packets, their times moved so that ``origin`` becomes zero."""
        shift = round(self.origin / time_base)
        for out in packets:
            if out.pts is not None:
                out.pts -= shift
            if out.dts is not None:
                out.dts -= shift
            out.stream = stream
            self._output.mux(out)

    def _mux_audio_packet(self, track: _AudioTrack, packet: av.Packet) -> None:
        if track.copy:
            packets = track.bsf.filter(packet) if track.bsf is not None else [packet]
            self._mux_copied(packets, track.stream, Fraction(packet.time_base))
            return
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            log.warning("%s: a corrupt audio packet was skipped", self.source.path if self.source else "")
            return
        for frame in frames:
            assert isinstance(frame, av.AudioFrame)
            if track.next_pts is None:
                # The first sample keeps its time (from the origin): the encoder then signals its
                # own delay (Opus pre-skip, AAC priming) before it, instead of playing it late.
                start = frame.pts * Fraction(frame.time_base) - self.origin if frame.pts is not None else 0
                track.next_pts = round(start * track.rate)
            frame.pts = None  # from here on the samples are counted, whatever the source's jitter
            self._encode_audio(track, track.resampler.resample(frame))

    def _encode_audio(self, track: _AudioTrack, frames: list[av.AudioFrame]) -> None:
        for resampled in frames:
            assert track.next_pts is not None
            resampled.pts = track.next_pts
            resampled.time_base = Fraction(1, track.rate)
            track.next_pts += resampled.samples
            for out in track.stream.encode(resampled):
                self._output.mux(out)

    def _finish(self) -> None:
        for packet in self._video.encode(None):
            self._output.mux(packet)
        self._mux_carried_until(None)
        for track in self._audio_tracks:
            if track.copy:
                if track.bsf is not None:
                    for out in track.bsf.filter(None):
                        out.stream = track.stream
                        self._output.mux(out)
                continue
            if track.next_pts is not None:
                self._encode_audio(track, track.resampler.resample(None))
            for out in track.stream.encode(None):
                self._output.mux(out)
