"""Rendering one work unit (a shot, a chunk, a seam): its frames decoded, each visit
planned, stylized and measured.

``render_unit`` is the same code wherever a unit renders: in the render's own process, or
in a worker elsewhere. It reads the source file and yields each finished visit; what it needs
of other frames' outputs comes through ``load_output``, and saving is the caller's business.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from vidstyle import imageops
from vidstyle.errors import NoFramesError
from vidstyle.frame_plan import FramePlan, Planner, Visit
from vidstyle.journal import FrameRecord
from vidstyle.metrics import warping_error
from vidstyle.objective import TemporalTerm
from vidstyle.optimize import StepCallback
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.settings import Job
from vidstyle.shots import ShotPlan
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames
from vidstyle.warps import HOST_WARPS, DeviceWarps
from vidstyle.work_units import WorkUnit, planner_for

log = logging.getLogger(__name__)


class SourceFrames:
    """Decodes frames of a segment at processing size by shot-plan index, seeking to the
    first frame asked for; counts what it decodes."""

    def __init__(self, path: Path, segment: Segment, plan: ShotPlan, size: tuple[int, int]) -> None:
        self.path = path
        self.segment = segment
        self.plan = plan
        self.size = size
        self.decoded = 0

    def read(self, first: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """(index, content) for frames ``first`` to ``stop - 1``."""
        if first >= stop:
            return
        # Seek by the frame's time; the pts check below catches a container that seeks wrong.
        if first > 0:
            part = Segment(start=self.plan.times[first], frames=stop - first)
        else:
            part = replace(self.segment, frames=stop)
        expected = first
        for decoded in read_frames(self.path, part):
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
            raise NoFramesError(f"{self.path}: frame {expected} of the shot plan could not be decoded again")

    def read_runs(self, frames: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        """(index, content) for ``frames`` (increasing), each run of consecutive ones read
        with one seek."""
        runs: list[list[int]] = []
        for index in frames:
            if runs and index == runs[-1][-1] + 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        for run in runs:
            yield from self.read(run[0], run[-1] + 1)

    def _read_from_start(self, first: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        for index, decoded in enumerate(read_frames(self.path, replace(self.segment, frames=stop))):
            self.decoded += 1
            if index >= first:
                yield index, imageops.resize_frame(decoded.frame, *self.size)


class FrameCache:
    """Frames by index from a stream, keeping at most ``keep`` of the latest (all: None)."""

    def __init__(self, stream: Iterator[tuple[int, np.ndarray]], keep: int | None) -> None:
        self._stream = stream
        self._keep = keep
        self._frames: dict[int, np.ndarray] = {}

    def __call__(self, index: int) -> np.ndarray:
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
        return self._frames.get(index)


@dataclass(frozen=True)
class RenderedVisit:
    """A finished visit: the uint8 frame and its record (warping error still unset), and what
    ``measured`` needs to set it."""

    frame: np.ndarray
    record: FrameRecord
    plan: FramePlan
    neighbour_output: np.ndarray | None

    def measured(self) -> FrameRecord:
        """The record with the warping error against the neighbour the visit started from."""
        plan, neighbour = self.plan, self.neighbour_output
        if neighbour is None or plan.backward is None or plan.mask is None:
            return self.record
        return replace(self.record, warping_error=warping_error(self.frame, neighbour, plan.backward, plan.mask))


def remaining_visits(planner: Planner, passes_done: Mapping[int, int]) -> tuple[list[Visit], set[int]]:
    """The visits still to make (all after the first one not done, in order), and the frames
    that have an output when the first of them starts: those visited before it, and the
    finished frames that the unit does not make from nothing (``passes_done``: frame ->
    passes finished)."""
    visits = list(planner.visits())
    todo = next((i for i, v in enumerate(visits) if passes_done.get(v.index, 0) < v.pass_number), len(visits))
    has_output = {visit.index for visit in visits[:todo]}
    has_output |= {index for index in passes_done if index not in planner.creates}
    return visits[todo:], has_output


def outputs_needed(planner: Planner, passes_done: Mapping[int, int]) -> set[int]:
    """Outputs of earlier visits that the remaining ones read: their neighbours, and in a
    later pass (a handover's too) their own last result."""
    remaining, has_output = remaining_visits(planner, passes_done)
    wanted = {i for visit in remaining for i in planner.needs(visit)}
    wanted |= {visit.index for visit in remaining if visit.pass_number > 1}
    return wanted & has_output


def visit_budget(job: Job, plan: FramePlan, *, only_visit: bool) -> int:
    """Iterations for one visit: a frame's single-pass budget, shared out over the passes
    (Ruder et al.: every later pass a few iterations; here the first pass takes the rest).
    ``only_visit``: a flash frame, visited once, takes all of its budget at once."""
    passes = 1 if only_visit else job.temporal.passes
    share = max(1, round(job.optimizer.later_iterations / passes))
    if plan.visit.pass_number > 1:
        return share
    budget = job.optimizer.iterations if plan.fresh else job.optimizer.later_iterations
    return max(1, budget - (passes - 1) * share)


@contextlib.contextmanager
def painting_here(job: Job, stylizer: Stylizer) -> Iterator[MotionPrefetcher]:
    """What rendering units in a process needs around them, here or in a Ray task: the
    backend's threads set, and the flows measured ahead by its workers."""
    with (
        stylizer.backend.running(),
        MotionPrefetcher(job.temporal, workers=stylizer.backend.flow_workers) as prefetch,
    ):
        yield prefetch


def render_unit(
    job: Job,
    stylizer: Stylizer,
    source: SourceFrames,
    unit: WorkUnit,
    *,
    passes_done: Mapping[int, int],
    load_output: Callable[[int], np.ndarray],
    prefetch: MotionPrefetcher,
    on_step: StepCallback | None = None,
) -> Iterator[RenderedVisit]:
    """Render every visit of ``unit`` not done yet (``passes_done``: frame -> passes finished,
    from an interrupted render), in order; ``load_output`` gives an earlier visit's output."""
    # On a GPU the warps of the outputs before a frame run there: on a CPU core they would
    # keep it waiting between frames (warps.py).
    warps = DeviceWarps(stylizer.device) if stylizer.backend.device_warps else HOST_WARPS
    planner = planner_for(job, source.plan, unit, warps)
    remaining, has_output = remaining_visits(planner, passes_done)
    if not remaining:
        return
    # One pass streams its frames through a few at a time; several passes (and a handover's
    # few frames) keep them all.
    keep_all = job.temporal.passes > 1 or unit.handover is not None
    needed = {i for visit in remaining for route in ((visit.index,), *planner.routes(visit)) for i in route}
    depth = max(job.temporal.long_term) + prefetch.workers + 3
    contents = FrameCache(source.read_runs(sorted(needed)), keep=None if keep_all else depth)
    outputs = FrameCache(iter(()), keep=None if keep_all else depth)

    def output_of(index: int) -> np.ndarray | None:
        if index not in has_output:
            return None
        frame = outputs.get(index)
        if frame is None:
            frame = load_output(index)
            outputs.put(index, frame)
        return frame

    for visit, motion in prefetch.ahead(remaining, lambda v: v.index, planner.routes, contents):
        started = time.perf_counter()
        content = contents(visit.index)
        plan = planner.plan(visit, content, motion.result(), output_of)
        budget = visit_budget(job, plan, only_visit=visit.index in planner.flashes)
        stylized, record = render_frame(stylizer, job, plan, unit.shot.number, content, budget, on_step)
        record = replace(record, seconds=time.perf_counter() - started)
        neighbour = output_of(plan.neighbour) if plan.neighbour is not None else None
        outputs.put(visit.index, stylized)
        has_output.add(visit.index)
        yield RenderedVisit(stylized, record, plan, neighbour)


def render_frame(
    stylizer: Stylizer,
    job: Job,
    plan: FramePlan,
    shot_number: int,
    content: np.ndarray,
    iterations: int,
    on_step: StepCallback | None,
) -> tuple[np.ndarray, FrameRecord]:
    """Stylize one visit as planned; returns the uint8 output and its record (seconds and
    warping error unset)."""
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
        shot=shot_number,
        pass_number=plan.visit.pass_number,
        fresh=plan.fresh,
        iterations=result.iterations,
        evaluations=result.evaluations,
        seconds=0.0,
        total_loss=losses.total,
        content_loss=losses.content,
        style_loss=losses.style,
        temporal_loss=losses.temporal,
        coverage=plan.coverage,
        warping_error=None,
    )
    return result.frame, record
