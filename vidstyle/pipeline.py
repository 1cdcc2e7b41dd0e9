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
import platform
import shlex
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from vidstyle import imageops
from vidstyle.config import (
    DEFAULT_CHUNK_FRAMES,
    INIT_MODES,
    ClusterSettings,
    EncodeSettings,
    Job,
    build_job,
    cluster_settings,
    encode_settings,
    option_flag,
)
from vidstyle.device import check_frame_fits, network_threads, render_threads, resolve_device, warn_of_slow_settings
from vidstyle.distributed import TaskRun, connect, render_on_ray
from vidstyle.errors import NoFramesError, OutputPathError
from vidstyle.estimate import at_source_size, duration_text, estimate_before_render
from vidstyle.filetypes import IMAGE_EXTENSIONS, local_path
from vidstyle.kill_points import kill_point
from vidstyle.optimize import StepCallback
from vidstyle.outputs import check_output_path, default_output_path, remove_stale_partials
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.shot_render import RenderedVisit, SourceFrames, render_unit
from vidstyle.shots import ShotPlan, plan_shots
from vidstyle.stylizer import Stylizer, check_images
from vidstyle.version import __version__
from vidstyle.video_io import (
    Segment,
    VideoInfo,
    expected_frame_count,
    probe,
    read_frames,
    stream_metadata,
    without_location,
)
from vidstyle.video_writer import VIDEO_EXTENSIONS, VideoWriter, container_plan
from vidstyle.work_units import WorkUnit, planner_for, waits_for, work_units
from vidstyle.workdir import FRAME_FORMAT, FrameRecord, WorkDir, content_fingerprint, saved_setting, work_dir_for

log = logging.getLogger(__name__)

FrameCallback = Callable[["FrameProgress"], None]
PlanCallback = Callable[[int, int], None]  # frames the shot plan has looked at, and expected


@dataclass(frozen=True)
class FrameProgress:
    """Reported after each frame visit: its record, how many visits are done (``done_before``
    by earlier runs, and this run's), and how many the render makes (frames x passes, and
    the re-visits of seams and the loop)."""

    record: FrameRecord
    done: int
    expected: int
    done_before: int


@dataclass(frozen=True)
class VideoReport:
    """What a video render did.

    ``tasks``: with Ray, when and where each work unit's task ran.
    ``visits``: the frame visits the whole render makes (frames x passes, the loop's
    re-visits); ``rendered``: those this run made (all, when not resumed), and
    ``evaluations`` the loss evaluations they made;
    ``decoded_frames``: source frames this run read (the shot plan's pre-pass included, which
    a resumed run skips); ``mean_iterations``: iterations per frame over all its passes.
    ``width`` x ``height`` is the size written, ``painted_width`` x ``painted_height`` the
    size the network painted at.
    """

    output: Path
    width: int
    height: int
    painted_width: int
    painted_height: int
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
    visits: int = 0
    evaluations: int = 0
    tasks: tuple[TaskRun, ...] = ()
    all_runs_render_seconds: float = 0.0  # rendering time of every visit, earlier runs' included

    @property
    def seconds_per_frame(self) -> float:
        """Render seconds per frame, all of its visits counted (passes, the loop's re-visits)."""
        return self.render_seconds * self.visits / (self.rendered * self.frames) if self.rendered else 0.0

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
    """Everything that shapes the stylized frames (not the encoding, not the output path, nor
    where the files are: a render resumes after its source, styles or work folder move)."""
    job_fields = asdict(job)
    job_fields["style"]["paths"] = [content_fingerprint(path, whole=True) for path in job.style.paths]
    if job.init not in INIT_MODES:  # an image file
        job_fields["init"] = content_fingerprint(Path(job.init), whole=True)
    # Threads change the last bits of a sum's rounding, not the look: a render may resume with
    # another count (on another machine, say).
    del job_fields["engine"]["threads"]
    return {
        "frame_format": FRAME_FORMAT,
        "source": content_fingerprint(info.path),
        "segment": {key: str(value) if value is not None else None for key, value in asdict(segment).items()},
        "size": list(size),
        "job": job_fields,
        "device": stylizer.device.type,
        "precision": str(stylizer.compute_dtype),
        # Only where it is not the plain reading, so that older work folders still resume.
        **({"reading": "top fields"} if info.interlaced else {}),
    }


