"""The work folder's journal: one JSON line per finished visit of a frame (``frames.jsonl``)
and per finished shot (``shots.jsonl``), each appended and fsynced before the render goes on.

A line is written after its frame's PNG (``WorkDir.save``), so a line always has its frame.
A line torn by a kill mid-write costs that record alone: the next append ends it first, and
reading skips it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vidstyle.outputs import fsync_folder

LOG_NAME = "frames.jsonl"
SHOT_LOG_NAME = "shots.jsonl"
DETAIL_LOG_NAME = "details.jsonl"


@dataclass(frozen=True)
class FrameRecord:
    """What rendering one frame did."""

    index: int
    shot: int
    pass_number: int
    fresh: bool  # started without a neighbour: a shot's first frame, or a flash
    iterations: int
    seconds: float
    total_loss: float
    content_loss: float
    style_loss: float
    temporal_loss: float
    coverage: float | None
    warping_error: float | None
    # Network evaluations counted at full size (one at half size counts a quarter); None in
    # records written before it was kept.
    evaluations: float | None = None


@dataclass(frozen=True)
class DetailRecord:
    """What the detail pass did for one frame (``detail_pass.py``): the warping error is the
    delivered frame's against the previous one, along the enlarged flow (None for a shot's
    first frame)."""

    index: int
    iterations: int
    seconds: float
    style_loss: float
    warping_error: float | None
    # L-BFGS's curvature scale after this frame, which the shot's next frame steps with
    # (detail.DetailPainter.carry): a resume goes on with it.
    curvature_scale: float | None = None
    # Delivered again by the loop's seam (detail_pass._close_loop): the frame's latest record.
    loop: bool = False


class Journal:
    """The journal files of the work folder at ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add_visit(self, record: FrameRecord) -> None:
        _append_line(self.folder / LOG_NAME, asdict(record))

    def visits(self) -> list[FrameRecord]:
        """Every finished visit of a frame, in the order done; a torn line (a crash mid-write)
        is skipped."""
        records = []
        for line in _read_lines(self.folder / LOG_NAME):
            try:
                records.append(FrameRecord(**line))
            except TypeError:
                continue
        return records

    def latest(self) -> dict[int, FrameRecord]:
        """The latest record of each frame, by index."""
        return {record.index: record for record in self.visits()}

    def add_detail(self, record: DetailRecord) -> None:
        _append_line(self.folder / DETAIL_LOG_NAME, asdict(record))

    def details(self) -> dict[int, DetailRecord]:
        """The latest detail-pass record of each frame, by index (torn lines skipped)."""
        records: dict[int, DetailRecord] = {}
        for line in _read_lines(self.folder / DETAIL_LOG_NAME):
            try:
                record = DetailRecord(**line)
            except TypeError:
                continue
            records[record.index] = record
        return records

    def forget_details(self) -> None:
        """Drop every detail-pass record: the painted frames they came from changed."""
        (self.folder / DETAIL_LOG_NAME).unlink(missing_ok=True)

    def add_shot(self, record: dict[str, Any]) -> None:
        _append_line(self.folder / SHOT_LOG_NAME, record)

    def finished_shots(self) -> dict[int, dict[str, Any]]:
        """Records of the shots whose every frame is done, by shot number."""
        return {record["shot"]: record for record in _read_lines(self.folder / SHOT_LOG_NAME)}


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and make it durable before going on. A line torn by a kill
    mid-write is ended first: the new record would otherwise join it, and both be lost."""
    created = not path.exists()
    with path.open("a+b") as log_file:
        torn = log_file.tell() > 0 and log_file.seek(-1, os.SEEK_END) >= 0 and log_file.read(1) != b"\n"
        log_file.write((("\n" if torn else "") + json.dumps(record) + "\n").encode())
        log_file.flush()
        os.fsync(log_file.fileno())
    if created:  # the new file's entry in its folder, durable too (as outputs.py does for a rename)
        fsync_folder(path.parent)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path`` (none if it is missing); torn or foreign lines are skipped."""
    if not path.exists():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines
