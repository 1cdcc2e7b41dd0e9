"""The detail pass over a render's painted frames, shot by shot, into the work folder.

Once every frame is painted (all passes, seams and the loop done), each shot is walked
forward once: its first frame refined from its enlargement, each later one from the previous
delivered frame warped along the flow between their source frames, enlarged (``detail.py``).
A render whose later frames do not start from the frame before (``--temporal-init content``
or ``random``: frames painted one by one) delivers them one by one too, each refined from
its own enlargement as a first frame is: a per-frame render is per-frame at both sizes.
Each delivered frame is saved (``details/``, a PNG and a journal
line, like the painted ones), so a render killed here resumes at the first frame without
both, from the delivered frame before it: the same frames as an uninterrupted render.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from vidstyle.detail import DetailPainter, DetailResult, HeldDetail
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import enlarged_mask, enlarged_motion, measure_link
from vidstyle.frame_plan import HANDOVER_FRAMES
from vidstyle.journal import DetailRecord
from vidstyle.metrics import warping_error
from vidstyle.settings import TemporalSettings
from vidstyle.shot_render import SourceFrames
from vidstyle.shots import ShotPlan
from vidstyle.warps import warp_stylized
from vidstyle.workdir import WorkDir

log = logging.getLogger(__name__)

DetailCallback = Callable[["DetailProgress"], None]


@dataclass(frozen=True)
class DetailProgress:
    """Reported after each delivered frame: its record, how many are done (``done_before`` by
    earlier runs), and how many the render delivers."""

    record: DetailRecord
    done: int
    expected: int
    done_before: int


def details_to_do(work: WorkDir, plan: ShotPlan, records: dict[int, DetailRecord] | None = None) -> int:
    """The first frame whose delivered frame is missing (``plan.frame_count``: none is): every
    frame before it has its PNG whole and its line (``records``: the journal's, read here
    unless given)."""
    records = work.journal.details() if records is None else records
    for index in range(plan.frame_count):
        if index not in records or not work.details.is_whole(index):
            return index
    return plan.frame_count


def render_details(
    work: WorkDir,
    plan: ShotPlan,
    source: SourceFrames,
    painter: DetailPainter,
    temporal: TemporalSettings,
    on_detail: DetailCallback | None = None,
) -> list[DetailRecord]:
    """Deliver every frame not delivered yet, in order, then (``--loop``) close the loop;
    returns this run's records. ``source`` gives the source frames at the size the flows are
    measured at (``painter.flow_size``)."""
    done = work.journal.details()
    work.settle_staged_details(done)
    first = details_to_do(work, plan, done)
    looped = loop_frames(plan) if temporal.loop and carries_frames(temporal) else ()
    expected = plan.frame_count + len(looped)
    done_before = first + sum(1 for index in looped if index in done and done[index].loop)
    estimator = FlowEstimator(temporal.flow, temporal.dis_preset)
    records: list[DetailRecord] = []

    def delivered(result: DetailResult, record: DetailRecord, started: float) -> None:
        record = replace(record, seconds=time.perf_counter() - started)
        work.save_detail(result.frame, record)
        records.append(record)
        if on_detail is not None:
            on_detail(DetailProgress(record, done_before + len(records), expected, done_before))

    _walk_forward(work, plan, source, painter, temporal, estimator, first, done, delivered)
    if looped:
        _close_loop(work, plan, source, painter, estimator, looped, delivered)
    return records


Delivered = Callable[[DetailResult, DetailRecord, float], None]


def _walk_forward(
    work: WorkDir,
    plan: ShotPlan,
    source: SourceFrames,
    painter: DetailPainter,
    temporal: TemporalSettings,
    estimator: FlowEstimator,
    first: int,
    done: dict[int, DetailRecord],
    delivered: Delivered,
) -> None:
    """Each shot from ``first`` on, forward: a frame held by the one delivered before it."""
    # Delivered on their own, holding nothing: flash frames, or every frame of a render painted frame by frame.
    alone = set(plan.flashes) if carries_frames(temporal) else set(range(plan.frame_count))
    for shot in plan.shots:
        if shot.stop <= first:
            continue
        start = max(shot.start, first)
        before = _held_by(shot.start, start, alone)
        frames = ([before] if before is not None else []) + list(range(start, shot.stop))
        previous: tuple[np.ndarray, np.ndarray] | None = None  # its content, its delivered frame
        for index, content in source.read_runs(frames):
            if index < start:  # delivered by an earlier run: it holds the first frame of this one
                previous = (content, work.details.load(index))
                painter.curvature_scale = done[start - 1].curvature_scale  # as the frame before left it
                continue
            started = time.perf_counter()
            painted = work.load(index)
            if index in alone:
                result = painter.refine(painted)
                record = DetailRecord(index, result.iterations, 0.0, result.style_loss, None, result.curvature_scale)
            else:
                held, error_of = None, None
                if previous is not None:
                    held, error_of = _held(estimator, content, previous[0], previous[1], painter.size)
                result = painter.refine(painted, held)
                error = warping_error(result.frame, *error_of) if error_of is not None else None
                record = DetailRecord(index, result.iterations, 0.0, result.style_loss, error, result.curvature_scale)
                previous = (content, result.frame)
            delivered(result, record, started)


def _held(
    estimator: FlowEstimator, content: np.ndarray, other: np.ndarray, other_delivered: np.ndarray, size: tuple[int, int]
) -> tuple[HeldDetail, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``other_delivered`` warped into the frame of ``content`` (their source frames at the
    flow size), and what the warping error of the result is taken along."""
    link = measure_link(estimator, content, other)
    reliability = link.reliability
    flow, mask = enlarged_motion(link.near_to_far, reliability.mask, size)
    holes = enlarged_mask(reliability.holes.astype(np.float32), size)
    return HeldDetail(warp_stylized(other_delivered, flow), mask, holes), (other_delivered, flow, mask)


