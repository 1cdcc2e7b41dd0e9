"""The detail pass over a render's painted frames, shot by shot, into the work folder.

Once every frame is painted (all passes, seams and the loop done), each shot is walked
forward once: its first frame refined from its enlargement, each later one from the previous
delivered frame warped along the flow between their source frames at the processing size,
enlarged (``detail.py``). Each delivered frame is saved (``details/``, a PNG and a journal
line, like the painted ones), so a render killed here resumes at the first frame without
both, from the delivered frame before it: the same frames as an uninterrupted render.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from vidstyle.detail import DetailPainter, HeldDetail
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import enlarged_mask, enlarged_motion, measure_link
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
    """Deliver every frame not delivered yet, in order; returns this run's records. ``source``
    gives the source frames at the size the flows are measured at (``painter.flow_size``)."""
    done = work.journal.details()
    first = details_to_do(work, plan, done)
    flashes = set(plan.flashes)
    estimator = FlowEstimator(temporal.flow, temporal.dis_preset)
    records: list[DetailRecord] = []
    for shot in plan.shots:
        if shot.stop <= first:
            continue
        start = max(shot.start, first)
        before = _held_by(shot.start, start, flashes)
        frames = ([before] if before is not None else []) + list(range(start, shot.stop))
        previous: tuple[np.ndarray, np.ndarray] | None = None  # its content, its delivered frame
        for index, content in source.read_runs(frames):
            if index < start:  # delivered by an earlier run: it holds the first frame of this one
                previous = (content, work.details.load(index))
                painter.curvature_scale = done[start - 1].curvature_scale  # as the frame before left it
                continue
            started = time.perf_counter()
            painted = work.load(index)
            if index in flashes:  # painted on its own: delivered on its own, and holds nothing
                result = painter.refine(painted)
                record = DetailRecord(index, result.iterations, 0.0, result.style_loss, None, result.curvature_scale)
            else:
                held, error_of = None, None
                if previous is not None:
                    link = measure_link(estimator, content, previous[0])
                    reliability = link.reliability
                    flow, mask = enlarged_motion(link.near_to_far, reliability.mask, painter.size)
                    holes = enlarged_mask(reliability.holes.astype(np.float32), painter.size)
                    held = HeldDetail(warp_stylized(previous[1], flow), mask, holes)
                    error_of = (previous[1], flow, mask)
                result = painter.refine(painted, held)
                error = warping_error(result.frame, *error_of) if error_of is not None else None
                record = DetailRecord(index, result.iterations, 0.0, result.style_loss, error, result.curvature_scale)
                previous = (content, result.frame)
            record = replace(record, seconds=time.perf_counter() - started)
            work.save_detail(result.frame, record)
            records.append(record)
            if on_detail is not None:
                on_detail(DetailProgress(record, first + len(records), plan.frame_count, first))
    return records


def _held_by(shot_start: int, start: int, flashes: set[int]) -> int | None:
    """The frame before ``start`` in its shot that holds it (flash frames skipped), or None."""
    position = start - 1
    while position in flashes:
        position -= 1
    return position if position >= shot_start else None