def _setup(threads: int) -> dict[str, Any]:
    """What makes a render repeat itself bit for bit, beyond its settings: the machine, the
    network's threads (they set the order of a sum's terms) and the libraries' versions."""
    return {
        "machine": f"{platform.node()} ({platform.machine()})",
        "threads": threads,
        "vidstyle": __version__,
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "av": av.__version__,
        "numpy": np.__version__,
    }


def _shot_plan(
    work: WorkDir, info: VideoInfo, segment: Segment, job: Job, on_plan: PlanCallback | None
) -> tuple[ShotPlan, int]:
    """The work directory's shot plan, or a new one (a pre-pass over the segment) saved
    there; and how many frames that decoded."""
    saved = work.load_shot_plan()
    if saved is not None:
        return ShotPlan.from_json(saved), 0
    log.info("planning shots: a quick pass over the frames at low resolution")
    expected = expected_frame_count(info, segment)
    on_frame = None if on_plan is None else (lambda done: on_plan(done, expected))
    plan = plan_shots(info.path, segment, job.temporal, info.frame_rate, on_frame)
    if plan.frame_count == 0:
        raise NoFramesError(f"{info.path}: no frames to stylize")
    work.save_shot_plan(plan.to_json())
    kill_point("planned")
    return plan, plan.frame_count


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
    on_plan: PlanCallback | None = None,
    cluster: ClusterSettings | None = None,
) -> VideoReport:
    """Stylize the video at ``source`` as ``job`` says; returns what was done.

    An interrupted run (crash, Ctrl-C) leaves its frames in the work directory beside the
    output; running it again with the same settings resumes in the first unfinished shot.
    With ``cluster``, shots render in parallel as Ray tasks (``distributed.py``).
    """
    started = time.perf_counter()
    segment = segment or Segment()
    info = probe(source)
    if info.hdr:
        log.warning(
            "%s is HDR or wide-gamut (%s); vidstyle reads every video as SDR BT.709, so its colours will look "
            "washed out. Tone-map it to BT.709 first, e.g. ffmpeg -i IN -vf "
            "zscale=t=linear:npl=100,tonemap=hable,zscale=p=bt709:t=bt709:m=bt709,format=yuv420p OUT",
            source.name,
            info.hdr,
        )
    if info.interlaced:
        log.info("%s is interlaced: each frame is read as its top field, the lines between interpolated", source.name)
    if info.has_alpha:
        # Images keep theirs (image_pipeline); an H.264 or VP9 output has no alpha to keep it in.
        log.warning(
            "%s has transparency (%s); the stylized video is opaque",
            source.name,
            info.pixel_format,
        )
    # A preview may replace its own earlier preview (the default .preview file), nothing else.
    overwrite = overwrite or (preview and output is None)
    output = video_output_path(source, job, output, preview=preview)
    check_output_path(output, inputs=(source, *job.style.paths), overwrite=overwrite)
    remove_stale_partials(output.parent, of=output)
    check_images(job.style, job.init)
    if cluster is not None:
        connect(cluster.address)  # fail fast: Ray missing, or no cluster there
    job = _choose_chunking(job, cluster, work_dir_for(output), restart=restart)
    width, height = job.processing_size(info.width, info.height, still=False)
    written = job.written_size(info.width, info.height, still=False)
    device = resolve_device(job.engine.device)
    check_frame_fits(device, job.engine.precision, width, height)  # before anything that size is made
    warn_of_slow_settings(device, job.engine)
    reference = _first_content(info, segment, (width, height)) if job.style.preserve_colors else None
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), reference_frame=reference
    )
    threads = cluster.cpus_per_task if cluster is not None else network_threads(job.engine.threads)
    work = WorkDir.open(
        work_dir_for(output),
        _manifest(info, job, segment, (width, height), stylizer),
        setup=_setup(threads),
        restart=restart,
    )
    with work.removed_on_error():
        plan, planning_decoded = _shot_plan(work, info, segment, job, on_plan)
    units = work_units(job, plan)
    expected = sum(len(list(planner_for(job, plan, unit).visits())) for unit in units)
    chunks = sum(1 for unit in units if unit.handover is None)
    log.info(
        "%s: %d frames, %d shot(s)%s; %s; %s, %d thread%s%s",
        source.name,
        plan.frame_count,
        len(plan.shots),
        f" in {chunks} chunks" if chunks > len(plan.shots) else "",
        _sizes_text((width, height), written),
        stylizer.engine_text,
        threads,
        "" if threads == 1 else "s",
        " a Ray task" if cluster is not None else "",
    )
    for name, text in plan.describe():
        log.debug("%s: %s", name, text)
    records = work.records()
    finished = work.finished_shots()
    _repair_damaged_frames(work, records, finished, plan)  # before anything counts what is done
    with work.removed_on_error():
        work.check_space(plan.frame_count - len(records), width, height)
    passes = job.temporal.passes
    done_before = sum(r.pass_number for r in records.values())
    if cluster is None:  # on a cluster, the time depends on its machines
        # A resumed render: what is left, its shots' first frames taken as done.
        left = max(0, expected - chunks - done_before)
        log.info("%s", _time_needed(job, stylizer, info, (width, height), fresh=chunks, later=left))
    if counted := stylizer.budget_text(job.optimizer.iterations):
        log.info("a shot's first frame is painted coarse to fine; its bar counts %s", counted)
    log.info(
        "work folder: %s; '%s' shows the frames finished so far",
        work.path,
        shlex.join(["vidstyle", "peek", str(output)]),
    )
    unfinished = (i for i in range(plan.frame_count) if i not in records or records[i].pass_number < passes)
    resume_from = min(unfinished, default=plan.frame_count)
    if records:
        log.info("resuming at frame %d (%d of %d visits already in %s)", resume_from, done_before, expected, work.path)
    source_frames = SourceFrames(info.path, segment, plan, (width, height))
    render_seconds = 0.0
    rendered = evaluations = 0

    def report(record: FrameRecord) -> None:
        nonlocal render_seconds, rendered, evaluations
        records[record.index] = record
        render_seconds += record.seconds
        rendered += 1
        evaluations += record.iterations
        if on_frame is not None:
            done = done_before + rendered
            on_frame(FrameProgress(record, done=done, expected=expected, done_before=done_before))

    units = [unit for unit in units if unit.shot.number not in finished]
    units_left = Counter(unit.shot.number for unit in units)

    def finish_unit(position: int) -> None:
        """A shot is finished when its last unit is."""
        shot = units[position].shot
        units_left[shot.number] -= 1
        if units_left[shot.number] == 0:
            work.finish_shot({"shot": shot.number, "start": shot.start, "stop": shot.stop})

    tasks: list[TaskRun] = []
    if cluster is not None:

        def land(frame: np.ndarray, record: FrameRecord) -> None:
            work.save(frame, record)
            report(record)

        tasks = render_on_ray(
            cluster,
            job,
            stylizer,
            source_frames,
            units,
            waits_for(job, plan, units),
            passes_done={index: record.pass_number for index, record in records.items()},
            load_output=work.load,
            on_visit=land,
            on_unit=finish_unit,
        )
    else:
        _render_here(units, job, stylizer, source_frames, work, records, report, finish_unit, on_step)
    _encode(info, segment, plan.pts, work, output, encode or EncodeSettings(), written)
    final = [records[i] for i in range(plan.frame_count)]
    visits = work.visit_records()
    kill_point("cleanup")
    if not keep_frames:
        work.remove()
    errors = [r.warping_error for r in final if r.warping_error is not None]
    later = [r.iterations for r in visits if not r.fresh]
    return VideoReport(
        output=output,
        width=written[0],
        height=written[1],
        painted_width=width,
        painted_height=height,
        frames=plan.frame_count,
        rendered=rendered,
        resumed_from=resume_from if done_before else 0,
        cuts=plan.cuts,
        seconds=time.perf_counter() - started,
        render_seconds=render_seconds,
        all_runs_render_seconds=sum(r.seconds for r in visits),
        mean_iterations=sum(r.iterations for r in visits) / plan.frame_count,
        mean_later_iterations=float(np.mean(later)) if later else None,
        mean_warping_error=float(np.mean(errors)) if errors else None,
        mean_style_loss=float(np.mean([r.style_loss for r in final])),
        mean_content_loss=float(np.mean([r.content_loss for r in final])),
        decoded_frames=planning_decoded + source_frames.decoded,
        visits=expected,
        evaluations=evaluations,
        tasks=tuple(tasks),
    )


