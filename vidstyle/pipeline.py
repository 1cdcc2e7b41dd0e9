"""Stylizing a video: decode -> plan each frame in time -> stylize -> save -> encode.

Frames are rendered one after another into a work directory (resumable), then encoded with
the source's timestamps and audio. Memory stays at a few frames whatever the length.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidstyle import imageops
from vidstyle.config import Job, build_job
from vidstyle.device import check_frame_fits, render_threads
from vidstyle.errors import NoFramesError, OutputPathError
from vidstyle.optimize import StepCallback, TemporalTerm
from vidstyle.outputs import check_output_path, default_output_path
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.stylizer import Stylizer
from vidstyle.temporal import FramePlan, TemporalContext, warping_error
from vidstyle.version import __version__
from vidstyle.video_io import (
    DecodedFrame,
    Segment,
    VideoInfo,
    expected_frame_count,
    probe,
    read_frames,
    stream_metadata,
)
from vidstyle.video_writer import VIDEO_EXTENSIONS, EncodeSettings, VideoWriter, container_plan
from vidstyle.workdir import FrameRecord, WorkDir, file_fingerprint, work_dir_for

log = logging.getLogger(__name__)

FrameCallback = Callable[["FrameProgress"], None]


@dataclass(frozen=True)
class FrameProgress:
    """Reported after each frame: the record, how many are done, and how many are expected."""

    record: FrameRecord
    done: int
    expected: int
    resumed: bool


@dataclass(frozen=True)
class VideoReport:
    """What a video render did."""

    output: Path
    width: int
    height: int
    frames: int
    rendered: int
    resumed_from: int
    cuts: tuple[int, ...]
    seconds: float
    render_seconds: float
    mean_iterations: float
    mean_later_iterations: float | None
    mean_warping_error: float | None
    mean_style_loss: float
    mean_content_loss: float

    @property
    def seconds_per_frame(self) -> float:
        return self.render_seconds / self.rendered if self.rendered else 0.0


def video_output_path(source: Path, job: Job, output: Path | None, *, preview: bool = False) -> Path:
    """The given output, or ``clip.starry_night.mp4`` beside the input (``.preview`` for previews)."""
    if output is not None:
        container_plan(output)  # an unsupported extension fails here, before any work
        return output
    extension = source.suffix.lower() if source.suffix.lower() in VIDEO_EXTENSIONS else ".mp4"
    path = default_output_path(source, job.style.paths, extension)
    return path.with_name(f"{path.stem}.preview{path.suffix}") if preview else path


def _manifest(info: VideoInfo, job: Job, segment: Segment, size: tuple[int, int], stylizer: Stylizer) -> dict[str, Any]:
    """Everything that shapes the stylized frames (not the encoding, not the output path)."""
    job_fields = asdict(job)
    job_fields["style"]["paths"] = [file_fingerprint(path) for path in job.style.paths]
    return {
        "vidstyle": __version__,
        "source": file_fingerprint(info.path),
        "segment": {key: str(value) if value is not None else None for key, value in asdict(segment).items()},
        "size": list(size),
        "job": job_fields,
        "device": stylizer.device.type,
        "precision": str(stylizer.compute_dtype),
    }


class _SegmentFrames:
    """Decoded frames of the segment at processing size, with what the encoder needs to know."""

    def __init__(self, info: VideoInfo, segment: Segment, size: tuple[int, int]) -> None:
        self.info = info
        self.segment = segment
        self.size = size
        self.pts: list[int] = []

    def __iter__(self) -> Iterator[tuple[DecodedFrame, np.ndarray]]:
        for decoded in read_frames(self.info.path, self.segment):
            self.pts.append(decoded.pts)
            yield decoded, imageops.resize_frame(decoded.frame, *self.size)


def run_video_job(
    source: Path,
    job: Job,
    output: Path | None = None,
    *,
    segment: Segment | None = None,
    encode: EncodeSettings | None = None,
    overwrite: bool = False,
    keep_frames: bool = False,
    restart: bool = False,
    preview: bool = False,
    on_frame: FrameCallback | None = None,
    on_step: StepCallback | None = None,
) -> VideoReport:
    """Stylize the video at ``source`` as ``job`` says; returns what was done.

    An interrupted run (crash, Ctrl-C) leaves its frames in the work directory beside the
    output; running it again with the same settings resumes from the first missing frame.
    """
    started = time.perf_counter()
    segment = segment or Segment()
    info = probe(source)
    output = video_output_path(source, job, output, preview=preview)
    check_output_path(output, inputs=(source, *job.style.paths), overwrite=overwrite)
    for style_path in job.style.paths:
        imageops.read_image(style_path, max_long_side=16)  # fail fast on a bad style file
    width, height = job.processing_size(info.width, info.height, still=False)
    frames = _SegmentFrames(info, segment, (width, height))
    first_frame = _first_content(info, segment, (width, height))
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), reference_frame=first_frame
    )
    check_frame_fits(stylizer.device, width, height)
    work = WorkDir.open(work_dir_for(output), _manifest(info, job, segment, (width, height), stylizer), restart=restart)
    records = work.records()
    resume_from = work.finished_prefix()
    if resume_from:
        log.info("resuming from frame %d (%d frames already in %s)", resume_from, resume_from, work.path)
    use_temporal_loss = job.losses.temporal > 0
    context = TemporalContext(job.temporal, use_temporal_loss=use_temporal_loss)
    expected = expected_frame_count(info, segment)
    render_seconds = 0.0
    rendered = 0
    # On an accelerator the next frame's optimization starts while a worker saves this one
    # (PNG, log line) and measures its warping error: the GPU would idle meanwhile. On the CPU
    # that costs a few hundredths of a frame's time, and saving in step keeps progress prompt.
    lag = 0 if stylizer.device.type == "cpu" else 1
    saving: deque[Future[FrameRecord]] = deque()

    def report_saved(wait_for: int) -> None:
        nonlocal render_seconds, rendered
        while len(saving) > wait_for:
            record = saving.popleft().result()
            records[record.index] = record
            render_seconds += record.seconds
            rendered += 1
            if on_frame is not None:
                done = record.index + 1
                on_frame(FrameProgress(record=record, done=done, expected=max(expected, done), resumed=resume_from > 0))

    with (
        render_threads(stylizer.device) as flow_workers,
        MotionPrefetcher(job.temporal, offsets=context.motion_offsets, workers=flow_workers) as prefetch,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-save") as saver,
    ):
        for decoded, content, motion in prefetch.ahead(frames, start=resume_from):
            index = decoded.index
            if index < resume_from:
                context.commit(content, work.load(index), starts_shot=records[index].starts_shot)
                continue
            frame_started = time.perf_counter()
            plan = context.plan(content, motion.result() if motion is not None else None)
            stylized, record = _render_frame(stylizer, job, plan, decoded, content, on_step)
            record = replace(record, seconds=time.perf_counter() - frame_started)
            previous = context.previous_output if not plan.starts_shot else None
            saving.append(saver.submit(_finish_frame, work, stylized, record, plan, previous))
            context.commit(content, stylized)
            report_saved(lag)
        report_saved(0)
    if not frames.pts:
        raise NoFramesError(f"{source}: no frames to stylize")
    total = len(frames.pts)
    _encode(info, segment, frames.pts, work, output, job, encode or EncodeSettings(), (width, height))
    if not keep_frames:
        work.remove()
    done = [records[i] for i in range(total)]
    errors = [r.warping_error for r in done if r.warping_error is not None]
    later = [r.iterations for r in done if not r.starts_shot]
    return VideoReport(
        output=output,
        width=width if job.output_size == "processing" else info.width,
        height=height if job.output_size == "processing" else info.height,
        frames=total,
        rendered=rendered,
        resumed_from=resume_from,
        cuts=tuple(r.index for r in done if r.starts_shot and r.index > 0),
        seconds=time.perf_counter() - started,
        render_seconds=render_seconds,
        mean_iterations=float(np.mean([r.iterations for r in done])),
        mean_later_iterations=float(np.mean(later)) if later else None,
        mean_warping_error=float(np.mean(errors)) if errors else None,
        mean_style_loss=float(np.mean([r.style_loss for r in done])),
        mean_content_loss=float(np.mean([r.content_loss for r in done])),
    )


def _first_content(info: VideoInfo, segment: Segment, size: tuple[int, int]) -> np.ndarray:
    for decoded in read_frames(info.path, segment):
        return imageops.resize_frame(decoded.frame, *size)
    raise NoFramesError(f"{info.path}: no frames to stylize")


def _render_frame(
    stylizer: Stylizer,
    job: Job,
    plan: FramePlan,
    decoded: DecodedFrame,
    content: np.ndarray,
    on_step: StepCallback | None,
) -> tuple[np.ndarray, FrameRecord]:
    """Stylize one frame as planned; returns the uint8 output and its record (seconds and
    warping error unset: ``_finish_frame`` measures it)."""
    height, width = content.shape[:2]
    seed = job.engine.seed + plan.index  # a random start per frame, the same on every run
    if plan.starts_shot:
        init = stylizer.first_frame_init(content, job.init, seed=seed)
        iterations = job.optimizer.iterations
    else:
        if plan.init is None:
            init = stylizer.random_image(height, width, seed)
        else:
            init = stylizer.to_optimization_space(plan.init)
        iterations = job.optimizer.later_iterations
    terms = [
        TemporalTerm(
            # The nearest warp is the warm start itself (TemporalContext): upload it once.
            warped=init if warp.warped is plan.init else stylizer.to_optimization_space(warp.warped),
            mask=torch.from_numpy(warp.mask)[None, None].to(stylizer.device),
        )
        for warp in plan.warps
    ]
    result = stylizer.stylize(
        content, init, iterations=iterations, temporal=terms, coarse_to_fine=plan.starts_shot, on_step=on_step
    )
    losses = result.result.losses
    record = FrameRecord(
        index=decoded.index,
        starts_shot=plan.starts_shot,
        iterations=result.iterations,
        seconds=0.0,
        total_loss=losses.total,
        content_loss=losses.content,
        style_loss=losses.style,
        temporal_loss=losses.temporal,
        coverage=plan.coverage,
        warping_error=None,
    )
    return result.frame, record


def _finish_frame(
    work: WorkDir, frame: np.ndarray, record: FrameRecord, plan: FramePlan, previous_output: np.ndarray | None
) -> FrameRecord:
    """Measure a stylized frame's warping error against the previous output, then save both."""
    if previous_output is not None and plan.backward is not None and plan.mask is not None:
        record = replace(record, warping_error=warping_error(frame, previous_output, plan.backward, plan.mask))
    work.save(frame, record)
    return record


