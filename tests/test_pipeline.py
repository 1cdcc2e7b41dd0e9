"""The whole video pipeline, end to end, on tiny real clips: timing, audio, resume, cuts."""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, moving_texture
from tests.test_video_io import packet_bytes
from vidstyle.cli import main
from vidstyle.errors import ResumeMismatchError
from vidstyle.imageops import read_image, resize_frame
from vidstyle.pipeline import stylize_video
from vidstyle.video_io import probe, read_frames
from vidstyle.workdir import WorkDir, work_dir_for

TINY = {"size": 64, "iterations": 6, "frame_iterations": 3, "scales": 1, "tolerance": 0.0}
TINY_ARGS = ["--size", "64", "--iterations", "6", "--frame-iterations", "3", "--scales", "1", "--tolerance", "0"]


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4", frames=10, rate=Fraction(25))


def test_cli_renders_a_video_with_its_timing_and_audio(clip: Path, starry_night: Path, capsys) -> None:
    assert main([str(clip), "--style", str(starry_night), *TINY_ARGS, "--quiet"]) == 0
    output = clip.with_name("clip.starry_night.mp4")
    assert capsys.readouterr().out.strip() == str(output)
    source, result = list(read_frames(clip)), list(read_frames(output))
    assert len(result) == len(source) == 10
    assert [f.time for f in result] == [f.time for f in source]
    assert packet_bytes(output, "audio") == packet_bytes(clip, "audio")
    info = probe(output)
    assert (info.width, info.height) == (64, 48)
    # Stylized: far from the source pixels, yet not a flat or broken picture.
    difference = np.mean(
        [np.abs(a.frame.astype(int) - b.frame.astype(int)).mean() for a, b in zip(source, result, strict=True)]
    )
    assert difference > 10
    assert all(f.frame.std() > 10 for f in result)
    assert not work_dir_for(output).exists(), "work folder left behind"


def render_interrupted(clip: Path, style: Path, output: Path, *, after: int, **options: object) -> None:
    """Start a render and stop it (as Ctrl-C does) once ``after`` frame visits are saved."""

    def stop(progress) -> None:
        if progress.done == after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_video(clip, style, output, on_frame=stop, **options)


def _frames_of(work: Path) -> list[np.ndarray]:
    store = WorkDir(work)
    return [store.load(i) for i in range(len(store.records()))]


