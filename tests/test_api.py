"""The Python API as the README shows it, through ``import vidstyle`` alone."""

from __future__ import annotations

import importlib.metadata
import re
from fractions import Fraction
from pathlib import Path

from tests.clips import make_clip
from tests.conftest import TINY


def test_the_readme_examples_run_through_import_vidstyle(
    tmp_path: Path, starry_night: Path, great_wave: Path, photo_path: Path
) -> None:
    import vidstyle

    clip = make_clip(tmp_path / "clip.mp4", frames=10, rate=Fraction(25))
    report = vidstyle.stylize_video(
        clip, starry_night, tmp_path / "clip.monet.mp4", quality="draft", start=0.08, duration=0.12, **TINY
    )
    assert isinstance(report, vidstyle.VideoReport)
    assert report.output.exists() and report.frames == 3 and report.cuts == ()
    assert report.seconds_per_frame > 0 and report.mean_warping_error is not None

    report_image = vidstyle.stylize_image(
        photo_path, [starry_night, great_wave], tmp_path / "out.png", style_weights=[0.7, 0.3], size=48, iterations=5
    )
    assert isinstance(report_image, vidstyle.ImageReport)
    assert report_image.output.exists() and report_image.losses.style > 0
    # One version: the package's, the installed distribution's, and the changelog's newest.
    changelog = (Path(__file__).resolve().parent.parent / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\S+)", changelog, re.MULTILINE)
    assert newest is not None and vidstyle.__version__ == importlib.metadata.version("vidstyle") == newest.group(1)


def test_help_and_the_package_import_load_no_heavy_library() -> None:
    """``vidstyle --help`` took 5-6 s when it imported torch; the work's modules load when work starts."""
    import subprocess
    import sys

    probe = (
        "import sys, vidstyle, vidstyle.cli; "
        "print(sorted(m for m in ('torch', 'cv2', 'av', 'numpy') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    help_text = subprocess.run(
        [sys.executable, "-m", "vidstyle", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--chunk-frames" in help_text and "--preserve-colors" in help_text


def test_openmp_spins_briefly_unless_the_user_said_otherwise() -> None:
    """Set before torch loads: two renders side by side took 7.9x as long as alone with
    OpenMP's default spinning, 1.85x with this (benchmarks/experiments/bench_side_by_side.py)."""
    import os
    import subprocess
    import sys

    probe = "import vidstyle, os, torch; print(os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    ours = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert ours.stdout.strip() == "2000"
    theirs = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={**env, "GOMP_SPINCOUNT": "7"}
    )
    assert theirs.stdout.strip() == "7"
