"""The detail pass: painted frames refined at the size delivered, steady, resumable."""

from __future__ import annotations

import itertools
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

from tests.clips import circling_texture, make_clip
from tests.conftest import textured_frame
from vidstyle import imageops
from vidstyle.backend import choose_backend
from vidstyle.cli import main
from vidstyle.config import build_job
from vidstyle.detail import DETAIL_LAYERS, FIRST_DETAIL_ITERATIONS, DetailPainter, HeldDetail
from vidstyle.errors import ResumeMismatchError
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import enlarged_motion
from vidstyle.journal import DETAIL_LOG_NAME
from vidstyle.kill_points import KILL_AT_VARIABLE
from vidstyle.metrics import measure, pair_warping_error
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


def test_a_still_picture_keeps_its_brushwork_from_frame_to_frame(painter: DetailPainter) -> None:
    # A shot whose painted frames do not change, held along a flow of zero: each delivered
    # frame may take only a fraction of the step its style asks for, so the brushwork settles.
    # The previous later frame (two L-BFGS iterations, the temporal weight copied from the
    # painted size) repainted it by the same amount at every frame: 0.54, 0.37, 0.35, 0.35,
    # 0.35 grey levels; this one 0.029, 0.015, 0.008, 0.005, 0.004 (2026-12-08).
    painted = textured_frame(32, 24, seed=6)
    still = np.ones((96, 128), np.float32)
    frames = [painter.refine(painted).frame]
    for _ in range(5):
        held = HeldDetail(frames[-1].astype(np.float32), still, np.zeros_like(still))
        frames.append(painter.refine(painted, held).frame)
    changes = [float(np.abs(b.astype(np.float32) - a).mean()) for a, b in itertools.pairwise(frames)]
    assert max(changes) < 0.1, changes
    assert changes[-1] < 0.3 * changes[0], changes  # settling, not boiling
    hold, painter.hold = painter.hold, 0.0  # as --temporal-weight 0 builds it
    try:
        unheld = painter.refine(painted, HeldDetail(frames[0].astype(np.float32), still, np.zeros_like(still))).frame
    finally:
        painter.hold = hold
    # Without the hold (--temporal-weight 0) the same frame moves several times as far.
    assert np.abs(unheld.astype(np.float32) - frames[0]).mean() > 2.5 * changes[0]


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


@pytest.mark.slow
def test_the_delivered_frames_are_as_steady_as_the_painted_ones(clip: Path, delivered: Path) -> None:
    # Issue "Steady at the size delivered": along the flow between the source frames, the
    # delivered frames may drift from each other at most 1.2x as much as the painted frames
    # do at their size (and the warm start is what holds them: a render of frames refined one
    # by one is far less steady, test_a_per_frame_render_is_per_frame_at_both_sizes).
    work = WorkDir(work_dir_for(delivered))
    sources = [decoded.frame for decoded in read_frames(clip)]
    painted = measure(iter(sources), (work.load(i) for i in range(8)))
    detailed = measure(iter(sources), (work.details.load(i) for i in range(8)))
    assert painted.warping_error is not None and detailed.warping_error is not None
    assert detailed.warping_error <= 1.2 * painted.warping_error, (detailed.warping_error, painted.warping_error)


@pytest.mark.slow
def test_a_per_frame_render_is_per_frame_at_both_sizes(
    clip: Path, delivered: Path, starry_night: Path, tmp_path: Path
) -> None:
    # A baseline of frames painted one by one must not be steadied at the delivered size by
    # the very warm start it is compared against: each delivered frame from its own
    # enlargement, with a first frame's budget, holding nothing.
    output = tmp_path / "per_frame.mp4"
    args = [str(clip), "--style", str(starry_night), *SMALL_ARGS, "--threads", "1", "-q", "--keep-frames"]
    assert main([*args, "--temporal-weight", "0", "--temporal-init", "content", "-o", str(output)]) == 0
    work = WorkDir(work_dir_for(output))
    records = work.journal.details()
    assert [records[i].iterations for i in range(8)] == [FIRST_DETAIL_ITERATIONS] * 8
    assert all(record.warping_error is None for record in records.values())
    sources = [decoded.frame for decoded in read_frames(clip)]
    alone = measure(iter(sources), (work.details.load(i) for i in range(8)))
    steady = measure(iter(sources), (WorkDir(work_dir_for(delivered)).details.load(i) for i in range(8)))
    assert alone.warping_error is not None and steady.warping_error is not None
    assert steady.warping_error < 0.5 * alone.warping_error, (steady.warping_error, alone.warping_error)