def test_output_size_source_enlarges_to_the_input(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    output = tmp_path / "big.mkv"
    report = stylize_video(clip, starry_night, output, **{**TINY, "size": 32}, output_size="source")
    assert (report.width, report.height) == (64, 48)
    assert next(iter(read_frames(output))).frame.shape == (48, 64, 3)


def test_interrupted_render_resumes_to_identical_frames(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    stylize_video(clip, starry_night, whole, keep_frames=True, **TINY)
    expected = _frames_of(work_dir_for(whole))
    assert len(expected) == 10

    resumed = tmp_path / "resumed.mp4"

    render_interrupted(clip, starry_night, resumed, after=4, keep_frames=True, **TINY)
    assert not resumed.exists()
    assert sorted(WorkDir(work_dir_for(resumed)).records()) == [0, 1, 2, 3]
    report = stylize_video(clip, starry_night, resumed, keep_frames=True, **TINY)
    assert report.resumed_from == 4 and report.rendered == 6
    frames = _frames_of(work_dir_for(resumed))
    assert len(frames) == 10
    for index, (a, b) in enumerate(zip(expected, frames, strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs after resuming"
    assert [f.time for f in read_frames(resumed)] == [f.time for f in read_frames(whole)]


def test_changed_settings_are_not_mixed_in(clip: Path, starry_night: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "out.mp4"

    render_interrupted(clip, starry_night, output, after=2, **TINY)
    with pytest.raises(ResumeMismatchError, match=r"losses.style: 10.0 -> 20.0"):
        stylize_video(clip, starry_night, output, style_weight=20.0, **TINY)
    # Through the CLI: one line, exit 1, and --restart starts over.
    args = [str(clip), "--style", str(starry_night), "-o", str(output), *TINY_ARGS, "--style-weight", "20", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--restart" in err[0] and "2 frame(s)" in err[0]
    assert main([*args, "--restart"]) == 0
    assert len(list(read_frames(output))) == 10


def test_segment_render_keeps_audio_in_sync(tmp_path: Path, starry_night: Path) -> None:
    source = make_clip(tmp_path / "long.mp4", frames=40, audio_burst_at=1.0)
    output = tmp_path / "part.mp4"
    stylize_video(source, starry_night, output, start=0.6, duration=0.8, **TINY)
    frames = list(read_frames(output))
    assert len(frames) == 20
    assert frames[0].time == 0
    from tests.clips import audio_onset

    assert audio_onset(output) == pytest.approx(0.4, abs=0.003)


def _panning(painting: Path, step: int) -> Callable[[int], np.ndarray]:
    picture = resize_frame(read_image(painting), 160, 120)

    def frame(index: int) -> np.ndarray:
        return np.ascontiguousarray(picture[30:78, index * step : index * step + 64])

    return frame


def test_hard_cut_starts_a_new_shot(tmp_path: Path, starry_night: Path, great_wave: Path) -> None:
    # Two shots: panning over one painting, then over another.
    first, second = _panning(starry_night, 2), _panning(great_wave, 3)

    def frame(index: int) -> np.ndarray:
        return first(index) if index < 5 else second(index)

    source = make_clip(tmp_path / "cut.mp4", frames=9, make_frame=frame, audio=None)
    output = tmp_path / "cut_out.mp4"
    report = stylize_video(source, starry_night, output, keep_frames=True, **TINY)
    assert report.cuts == (5,)
    frames = _frames_of(work_dir_for(output))
    # The frame after the cut is exactly what a render starting there makes: no trace of shot one.
    alone = tmp_path / "alone.mp4"
    stylize_video(source, starry_night, alone, start=Fraction(5, 25), keep_frames=True, **TINY)
    fresh = _frames_of(work_dir_for(alone))
    assert np.array_equal(frames[5], fresh[0])
    assert not np.array_equal(frames[4], fresh[0])


def test_temporal_consistency_lowers_the_warping_error(tmp_path: Path, starry_night: Path) -> None:
    source = make_clip(tmp_path / "pan.mp4", frames=8, make_frame=moving_texture(64, 48, step=2), audio=None)
    budget = {**TINY, "iterations": 30, "frame_iterations": 15}
    steady = stylize_video(source, starry_night, tmp_path / "steady.mp4", **budget)
    independent = stylize_video(
        source, starry_night, tmp_path / "flicker.mp4", temporal_weight=0.0, temporal_init="content", **budget
    )
    assert steady.mean_warping_error is not None and independent.mean_warping_error is not None
    assert steady.mean_warping_error < independent.mean_warping_error / 3


def test_video_errors_are_one_line(tmp_path: Path, starry_night: Path, capsys) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    assert main([str(text), "--style", str(starry_night), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.mp4" in err[0]
    assert main([str(tmp_path / "gone.mp4"), "--style", str(starry_night), "-q"]) == 1
    assert "no such file" in capsys.readouterr().err
    clip = make_clip(tmp_path / "c.mp4", frames=2, audio=None)
    assert main([str(clip), "--style", str(starry_night), "-o", str(tmp_path / "x.gif"), "-q"]) == 1
    assert "unsupported output type" in capsys.readouterr().err


def test_preview_renders_a_short_part_and_estimates_the_full_render(tmp_path: Path, starry_night: Path, capsys) -> None:
    clip = make_clip(tmp_path / "long.mp4", frames=60, rate=Fraction(25))
    assert main([str(clip), "--style", str(starry_night), "--preview", "--duration", "0.4"]) == 0
    out = capsys.readouterr().out
    preview = clip.with_name("long.starry_night.preview.mp4")
    assert len(list(read_frames(preview))) == 10
    assert not clip.with_name("long.starry_night.mp4").exists()
    summary = re.search(r"in .+ \(([\d.]+) s/frame", out)
    estimate = re.search(r"full render estimate: 60 frames at 64x48, about .+ \(([\d.]+) s/frame\)", out)
    assert summary and estimate, out
    assert f"To render it: vidstyle {clip} --style {starry_night} --duration 0.4\n" in out
    # The preview spent 80 + 9 x 20 iterations on 10 frames; the full render's budget is
    # 200 (coarse-to-fine, about 150 at full size) + 59 x 50 on 60 frames: twice as many a frame.
    ratio = float(estimate.group(1)) / float(summary.group(1))
    assert 1.4 < ratio < 3.0, out


def test_a_render_leaves_the_thread_settings_as_it_found_them(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    import cv2
    import torch

    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(3)
    try:
        stylize_video(clip, starry_night, tmp_path / "out.mp4", **{**TINY, "frames": 3})
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (1, 3)
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)
