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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidstyle.announce import announce
from vidstyle.config import build_job
from vidstyle.delivery import deliver, encode_output
from vidstyle.detail_pass import DetailCallback
from vidstyle.distributed import TaskRun, render_on_ray
from vidstyle.errors import NoFramesError, OutputPathError
from vidstyle.filetypes import IMAGE_EXTENSIONS, local_path
from vidstyle.journal import DetailRecord, FrameRecord
from vidstyle.kill_points import kill_point
from vidstyle.local_render import UnitsHere, render_here
from vidstyle.optimize import StepCallback
from vidstyle.render_setup import PreparedRender, check_units_fit, prepare_render
from vidstyle.settings import ClusterSettings, EncodeSettings, Job, cluster_settings, encode_settings
from vidstyle.shot_render import SourceFrames
from vidstyle.shots import ShotPlan, plan_shots
from vidstyle.video_info import VideoInfo
from vidstyle.video_io import Segment, expected_frame_count
from vidstyle.video_writer import VIDEO_EXTENSIONS
from vidstyle.work_units import WorkUnit, planner_for, units_to_render, waits_for, work_units
from vidstyle.workdir import ResumeState, WorkDir

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
    render = prepare_render(
        source, job, output, segment, encode, overwrite=overwrite, preview=preview, restart=restart, cluster=cluster
    )
    job, work = render.job, render.work
    with work.removed_on_error():
        plan, planning_decoded = _shot_plan(work, render.info, segment, job, on_plan)
    units = work_units(job, plan)
    state = work.resume_state([shot.frames for shot in plan.shots], job.temporal.passes)
    todo = units_to_render(units, plan, state.finished)
    with work.removed_on_error():
        delivered = None
        if render.detail is not None:
            delivered = (plan.frame_count - len(work.journal.details()), *render.detail.size)
        work.check_space(plan.frame_count - len(state.records), *render.size, delivered=delivered)
        check_units_fit(render, len(todo))
    progress = _Progress(state, sum(len(list(planner_for(job, plan, unit).visits())) for unit in units), on_frame)
    announce(render, plan, units, state, progress.expected)
    source_frames = SourceFrames(render.info.path, segment, plan, render.size)
    tasks = _render_units(render, plan, todo, source_frames, progress, on_step)
    details = deliver(render, plan, source_frames, progress.rendered > 0, on_detail)
    encode_output(render, segment, plan.pts, encode)
    visits = work.journal.visits()
    kill_point("cleanup")
    if not keep_frames:
        work.remove()
    return _report(render, plan, progress, visits, details, started, planning_decoded + source_frames.decoded, tasks)


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


def _render_units(
    render: PreparedRender,
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
    render: PreparedRender,
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