@pytest.mark.slow
def test_loop_closes_the_seam_at_the_delivered_size(tmp_path: Path, starry_night: Path) -> None:
    clip = make_clip(tmp_path / "circle.mp4", frames=8, make_frame=circling_texture, audio=None)
    sources = [decoded.frame for decoded in read_frames(clip)]
    budget = ["--size", "32", "--iterations", "20", "--frame-iterations", "10", "--scales", "1", "--tolerance", "0"]
    measured = {}
    for name, options in (("open", []), ("loop", ["--loop"])):
        output = tmp_path / f"{name}.mp4"
        args = [str(clip), "--style", str(starry_night), *budget, "--threads", "1", "-q", "--keep-frames"]
        assert main([*args, *options, "-o", str(output)]) == 0
        work = WorkDir(work_dir_for(output))
        frames = [work.details.load(i) for i in range(8)]
        assert frames[0].shape == (48, 64, 3)
        pairs = [
            pair_warping_error(FlowEstimator(), sources[i], sources[i - 1], frames[i], frames[i - 1])
            for i in range(1, 8)
        ]
        seam = pair_warping_error(FlowEstimator(), sources[0], sources[7], frames[0], frames[7])
        looped = [record.index for record in work.journal.details().values() if record.loop]
        measured[name] = (seam, float(np.mean(pairs)), looped)
    (open_seam, open_mean, _), (loop_seam, loop_mean, looped) = measured["open"], measured["loop"]
    assert open_seam > 3 * open_mean, measured  # without --loop the delivered clip jumps where it restarts
    assert loop_seam <= 1.2 * loop_mean, measured  # the bound
    assert looped == list(range(7)), measured  # frames 0-6 delivered again (the painting's handover's)


@pytest.mark.slow
def test_a_resume_goes_on_with_more_or_less_free_memory_and_with_detail_off(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The delivered frames' size, chosen by free memory, is kept apart from the painting's
    # settings: a resume where less memory is free refines them again at what fits (the
    # painting kept), one where more is free goes on with them, and --detail off encodes the
    # painted frames. Each run here finds the last's work folder (--keep-frames), as a resume does.
    import vidstyle.render_setup as render_setup

    output = tmp_path / "out.mp4"
    args = [str(clip), "--style", str(starry_night), *SMALL_ARGS, "--threads", "1", "--keep-frames", "-y"]
    args += ["--frames", "3", "-o", str(output)]
    work = WorkDir(work_dir_for(output))

    def run(fits: tuple[int, int] | None, *extra: str) -> list[np.ndarray]:
        if fits is not None:
            monkeypatch.setattr(render_setup, "detail_size_that_fits", lambda device, precision, size: fits)
        assert main([*args, *extra]) == 0
        return [decoded.frame for decoded in read_frames(output)]

    first = run((48, 36))  # a machine with little free memory
    visits, details = len(work.journal.visits()), (work.path / DETAIL_LOG_NAME).read_text()
    assert work.delivered_size() == (48, 36) and work.details.load(0).shape == (36, 48, 3)
    again = run((64, 48))  # more free: the frames delivered at 48x36 are kept
    assert (work.path / DETAIL_LOG_NAME).read_text() == details and len(work.journal.visits()) == visits
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    capsys.readouterr()
    run((40, 30))  # less: refined again where it fits, the painting kept
    assert work.delivered_size() == (40, 30) and work.details.load(0).shape == (30, 40, 3)
    assert len(work.journal.visits()) == visits and len(work.journal.details()) == 3
    assert "the frames delivered so far are refined again, at 40x30" in capsys.readouterr().err
    plain = run(None, "--detail", "off")  # the painted frames, enlarged
    assert len(work.journal.visits()) == visits
    # Closer to the painted frame enlarged than to the detailed video, on the luminance (the
    # encoder halves the chroma of these 64x48 frames).
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (plain[0], first[0], work.load(0))]
    lanczos = imageops.enlarge_frame(grey[2], 64, 48)
    assert np.abs(grey[0] - lanczos).mean() < 0.5 * np.abs(grey[0] - grey[1]).mean()


def test_a_work_folder_that_recorded_the_delivered_size_in_its_manifest_still_resumes(tmp_path: Path) -> None:
    # Until 0.7.0 the manifest held the detail pass's size and --detail: a folder of then
    # resumes, its delivered frames kept at the size it recorded.
    folder = tmp_path / "out.mp4.vidstyle-work"
    WorkDir.open(folder, {"size": [32, 24], "job": {"detail": "on", "seed": 0}, "delivered": [64, 48]})
    assert WorkDir.open(folder, {"size": [32, 24], "job": {"seed": 0}}).delivered_size() == (64, 48)
    with pytest.raises(ResumeMismatchError, match="seed: 0 -> 1"):
        WorkDir.open(folder, {"size": [32, 24], "job": {"seed": 1}})


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_render_killed_in_the_loops_seam_resumes_to_the_same_video(tmp_path: Path, starry_night: Path) -> None:
    clip = make_clip(tmp_path / "circle.mp4", frames=8, make_frame=circling_texture, audio=None)
    args = [str(clip), "--style", str(starry_night), *SMALL_ARGS, "--threads", "1", "-q", "--loop"]
    whole, killed_output = tmp_path / "whole.mp4", tmp_path / "killed.mp4"
    assert main([*args, "-o", str(whole)]) == 0
    # Killed after frame 2's second delivery was staged, before its line: it is delivered again.
    env = {**os.environ, KILL_AT_VARIABLE: "detailing:2:loop"}
    command = [sys.executable, "-m", "vidstyle", *args, "-o", str(killed_output)]
    assert subprocess.run(command, env=env, check=False).returncode == -signal.SIGKILL
    records = WorkDir(work_dir_for(killed_output)).journal.details()
    assert [i for i, record in sorted(records.items()) if record.loop] == [0, 1]
    assert main([*args, "-o", str(killed_output)]) == 0
    expected, resumed = list(read_frames(whole)), list(read_frames(killed_output))
    assert len(resumed) == 8 and all(np.array_equal(a.frame, b.frame) for a, b in zip(expected, resumed, strict=True))


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
