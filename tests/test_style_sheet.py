"""``vidstyle try``: one frame painted in several styles, side by side on one sheet."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.clips import make_clip
from tests.conftest import SAMPLES
from vidstyle import imageops
from vidstyle.cli import main
from vidstyle.style_sheet import GAP, LABEL_HEIGHT
from vidstyle.video_io import read_frames


def test_a_sheet_shows_the_frame_in_each_style(tmp_path: Path, capsys) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=10, rate=Fraction(25), audio=None)
    styles = [SAMPLES / "starry_night.jpg", SAMPLES / "great_wave.jpg"]
    args = ["try", str(clip), "--style", *map(str, styles), "--size", "64", "--iterations", "8", "--at", "0.2"]
    assert main(args) == 0
    sheet_path = tmp_path / "clip.try.jpg"
    assert capsys.readouterr().out.startswith(f"{sheet_path}  (2 styles at 64x48, the frame at 0.20 s)")
    sheet = imageops.read_image(sheet_path)
    assert sheet.shape == (48 + LABEL_HEIGHT, 3 * 64 + 2 * GAP, 3)
    source, starry, wave = (sheet[:48, i * (64 + GAP) : i * (64 + GAP) + 64].astype(int) for i in range(3))
    frame = next(f.frame for f in read_frames(clip) if f.time >= Fraction(1, 5))
    assert np.abs(source - frame.astype(int)).mean() < 6  # the frame asked for (JPEG's loss aside)
    for painted in (starry, wave):
        assert np.abs(painted - source).mean() > 10
    assert np.abs(starry - wave).mean() > 10  # each in its own style
    assert main(args) == 1  # the sheet is there: not replaced unasked
    assert "exists" in capsys.readouterr().err


def test_a_text_file_gets_one_line(tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    assert main(["try", str(text), "--style", str(SAMPLES / "starry_night.jpg"), "--size", "64"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidstyle: error:")
