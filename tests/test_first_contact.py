"""Defects a user met without warning: options that did nothing, a resume that refused what
paints the same frames, a partial output deleted by a second run, a folder sync that fails
on some filesystems, a torchvision that does not match torch, and --units changing frames."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import types
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.clips import make_clip
from tests.conftest import TINY, TINY_ARGS
from vidstyle import outputs
from vidstyle.backend import Backend
from vidstyle.cli import main
from vidstyle.config import build_job
from vidstyle.errors import UsageError, WeightsError
from vidstyle.kill_points import KILL_AT_VARIABLE
from vidstyle.pipeline import stylize_video
from vidstyle.render_setup import choose_chunking
from vidstyle.settings import ClusterSettings, Job, cluster_settings
from vidstyle.video_io import read_frames
from vidstyle.workdir import MANIFEST_NAME, work_dir_for

REPO = Path(__file__).resolve().parent.parent


def test_torch_is_pinned_to_a_major_version_not_a_patch_release() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert '"torch>=2.1,<3"' in text and '"torchvision>=0.16,<1"' in text
    assert "<=" not in text  # a bug-fix release is never blocked


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"flow": "farneback", "flow_preset": "fast"}, "--flow-preset sets DIS's quality; --flow farneback"),
        ({"learning_rate": 0.1}, "--lr is Adam's learning rate"),
    ],
)
def test_an_option_that_would_do_nothing_is_refused(starry_night: Path, options: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        build_job([starry_night], **options)


def test_options_that_do_something_are_taken(starry_night: Path) -> None:
    assert build_job([starry_night], flow="dis", flow_preset="fast").temporal.dis_preset == "fast"
    assert build_job([starry_night], optimizer="adam", learning_rate=0.1).optimizer.learning_rate == 0.1


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4", frames=4, rate=Fraction(25), audio=None)


def test_an_x264_preset_for_a_webm_output_is_refused(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--x264-preset applies to H\.264 outputs; out\.webm is encoded with libvpx"):
        stylize_video(clip, starry_night, tmp_path / "out.webm", x264_preset="fast", size=32)
    assert not work_dir_for(tmp_path / "out.webm").exists()


def test_units_with_ray_are_refused_before_any_cluster_starts(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    code = main([str(clip), "-s", str(starry_night), "--ray", "local", "--units", "2", "-o", str(tmp_path / "o.mp4")])
    assert code == 2


def _backend(device: str, units: int) -> Backend:
    return Backend(torch.device(device), None, 2, 0, units, device == "cuda", device == "cuda")


def test_chunking_is_chosen_by_the_machine_not_by_the_units(starry_night: Path, tmp_path: Path) -> None:
    job = build_job([starry_night])
    folder = tmp_path / "none.vidstyle-work"

    def chunk_frames(job: Job, device: str, units: int, cluster: ClusterSettings | None = None) -> int | None:
        return choose_chunking(job, cluster, _backend(device, units), folder, restart=False).temporal.chunk_frames

    assert chunk_frames(job, "cuda", 1) == chunk_frames(job, "cuda", 4) == 200  # the same frames whatever --units
    assert chunk_frames(job, "cpu", 1) == chunk_frames(job, "cpu", 4) == 0
    assert chunk_frames(job, "cpu", 1, cluster_settings("local", None)) == 200
    assert chunk_frames(replace(job, temporal=replace(job.temporal, chunk_frames=48)), "cuda", 4) == 48
    # A render resumed keeps the chunks its work folder records, here or on another machine.
    folder.mkdir()
    (folder / MANIFEST_NAME).write_text(json.dumps({"job": {"temporal": {"chunk_frames": 24}}}))
    assert chunk_frames(job, "cpu", 1) == chunk_frames(job, "cuda", 2) == 24
    assert choose_chunking(job, None, _backend("cuda", 1), folder, restart=True).temporal.chunk_frames == 200


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_resume_takes_settings_that_paint_the_same_frames(clip: Path, starry_night: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mp4"
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "--threads", "1", "-q", "-o", str(output)]
    env = {**os.environ, KILL_AT_VARIABLE: "saving:1"}
    killed = subprocess.run([sys.executable, "-m", "vidstyle", *args], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL
    # --size 64 is this clip's own size, which the default chooses too; --device cpu is what
    # auto chose; --output-size processing writes the painted size, the same frames here.
    same = [a for a in args if a not in ("--size", "64")] + ["--device", "cpu", "--output-size", "processing"]
    assert main(same) == 0
    assert output.exists()


def test_a_second_run_leaves_the_first_runs_partial_output_alone(
    clip: Path, starry_night: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.mp4"
    work = work_dir_for(output)
    work.mkdir()
    partial = tmp_path / ".out.abcd1234.partial.mp4"  # what the first run is encoding into
    partial.write_bytes(b"being written")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(work / "lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code = main([str(clip), "--style", str(starry_night), *TINY_ARGS, "-q", "-o", str(output)])
        assert code == 1
        assert partial.read_bytes() == b"being written"
    finally:
        holder.kill()
        holder.wait()


def test_a_folder_sync_that_the_filesystem_refuses_does_not_fail_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def refusing(descriptor: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{descriptor}") or _is_folder(descriptor):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", refusing)
    target = tmp_path / "file.txt"
    outputs.write_bytes_atomically(target, b"kept")
    assert target.read_bytes() == b"kept"

    def failing(descriptor: int) -> None:  # a real failure still fails
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="Input/output"):
        outputs.write_bytes_atomically(tmp_path / "other.txt", b"lost")


def _is_folder(descriptor: int) -> bool:
    import stat

    return stat.S_ISDIR(os.fstat(descriptor).st_mode)


def test_a_torchvision_built_for_another_torch_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidstyle import vgg

    broken = types.ModuleType("torchvision.models")

    def fail(name: str) -> object:
        raise RuntimeError("operator torchvision::nms does not exist")

    broken.__getattr__ = fail  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "torchvision.models", broken)
    with pytest.raises(WeightsError, match=r"needs a torchvision built for this torch .*nms does not exist"):
        vgg._torchvision_state_dict()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_kill_between_a_revisits_frame_and_its_line_resumes_to_the_same_video(
    starry_night: Path, tmp_path: Path
) -> None:
    """Pass 2 re-visits frames 7, 6, 5 ...: killed once frame 5's second visit is written and
    before its line, the resumed visit must start from frame 5's first-pass frame, not from
    its own unrecorded result (which replaced it before staging)."""
    clip = make_clip(tmp_path / "clip.mp4", frames=8, rate=Fraction(25), audio=None)
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "--passes", "2", "--threads", "1", "-q"]
    whole = tmp_path / "whole.mp4"
    assert main([*args, "-o", str(whole)]) == 0
    output = tmp_path / "out.mp4"
    env = {**os.environ, KILL_AT_VARIABLE: "saving:5:pass2"}
    killed = subprocess.run([sys.executable, "-m", "vidstyle", *args, "-o", str(output)], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL
    frames = work_dir_for(output) / "frames"
    assert (frames / "000005.pass2.png").exists()  # the visit's frame, staged; its line never written
    assert main([*args, "-o", str(output)]) == 0
    expected, resumed = list(read_frames(whole)), list(read_frames(output))
    assert all(np.array_equal(a.frame, b.frame) for a, b in zip(expected, resumed, strict=True))


def test_a_resume_checks_saved_frames_without_decoding_them(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pipeline import render_interrupted
    from vidstyle.frame_store import FrameStore
    from vidstyle.workdir import WorkDir

    output = tmp_path / "out.mp4"
    render_interrupted(clip, starry_night, output, after=3, **TINY)

    def decoded(self: FrameStore, index: int) -> None:
        raise AssertionError(f"frame {index} decoded to resume")

    monkeypatch.setattr(FrameStore, "load_if_readable", decoded)
    state = WorkDir(work_dir_for(output)).resume_state([range(4)], passes=1)
    assert sorted(state.records) == [0, 1, 2]


def test_nvof_without_its_engine_fails_in_one_line_before_the_shot_plan(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vidstyle import pipeline
    from vidstyle.flow import nvof

    monkeypatch.setattr(nvof, "missing", lambda: "no CUDA card")

    def planned(*args: object, **kwargs: object) -> None:
        raise AssertionError("the shot plan started")

    monkeypatch.setattr(pipeline, "plan_shots", planned)
    code = main([str(clip), "--style", str(starry_night), "--flow", "nvof", "-o", str(tmp_path / "o.mp4")])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "vidstyle: error: --flow nvof needs NVIDIA's optical-flow engine: no CUDA card; use dis"
    )
    assert not work_dir_for(tmp_path / "o.mp4").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux tells the umask in /proc")
def test_the_umask_is_read_without_being_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    mask = os.umask(0o022)
    os.umask(mask)

    def flipped(value: int) -> int:
        raise AssertionError("the umask was set, for every thread, to read it")

    monkeypatch.setattr(os, "umask", flipped)
    assert outputs._umask() == mask


def test_a_new_journals_entry_in_its_folder_is_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidstyle.journal import FrameRecord, Journal

    folders: list[str] = []
    real_fsync = os.fsync

    def recording(descriptor: int) -> None:
        if _is_folder(descriptor):
            folders.append(os.readlink(f"/proc/self/fd/{descriptor}") if sys.platform.startswith("linux") else "?")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    journal = Journal(tmp_path)
    record = FrameRecord(0, 0, 1, True, 1, 0.0, 1.0, 0.5, 0.5, 0.0, None, None)
    journal.add_visit(record)
    assert len(folders) == 1  # the file is new: its folder entry is synced
    journal.add_visit(record)
    assert len(folders) == 1  # appending to it needs no folder sync


@pytest.mark.slow
def test_units_in_threads_report_their_steps_one_at_a_time(starry_night: Path, tmp_path: Path) -> None:
    import threading
    import time

    clip = make_clip(tmp_path / "clip.mp4", frames=30, rate=Fraction(25), audio=None)
    inside = threading.Lock()
    overlaps: list[int] = []
    steps: list[int] = []

    def on_step(done: int, planned: int, loss: float) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(done)  # another unit's thread is in the callback
            return
        try:
            steps.append(done)
            time.sleep(0.002)  # a progress bar's redraw
        finally:
            inside.release()

    report = stylize_video(
        clip, starry_night, tmp_path / "again.mp4", units=2, chunk_frames=24, threads=1, on_step=on_step, **TINY
    )
    assert report.frames == 30 and steps
    assert overlaps == []


def test_the_memory_check_counts_the_units_that_will_paint_at_once(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-shot clip with --units 2 paints one unit: its memory is one frame's, and no second
    # copy of the network is built.
    from vidstyle import local_render, render_setup

    checked: list[int] = []
    copies: list[object] = []
    real_check, real_copy = render_setup.check_frame_fits, local_render._another_painter

    def check(*args: object, units: int = 1, **kwargs: object) -> None:
        checked.append(units)
        real_check(*args, units=units, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render_setup, "check_frame_fits", check)
    monkeypatch.setattr(local_render, "_another_painter", lambda s: (copies.append(s), real_copy(s))[1])
    stylize_video(clip, starry_night, tmp_path / "one.mp4", units=2, threads=1, **TINY)
    assert checked == [1] and copies == []


def test_a_resumed_renders_first_lines_count_only_what_is_left(
    starry_night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from tests.test_pipeline import render_interrupted
    from vidstyle import announce

    # 128 px high: a first frame painted coarse to fine (its levels at least 64 px), and said so.
    clip = make_clip(tmp_path / "clip.mp4", frames=8, width=176, height=128, rate=Fraction(25), audio=None)
    output = tmp_path / "out.mp4"
    settings = {**TINY, "size": 176, "scales": 2}
    caplog.set_level(logging.INFO, logger="vidstyle")
    render_interrupted(clip, starry_night, output, after=5, **settings)
    assert "coarse to fine" in caplog.text
    estimated: list[dict[str, object]] = []
    real = announce.estimate_before_render
    monkeypatch.setattr(announce, "estimate_before_render", lambda *a, **k: (estimated.append(k), real(*a, **k))[1])
    caplog.clear()
    stylize_video(clip, starry_night, output, **settings)
    # The shot's first frame is done: three later frames are left, and no coarse-to-fine line.
    assert [(k["fresh"], k["later"]) for k in estimated] == [(0, 3)]
    assert "coarse to fine" not in caplog.text and "visits" not in caplog.text
    assert "resuming at frame 5: 5 of 8 frames painted before" in caplog.text


def test_an_estimate_shares_the_network_between_units_and_waits_for_slow_flows() -> None:
    from vidstyle.estimate import Pace

    assert Pace().wall_seconds(100.0, 10) == 100.0  # a CPU: one unit, flows in its time
    beside = Pace(units_at_once=2, flow_seconds=0.4, flow_workers=4)
    assert beside.wall_seconds(100.0, 10) == 50.0  # the card's pace: two units share it
    assert beside.wall_seconds(1.0, 100) == pytest.approx(10.0)  # the flows' pace: 100 x 0.4 s / 4 workers
