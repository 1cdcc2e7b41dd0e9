"""The detail pass: painted frames refined at the size delivered, steady, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.clips import make_clip
from tests.conftest import textured_frame
from vidstyle import imageops
from vidstyle.backend import choose_backend
from vidstyle.cli import main
from vidstyle.config import build_job
from vidstyle.detail import DETAIL_LAYERS, DetailPainter, HeldDetail
from vidstyle.flow.motion import enlarged_motion
from vidstyle.journal import DETAIL_LOG_NAME
from vidstyle.kill_points import KILL_AT_VARIABLE
from vidstyle.settings import EngineSettings, StyleSettings
from vidstyle.video_io import read_frames
from vidstyle.workdir import WorkDir, work_dir_for

# A 64x48 clip painted at 32x24: the detail pass delivers it at 64x48, a 2x enlargement.
SMALL_ARGS = ["--size", "32", "--iterations", "6", "--frame-iterations", "3", "--scales", "1", "--tolerance", "0"]


def _sharpness(frame: np.ndarray) -> float:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


@pytest.fixture(scope="module")
def painter(starry_night: Path) -> DetailPainter:
    backend = choose_backend(EngineSettings(threads=2), units=1)
    return DetailPainter(StyleSettings(paths=(starry_night,)), backend, (128, 96), (32, 24), temporal_weight=200.0)


def test_the_detail_pass_adds_the_paintings_brushwork_and_keeps_the_painted_composition(
    painter: DetailPainter,
) -> None:
    painted = textured_frame(32, 24, seed=3)
    enlarged = imageops.enlarge_frame(painted, 128, 96)
    result = painter.refine(painted)
    assert result.frame.shape == (96, 128, 3)

    def detail_style(frame: np.ndarray) -> float:
        features = painter.network(imageops.frame_to_image(frame))
        with torch.no_grad():
            return float(sum(_layer_loss(features, painter, layer) for layer in DETAIL_LAYERS))

    # Measured: the brushwork's style loss falls to a small part of the enlargement's, the
    # picture is several times as sharp, and shrunk to the painted size it is the painted frame.
    assert detail_style(result.frame) < 0.5 * detail_style(enlarged)
    assert _sharpness(result.frame) > 2 * _sharpness(enlarged)
    shrunk = cv2.resize(result.frame, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32)
    # Measured 9.3 grey levels on this saturated random texture (the enlargement shrunk: about
    # 2), against 60-80 between two such textures.
    other = textured_frame(32, 24, seed=5).astype(np.float32)
    assert np.abs(shrunk - painted).mean() < 12.0
    assert np.abs(shrunk - painted).mean() < 0.25 * np.abs(other - painted).mean()


def _layer_loss(features: dict[str, torch.Tensor], painter: DetailPainter, layer: str) -> torch.Tensor:
    from vidstyle.losses import style_layer_loss

    return style_layer_loss(features[layer], painter.style_grams[layer])


def test_a_later_frame_starts_from_the_held_frame_but_in_its_holes(painter: DetailPainter) -> None:
    painted = textured_frame(32, 24, seed=4)
    detailed = painter.refine(painted).frame.astype(np.float32)
    holes = np.zeros((96, 128), np.float32)
    holes[:, :64] = 1.0
    unreliable = np.zeros((96, 128), np.float32)  # a motion boundary everywhere: still a start
    start = painter.start(painted, HeldDetail(detailed, unreliable, holes))
    enlarged = imageops.enlarge_frame(painted, 128, 96).astype(np.float32)
    assert np.array_equal(start[:, 64:], detailed[:, 64:])  # the held frame, as it came
    assert np.array_equal(start[:, :64], enlarged[:, :64])  # disoccluded or out of frame: its own painting


def test_a_flow_enlarged_with_its_frame_scales_its_vectors() -> None:
    flow = np.zeros((24, 32, 2), np.float32)
    flow[..., 0], flow[..., 1] = 1.0, 0.5
    mask = np.ones((24, 32), np.float32)
    mask[:, :16] = 0.0
    big, big_mask = enlarged_motion(flow, mask, (128, 96))
    assert big.shape == (96, 128, 2) and big_mask.shape == (96, 128)
    assert np.allclose(big[..., 0], 4.0) and np.allclose(big[..., 1], 2.0)
    assert big_mask[:, :60].max() == 0.0 and big_mask[:, 68:].min() == 1.0


def test_detail_is_on_only_where_the_written_size_is_larger(starry_night: Path) -> None:
    job = build_job([starry_night], size=32)
    assert job.detailed(64, 48, still=False)
    assert not build_job([starry_night], size=32, detail="off").detailed(64, 48, still=False)
    assert not build_job([starry_night], size=64).detailed(64, 48, still=False)
    assert not build_job([starry_night], size=32, output_size="processing").detailed(64, 48, still=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("detail") / "clip.mp4", frames=8, rate=Fraction(25), audio=None)


@pytest.fixture(scope="module")
def delivered(clip: Path, starry_night: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("whole") / "whole.mp4"
    args = [str(clip), "--style", str(starry_night), *SMALL_ARGS, "--threads", "1", "-q", "--keep-frames"]
    assert main([*args, "-o", str(output)]) == 0
    return output


@pytest.mark.slow
def test_a_render_delivers_the_detailed_frames_at_the_sources_size(delivered: Path) -> None:
    work = WorkDir(work_dir_for(delivered))
    lines = [json.loads(line) for line in (work.path / DETAIL_LOG_NAME).read_text().splitlines()]
    assert [line["index"] for line in lines] == list(range(8))
    assert lines[0]["warping_error"] is None and all(line["warping_error"] is not None for line in lines[1:])
    decoded = [decoded.frame for decoded in read_frames(delivered)]
    assert len(decoded) == 8 and decoded[0].shape == (48, 64, 3)
    for index, frame in enumerate(decoded):
        detailed, painted = work.details.load(index), work.load(index)
        assert painted.shape == (24, 32, 3) and detailed.shape == (48, 64, 3)
        lanczos = imageops.enlarge_frame(painted, 64, 48)
        # The video holds the detailed frames, within what the encoder loses (chroma at half
        # size, at 64x48), not the enlargement: compared on the luminance.
        grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (frame, detailed, lanczos)]
        assert np.abs(grey[0] - grey[1]).mean() < 0.5 * np.abs(grey[0] - grey[2]).mean()


def test_the_first_lines_say_both_sizes_and_the_detail_pass_in_the_estimate(
    clip: Path, starry_night: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "two.mp4"
    assert main([str(clip), "--style", str(starry_night), *SMALL_ARGS, "--frames", "2", "-o", str(output)]) == 0
    err = capsys.readouterr().err
    first_bar = err.index("stylizing")
    for line in (
        "clip.mp4: 2 frames, 1 shot(s); painted at 32x24, written at 64x48 (refined there by a detail pass); cpu,",
        " of it the detail pass) here",
    ):
        assert err.index(line) < first_bar, line
    assert "detail pass: 100%" in err  # its own bar, after the painting's


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_render_killed_in_the_detail_pass_resumes_to_the_same_video(
    clip: Path, delivered: Path, starry_night: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.mp4"
    args = [str(clip), "--style", str(starry_night), *SMALL_ARGS, "--threads", "1", "-q", "-o", str(output)]
    env = {**os.environ, KILL_AT_VARIABLE: "detailing:4"}
    killed = subprocess.run([sys.executable, "-m", "vidstyle", *args], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL and not output.exists()
    kept = (work_dir_for(output) / DETAIL_LOG_NAME).read_text().splitlines()
    assert [json.loads(line)["index"] for line in kept] == [0, 1, 2, 3]  # frame 4's PNG, not its line
    assert main(args) == 0
    expected, resumed = list(read_frames(delivered)), list(read_frames(output))
    assert [f.pts for f in resumed] == [f.pts for f in expected]
    assert all(np.array_equal(a.frame, b.frame) for a, b in zip(expected, resumed, strict=True))