def _encode(
    info: VideoInfo,
    segment: Segment,
    pts: list[int],
    work: WorkDir,
    output: Path,
    job: Job,
    encode: EncodeSettings,
    size: tuple[int, int],
) -> None:
    """Encode the saved frames with the source's timestamps; audio cut to the same segment."""
    cut = segment.start > 0 or segment.duration is not None or segment.frames is not None
    first_time = pts[0] * info.time_base
    origin = first_time if segment.start > 0 else Fraction(0)
    end: Fraction | None = None
    if cut:
        last_time = pts[-1] * info.time_base
        end = (info.start_time + segment.end) if segment.end is not None else last_time + info.frame_interval
    out_w, out_h = size if job.output_size == "processing" else (info.width, info.height)
    with VideoWriter(
        output,
        width=out_w,
        height=out_h,
        time_base=info.time_base,
        frame_rate=info.frame_rate,
        audio_source=info,
        origin=origin,
        end=end,
        encode=encode,
        metadata=info.metadata,
        stream_metadata=stream_metadata(info.path),
    ) as writer:
        for index, frame_pts in enumerate(pts):
            frame = work.load(index)
            if (out_w, out_h) != size:
                frame = imageops.resize_frame(frame, out_w, out_h)
            writer.write(frame, frame_pts)


