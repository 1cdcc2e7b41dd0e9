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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from vidstyle import imageops
from vidstyle.backend import Backend, choose_backend
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
from vidstyle.detail import DetailPainter
from vidstyle.detail_pass import DetailCallback, details_to_do, render_details
from vidstyle.device import check_frame_fits, detail_size_that_fits, warn_of_slow_settings
from vidstyle.distributed import TaskRun, connect, render_on_ray
from vidstyle.errors import NoFramesError, OutputPathError, UsageError
from vidstyle.estimate import at_source_size, detail_seconds, duration_text, estimate_before_render
from vidstyle.filetypes import IMAGE_EXTENSIONS, local_path
from vidstyle.flow import FlowEstimator
from vidstyle.journal import DetailRecord, FrameRecord
from vidstyle.kill_points import kill_point
from vidstyle.local_render import UnitsHere, render_here
from vidstyle.optimize import StepCallback
from vidstyle.outputs import check_output_path, default_output_path, remove_stale_partials
from vidstyle.shot_render import SourceFrames
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
from vidstyle.workdir import FRAME_FORMAT, ResumeState, WorkDir, content_fingerprint, saved_setting, work_dir_for

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
    size the network painted at, ``detail_width`` x ``detail_height`` the size the detail
    pass refined at (None: no detail pass); ``detail_seconds`` its time in this run, and
    ``first_detail_seconds`` and ``later_detail_seconds`` a shot's first frame's and a later
    frame's, on average (None: none in this run).
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
    detail_width: int | None = None
    detail_height: int | None = None
    detail_seconds: float = 0.0
    first_detail_seconds: float | None = None
    later_detail_seconds: float | None = None
    mean_detail_warping_error: float | None = None

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
    # another count (on another machine, say). Units at once change nothing in a frame.
    del job_fields["engine"]["threads"]
    del job_fields["engine"]["units"]
    # What these choose is recorded as it was resolved (the painted and delivered sizes, the
    # device and the precision): --size given as its default, --quality's size, --output-size
    # without a detail pass, or --device cuda against auto on a GPU paint the same frames.
    for name in ("size", "quality", "output_size"):
        del job_fields[name]
    del job_fields["engine"]["device"]
    del job_fields["engine"]["precision"]
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
    on_detail: DetailCallback | None = None,
    cluster: ClusterSettings | None = None,
) -> VideoReport:
    """Stylize the video at ``source`` as ``job`` says; returns what was done.

    An interrupted run (crash, Ctrl-C) leaves its frames in the work directory beside the
    output; running it again with the same settings resumes in the first unfinished shot.
    With ``cluster``, shots render in parallel as Ray tasks (``distributed.py``).
    """
    started = time.perf_counter()
    segment = segment or Segment()
    encode = encode or EncodeSettings()
    render = _prepare(
        source, job, output, segment, encode, overwrite=overwrite, preview=preview, restart=restart, cluster=cluster
    )
    job, work = render.job, render.work
    with work.removed_on_error():
        plan, planning_decoded = _shot_plan(work, render.info, segment, job, on_plan)
    units = work_units(job, plan)
    state = work.resume_state([shot.frames for shot in plan.shots], job.temporal.passes)
    with work.removed_on_error():
        work.check_space(plan.frame_count - len(state.records), *render.size)
        if render.detail is not None:
            work.check_space(plan.frame_count - len(work.journal.details()), *render.detail.size)
    progress = _Progress(state, sum(len(list(planner_for(job, plan, unit).visits())) for unit in units), on_frame)
    _announce(render, plan, units, progress)
    source_frames = SourceFrames(render.info.path, segment, plan, render.size)
    todo = [unit for unit in units if unit.shot.number not in state.finished]
    tasks = _render_units(render, plan, todo, source_frames, progress, on_step)
    details = _deliver(render, plan, source_frames, progress, on_detail)
    _encode(render, segment, plan.pts, encode)
    visits = work.journal.visits()
    kill_point("cleanup")
    if not keep_frames:
        work.remove()
    return _report(render, plan, progress, visits, details, started, planning_decoded + source_frames.decoded, tasks)


