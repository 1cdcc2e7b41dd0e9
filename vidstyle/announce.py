"""A render's first lines: what is painted, at what size, where and how; the estimated time;
the work folder; and where a resume starts."""

from __future__ import annotations

import logging
import shlex

from vidstyle.detail_pass import carries_frames, details_to_do
from vidstyle.estimate import (
    Pace,
    at_source_size,
    detail_seconds,
    duration_text,
    estimate_before_render,
    flow_seconds_per_frame,
)
from vidstyle.render_setup import PreparedRender
from vidstyle.shots import ShotPlan
from vidstyle.work_units import WorkUnit
from vidstyle.workdir import ResumeState

log = logging.getLogger(__name__)


def announce(render: PreparedRender, plan: ShotPlan, units: list[WorkUnit], state: ResumeState, expected: int) -> None:
    """The first lines: what is painted, at what size, where and how; the time it will take;
    the work folder; and where a resume starts (``state``, of ``expected`` visits in all)."""
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
        " a Ray task" if render.cluster is not None else _units_text(min(stylizer.backend.units_at_once, len(units))),
    )
    for name, text in plan.describe():
        log.debug("%s: %s", name, text)
    # A resumed render: the first frames of its shots and chunks already painted are done.
    fresh = sum(1 for unit in units if unit.handover is None and unit.start not in state.records)
    if render.cluster is None:  # on a cluster, the time depends on its machines
        later = max(0, expected - fresh - state.done_before)
        painting_left = expected > state.done_before
        log.info("%s", _time_needed(render, plan, units, fresh=fresh, later=later, painting_left=painting_left))
    if fresh and (counted := stylizer.budget_text(job.optimizer.iterations)):
        log.info("a shot's first frame is painted coarse to fine; its bar counts %s", counted)
    peek = shlex.join(["vidstyle", "peek", str(render.output)])
    log.info("work folder: %s; '%s' shows the frames finished so far", work.path, peek)
    if state.records:
        log.info("resuming at frame %d: %s", state.resume_from, _done_text(state.done_before, expected, plan))


def _done_text(done: int, expected: int, plan: ShotPlan) -> str:
    """``12 of 40 frames painted before``; where frames are painted more than once (passes,
    seams, the loop), the paintings counted instead."""
    if expected == plan.frame_count:
        return f"{done} of {expected} frames painted before"
    return f"{done} of {expected} paintings done before (passes, seams and the loop paint some frames again)"


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


def _time_needed(
    render: PreparedRender, plan: ShotPlan, units: list[WorkUnit], *, fresh: int, later: int, painting_left: bool
) -> str:
    """The render's estimated time, in words, its detail pass included; for a source larger
    than the painted size, what painting at the source's size would take, from the same
    timing (the network's time grows with the pixels)."""
    job, size, info, backend = render.job, render.size, render.info, render.stylizer.backend
    pace = Pace(
        units_at_once=min(backend.units_at_once, len(units)),
        flow_seconds=flow_seconds_per_frame(job.temporal, *size) if backend.flow_workers else 0.0,
        flow_workers=backend.flow_workers,
    )
    seconds = estimate_before_render(
        render.stylizer.objective, job.optimizer, fresh=fresh, later=later, width=size[0], height=size[1], pace=pace
    )
    painting = seconds
    detail = ""
    if render.detail is not None:
        first = len(plan.shots) + len(plan.flashes) if carries_frames(job.temporal) else plan.frame_count
        # Frames painted in this run make every earlier delivered frame stale (deliver).
        left = plan.frame_count if painting_left else plan.frame_count - details_to_do(render.work, plan)
        detail_part = detail_seconds(render.detail, fresh=min(first, left), later=max(0, left - first))
        seconds += detail_part
        detail = f", {duration_text(detail_part)} of it the detail pass"
    frames = max(1, plan.frame_count)
    text = f"estimated time: about {duration_text(seconds)} ({seconds / frames:.1f} s a frame{detail}) here"
    return text + at_source_size(job, painting, size, (info.width, info.height))
