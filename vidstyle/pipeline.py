"""Stylizing a video: decode -> shots -> frame plan -> stylize -> save -> encode.

A pre-pass plans the shots (``shots.py``); each shot is then rendered on its own, visit by
visit as its ``FramePlanner`` orders them, into a work directory (resumable shot by shot),
and the saved frames are encoded with the source's timestamps and audio. With one pass,
memory stays at a few frames whatever the length; the multi-pass algorithm keeps the
current shot's frames.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
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
from vidstyle.shots import Shot, ShotPlan, plan_shots
from vidstyle.stylizer import Stylizer
from vidstyle.temporal import FramePlan, FramePlanner, Visit, warping_error
from vidstyle.version import __version__
from vidstyle.video_io import Segment, VideoInfo, probe, read_frames, stream_metadata
from vidstyle.video_writer import VIDEO_EXTENSIONS, EncodeSettings, VideoWriter, container_plan
from vidstyle.workdir import FrameRecord, WorkDir, file_fingerprint, work_dir_for

log = logging.getLogger(__name__)

FrameCallback = Callable[["FrameProgress"], None]


@dataclass(frozen=True)
class FrameProgress:
    """Reported after each frame visit: its record, how many visits are done (from earlier
    runs too), and how many the render makes (frames x passes)."""

    record: FrameRecord
    done: int
    expected: int
    resumed: bool


@dataclass(frozen=True)
class VideoReport:
    """What a video render did.

    ``rendered``: frame visits made by this run (frames x passes when not resumed), and
    ``evaluations`` the loss evaluations they made;
    ``decoded_frames``: source frames this run read (the shot plan's pre-pass included, which
    a resumed run skips); ``mean_iterations``: iterations per frame over all its passes.
    """

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
    decoded_frames: int = 0
    passes: int = 1
    evaluations: int = 0

    @property
    def seconds_per_frame(self) -> float:
        """Render seconds per frame (all of its passes)."""
        return self.render_seconds * self.passes / self.rendered if self.rendered else 0.0

    @property
    def seconds_per_evaluation(self) -> float:
        return self.render_seconds / self.evaluations if self.evaluations else 0.0


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


def _shot_plan(work: WorkDir, info: VideoInfo, segment: Segment, job: Job) -> tuple[ShotPlan, int]:
    """The work directory's shot plan, or a new one (a pre-pass over the segment) saved
    there; and how many frames that decoded."""
    saved = work.load_shot_plan()
    if saved is not None:
        return ShotPlan.from_json(saved), 0
    plan = plan_shots(info.path, segment, job.temporal, info.frame_rate)
    if plan.frame_count == 0:
        raise NoFramesError(f"{info.path}: no frames to stylize")
    work.save_shot_plan(plan.to_json())
    return plan, plan.frame_count


class _SourceFrames:
    """Decodes frames of the segment at processing size by plan index, seeking to the first
    frame asked for; counts what it decodes."""

    def __init__(self, info: VideoInfo, segment: Segment, plan: ShotPlan, size: tuple[int, int]) -> None:
        self.info = info
        self.segment = segment
        self.plan = plan
        self.size = size
        self.decoded = 0

    def read(self, first: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """(index, content) for frames ``first`` to ``stop - 1``."""
        if first >= stop:
            return
        # Seek by the frame's time; the pts check below catches a container that seeks wrong.
        part = (
            Segment(start=self.plan.times[first], frames=stop - first)
            if first > 0
            else replace(self.segment, frames=stop)
        )
        expected = first
        for decoded in read_frames(self.info.path, part):
            self.decoded += 1
            if decoded.pts != self.plan.pts[expected]:
                if first == 0:
                    break
                log.warning("seeking to frame %d landed elsewhere; reading from the start instead", first)
                yield from self._read_from_start(first, stop)
                return
            yield expected, imageops.resize_frame(decoded.frame, *self.size)
            expected += 1
            if expected >= stop:
                return
        if expected < stop:
            raise NoFramesError(f"{self.info.path}: frame {expected} of the shot plan could not be decoded again")

    def _read_from_start(self, first: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        for index, decoded in enumerate(read_frames(self.info.path, replace(self.segment, frames=stop))):
            self.decoded += 1
            if index >= first:
                yield index, imageops.resize_frame(decoded.frame, *self.size)


class _Frames:
    """Frames by index from a stream, keeping at most ``keep`` of the latest (all: None),
    plus ``pinned`` ones that never leave."""

    def __init__(
        self, stream: Iterator[tuple[int, np.ndarray]], keep: int | None, pinned: dict[int, np.ndarray] | None = None
    ) -> None:
        self._stream = stream
        self._keep = keep
        self._frames: dict[int, np.ndarray] = {}
        self._pinned = pinned or {}

    def __call__(self, index: int) -> np.ndarray:
        if index in self._pinned:
            return self._pinned[index]
        while index not in self._frames:
            try:
                got, frame = next(self._stream)
            except StopIteration:
                raise KeyError(index) from None
            self.put(got, frame)
        return self._frames[index]

    def put(self, index: int, frame: np.ndarray) -> None:
        self._frames.pop(index, None)
        self._frames[index] = frame
        if self._keep is not None:
            while len(self._frames) > self._keep:
                del self._frames[next(iter(self._frames))]

    def get(self, index: int) -> np.ndarray | None:
        return self._pinned.get(index, self._frames.get(index))


@dataclass
class _Run:
    """What a render shares between its shots."""

    job: Job
    stylizer: Stylizer
    work: WorkDir
    plan: ShotPlan
    source: _SourceFrames
    prefetch: MotionPrefetcher
    saver: ThreadPoolExecutor
    records: dict[int, FrameRecord]
    loop_partner: dict[int, int]
    on_step: StepCallback | None
    report_saved: Callable[[int], None]
    saving: deque[Future[FrameRecord]]
    lag: int


def _visit_budget(job: Job, plan: FramePlan, *, only_visit: bool) -> int:
    """Iterations for one visit: a frame's single-pass budget, shared out over the passes
    (Ruder et al.: every later pass a few iterations; here the first pass takes the rest).
    ``only_visit``: a flash frame, visited once, takes all of its budget at once."""
    passes = 1 if only_visit else job.temporal.passes
    share = max(1, round(job.optimizer.later_iterations / passes))
    if plan.visit.pass_number > 1:
        return share
    budget = job.optimizer.iterations if plan.fresh else job.optimizer.later_iterations
    return max(1, budget - (passes - 1) * share)


def _render_shot(run: _Run, shot: Shot) -> None:
    """Render every visit of ``shot`` not done yet, resuming after the last one done."""
    job, work, records = run.job, run.work, run.records
    flashes = frozenset(f for f in run.plan.flashes if shot.start <= f < shot.stop)
    planner = FramePlanner(
        job.temporal,
        shot,
        flashes=flashes,
        use_temporal_loss=job.losses.temporal > 0,
        loop_partner=run.loop_partner,
    )
    visits = list(planner.visits())
    # A frame whose PNG a crash left unreadable is not done: it and what follows it re-render.
    for index in shot.frames:
        if index in records and work.load_if_readable(index) is None:
            log.warning("frame %d of the work folder is unreadable; rendering it again", index)
            del records[index]

    def done(visit: Visit) -> bool:
        record = records.get(visit.index)
        return record is not None and record.pass_number >= visit.pass_number

    todo = next((position for position, visit in enumerate(visits) if not done(visit)), len(visits))
    if todo == len(visits):
        return
    # Frames with an output when the first visit to do starts: those visited before it here,
    # and the finished frames of other shots (a loop partner).
    has_output = {visit.index for visit in visits[:todo]} | {i for i in records if not shot.start <= i < shot.stop}
    remaining = visits[todo:]
    multi_pass = job.temporal.passes > 1
    needed = {i for visit in remaining for i in (visit.index, *planner.needs(visit))}
    # Loop partners are decoded on their own: a stream through the shot has long let them go.
    partners = {i for visit in remaining for i in planner.needs(visit) if i in run.loop_partner}
    pinned = {i: _decode_one(run.source, i) for i in needed if not shot.start <= i < shot.stop or i in partners}
    first = shot.start if multi_pass else min(i for i in needed - pinned.keys())
    depth = max(job.temporal.long_term) + run.prefetch.workers + 3
    contents = _Frames(run.source.read(first, shot.stop), keep=None if multi_pass else depth, pinned=pinned)
    outputs = _Frames(iter(()), keep=None if multi_pass else depth)

    def output_of(index: int) -> np.ndarray | None:
        if index not in has_output:
            return None
        frame = outputs.get(index)
        if frame is None:
            frame = work.load(index)
            outputs.put(index, frame)
        return frame

    for visit, motion in run.prefetch.ahead(remaining, lambda v: v.index, planner.needs, contents):
        started = time.perf_counter()
        content = contents(visit.index)
        plan = planner.plan(visit, content, motion.result(), output_of)
        budget = _visit_budget(job, plan, only_visit=visit.index in flashes)
        stylized, record = _render_frame(run.stylizer, job, plan, shot, content, budget, run.on_step)
        record = replace(record, seconds=time.perf_counter() - started)
        neighbour = output_of(plan.neighbour) if plan.neighbour is not None else None
        run.saving.append(run.saver.submit(_finish_frame, work, stylized, record, plan, neighbour))
        outputs.put(visit.index, stylized)
        has_output.add(visit.index)
        run.report_saved(run.lag)
    run.report_saved(0)


def _decode_one(source: _SourceFrames, index: int) -> np.ndarray:
    for _, frame in source.read(index, index + 1):
        return frame
    raise NoFramesError(f"{source.info.path}: frame {index} could not be decoded again")


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
    output; running it again with the same settings resumes in the first unfinished shot.
    """
    started = time.perf_counter()
    segment = segment or Segment()
    info = probe(source)
    output = video_output_path(source, job, output, preview=preview)
    check_output_path(output, inputs=(source, *job.style.paths), overwrite=overwrite)
    for style_path in job.style.paths:
        imageops.read_image(style_path, max_long_side=16)  # fail fast on a bad style file
    width, height = job.processing_size(info.width, info.height, still=False)
    reference = _first_content(info, segment, (width, height)) if job.style.preserve_colors else None
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), reference_frame=reference
    )
    check_frame_fits(stylizer.device, width, height)
    work = WorkDir.open(work_dir_for(output), _manifest(info, job, segment, (width, height), stylizer), restart=restart)
    plan, planning_decoded = _shot_plan(work, info, segment, job)
    log.info("%d frames in %d shot(s)", plan.frame_count, len(plan.shots))
    for name, text in plan.describe():
        log.debug("%s: %s", name, text)
    records = work.records()
    passes = job.temporal.passes
    expected = plan.frame_count * passes - len(plan.flashes) * (passes - 1)
    done_before = sum(r.pass_number for r in records.values())
    unfinished = (i for i in range(plan.frame_count) if i not in records or records[i].pass_number < passes)
    resume_from = min(unfinished, default=plan.frame_count)
    if records:
        log.info("resuming at frame %d (%d of %d visits already in %s)", resume_from, done_before, expected, work.path)
    source_frames = _SourceFrames(info, segment, plan, (width, height))
    last = plan.frame_count - 1
    loop_partner = {0: last, last: 0} if job.temporal.loop and last > 0 else {}
    render_seconds = 0.0
    rendered = evaluations = 0
    # On an accelerator the next frame's optimization starts while a worker saves this one
    # (PNG, log line) and measures its warping error: the GPU would idle meanwhile. On the CPU
    # that costs a few hundredths of a frame's time, and saving in step keeps progress prompt.
    lag = 0 if stylizer.device.type == "cpu" else 1
    saving: deque[Future[FrameRecord]] = deque()

    def report_saved(wait_for: int) -> None:
        nonlocal render_seconds, rendered, evaluations
        while len(saving) > wait_for:
            record = saving.popleft().result()
            records[record.index] = record
            render_seconds += record.seconds
            rendered += 1
            evaluations += record.iterations
            if on_frame is not None:
                done = done_before + rendered
                on_frame(FrameProgress(record, done=done, expected=expected, resumed=bool(done_before)))

    finished = work.finished_shots()
    with (
        render_threads(stylizer.device) as flow_workers,
        MotionPrefetcher(job.temporal, workers=flow_workers) as prefetch,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-save") as saver,
    ):
        run = _Run(
            job,
            stylizer,
            work,
            plan,
            source_frames,
            prefetch,
            saver,
            records,
            loop_partner,
            on_step,
            report_saved,
            saving,
            lag,
        )
        for shot in plan.shots:
            if shot.number in finished:
                continue
            _render_shot(run, shot)
            work.finish_shot({"shot": shot.number, "start": shot.start, "stop": shot.stop})
    _encode(info, segment, plan.pts, work, output, job, encode or EncodeSettings(), (width, height))
    final = [records[i] for i in range(plan.frame_count)]
    visits = work.visit_records()
    if not keep_frames:
        work.remove()
    errors = [r.warping_error for r in final if r.warping_error is not None]
    later = [r.iterations for r in visits if not r.fresh]
    return VideoReport(
        output=output,
        width=width if job.output_size == "processing" else info.width,
        height=height if job.output_size == "processing" else info.height,
        frames=plan.frame_count,
        rendered=rendered,
        resumed_from=resume_from if done_before else 0,
        cuts=plan.cuts,
        seconds=time.perf_counter() - started,
        render_seconds=render_seconds,
        mean_iterations=sum(r.iterations for r in visits) / plan.frame_count,
        mean_later_iterations=float(np.mean(later)) if later else None,
        mean_warping_error=float(np.mean(errors)) if errors else None,
        mean_style_loss=float(np.mean([r.style_loss for r in final])),
        mean_content_loss=float(np.mean([r.content_loss for r in final])),
        decoded_frames=planning_decoded + source_frames.decoded,
        passes=passes,
        evaluations=evaluations,
    )