def _deliver(
    render: _Render, plan: ShotPlan, source: SourceFrames, progress: _Progress, on_detail: DetailCallback | None
) -> list[DetailRecord]:
    """The detail pass over the painted frames, where the render has one (``detail_pass.py``).
    A frame painted in this run (a fresh render, or a shot painted again after damage) makes
    every delivered frame of an earlier run stale."""
    if render.detail is None:
        return []
    if progress.rendered:
        render.work.journal.forget_details()
    # The flows that carry the delivered frames are measured larger than the painted size.
    flow_frames = SourceFrames(source.path, source.segment, plan, render.detail.flow_size)
    with render.stylizer.backend.running():
        records = render_details(render.work, plan, flow_frames, render.detail, render.job.temporal, on_detail)
    source.decoded += flow_frames.decoded
    return records


@dataclass(frozen=True)
class _Render:
    """A video render made ready to go: its source, settings (chunking chosen), output, the
    painted and written sizes, the stylizer and the work folder."""

    info: VideoInfo
    job: Job
    output: Path
    size: tuple[int, int]
    written: tuple[int, int]
    stylizer: Stylizer
    work: WorkDir
    threads: int
    cluster: ClusterSettings | None
    detail: DetailPainter | None  # refines each painted frame at the written size (or as much of it as fits)


def _prepare(
    source: Path,
    job: Job,
    output: Path | None,
    segment: Segment,
    encode: EncodeSettings,
    *,
    overwrite: bool,
    preview: bool,
    restart: bool,
    cluster: ClusterSettings | None,
) -> _Render:
    """Probe the source, check the output and the inputs, choose the backend and chunking,
    build the stylizer and open the work folder: everything that can fail fails here."""
    info = probe(source)
    _warn_of_source(info)
    # A preview may replace its own earlier preview (the default .preview file), nothing else.
    overwrite = overwrite or (preview and output is None)
    output = video_output_path(source, job, output, preview=preview)
    check_output_path(output, inputs=(source, *job.style.paths), overwrite=overwrite)
    _refuse_what_does_nothing(job, output, encode, cluster)
    FlowEstimator(job.temporal.flow, job.temporal.dis_preset)  # a flow that cannot run here fails now, in one line
    check_images(job.style, job.init)
    if cluster is not None:
        connect(cluster.address)  # fail fast: Ray missing, or no cluster there
    size = job.processing_size(info.width, info.height, still=False)
    # On a cluster, a unit a task; here, --units or the machine's choice.
    backend = choose_backend(job.engine, frame_size=size, units=1 if cluster is not None else None)
    job = _choose_chunking(job, cluster, backend, work_dir_for(output), restart=restart)
    # Before anything that size is made:
    check_frame_fits(backend.device, job.engine.precision, *size, units=backend.units_at_once)
    warn_of_slow_settings(backend.device, job.engine)
    reference = _first_content(info, segment, size) if job.style.preserve_colors else None
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=size, reference_frame=reference, backend=backend
    )
    threads = cluster.cpus_per_task if cluster is not None else backend.threads
    written = job.written_size(info.width, info.height, still=False)
    detail = None
    if job.detailed(info.width, info.height, still=False):
        detail_size = detail_size_that_fits(backend.device, job.engine.precision, written)
        detail = DetailPainter(
            job.style, backend, detail_size, size, temporal_weight=job.losses.temporal, reference_frame=reference
        )
    manifest = _manifest(info, job, segment, size, stylizer) | ({"delivered": list(detail.size)} if detail else {})
    work = WorkDir.open(work_dir_for(output), manifest, setup=_setup(threads), restart=restart)
    # Only now, the work folder locked: a second run of the same command, refused by the lock,
    # must not delete the partial output that the first is encoding.
    remove_stale_partials(output.parent, of=output)
    return _Render(info, job, output, size, written, stylizer, work, threads, cluster, detail)