def loop_frames(plan: ShotPlan) -> tuple[int, ...]:
    """The frames the loop's seam delivers again: the first shot's first frames, as the
    painting's loop handover re-visits them (``work_units``; chunks' seams do not reach the
    detail pass, which walks whole shots)."""
    last = plan.frame_count - 1
    flashes = set(plan.flashes)
    frames = [i for i in plan.shots[0].frames if i not in flashes and i != last] if last >= 1 else []
    return tuple(frames[:HANDOVER_FRAMES])


def _close_loop(
    work: WorkDir,
    plan: ShotPlan,
    source: SourceFrames,
    painter: DetailPainter,
    estimator: FlowEstimator,
    frames: tuple[int, ...],
    delivered: Delivered,
) -> None:
    """``--loop`` at the delivered size, as the painting closes it (``frame_plan.Handover``):
    the first frames delivered again, the first from the last frame warped, each later one
    from the one delivered again before it, the chain's weight falling from 1 at the seam to
    0, blended with the frame's own delivered frame where the flow is reliable, and one held
    step from there. Otherwise the last frame's brushwork, come down a chain of warps, meets
    the first frame's, refined fresh, at the seam."""
    done = work.journal.details()
    if all(done[index].loop for index in frames):
        return
    painter.curvature_scale = done[frames[0]].curvature_scale  # the first shot's, however resumed
    last = plan.frame_count - 1
    contents = dict(source.read_runs(sorted({*frames, last})))
    chained: np.ndarray | None = None  # the frame delivered again just before, in this run
    for position, index in enumerate(frames):
        if done[index].loop:  # delivered again by an earlier run
            continue
        started = time.perf_counter()
        prior = last if position == 0 else frames[position - 1]
        prior_frame = chained if chained is not None else work.details.load(prior)
        held, error_of = _held(estimator, contents[index], contents[prior], prior_frame, painter.size)
        chain = (1.0 - position / len(frames)) * held.mask[..., None]
        blend = (1.0 - chain) * work.details.load(index).astype(np.float32) + chain * held.warped
        everywhere = np.ones_like(held.mask)
        result = painter.refine(work.load(index), HeldDetail(blend, everywhere, np.zeros_like(held.mask)))
        error = warping_error(result.frame, *error_of)
        record = DetailRecord(index, result.iterations, 0.0, result.style_loss, error, result.curvature_scale, True)
        delivered(result, record, started)
        chained = result.frame


def carries_frames(temporal: TemporalSettings) -> bool:
    """Whether a later delivered frame starts from the one before it, as a painted frame does."""
    return temporal.init in ("prev-warped", "prev")


def _held_by(shot_start: int, start: int, alone: set[int]) -> int | None:
    """The frame before ``start`` in its shot that holds it (frames delivered alone skipped), or None."""
    position = start - 1
    while position in alone:
        position -= 1
    return position if position >= shot_start else None
