"""A look at a render that is still running: the frames finished so far, encoded to a short
video beside the output (``clip.starry_night.peek.mp4``).

It only reads the work folder, as the lock allows a second process to: each frame's PNG is
renamed into place before its journal line is written, so every frame the journal lists is
whole, and a torn last line is skipped. It takes no lock and writes nothing there, so the
render goes on undisturbed, and its result is the same as without the look.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vidstyle.errors import InputFileError
from vidstyle.shots import ShotPlan
from vidstyle.video_writer import VideoWriter
from vidstyle.workdir import WorkDir, work_dir_for

# The peek's timestamps: the shot plan's times (seconds) in this time base.
_TIME_BASE = Fraction(1, 90_000)


@dataclass(frozen=True)
class PeekReport:
    """The peek file, how many frames it shows, and how many the render makes."""

    path: Path
    frames: int
    total: int


def peek_path(output: Path) -> Path:
    """``clip.starry_night.peek.mp4`` for the output ``clip.starry_night.mp4``."""
    return output.with_name(f"{output.stem}.peek.mp4")


def peek(output: Path) -> PeekReport:
    """Encode the finished frames of the render into ``output`` (at the size they were
    painted, with their timing in the source, without sound) to ``peek_path(output)``."""
    work = WorkDir(work_dir_for(output))
    plan_json = work.load_shot_plan() if work.path.is_dir() else None
    if plan_json is None:
        raise InputFileError(f"{output}: no render in progress (no work folder with a shot plan at {work.path})")
    plan = ShotPlan.from_json(plan_json)
    finished = sorted(index for index in work.records() if index < plan.frame_count)
    if not finished:
        raise InputFileError(f"{output}: no frame is finished yet; try again in a while")
    first = work.load(finished[0])
    path = peek_path(output)
    origin = plan.times[finished[0]]
    rate = (1 / (plan.times[1] - plan.times[0])).limit_denominator(100_000) if plan.frame_count > 1 else None
    with VideoWriter(
        path, width=first.shape[1], height=first.shape[0], time_base=_TIME_BASE, frame_rate=rate
    ) as writer:
        for index in finished:
            writer.write(work.load(index), round((plan.times[index] - origin) / _TIME_BASE))
    return PeekReport(path=path, frames=len(finished), total=plan.frame_count)