def _refuse_what_does_nothing(job: Job, output: Path, encode: EncodeSettings, cluster: ClusterSettings | None) -> None:
    """Raise UsageError for an option that this render would ignore."""
    codec = container_plan(output).video_codec
    if encode.preset is not None and codec != "libx264":
        flag = option_flag("x264_preset")
        raise UsageError(f"{flag} applies to H.264 outputs; {output.name} is encoded with {codec}")
    if cluster is not None and job.engine.units is not None:
        raise UsageError(
            f"{option_flag('units')} sets the units painted at once here; on Ray each task paints one "
            f"({option_flag('ray_cpus_per_task')} sets its threads)"
        )


def _warn_of_source(info: VideoInfo) -> None:
    """One line for each thing about the source that the output cannot keep as it is."""
    name = info.path.name
    if info.hdr:
        log.warning(
            "%s is HDR or wide-gamut (%s); vidstyle reads every video as SDR BT.709, so its colours will look "
            "washed out. Tone-map it to BT.709 first, e.g. ffmpeg -i IN -vf "
            "zscale=t=linear:npl=100,tonemap=hable,zscale=p=bt709:t=bt709:m=bt709,format=yuv420p OUT",
            name,
            info.hdr,
        )
    if info.interlaced:
        log.info("%s is interlaced: each frame is read as its top field, the lines between interpolated", name)
    if info.has_alpha:
        # Images keep theirs (image_pipeline); an H.264 or VP9 output has no alpha to keep it in.
        log.warning("%s has transparency (%s); the stylized video is opaque", name, info.pixel_format)


class _Progress:
    """This run's visits as they land: the resume state updated, the counts the report gives,
    and the caller's ``on_frame``. ``expected``: the visits of the whole render."""

    def __init__(self, state: ResumeState, expected: int, on_frame: FrameCallback | None) -> None:
        self.state = state
        self.expected = expected
        self.on_frame = on_frame
        self.rendered = self.evaluations = 0
        self.seconds = 0.0

    def landed(self, record: FrameRecord) -> None:
        self.state.landed(record)
        self.seconds += record.seconds
        self.rendered += 1
        self.evaluations += record.iterations
        if self.on_frame is not None:
            done_before = self.state.done_before
            self.on_frame(FrameProgress(record, done_before + self.rendered, self.expected, done_before))


def _announce(render: _Render, plan: ShotPlan, units: list[WorkUnit], progress: _Progress) -> None:
    """The first lines: what is painted, at what size, where and how; the time it will take;
    the work folder; and where a resume starts."""
    job, stylizer, work, threads = render.job, render.stylizer, render.work, render.threads
    chunks = sum(1 for unit in units if unit.handover is None)
    log.info(
        "%s: %d frames, %d shot(s)%s; %s; %s, %d thread%s%s",
        render.info.path.name,
        plan.frame_count,
        len(plan.shots),
        f" in {chunks} chunks" if chunks > len(plan.shots) else "",
        _sizes_text(render.size, render.written, render.detail.size if render.detail else None),
        stylizer.engine_text,
        threads,
        "" if threads == 1 else "s",
        " a Ray task" if render.cluster is not None else _units_text(stylizer.backend.units_at_once),
    )
    for name, text in plan.describe():
        log.debug("%s: %s", name, text)
    state = progress.state
    if render.cluster is None:  # on a cluster, the time depends on its machines
        # A resumed render: what is left, its shots' first frames taken as done.
        left = max(0, progress.expected - chunks - state.done_before)
        painting_left = progress.expected > state.done_before
        log.info("%s", _time_needed(render, plan, fresh=chunks, later=left, painting_left=painting_left))
    if counted := stylizer.budget_text(job.optimizer.iterations):
        log.info("a shot's first frame is painted coarse to fine; its bar counts %s", counted)
    peek = shlex.join(["vidstyle", "peek", str(render.output)])
    log.info("work folder: %s; '%s' shows the frames finished so far", work.path, peek)
    if state.records:
        log.info(
            "resuming at frame %d (%d of %d visits already in %s)",
            state.resume_from,
            state.done_before,
            progress.expected,
            work.path,
        )


