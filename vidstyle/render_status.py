"""Where a render stands, read from its work folder: frames painted, shots, time left, and the
latest finished frame. Like ``peek``, it only reads (no lock, nothing written), so it may look
at a render running in another process, the command line's or the studio's, undisturbed."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidstyle.errors import InputFileError
from vidstyle.shots import ShotPlan
from vidstyle.workdir import WorkDir, saved_setting, work_dir_for


@dataclass(frozen=True)
class RenderStatus:
    """``visits_done`` of ``visits`` (frames x passes) painted; ``frames`` and ``shots`` in
    the shot plan (0 while it is being made); ``seconds_left``: the visits left at the mean
    pace of those done (None before the first); ``latest``: the frame painted last."""

    visits_done: int
    visits: int
    frames: int
    shots: int
    shots_done: int
    seconds_left: float | None
    latest: int | None

    @property
    def share_done(self) -> float:
        return self.visits_done / self.visits if self.visits else 0.0


def render_status(output: Path) -> RenderStatus | None:
    """The status of the render into ``output``; None when it has no work folder."""
    work = WorkDir(work_dir_for(output))
    if not work.path.is_dir():
        return None
    plan_json = work.load_shot_plan()
    if plan_json is None:
        return RenderStatus(0, 0, 0, 0, 0, None, None)
    plan = ShotPlan.from_json(plan_json)
    passes = saved_setting(work.path, ("job", "temporal", "passes")) or 1
    visits = [visit for visit in work.journal.visits() if visit.index < plan.frame_count]
    expected = max(plan.frame_count * int(passes), len(visits))
    seconds_left = None
    if visits:
        seconds_left = sum(visit.seconds for visit in visits) / len(visits) * (expected - len(visits))
    return RenderStatus(
        visits_done=len(visits),
        visits=expected,
        frames=plan.frame_count,
        shots=len(plan.starts),
        shots_done=len(work.journal.finished_shots()),
        seconds_left=seconds_left,
        latest=visits[-1].index if visits else None,
    )


def latest_frame(output: Path, index: int) -> np.ndarray:
    """Frame ``index`` as the render into ``output`` last saved it (RGB)."""
    work = WorkDir(work_dir_for(output))
    if not work.frames.path(index).is_file():  # not yet painted, or the render is done and tidied
        raise InputFileError(f"{output.name}: frame {index} is not in its work folder")
    return work.load(index)


def frame_time(output: Path, index: int) -> Fraction:
    """Frame ``index``'s time in its source, in seconds, from the render's shot plan."""
    plan_json = WorkDir(work_dir_for(output)).load_shot_plan()
    return ShotPlan.from_json(plan_json).times[index] if plan_json else Fraction(0)