def _sizes_text(painted: tuple[int, int], written: tuple[int, int]) -> str:
    """``painted at 384x216, written at 1920x1080 (enlarged)``."""
    if written == painted:
        return f"painted and written at {painted[0]}x{painted[1]}"
    change = "enlarged" if written[0] > painted[0] else "reduced"
    return f"painted at {painted[0]}x{painted[1]}, written at {written[0]}x{written[1]} ({change})"


def _time_needed(
    job: Job, stylizer: Stylizer, info: VideoInfo, size: tuple[int, int], *, fresh: int, later: int
) -> str:
    """The render's estimated time, in words; for a source larger than the painted size, what
    painting at the source's size would take, from the same timing (the network's time grows
    with the pixels)."""
    seconds = estimate_before_render(
        stylizer.objective, job.optimizer, fresh=fresh, later=later, width=size[0], height=size[1]
    )
    per_frame = seconds / max(1, fresh + later)
    text = f"estimated time: about {duration_text(seconds)} ({per_frame:.1f} s a frame) here"
    return text + at_source_size(job, seconds, size, (info.width, info.height))


def _render_here(
    units: list[WorkUnit],
    job: Job,
    stylizer: Stylizer,
    source: SourceFrames,
    work: WorkDir,
    records: dict[int, FrameRecord],
    report: Callable[[FrameRecord], None],
    finish_unit: Callable[[int], None],
    on_step: StepCallback | None,
) -> None:
    """Render ``units`` one after another in this process."""
    # On an accelerator the next frame's optimization starts while a worker saves this one
    # (PNG, log line) and measures its warping error: the GPU would idle meanwhile. On the CPU
    # that costs a few hundredths of a frame's time, and saving in step keeps progress prompt.
    lag = 0 if stylizer.device.type == "cpu" else 1
    saving: deque[Future[FrameRecord]] = deque()

    def report_saved(wait_for: int) -> None:
        while len(saving) > wait_for:
            report(saving.popleft().result())

    with (
        render_threads(stylizer.device, job.engine.threads) as flow_workers,
        MotionPrefetcher(job.temporal, workers=flow_workers) as prefetch,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-save") as saver,
    ):
        for position, unit in enumerate(units):
            rendering = render_unit(
                job,
                stylizer,
                source,
                unit,
                passes_done={index: record.pass_number for index, record in records.items()},
                load_output=work.load,
                prefetch=prefetch,
                on_step=on_step,
            )
            for visit in rendering:
                saving.append(saver.submit(_save_visit, work, visit))
                report_saved(lag)
            report_saved(0)
            finish_unit(position)