def _render_units(
    render: _Render,
    plan: ShotPlan,
    units: list[WorkUnit],
    source_frames: SourceFrames,
    progress: _Progress,
    on_step: StepCallback | None,
) -> list[TaskRun]:
    """Render ``units`` here or on the cluster; a shot is recorded finished with its last
    unit. Returns the cluster's task timeline (none here)."""
    work, job = render.work, render.job
    units_left = Counter(unit.shot.number for unit in units)

    def finish_unit(position: int) -> None:
        shot = units[position].shot
        units_left[shot.number] -= 1
        if units_left[shot.number] == 0:
            work.journal.add_shot({"shot": shot.number, "start": shot.start, "stop": shot.stop})

    waits = waits_for(job, plan, units)
    if render.cluster is None:
        here = UnitsHere(job, source_frames, work, progress.state, progress.landed, finish_unit, on_step)
        render_here(units, waits, render.stylizer, here)
        return []

    def land(frame: np.ndarray, record: FrameRecord) -> None:
        work.save(frame, record)
        progress.landed(record)

    return render_on_ray(
        render.cluster,
        job,
        render.stylizer,
        source_frames,
        units,
        waits,
        passes_done=progress.state.passes_done,
        load_output=work.load,
        on_visit=land,
        on_unit=finish_unit,
    )


def _report(
    render: _Render,
    plan: ShotPlan,
    progress: _Progress,
    visits: list[FrameRecord],
    details: list[DetailRecord],
    started: float,
    decoded: int,
    tasks: list[TaskRun],
) -> VideoReport:
    state = progress.state
    delivered = render.work.journal.details() if render.detail is not None else {}
    detail_errors = [r.warping_error for r in delivered.values() if r.warping_error is not None]
    first_details = [r.seconds for r in details if r.warping_error is None]
    later_details = [r.seconds for r in details if r.warping_error is not None]
    final = [state.records[i] for i in range(plan.frame_count)]
    errors = [r.warping_error for r in final if r.warping_error is not None]
    later = [r.iterations for r in visits if not r.fresh]
    return VideoReport(
        output=render.output,
        width=render.written[0],
        height=render.written[1],
        painted_width=render.size[0],
        painted_height=render.size[1],
        frames=plan.frame_count,
        rendered=progress.rendered,
        resumed_from=state.resume_from if state.done_before else 0,
        cuts=plan.cuts,
        seconds=time.perf_counter() - started,
        render_seconds=progress.seconds,
        all_runs_render_seconds=sum(r.seconds for r in visits),
        mean_iterations=sum(r.iterations for r in visits) / plan.frame_count,
        mean_later_iterations=float(np.mean(later)) if later else None,
        mean_warping_error=float(np.mean(errors)) if errors else None,
        mean_style_loss=float(np.mean([r.style_loss for r in final])),
        mean_content_loss=float(np.mean([r.content_loss for r in final])),
        decoded_frames=decoded,
        visits=progress.expected,
        evaluations=progress.evaluations,
        tasks=tuple(tasks),
        detail_width=render.detail.size[0] if render.detail else None,
        detail_height=render.detail.size[1] if render.detail else None,
        detail_seconds=sum(r.seconds for r in details),
        first_detail_seconds=float(np.mean(first_details)) if first_details else None,
        later_detail_seconds=float(np.mean(later_details)) if later_details else None,
        mean_detail_warping_error=float(np.mean(detail_errors)) if detail_errors else None,
    )


def _units_text(units: int) -> str:
    return f", {units} units at once" if units > 1 else ""


def _sizes_text(painted: tuple[int, int], written: tuple[int, int], detail: tuple[int, int] | None) -> str:
    """``painted at 384x216, written at 1920x1080 (refined there by a detail pass)``."""
    if written == painted:
        return f"painted and written at {painted[0]}x{painted[1]}"
    change = "enlarged with Lanczos" if written[0] > painted[0] else "reduced"
    if detail == written:
        change = "refined there by a detail pass"
    elif detail is not None:
        change = f"refined by a detail pass at {detail[0]}x{detail[1]}, as much as memory holds, then enlarged"
    return f"painted at {painted[0]}x{painted[1]}, written at {written[0]}x{written[1]} ({change})"


