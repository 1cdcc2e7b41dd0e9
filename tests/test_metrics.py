"""``vidstyle metrics``: measured steadiness and style of real renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, moving_texture
from vidstyle.cli import main
from vidstyle.metrics import measure
from vidstyle.pipeline import stylize_video

SMALL_BUDGET = {"size": 64, "iterations": 20, "frame_iterations": 10, "scales": 1, "tolerance": 0.0}


def test_metrics_command_reports_json(tmp_path: Path, starry_night: Path, capsys) -> None:
    source = make_clip(tmp_path / "pan.mp4", frames=6, make_frame=moving_texture(64, 48), audio=None)
    output = tmp_path / "out.mp4"
    stylize_video(source, starry_night, output, **SMALL_BUDGET)
    assert main(["metrics", str(source), str(output), "--style", str(starry_night), "--json"]) == 0
    captured = capsys.readouterr()
    assert "measuring" not in captured.err  # JSON is for scripts: no bar
    result = json.loads(captured.out)
    assert result["frames"] == 6 and (result["width"], result["height"]) == (64, 48)
    assert len(result["warping_errors"]) == 5 and result["cuts"] == []
    assert 0 < result["warping_error"] < 0.05
    assert 0 < result["style_loss"] < 1.0  # stylized: far below an unstyled frame's (see below)
    # Beside each figure, the source's own as a scale: the unpainted frames are far from the painting.
    assert result["source_style_loss"] > 5 * result["style_loss"]
    assert 0 < result["source_warping_error"] < result["warping_error"]
    assert main(["metrics", str(source), str(output), "--style", str(starry_night)]) == 0
    table = capsys.readouterr().out
    ratio = result["warping_error"] / result["source_warping_error"]
    assert f"x the source's; the source itself: {result['source_warping_error']:.3e}; lower is steadier;" in table
    assert f"{ratio:.1f}x the source's" in table and "measured at 64 px" in table
    unpainted = result["source_style_loss"]
    assert f"(the unpainted source: {unpainted:.4f}; lower is nearer the painting; on 6 frames" in table
    assert main(["metrics", str(source), str(output)]) == 0
    captured = capsys.readouterr()
    assert "warping error" in captured.out and "give --style" in captured.out
    assert re.search(r"measuring: 100%\|\S+\| 6/6", captured.err), captured.err


def test_the_render_and_metrics_measure_one_warping_error(tmp_path: Path, starry_night: Path) -> None:
    """One definition: on the render's lossless frames ``measure`` gives the render's number;
    the encoded file reads otherwise (the two numbers users saw): compression adds errors of
    its own and smooths away some of the frames' (here it read 1.65e-4 against 2.07e-4)."""
    from vidstyle.video_io import read_frames
    from vidstyle.workdir import WorkDir, work_dir_for

    source = make_clip(tmp_path / "pan.mp4", frames=6, make_frame=moving_texture(64, 48), audio=None)
    output = tmp_path / "out.mp4"
    report = stylize_video(source, starry_night, output, keep_frames=True, **SMALL_BUDGET)
    sources = [f.frame for f in read_frames(source)]
    lossless = [WorkDir(work_dir_for(output)).load(i) for i in range(6)]
    assert report.mean_warping_error is not None
    assert measure(sources, lossless).warping_error == pytest.approx(report.mean_warping_error, rel=1e-6)
    encoded = measure(sources, [f.frame for f in read_frames(output)]).warping_error
    assert encoded is not None and 0.5 < encoded / report.mean_warping_error < 2  # the same measure


def test_unstyled_video_scores_a_high_style_loss_and_zero_content_loss(tmp_path: Path, starry_night: Path) -> None:
    frames = [moving_texture(64, 48)(i) for i in range(4)]
    result = measure(frames, frames, styles=(starry_night,))
    assert result.content_loss == 0.0
    # The source's own figures are measured as the others are: here they are the same frames.
    assert (result.source_warping_error, result.source_style_loss) == (result.warping_error, result.style_loss)
    assert result.style_loss is not None and result.style_loss > 1.0
    assert result.warping_error is not None and result.warping_error < 1e-3  # the source itself is steady


def test_a_flickering_video_has_a_higher_warping_error(starry_night: Path) -> None:
    frames = [moving_texture(64, 48)(i) for i in range(5)]
    rng = np.random.default_rng(0)
    flicker = [np.clip(f.astype(int) + rng.integers(-40, 40, f.shape), 0, 255).astype(np.uint8) for f in frames]
    steady = measure(frames, frames).warping_error
    noisy = measure(frames, flicker).warping_error
    assert steady is not None and noisy is not None and noisy > 10 * steady


def test_mismatched_lengths_are_a_clear_error(tmp_path: Path, capsys) -> None:
    a = make_clip(tmp_path / "a.mp4", frames=5, audio=None)
    b = make_clip(tmp_path / "b.mp4", frames=3, audio=None)
    assert main(["metrics", str(a), str(b)]) == 2
    # Found when the shorter ends: the progress bar has been shown, then one line says why.
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("measuring:")]
    assert len(err) == 1 and "more frames" in err[0]
