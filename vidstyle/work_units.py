"""A render's work units: the pieces that one worker renders from start to end.

A shot is one unit; a shot longer than ``--chunk-frames`` is split into chunks of about
equal length that render apart (in parallel on a cluster), each starting fresh like a shot,
and one more unit per seam between two chunks re-visits the first frames after the seam to
hand the chunk before over to the chunk after (``frame_plan.Handover``). ``--loop`` adds the
loop's own handover. ``work_units`` lists them in the order a sequential render makes them;
``waits_for`` says which earlier units each must wait for when they run side by side.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from vidstyle.frame_plan import HANDOVER_FRAMES, FramePlanner, Handover, HandoverPlanner, Planner
from vidstyle.settings import Job
from vidstyle.shots import Shot, ShotPlan
from vidstyle.warps import HOST_WARPS, Warps


@dataclass(frozen=True)
class WorkUnit:
    """Frames ``start`` to ``stop - 1`` of ``shot`` rendered from nothing (the whole shot, or
    one chunk of it), or, with ``handover``, the re-visits that join two pieces."""

    shot: Shot  # the shot it belongs to: its frame records carry the shot's number
    start: int
    stop: int
    handover: Handover | None = None

    @property
    def name(self) -> str:
        number = self.shot.number + 1
        if self.handover is None:
            whole = (self.start, self.stop) == (self.shot.start, self.shot.stop)
            return f"shot {number}" if whole else f"shot {number} frames {self.start}-{self.stop - 1}"
        if self.handover.last > self.handover.frames[0]:
            return "the loop's seam"
        return f"shot {number} seam at frame {self.handover.frames[0]}"


def chunk_starts(shot: Shot, chunk_frames: int, flashes: frozenset[int]) -> list[int]:
    """Where the chunks of ``shot`` start: equal lengths of at most ``chunk_frames`` (0: the
    whole shot), moved past flash frames, since a seam needs a frame pair that follows."""
    if chunk_frames == 0 or len(shot) <= chunk_frames:
        return [shot.start]
    count = math.ceil(len(shot) / chunk_frames)
    starts = [shot.start]
    for k in range(1, count):
        start = shot.start + round(k * len(shot) / count)
        while start in flashes or start - 1 in flashes:
            start += 1
        if start - starts[-1] > HANDOVER_FRAMES and shot.stop - start > HANDOVER_FRAMES:
            starts.append(start)
    return starts


def work_units(job: Job, plan: ShotPlan) -> list[WorkUnit]:
    """Every unit of the render, in the order a sequential render makes them: each shot's
    chunks, then its seams; the loop's handover last."""
    flashes = frozenset(plan.flashes)
    units: list[WorkUnit] = []
    repaired: set[int] = set()
    for shot in plan.shots:
        starts = chunk_starts(shot, job.temporal.chunk_frames or 0, flashes)
        bounds = [*starts, shot.stop]
        units += [WorkUnit(shot, start, stop) for start, stop in itertools.pairwise(bounds)]
        for start, stop in itertools.pairwise(bounds[1:]):  # each chunk after the first
            frames = tuple(i for i in range(start, stop) if i not in flashes)[:HANDOVER_FRAMES]
            units.append(WorkUnit(shot, start, start, Handover(last=start - 1, frames=frames)))
            repaired |= set(frames)
    last = plan.frame_count - 1
    if job.temporal.loop and last >= 1:
        # The loop re-visits the first frames of the first shot, not a frame a seam re-visits.
        frames = tuple(i for i in plan.shots[0].frames if i not in flashes and i not in repaired and i != last)
        if frames:
            units.append(WorkUnit(plan.shots[-1], 0, 0, Handover(last=last, frames=frames[:HANDOVER_FRAMES])))
    return units


def planner_for(job: Job, plan: ShotPlan, unit: WorkUnit, warps: Warps = HOST_WARPS) -> Planner:
    use_temporal_loss = job.losses.temporal > 0
    if unit.handover is not None:
        return HandoverPlanner(job.temporal, unit.handover, use_temporal_loss=use_temporal_loss, warps=warps)
    return FramePlanner(
        job.temporal,
        Shot(unit.shot.number, unit.start, unit.stop),
        flashes=frozenset(f for f in plan.flashes if unit.start <= f < unit.stop),
        use_temporal_loss=use_temporal_loss,
        warps=warps,
    )


def units_to_render(units: list[WorkUnit], plan: ShotPlan, finished: set[int]) -> list[WorkUnit]:
    """The units a render runs, given the shots its work folder holds ``finished``: those of
    the other shots, and a handover that re-visits their frames. The loop's seam belongs to
    the last shot but re-visits the first shot's first frames: a first shot painted again
    (a damaged frame) needs its seam painted again, or the loop would jump there."""
    again = {unit.shot.number for unit in units if unit.shot.number not in finished}
    return [
        unit
        for unit in units
        if unit.shot.number in again
        or (unit.handover is not None and any(plan.shot_of(i).number in again for i in unit.handover.frames))
    ]


def waits_for(job: Job, plan: ShotPlan, units: list[WorkUnit]) -> list[set[int]]:
    """For each unit (by position), the earlier units it must wait for: those that make an
    output it reads, or that read a frame it re-visits. Chunks of one shot wait for nothing
    (their neighbours stop at their ends); a seam waits for the chunks on its two sides."""
    writers: dict[int, list[int]] = {}
    readers: dict[int, list[int]] = {}
    waits: list[set[int]] = []
    for position, unit in enumerate(units):
        planner = planner_for(job, plan, unit)
        visits = list(planner.visits())
        writes = {visit.index for visit in visits}
        reads = writes | {i for visit in visits for i in planner.needs(visit)}
        wait = {j for frame in reads for j in writers.get(frame, ())}
        wait |= {j for frame in writes for j in readers.get(frame, ())}
        waits.append(wait)
        for frame in writes:
            writers.setdefault(frame, []).append(position)
        for frame in reads:
            readers.setdefault(frame, []).append(position)
    return waits


class UnitQueue:
    """The units waiting to render, each ready once the units it waits for (``waits``, by
    position) are finished: the one schedule that the units painted side by side here
    (``local_render.py``) and the tasks on Ray (``distributed.py``) both follow."""

    def __init__(self, waits: list[set[int]]) -> None:
        self._waits = waits
        self._waiting = list(range(len(waits)))
        self.finished: set[int] = set()

    def __bool__(self) -> bool:
        """Whether some unit has yet to start."""
        return bool(self._waiting)

    def _ready(self) -> list[int]:
        """The waiting units whose units to wait for are all finished, in order."""
        return [position for position in self._waiting if self._waits[position] <= self.finished]

    def any_ready(self) -> bool:
        return bool(self._ready())

    def take_ready(self, most: int) -> list[int]:
        """Up to ``most`` units ready to start, in order, taken off the queue."""
        ready = self._ready()[: max(0, most)]
        for position in ready:
            self._waiting.remove(position)
        return ready

    def finish(self, position: int) -> None:
        self.finished.add(position)

    def check_moving(self, running: int) -> None:
        """Raise where nothing runs and nothing can start: units that wait on each other
        (``waits_for`` makes units wait on earlier ones only, so this is a bug)."""
        if not running and self._waiting:
            raise RuntimeError("work units wait on each other")