def _time_needed(render: _Render, plan: ShotPlan, *, fresh: int, later: int, painting_left: bool) -> str:
    """The render's estimated time, in words, its detail pass included; for a source larger
    than the painted size, what painting at the source's size would take, from the same
    timing (the network's time grows with the pixels)."""
    job, size, info = render.job, render.size, render.info
    seconds = estimate_before_render(
        render.stylizer.objective, job.optimizer, fresh=fresh, later=later, width=size[0], height=size[1]
    )
    painting = seconds
    detail = ""
    if render.detail is not None:
        first = len(plan.shots) + len(plan.flashes)
        # Frames painted in this run make every earlier delivered frame stale (_deliver).
        left = plan.frame_count if painting_left else plan.frame_count - details_to_do(render.work, plan)
        detail_part = detail_seconds(render.detail, fresh=min(first, left), later=max(0, left - first))
        seconds += detail_part
        detail = f", {duration_text(detail_part)} of it the detail pass"
    frames = max(1, plan.frame_count)
    text = f"estimated time: about {duration_text(seconds)} ({seconds / frames:.1f} s a frame{detail}) here"
    return text + at_source_size(job, painting, size, (info.width, info.height))


def _choose_chunking(
    job: Job, cluster: ClusterSettings | None, backend: Backend, work_path: Path, *, restart: bool
) -> Job:
    """``--chunk-frames`` not given: a render being resumed keeps its own; else
    ``DEFAULT_CHUNK_FRAMES`` on a cluster or a GPU, where units render side by side (one long
    shot would leave the others idle), and whole shots on a CPU, where they render one at a
    time (chunks only cost there: a fresh start and a seam each). Chosen by the machine, never
    by ``--units``, so that the units at once do not change the frames."""
    if job.temporal.chunk_frames is not None:
        return job
    saved = None if restart else saved_setting(work_path, ("job", "temporal", "chunk_frames"))
    # By the machine, not by --units: the same GPU paints the same frames one unit at a time.
    side_by_side = cluster is not None or backend.device.type == "cuda"
    chunk_frames = saved if isinstance(saved, int) else DEFAULT_CHUNK_FRAMES if side_by_side else 0
    return replace(job, temporal=replace(job.temporal, chunk_frames=chunk_frames))


def _first_content(info: VideoInfo, segment: Segment, size: tuple[int, int]) -> np.ndarray:
    for decoded in read_frames(info.path, segment):
        return imageops.resize_frame(decoded.frame, *size)
    raise NoFramesError(f"{info.path}: no frames to stylize")


def _encode(render: _Render, segment: Segment, pts: Sequence[int], encode: EncodeSettings) -> None:
    """Encode the saved frames at the written size (delivered by the detail pass, or the
    painted ones enlarged), with the source's timestamps; audio cut to the same segment;
    location tags left out unless ``encode`` keeps them."""
    info, work, output, size = render.info, render.work, render.output, render.written
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
    load = work.details.load if render.detail is not None else work.load
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
            writer.write(imageops.enlarge_frame(load(index), *size), frame_pts)
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
    on_step: StepCallback | None = None,
    on_plan: PlanCallback | None = None,
    on_detail: DetailCallback | None = None,
    ray: str | None = None,
    ray_cpus_per_task: int | None = None,
    **options: object,
) -> VideoReport:
    """Stylize a video. ``options`` are the CLI's options in snake case (``size=384``,
    ``temporal_weight=200``, ``quality="draft"`` ...); ``start``/``duration`` (seconds) or
    ``frames`` render a part of it; ``ray`` (``local``, ``auto`` or an address) renders its
    shots in parallel on a Ray cluster. ``on_plan(done, expected)`` follows the pass that plans
    the shots, ``on_frame`` the render's visits, ``on_step`` their iterations, and ``on_detail``
    the detail pass's frames."""
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
        on_step=on_step,
        on_plan=on_plan,
        on_detail=on_detail,
        cluster=cluster_settings(ray, ray_cpus_per_task),
    )
