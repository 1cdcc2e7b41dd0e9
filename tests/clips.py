"""Tiny real video files made with PyAV for the tests: exact content, known timestamps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.conftest import textured_frame

FrameMaker = Callable[[int], np.ndarray]


def moving_texture(width: int, height: int, step: int = 2, seed: int = 0) -> FrameMaker:
    """Frames of a texture sliding right by ``step`` px per frame (wraps around)."""
    base = textured_frame(width * 2, height, seed=seed)

    def frame(index: int) -> np.ndarray:
        offset = (index * step) % width
        return np.ascontiguousarray(base[:, width - offset : 2 * width - offset])

    return frame


def circling_texture(index: int) -> np.ndarray:
    """A 64x48 texture sliding 8 px a frame around a 64 px period: frame 8 is frame 0 again,
    so the last of 8 frames flows into the first as any frame flows into the next."""
    return np.ascontiguousarray(np.roll(textured_frame(64, 48, seed=3), 8 * index, axis=1))


def flat_patches(width: int, height: int) -> FrameMaker:
    """Four flat colour quadrants (the same every frame)."""
    colours = np.array([[200, 40, 40], [40, 180, 60], [50, 70, 210], [230, 220, 90]], dtype=np.uint8)

    def frame(index: int) -> np.ndarray:
        out = np.empty((height, width, 3), dtype=np.uint8)
        h, w = height // 2, width // 2
        out[:h, :w], out[:h, w:], out[h:, :w], out[h:, w:] = colours
        return out

    return frame


PATCH_COLOURS = [(200, 40, 40), (40, 180, 60), (50, 70, 210), (230, 220, 90)]


def make_clip(
    path: Path,
    *,
    frames: int = 10,
    width: int = 64,
    height: int = 48,
    rate: Fraction = Fraction(25),
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    full_range: bool = False,
    rotation: int = 0,
    hdr: bool = False,
    audio: str | None = "aac",
    audio_burst_at: float | None = None,
    audio_rate: int = 48000,
    audio_layout: str = "stereo",
    sample_aspect: Fraction | None = None,
    make_frame: FrameMaker | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a clip. ``pts`` (in ``time_base``, default 1/rate) gives irregular timing.

    The audio is a quiet 440 Hz tone covering the clip; with ``audio_burst_at`` it is silent
    except for a loud burst starting at that second, for A/V sync checks. ``audio_layout`` may
    name no channel order ("1 channels"), as PCM without a channel mask does.
    """
    make_frame = make_frame or moving_texture(width, height)
    time_base = time_base or 1 / rate
    if pts is None:
        pts = [round(i / rate / time_base) for i in range(frames)]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if codec == "libx264":
            stream.options = {"crf": "10", "preset": "ultrafast", **(options or {})}
        if full_range:
            stream.codec_context.color_range = 2
        if rotation:
            stream.set_display_rotation(rotation)
        if sample_aspect is not None:  # the shape of a stored pixel, as DV and DVDs tag it
            stream.codec_context.sample_aspect_ratio = sample_aspect
        if hdr:  # tagged as HDR10: PQ transfer, BT.2020 primaries (the pixels stay SDR)
            stream.codec_context.color_trc = 16
            stream.codec_context.color_primaries = 9
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream(audio, rate=audio_rate)
            audio_stream.codec_context.layout = audio_layout
        duration = (pts[-1] * time_base) + 1 / rate
        samples_written = 0
        total_samples = int(duration * audio_rate)
        for index, frame_pts in enumerate(pts):
            rgb = make_frame(index)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame = frame.reformat(format=pix_fmt, dst_color_range=2 if full_range else 1)
            frame.pts = frame_pts
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
            if audio_stream is not None:
                until = min(total_samples, int((frame_pts * time_base + 1 / rate) * audio_rate))
                while samples_written + 1024 <= until:
                    _write_audio(container, audio_stream, samples_written, audio_burst_at)
                    samples_written += 1024
        for packet in stream.encode(None):
            container.mux(packet)
        if audio_stream is not None:
            for packet in audio_stream.encode(None):
                container.mux(packet)
    return path


def _write_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, start: int, burst: float | None
) -> None:
    rate = stream.codec_context.sample_rate
    t = (np.arange(start, start + 1024) / rate).astype(np.float32)
    if burst is None:
        signal = 0.1 * np.sin(2 * np.pi * 440 * t)
    else:
        signal = np.where(t >= burst, 0.8, 0.0) * np.sin(2 * np.pi * 440 * t)
    layout = stream.codec_context.layout
    planar = np.stack([signal] * len(layout.channels)).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout.name)
    frame.sample_rate = rate
    frame.pts = start
    frame.time_base = Fraction(1, rate)
    for packet in stream.encode(frame):
        container.mux(packet)


