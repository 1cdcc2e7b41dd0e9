"""Work units: long shots split into chunks, their seams, and what waits for what."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, real_frames, saved_frames
from tests.conftest import SAMPLES, TINY
from vidstyle.config import build_job
from vidstyle.errors import UsageError
from vidstyle.frame_plan import HANDOVER_FRAMES
from vidstyle.pipeline import stylize_video
from vidstyle.shots import Shot, ShotPlan
from vidstyle.work_units import chunk_starts, waits_for, work_units


def _plan(starts: tuple[int, ...], frames: int, flashes: tuple[int, ...] = ()) -> ShotPlan:
    return ShotPlan(
        pts=tuple(range(frames)), times=tuple(Fraction(i, 25) for i in range(frames)), starts=starts, flashes=flashes
    )


def test_a_long_shot_splits_into_equal_chunks_that_skip_flashes() -> None:
    shot = Shot(1, 10, 110)  # 100 frames
    assert chunk_starts(shot, 0, frozenset()) == [10]
    assert chunk_starts(shot, 100, frozenset()) == [10]
    assert chunk_starts(shot, 40, frozenset()) == [10, 43, 77]  # 3 chunks of 33-34 frames
    # A chunk neither starts on a flash nor right after one: its seam needs a pair that follows.
    assert chunk_starts(shot, 40, frozenset({43})) == [10, 45, 77]
    assert chunk_starts(shot, 40, frozenset({42})) == [10, 44, 77]


def test_units_come_in_render_order_and_seams_wait_for_their_two_chunks() -> None:
    job = build_job(["style.jpg"], chunk_frames=25, loop=True)
    plan = _plan(starts=(0, 50, 60), frames=110, flashes=(80,))
    units = work_units(job, plan)
    assert [unit.name for unit in units] == [
        "shot 1 frames 0-24",
        "shot 1 frames 25-49",
        "shot 1 seam at frame 25",
        "shot 2",
        "shot 3 frames 60-84",
        "shot 3 frames 85-109",
        "shot 3 seam at frame 85",
        "the loop's seam",
    ]
    seam = units[2].handover
    assert seam is not None and seam.last == 24 and seam.frames == tuple(range(25, 25 + HANDOVER_FRAMES))
    assert units[7].handover is not None and units[7].handover.last == 109
    assert units[7].handover.frames == tuple(range(HANDOVER_FRAMES))
    waits = waits_for(job, plan, units)
    # Chunks and shots wait for nothing; a seam for its two chunks; the loop for the chunks it
    # joins (the clip's first and last).
    assert waits == [set(), set(), {0, 1}, set(), set(), set(), {4, 5}, {0, 5}]


def test_chunk_frames_is_checked() -> None:
    with pytest.raises(UsageError, match=r"--chunk-frames must be 0 \(whole shots\) or at least 24; got 10"):
        build_job(["style.jpg"], chunk_frames=10)


def test_several_units_at_once_paint_the_same_frames_as_one_at_a_time(tmp_path: Path, caplog) -> None:
    # A long shot in two chunks and their seam: with --units 2 the chunks paint side by side
    # (their frames land interleaved), the seam once both are done, and every frame is the
    # same to the bit as one unit at a time (one thread each: the same sums in the same order).
    sources = real_frames(SAMPLES / "pens.mp4", 0, 26, 64, 48)
    clip = make_clip(tmp_path / "long.mp4", frames=26, make_frame=lambda i: sources[i], audio=None)
    settings = {**TINY, "threads": 1, "chunk_frames": 24}
    landed: dict[int, list[int]] = {}
    for units in (1, 2):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="vidstyle"):
            report = stylize_video(
                clip,
                SAMPLES / "starry_night.jpg",
                tmp_path / f"units{units}.mp4",
                keep_frames=True,
                units=units,
                on_frame=lambda progress, units=units: landed.setdefault(units, []).append(progress.record.index),
                **settings,
            )
        assert report.rendered == 26 + 8  # two chunks, one seam of 8 re-visits
        assert ("2 units at once" in caplog.text) == (units == 2)
    one_at_a_time = landed[1]
    assert one_at_a_time[:26] == list(range(26))
    at_once = landed[2]
    assert at_once.index(13) < at_once.index(12), "the second chunk did not start before the first ended"
    assert sorted(at_once[-8:]) == list(range(13, 21))  # the seam, last
    for index, (a, b) in enumerate(
        zip(saved_frames(tmp_path / "units1.mp4", 26), saved_frames(tmp_path / "units2.mp4", 26), strict=True)
    ):
        assert np.array_equal(a, b), f"frame {index} differs when units paint at once"
