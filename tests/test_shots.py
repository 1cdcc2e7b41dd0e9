"""The shot plan: real cuts found, flashes and camera motion not mistaken for them."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.clips import GLUED_FLASH, GLUED_STARTS, glued_shots_clip, real_frames
from tests.conftest import SAMPLES
from vidstyle.cli import main
from vidstyle.settings import TemporalSettings
from vidstyle.shots import ShotPlan, TimedFrame, find_shots, plan_shots
from vidstyle.video_info import probe
from vidstyle.video_io import Segment


def _timed(frames: list[np.ndarray]) -> list[TimedFrame]:
    return [TimedFrame(pts=i, time=Fraction(i, 25), frame=f) for i, f in enumerate(frames)]


def test_three_glued_shots_give_two_cuts_and_no_cut_at_the_flash(tmp_path: Path) -> None:
    clip = glued_shots_clip(tmp_path / "glued.mp4", SAMPLES)
    plan = plan_shots(clip, Segment(), TemporalSettings(), probe(clip).frame_rate)
    assert plan.frame_count == 65
    assert plan.starts == GLUED_STARTS
    assert plan.flashes == (GLUED_FLASH,)
    assert [len(shot) for shot in plan.shots] == [20, 25, 20]


def test_the_flash_alone_would_be_cut_twice_without_the_flash_rule() -> None:
    """The flash filter is what keeps the flash from cutting: each side of it breaks on its own."""
    frames = real_frames(SAMPLES / "shepard_calais_1906.ogv", 20, 12, 96, 72)
    white = np.full_like(frames[0], 255)
    with_flash = [*frames[:6], white, *frames[6:]]
    assert find_shots(_timed(with_flash), TemporalSettings(), None).starts == (0,)
    # A frame that stays white does not return to the shot: that is a cut, once.
    into_white = frames[:6] + [white] * 8
    assert find_shots(_timed(into_white), TemporalSettings(), None).starts == (0, 6)


def test_the_1906_films_real_cut_is_the_only_one() -> None:
    film = SAMPLES / "shepard_calais_1906.ogv"
    plan = plan_shots(film, Segment(), TemporalSettings(), probe(film).frame_rate)
    assert plan.frame_count == 288
    assert plan.cuts == (81,)
    assert plan.flashes == ()


def test_a_handheld_shot_is_one_shot(pens_clip: Path) -> None:
    plan = plan_shots(pens_clip, Segment(), TemporalSettings(), probe(pens_clip).frame_rate)
    assert plan.starts == (0,) and plan.frame_count == 64


def test_cut_threshold_zero_gives_one_shot(tmp_path: Path) -> None:
    clip = glued_shots_clip(tmp_path / "glued.mp4", SAMPLES)
    plan = plan_shots(clip, Segment(), TemporalSettings(cut_threshold=0.0), None)
    assert plan.starts == (0,) and plan.frame_count == 65


def test_the_plan_survives_json_and_knows_each_frames_shot() -> None:
    plan = ShotPlan(pts=tuple(range(0, 30, 3)), times=tuple(Fraction(i, 7) for i in range(10)), starts=(0, 4, 7))
    again = ShotPlan.from_json(plan.to_json())
    assert again == plan
    assert [again.shot_of(i).number for i in range(10)] == [0] * 4 + [1] * 3 + [2] * 3


def test_probe_lists_the_shots(tmp_path: Path, capsys) -> None:
    clip = glued_shots_clip(tmp_path / "glued.mp4", SAMPLES)
    assert main(["probe", str(clip)]) == 0
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert rows["shots"] == "3"
    assert rows["shot 1"].startswith("frames 0-19 (20), from 0.000 s")
    assert rows["shot 2"].startswith("frames 20-44 (25), from 0.800 s, flash at 32")
    assert rows["shot 3"].startswith("frames 45-64 (20), from 1.800 s")