def stylize_video(
    input: str | os.PathLike[str],
    styles: str | os.PathLike[str] | list[str | os.PathLike[str]],
    output: str | os.PathLike[str] | None = None,
    *,
    start: float | Fraction | None = None,
    duration: float | Fraction | None = None,
    frames: int | None = None,
    crf: int | None = None,
    preset: str = "medium",
    overwrite: bool = False,
    keep_frames: bool = False,
    restart: bool = False,
    on_frame: FrameCallback | None = None,
    **options: object,
) -> VideoReport:
    """Stylize a video. ``options`` are the CLI's options in snake case (``size=384``,
    ``temporal_weight=200``, ``quality="draft"`` ...); ``start``/``duration`` (seconds) or
    ``frames`` render a part of it."""
    style_list = [styles] if isinstance(styles, (str, os.PathLike)) else list(styles)
    job = build_job([Path(s) for s in style_list], **options)
    segment = Segment(
        start=Fraction(start or 0).limit_denominator(1_000_000),
        duration=Fraction(duration).limit_denominator(1_000_000) if duration is not None else None,
        frames=frames,
    )
    if output is not None and Path(output).suffix.lower() in imageops.IMAGE_EXTENSIONS:
        raise OutputPathError(f"{output}: a video input needs a video output ({', '.join(VIDEO_EXTENSIONS)})")
    return run_video_job(
        Path(input),
        job,
        Path(output) if output is not None else None,
        segment=segment,
        encode=EncodeSettings(crf=crf, preset=preset),
        overwrite=overwrite,
        keep_frames=keep_frames,
        restart=restart,
        on_frame=on_frame,
    )