def _first_content(info: VideoInfo, segment: Segment, size: tuple[int, int]) -> np.ndarray:
    for decoded in read_frames(info.path, segment):
        return imageops.resize_frame(decoded.frame, *size)
    raise NoFramesError(f"{info.path}: no frames to stylize")


def _render_frame(
    stylizer: Stylizer,
    job: Job,
    plan: FramePlan,
    shot: Shot,
    content: np.ndarray,
    iterations: int,
    on_step: StepCallback | None,
) -> tuple[np.ndarray, FrameRecord]:
    """Stylize one visit as planned; returns the uint8 output and its record (seconds and
    warping error unset: ``_finish_frame`` measures it)."""
    height, width = content.shape[:2]
    seed = job.engine.seed + plan.index  # a random start per frame, the same on every run
    if plan.fresh:
        init = stylizer.first_frame_init(content, job.init, seed=seed)
    elif plan.init is None:
        init = stylizer.random_image(height, width, seed)
    else:
        init = stylizer.to_optimization_space(plan.init)
    terms = [
        TemporalTerm(
            # The nearest warp is the warm start itself (FramePlanner): upload it once.
            warped=init if warp.warped is plan.init else stylizer.to_optimization_space(warp.warped),
            mask=torch.from_numpy(warp.mask)[None, None].to(stylizer.device),
        )
        for warp in plan.warps
    ]
    result = stylizer.stylize(
        content, init, iterations=iterations, temporal=terms, coarse_to_fine=plan.fresh, on_step=on_step
    )
    losses = result.result.losses
    record = FrameRecord(
        index=plan.index,
        shot=shot.number,
        pass_number=plan.visit.pass_number,
        fresh=plan.fresh,
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
    work: WorkDir, frame: np.ndarray, record: FrameRecord, plan: FramePlan, neighbour_output: np.ndarray | None
) -> FrameRecord:
    """Measure a stylized frame's warping error against the neighbour it started from, then
    save both."""
    if neighbour_output is not None and plan.backward is not None and plan.mask is not None:
        record = replace(record, warping_error=warping_error(frame, neighbour_output, plan.backward, plan.mask))
    work.save(frame, record)
    return record


def _encode(
    info: VideoInfo,
    segment: Segment,
    pts: Sequence[int],
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