def audio_onset(path: Path, threshold: float = 0.3) -> float:
    """Seconds (output timeline) at which the first audio stream first exceeds ``threshold``."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            samples = frame.to_ndarray()
            loud = np.nonzero(np.abs(samples).max(axis=0) > threshold)[0]
            if loud.size:
                return float(frame.pts * frame.time_base) + loud[0] / frame.sample_rate
    raise AssertionError("no onset found")


def real_frames(path: Path, first: int, count: int, width: int, height: int) -> list[np.ndarray]:
    """``count`` frames of a real clip from frame ``first``, resized to ``width`` x ``height``."""
    import cv2

    from vidstyle.video_io import Segment, read_frames

    frames = [d.frame for d in read_frames(path, Segment(frames=first + count))][first:]
    return [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames]


# Three real shots glued together, a white flash inside the second: (shot starts, flash frame).
GLUED_STARTS = (0, 20, 45)
GLUED_FLASH = 32


def glued_shots_clip(
    path: Path, samples: Path, *, width: int = 96, height: int = 72, lengths: tuple[int, int, int] = (20, 25, 20)
) -> Path:
    """pens.mp4 from frame 0, then the 1906 film from frame 20 (its middle frame turned white,
    at frame ``GLUED_FLASH`` with the default lengths), then pens.mp4 from frame 44 (the
    camera has moved on)."""
    film = samples / "shepard_calais_1906.ogv"
    first, second, third = lengths
    frames = (
        real_frames(samples / "pens.mp4", 0, first, width, height)
        + real_frames(film, 20, second, width, height)
        + real_frames(samples / "pens.mp4", 44, third, width, height)
    )
    frames[first + second // 2] = np.full_like(frames[0], 255)
    return make_clip(path, frames=len(frames), width=width, height=height, make_frame=lambda i: frames[i], audio=None)


def saved_frames(output: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` lossless frames that a render to ``output`` kept (``keep_frames``)."""
    from vidstyle.workdir import WorkDir, work_dir_for

    work = WorkDir(work_dir_for(output))
    return [work.load(i) for i in range(count)]


def with_extras(
    clip: Path,
    output: Path,
    cues: Sequence[tuple[float, float, str]],
    *,
    webvtt: bool = False,
    chapters: Sequence[tuple[float, float, str]] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> Path:
    """``clip``'s streams remuxed into ``output`` with a subtitle track of ``cues`` (start and end
        in seconds, text; SubRip, or WebVTT for webm), ``chapters`` (start, end, title) and
        ``attachments`` (name, MIME type, content; mkv only). Every track is tagged as Swedish, and
    the subtitles as forced."""
    text_file = output.with_suffix(".vtt" if webvtt else ".srt")

    def stamp(seconds: float) -> str:
        millis = round(seconds * 1000)
        clock = f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}"
        return f"{clock}{'.' if webvtt else ','}{millis % 1000:03d}"

    blocks = [f"{i + 1}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for i, (a, b, text) in enumerate(cues)]
    text_file.write_text(("WEBVTT\n\n" if webvtt else "") + "\n".join(blocks))
    with av.open(str(clip)) as source, av.open(str(text_file)) as subtitles, av.open(str(output), "w") as out:
        copies = {s.index: out.add_stream_from_template(s) for s in source.streams}
        subtitle_copy = out.add_stream_from_template(subtitles.streams.subtitles[0])
        for stream in [*copies.values(), subtitle_copy]:
            stream.metadata["language"] = "swe"
        subtitle_copy.disposition = av.stream.Disposition.forced
        for name, mimetype, data in attachments:
            out.add_attachment(name=name, mimetype=mimetype, data=data)
        marks = [(round(a * 1000), round(b * 1000), title) for a, b, title in chapters]
        milli = Fraction(1, 1000)
        out.set_chapters(
            [
                {"id": i + 1, "start": a, "end": b, "time_base": milli, "metadata": {"title": title}}
                for i, (a, b, title) in enumerate(marks)
            ]
        )
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = copies[packet.stream.index]
                out.mux(packet)
        for packet in subtitles.demux(subtitles.streams.subtitles[0]):
            if packet.dts is not None:
                packet.stream = subtitle_copy
                out.mux(packet)
    return output
