"""Shots on a real local Ray instance: the same frames as a sequential render, and a killed
worker survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.clips import glued_shots_clip, make_clip, real_frames, saved_frames
from tests.conftest import SAMPLES, TINY
from vidstyle.cli import main
from vidstyle.pipeline import stylize_video
from vidstyle.workdir import WorkDir, work_dir_for

# The threads a render here chooses, which each task takes by default: the same sums in the
# same order. (Different thread counts sum in different orders: 64x48 frames came out up to 27
# levels apart between a 2-thread render here and 1-thread tasks.)
SAME = TINY


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def three_shots(tmp_path_factory) -> Path:
    return glued_shots_clip(
        tmp_path_factory.mktemp("clip") / "glued.mp4", SAMPLES, width=64, height=48, lengths=(4, 5, 4)
    )


@pytest.fixture(scope="module")
def sequential(three_shots: Path, tmp_path_factory) -> list[np.ndarray]:
    output = tmp_path_factory.mktemp("sequential") / "out.mp4"
    report = stylize_video(three_shots, SAMPLES / "starry_night.jpg", output, keep_frames=True, **SAME)
    assert report.cuts == (4, 9)
    return saved_frames(output, 13)


def _worker_pids() -> list[int]:
    """Processes running a shot's task (Ray names them after the function)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ray::_render_task" in command:
                pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_ray_renders_the_same_frames_as_the_sequential_render(
    local_ray, three_shots: Path, sequential: list[np.ndarray], tmp_path: Path
) -> None:
    output = tmp_path / "ray.mp4"
    report = stylize_video(three_shots, SAMPLES / "starry_night.jpg", output, keep_frames=True, ray="auto", **SAME)
    assert report.cuts == (4, 9) and report.rendered == 13
    for index, (a, b) in enumerate(zip(sequential, saved_frames(output, 13), strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs on Ray"


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker through /proc")
def test_a_killed_worker_is_survived(
    local_ray, three_shots: Path, sequential: list[np.ndarray], tmp_path: Path
) -> None:
    output = tmp_path / "killed.mp4"
    killed: list[int] = []

    def kill_a_worker_once(progress) -> None:
        if not killed and progress.done >= 3:
            pids = _worker_pids()
            assert pids, "no task running to kill"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    stylize_video(
        three_shots,
        SAMPLES / "starry_night.jpg",
        output,
        keep_frames=True,
        ray="auto",
        on_frame=kill_a_worker_once,
        **SAME,
    )
    assert killed
    visits = Counter((r.index, r.pass_number) for r in WorkDir(work_dir_for(output)).journal.visits())
    assert sorted(visits) == [(i, 1) for i in range(13)] and set(visits.values()) == {1}, "a frame written twice"
    for index, (a, b) in enumerate(zip(sequential, saved_frames(output, 13), strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs after the retry"


@pytest.mark.slow
def test_a_long_shot_renders_in_chunks_the_same_as_sequentially(local_ray, tmp_path: Path) -> None:
    sources = real_frames(SAMPLES / "pens.mp4", 0, 26, 64, 48)
    clip = make_clip(tmp_path / "long.mp4", frames=26, make_frame=lambda i: sources[i], audio=None)
    chunked = {**SAME, "chunk_frames": 24}
    reports = {
        where: stylize_video(
            clip, SAMPLES / "starry_night.jpg", tmp_path / f"{where}.mp4", keep_frames=True, ray=ray, **chunked
        )
        for where, ray in (("here", None), ("ray", "auto"))
    }
    for report in reports.values():
        assert report.cuts == () and report.rendered == 26 + 8  # two chunks, one seam of 8 re-visits
    # Three tasks: the two chunks, then the seam once both were done.
    tasks = {task.unit: task for task in reports["ray"].tasks}
    first, second, seam = tasks["shot 1 frames 0-12"], tasks["shot 1 frames 13-25"], tasks["shot 1 seam at frame 13"]
    assert len(tasks) == 3 and seam.started >= max(first.ended, second.ended)
    here, there = saved_frames(tmp_path / "here.mp4", 26), saved_frames(tmp_path / "ray.mp4", 26)
    for index, (a, b) in enumerate(zip(here, there, strict=True)):
        assert np.array_equal(a, b), f"frame {index} differs on Ray"


def test_ray_missing_is_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as without the extra
    clip = glued_shots_clip(tmp_path / "c.mp4", SAMPLES, width=64, height=48, lengths=(2, 2, 2))
    args = [str(clip), "--style", str(SAMPLES / "starry_night.jpg"), "--ray", "local", "-q", "--size", "32"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["vidstyle: error: --ray needs Ray: pip install 'vidstyle[ray]'"]


@pytest.mark.slow
def test_a_quiet_render_on_a_local_cluster_prints_only_the_output(tmp_path: Path) -> None:
    """Ray announces the token authentication of every new local cluster on stderr; under -q
    a render on its own cluster prints nothing there, and the output's path on stdout."""
    pytest.importorskip("ray")
    clip = glued_shots_clip(tmp_path / "c.mp4", SAMPLES, width=64, height=48, lengths=(2, 2, 2))
    output = tmp_path / "out.mp4"
    args = [str(clip), "--style", str(SAMPLES / "starry_night.jpg"), "--ray", "local", "-q", "-o", str(output)]
    options = ["--size", "32", "--iterations", "3", "--frame-iterations", "2"]
    env = {**os.environ, "HOME": str(tmp_path)}  # no token saved yet: Ray makes one, as on a new machine
    env.pop("RAY_AUTH_MODE", None)
    done = subprocess.run([sys.executable, "-m", "vidstyle", *args, *options], capture_output=True, text=True, env=env)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", f"{output}\n")
    assert (tmp_path / ".ray" / "auth_token").exists()


@pytest.mark.slow
def test_a_worker_that_paints_in_another_precision_stops_the_render(
    local_ray, three_shots: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """This process is told its CPU answers the other way about native bf16 than the workers'
    (the same CPU) do: it records one precision and the workers paint in the other, as a CPU
    driver with GPU workers would. The render stops, rather than mix them under one record."""
    from vidstyle import device as device_module

    native = device_module.cpu_has_native_bf16()
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: not native)
    output = tmp_path / "out.mp4"
    args = [str(three_shots), "--style", str(SAMPLES / "starry_night.jpg"), "--ray", "auto", "-o", str(output)]
    assert main([*args, "--size", "64", "--iterations", "2", "--frame-iterations", "1", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    here, there = ("float32", "bfloat16") if native else ("bfloat16", "float32")
    assert len(err) == 1 and f"paints on cpu, {there}, and this render on cpu, {here} (chosen here" in err[0], err
    assert not output.exists()


def test_an_init_image_is_read_once_and_sent_to_the_workers(tmp_path: Path, photo_path: Path) -> None:
    from vidstyle.settings import EngineSettings, LossWeights, OptimizerSettings, StyleSettings
    from vidstyle.stylizer import Stylizer

    stylizer = Stylizer(
        StyleSettings(paths=(SAMPLES / "starry_night.jpg",)), LossWeights(), OptimizerSettings(scales=1),
        EngineSettings(), content_size=(48, 64),
    )  # fmt: skip
    frame = np.zeros((64, 48, 3), np.uint8)
    first = stylizer.first_frame_init(frame, str(photo_path), seed=0)
    photo_path.unlink()  # a worker that cannot reach the file still starts from the image
    given = Stylizer(
        StyleSettings(paths=(SAMPLES / "starry_night.jpg",)), LossWeights(), OptimizerSettings(scales=1),
        EngineSettings(), content_size=(48, 64), init_picture=stylizer.init_picture,
    )  # fmt: skip
    assert given.first_frame_init(frame, str(photo_path), seed=0).equal(first)