def _choose_chunking(job: Job, cluster: ClusterSettings | None, work_path: Path, *, restart: bool) -> Job:
    """``--chunk-frames`` not given: a render being resumed keeps its own; else whole shots
    on one machine (chunks only cost there: a fresh start and a seam each) and
    ``DEFAULT_CHUNK_FRAMES`` on a cluster."""
    if job.temporal.chunk_frames is not None:
        return job
    saved = None if restart else saved_setting(work_path, ("job", "temporal", "chunk_frames"))
    chunk_frames = saved if isinstance(saved, int) else DEFAULT_CHUNK_FRAMES if cluster is not None else 0
    return replace(job, temporal=replace(job.temporal, chunk_frames=chunk_frames))


def _first_content(info: VideoInfo, segment: Segment, size: tuple[int, int]) -> np.ndarray:
    for decoded in read_frames(info.path, segment):
        return imageops.resize_frame(decoded.frame, *size)
    raise NoFramesError(f"{info.path}: no frames to stylize")


def _repair_damaged_frames(
    work: WorkDir, records: dict[int, FrameRecord], finished: dict[int, dict[str, Any]], plan: ShotPlan
) -> None:
    """Forget what a damaged work folder no longer holds, so that it renders again.

    In an unfinished shot, a frame whose PNG a crash left unreadable is not done: it, and
    what follows it in the shot, render again. In a finished shot, a frame missing or cut
    short (a disk error, a copy that stopped) makes the whole shot render again: its frames
    came from one another (and, with several passes or a loop, from earlier visits that were
    replaced), so only a whole shot is sure to come out as it was. Finished shots are
    checked by the PNG's last chunk, not decoded: a resume of a long render starts at once.
    """
    for shot in plan.shots:
        if shot.number not in finished:
            for index in shot.frames:
                if index in records and work.load_if_readable(index) is None:
                    log.warning("frame %d of the work folder is unreadable; rendering it again", index)
                    del records[index]
            continue
        damaged = [index for index in shot.frames if not work.frame_is_whole(index)]
        if damaged:
            log.warning(
                "frame %d of the work folder is missing or damaged%s; rendering its shot (frames %d-%d) again",
                damaged[0], f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else "", shot.start, shot.stop - 1,
            )  # fmt: skip
            for index in shot.frames:
                records.pop(index, None)
            del finished[shot.number]


