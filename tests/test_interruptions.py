"""A render killed from outside (SIGKILL, SIGTERM) resumes to the frames of one that never stopped."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, saved_frames
from tests.conftest import TINY_ARGS
from vidstyle.cli import main
from vidstyle.journal import LOG_NAME
from vidstyle.kill_points import KILL_AT_VARIABLE
from vidstyle.video_io import read_frames
from vidstyle.workdir import work_dir_for

FRAMES = 30


def _start_and_signal(
    args: list[str], output: Path, signum: int, after: int, preexec_fn: Callable[[], object] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vidstyle args`` and send it ``signum`` once ``after`` frames are logged."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vidstyle", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
    log = work_dir_for(output) / LOG_NAME
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= after:
            process.send_signal(signum)
            break
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=FRAMES, rate=Fraction(25), audio=None)


@pytest.fixture(scope="module")
def uninterrupted(long_clip: Path, tmp_path_factory, starry_night: Path) -> list[np.ndarray]:
    output = tmp_path_factory.mktemp("whole") / "whole.mp4"
    args = [str(long_clip), "--style", str(starry_night), *TINY_ARGS, "--threads", "1", "-o", str(output)]
    assert main([*args, "--keep-frames", "-q"]) == 0
    return saved_frames(output, FRAMES)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_render_resumes_to_the_same_frames(
    signum: int, long_clip: Path, uninterrupted: list[np.ndarray], starry_night: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.mp4"
    args = [str(long_clip), "--style", str(starry_night), *TINY_ARGS, "--threads", "1", "-o", str(output)]
    stopped = _start_and_signal([*args, "--keep-frames"], output, signum, after=5)
    done = [json.loads(line)["index"] for line in (work_dir_for(output) / LOG_NAME).read_text().splitlines()]
    assert 5 <= len(done) < FRAMES, "the signal came too late to stop the render in the middle"
    assert not output.exists()
    if signum == signal.SIGTERM:  # a clean stop: says how to resume
        message = f"vidstyle: interrupted; {len(set(done))} finished frames are kept in {work_dir_for(output)}. "
        again = f"Run the same command again to resume: vidstyle {shlex.join([*args, '--keep-frames'])}\n"
        assert stopped.returncode == 130 and message + again in stopped.stderr
    else:
        assert stopped.returncode == -signal.SIGKILL
    assert main([*args, "--keep-frames", "-q"]) == 0
    for index, (a, b) in enumerate(zip(uninterrupted, saved_frames(output, FRAMES), strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs after the {signal.Signals(signum).name}"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX record locks")
def test_a_second_run_into_the_same_work_folder_stops_with_one_line(
    long_clip: Path, starry_night: Path, tmp_path: Path, capsys
) -> None:
    # Without the lock, the second run rendered the same frames beside the first and crashed
    # when the first finished and removed the folder.
    output = tmp_path / "out.mp4"
    args = [str(long_clip), "--style", str(starry_night), *TINY_ARGS, "--frame-iterations", "30", "-o", str(output)]
    first = subprocess.Popen(
        [sys.executable, "-m", "vidstyle", *args, "--threads", "1", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = work_dir_for(output) / LOG_NAME
    deadline = time.monotonic() + 300
    while first.poll() is None and time.monotonic() < deadline and not (log.exists() and log.read_text()):
        time.sleep(0.05)
    try:
        for extra in ([], ["--restart"]):  # --restart must not empty the folder under it either
            assert main([*args, *extra, "-q"]) == 1
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and "another vidstyle run is rendering into" in err[0], err
        assert first.poll() is None, "the first run ended before the second was refused"
        assert (work_dir_for(output) / LOG_NAME).read_text()  # its frames are still there
    finally:
        first.kill()
        first.communicate(timeout=60)
    # The lock went with the killed process: a new run goes ahead (other settings, so --restart).
    assert main([*args, "--frames", "2", "--restart", "-q"]) == 0
    assert len(list(read_frames(output))) == 2


@pytest.mark.parametrize("where", ["vidstyle.stylizer.Stylizer.__init__", "vidstyle.pipeline.plan_shots"])
def test_an_interruption_before_the_first_frame_says_so(
    where: str, long_clip: Path, starry_night: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(where, interrupt)
    output = tmp_path / "out.mp4"
    args = [str(long_clip), "--style", str(starry_night), *TINY_ARGS, "-q", "-o", str(output)]
    assert main(args) == 130
    err = capsys.readouterr().err.strip()
    if where.endswith("__init__"):  # before the work folder is made
        assert err == "vidstyle: interrupted before the first frame was finished; nothing was kept."
        assert sorted(p.name for p in tmp_path.iterdir()) == []
    else:
        work = work_dir_for(output)
        assert err == (
            f"vidstyle: interrupted before the first frame was finished; the work so far is kept in {work}. "
            f"Run the same command again to go on: vidstyle {shlex.join(args)}"
        )
        assert work.is_dir()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_closed_terminal_stops_a_render_unless_it_was_started_with_nohup(
    long_clip: Path, starry_night: Path, tmp_path: Path
) -> None:
    for nohup in (False, True):
        output = tmp_path / f"nohup{nohup}.mp4"
        args = [str(long_clip), "--style", str(starry_night), *TINY_ARGS, "--frames", "8", "-o", str(output)]
        # nohup starts its command with SIGHUP ignored, as this does; a terminal starts it with
        # SIGHUP's default, whatever the test itself was started with (under nohup, say).
        disposition = signal.SIG_IGN if nohup else signal.SIG_DFL
        finished = _start_and_signal(
            args, output, signal.SIGHUP, after=2, preexec_fn=lambda d=disposition: signal.signal(signal.SIGHUP, d)
        )
        assert finished.returncode == (0 if nohup else 130), finished.stderr
        assert output.exists() == nohup


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("point", ["planned", "saving:0", "saving:3", "encoding", "cleanup"])
def test_a_render_killed_at_any_phase_resumes_to_the_same_video(point: str, starry_night: Path, tmp_path: Path) -> None:
    """Killed (SIGKILL, as a power cut) at a named point, not after a time: the same on a
    fast machine and a slow one."""
    clip = make_clip(tmp_path / "clip.mp4", frames=8, rate=Fraction(25))
    whole = tmp_path / "whole.mp4"
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "--threads", "1", "-q"]
    assert main([*args, "-o", str(whole)]) == 0
    output = tmp_path / "out.mp4"
    env = {**os.environ, KILL_AT_VARIABLE: point}
    killed = subprocess.run([sys.executable, "-m", "vidstyle", *args, "-o", str(output)], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL
    if point == "cleanup":  # the video was whole and in place: only the work folder is left over
        assert output.exists() and work_dir_for(output).is_dir()
    else:
        assert not output.exists()
        assert main([*args, "-o", str(output)]) == 0
    expected, resumed = list(read_frames(whole)), list(read_frames(output))
    assert [f.pts for f in resumed] == [f.pts for f in expected]
    assert all(np.array_equal(a.frame, b.frame) for a, b in zip(expected, resumed, strict=True))
