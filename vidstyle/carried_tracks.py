"""The source's tracks carried into a stylized video. Audio is stream-copied where the output
container accepts its codec, and transcoded (AAC, or Opus for webm) where not, at a rate and
channel layout that the encoder opens. Subtitles are stream-copied where the output's muxer
takes their codec, by FFmpeg's own list (SubRip, ASS, WebVTT and bitmap subtitles into mkv;
mov_text into mp4 and mov; WebVTT into webm), and left out with a warning where not: FFmpeg
converts text subtitles only through a decode and encode that PyAV does not offer. Chapters
are cut to the rendered part; attached files (fonts for subtitles) go into mkv.

``CarriedTracks`` muxes them in step with the video that ``video_writer.VideoWriter`` encodes:
up to each frame's time, and the rest at the end. ``origin`` (source seconds) becomes time
zero; what starts before it, or at ``end`` or later, is left out.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import av
import av.error
from av.audio.stream import AudioStream

from vidstyle.video_info import TRACK_LABELS, VideoInfo, open_input

if TYPE_CHECKING:
    from av.container.core import Chapter  # a TypedDict of PyAV's stubs only

log = logging.getLogger(__name__)


class Container(Protocol):
    """What carrying tracks needs to know of the output container (``video_writer.ContainerPlan``)."""

    @property
    def muxer(self) -> str: ...

    @property
    def audio_copyable(self) -> frozenset[str] | None: ...  # None: any codec may be copied

    @property
    def audio_fallback(self) -> str: ...


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
        plan: Container,
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


class CarriedTracks:
    """The tracks of ``info`` carried into ``output`` (being written to ``into``), opened on
    ``stack``."""

    def __init__(
        self,
        output: av.container.OutputContainer,
        container: Container,
        info: VideoInfo,
        stack: contextlib.ExitStack,
        *,
        origin: Fraction,
        end: Fraction | None,
        into: Path,
    ) -> None:
        self._output, self.container, self.info = output, container, info
        self.origin, self.end, self.into = origin, end, into
        self._audio_tracks: list[_AudioTrack] = []
        self._tracks: dict[int, _AudioTrack | _SubtitleTrack] = {}  # by the source stream's index
        self._packets: Iterator[av.Packet] | None = None
        self._pending: av.Packet | None = None
        source = stack.enter_context(open_input(info.path))
        chapters = _chapters_within(source.chapters(), self.origin, self.end)
        if chapters:
            self._output.set_chapters(chapters)
        self._copy_attachments(source, info.path)
        audio = [cast(AudioStream, s) for s in source.streams.audio if s.codec_context is not None]
        for audio_stream in audio:
            track = _AudioTrack(self._output, audio_stream, self.container)
            self._audio_tracks.append(track)
            self._tracks[audio_stream.index] = track
        subtitles: list[av.stream.Stream] = []
        for subtitle_stream in source.streams.subtitles:
            codec = subtitle_stream.codec_context.name if subtitle_stream.codec_context is not None else "unknown"
            # The muxer's own list (avformat_query_codec): copying anything else fails at the end.
            if codec not in self._output.supported_codecs:
                log.warning(
                    "%s: subtitle stream %d (%s) cannot be copied into %s and is left out; write .mkv to keep it",
                    info.path, subtitle_stream.index, codec, self.into.suffix,
                )  # fmt: skip
                continue
            copy = self._output.add_stream_from_template(subtitle_stream)
            _copy_track_labels(subtitle_stream, copy)
            self._tracks[subtitle_stream.index] = _SubtitleTrack(copy)
            subtitles.append(subtitle_stream)
        if self.origin > 0:
            source.seek(int(self.origin * av.time_base), backward=True, any_frame=False)
        self._packets = source.demux(*audio, *subtitles) if audio or subtitles else None

    def _copy_attachments(self, source: av.container.InputContainer, path: Path) -> None:
        """Attached files (the fonts that ASS subtitles are drawn with, cover pictures) go into
        Matroska, the one output container that holds them."""
        attachments = list(source.streams.attachments)
        if attachments and self.container.muxer != "matroska":
            log.warning(
                "%s: %d attached file(s) (%s) cannot go into %s and are left out; write .mkv to keep them",
                path, len(attachments), ", ".join(a.name or "unnamed" for a in attachments), self.into.suffix,
            )  # fmt: skip
            return
        for index, attachment in enumerate(attachments):
            name, mimetype = attachment.name or f"attachment{index}", attachment.mimetype or "application/octet-stream"
            self._output.add_attachment(name=name, mimetype=mimetype, data=attachment.data)

    def mux_until(self, time: Fraction | None) -> None:
        """Mux source audio and subtitles up to ``time`` (source seconds), or all of them (within
        the end) for None."""
        if self._packets is None:
            return
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                self._packets = None
                return
            if packet.pts is None or packet.time_base is None:
                continue
            packet_time = packet.pts * Fraction(packet.time_base)
            if time is not None and packet_time > time:
                self._pending = packet
                return
            track = self._tracks[packet.stream.index]
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
            log.warning("%s: a corrupt audio packet was skipped", self.info.path)
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

    def finish(self) -> None:
        """Mux what is left within the end, and flush the audio encoders."""
        self.mux_until(None)
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