def _save_visit(work: WorkDir, visit: RenderedVisit) -> FrameRecord:
    """Measure a finished visit's warping error, then save the frame and its record."""
    record = visit.measured()
    work.save(visit.frame, record)
    return record


def _encode(
    info: VideoInfo,
    segment: Segment,
    pts: Sequence[int],
    work: WorkDir,
    output: Path,
    encode: EncodeSettings,
    size: tuple[int, int],
) -> None:
    """Encode the saved frames, enlarged to ``size``, with the source's timestamps; audio cut
    to the same segment; location tags left out unless ``encode`` keeps them."""
    cut = segment.start > 0 or segment.duration is not None or segment.frames is not None
    first_time = pts[0] * info.time_base
    origin = first_time if segment.start > 0 else Fraction(0)
    end: Fraction | None = None
    if cut:
        last_time = pts[-1] * info.time_base
        end = (info.start_time + segment.end) if segment.end is not None else last_time + info.frame_interval
    metadata = info.metadata
    if not encode.keep_location:
        metadata = without_location(info.metadata)
        if dropped := sorted(info.metadata.keys() - metadata.keys()):
            log.info(
                "the source's location (%s) is left out of %s; %s keeps it",
                ", ".join(dropped), output.name, option_flag("keep_location"),
            )  # fmt: skip
    with VideoWriter(
        output,
        width=size[0],
        height=size[1],
        time_base=info.time_base,
        frame_rate=info.frame_rate,
        source=info,
        origin=origin,
        end=end,
        encode=encode,
        metadata=metadata,
        stream_metadata=stream_metadata(info.path),
    ) as writer:
        for index, frame_pts in enumerate(pts):
            writer.write(imageops.enlarge_frame(work.load(index), *size), frame_pts)
            if index == len(pts) // 2:
                kill_point("encoding")


def stylize_video(
    input: str | os.PathLike[str],
    styles: str | os.PathLike[str] | list[str | os.PathLike[str]],
    output: str | os.PathLike[str] | None = None,
    *,
    start: float | Fraction | None = None,
    duration: float | Fraction | None = None,
    frames: int | None = None,
    crf: int | None = None,
    x264_preset: str | None = None,
    keep_location: bool = False,
    overwrite: bool = False,
    keep_frames: bool = False,
    restart: bool = False,
    on_frame: FrameCallback | None = None,
    on_plan: PlanCallback | None = None,
    ray: str | None = None,
    ray_cpus_per_task: int | None = None,
    **options: object,
) -> VideoReport:
    """Stylize a video. ``options`` are the CLI's options in snake case (``size=384``,
    ``temporal_weight=200``, ``quality="draft"`` ...); ``start``/``duration`` (seconds) or
    ``frames`` render a part of it; ``ray`` (``local``, ``auto`` or an address) renders its
    shots in parallel on a Ray cluster. ``on_plan(done, expected)`` follows the pass that plans
    the shots, ``on_frame`` the render."""
    style_list = [styles] if isinstance(styles, (str, os.PathLike)) else list(styles)
    job = build_job([local_path(s) for s in style_list], **options)
    segment = Segment(
        start=Fraction(start or 0).limit_denominator(1_000_000),
        duration=Fraction(duration).limit_denominator(1_000_000) if duration is not None else None,
        frames=frames,
    )
    if output is not None and Path(output).suffix.lower() in IMAGE_EXTENSIONS:
        raise OutputPathError(f"{output}: a video input needs a video output ({', '.join(VIDEO_EXTENSIONS)})")
    return run_video_job(
        local_path(input),
        job,
        local_path(output) if output is not None else None,
        segment=segment,
        encode=encode_settings(crf, x264_preset, keep_location),
        overwrite=overwrite,
        keep_frames=keep_frames,
        restart=restart,
        on_frame=on_frame,
        on_plan=on_plan,
        cluster=cluster_settings(ray, ray_cpus_per_task),
    )
