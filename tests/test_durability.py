"""Nothing lost: the finished video reaches the disk before its frames are deleted, and a torn
journal line costs one record, not the render."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.clips import make_clip, moving_texture
from tests.conftest import TINY
from tests.test_pipeline import render_interrupted
from vidstyle import outputs
from vidstyle.errors import ResumeMismatchError
from vidstyle.journal import LOG_NAME
from vidstyle.pipeline import stylize_video
from vidstyle.video_io import read_frames
from vidstyle.workdir import WorkDir, work_dir_for


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4", frames=8, rate=Fraction(25))


def test_a_torn_journal_line_and_a_second_kill_still_finish_as_an_undisturbed_render(
    clip: Path, starry_night: Path, tmp_path: Path
) -> None:
    undisturbed = [f.frame for f in read_frames(stylize_video(clip, starry_night, tmp_path / "a.mp4", **TINY).output)]
    output = tmp_path / "b.mp4"
    render_interrupted(clip, starry_night, output, after=3, **TINY)
    journal = work_dir_for(output) / LOG_NAME
    text = journal.read_text()
    assert text.endswith("\n") and text.count("\n") == 3
    journal.write_text(text[: len(text) - 25])  # killed while writing frame 2's line
    assert sorted(WorkDir(work_dir_for(output)).records()) == [0, 1]
    # The next run appends after the torn line; killed again, its records must survive.
    render_interrupted(clip, starry_night, output, after=5, **TINY)
    assert sorted(WorkDir(work_dir_for(output)).records()) == [0, 1, 2, 3, 4]
    report = stylize_video(clip, starry_night, output, **TINY)
    assert report.frames == 8
    resumed = [f.frame for f in read_frames(output)]
    assert all(np.array_equal(a, b) for a, b in zip(undisturbed, resumed, strict=True))


def test_the_output_reaches_the_disk_before_the_frames_are_removed(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch
) -> None:
    """Recorded in order: the encoded file's fsync, its rename, its folder's fsync, and only
    then the work folder's removal. A power cut between any two leaves the video or the frames."""
    calls: list[tuple[str, str]] = []
    output = tmp_path / "out.mp4"
    real_fsync, real_replace, real_rmtree = os.fsync, os.replace, shutil.rmtree

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        calls.append(("replace", str(target)))
        real_replace(source, target)

    def rmtree(path: str | Path, **kwargs: object) -> None:
        calls.append(("rmtree", str(path)))
        real_rmtree(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    stylize_video(clip, starry_night, output, **TINY)
    renamed = calls.index(("replace", str(output)))
    removed = calls.index(("rmtree", str(work_dir_for(output))))
    assert calls[renamed - 1][0] == "fsync" and calls[renamed - 1][1].endswith(".partial.mp4")
    assert calls[renamed + 1] == ("fsync", str(tmp_path))
    assert renamed + 1 < removed
    # Every rename the work folder relies on is followed by its folder's fsync too.
    work = work_dir_for(output)
    for position, (kind, target) in enumerate(calls):
        if kind == "replace" and target.startswith(str(work)):
            assert calls[position + 1] == ("fsync", str(Path(target).parent)), (target, calls[position + 1])


def test_durable_rename_syncs_the_file_then_the_folder(tmp_path: Path, monkeypatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    target = tmp_path / "out.bin"
    with outputs.temporary_output(target) as temp:
        temp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert len(synced) == 2 and synced[0].endswith(".partial.bin") and synced[1] == str(tmp_path)


def test_a_damaged_frame_in_a_finished_shot_renders_its_shot_again(starry_night: Path, tmp_path: Path, caplog) -> None:
    # Two shots: a texture sliding right, then another one (a cut at frame 4).
    first, second = moving_texture(64, 48, seed=0), moving_texture(64, 48, seed=7)
    clip = make_clip(tmp_path / "cut.mp4", frames=8, make_frame=lambda i: first(i) if i < 4 else second(i), audio=None)
    undisturbed = stylize_video(clip, starry_night, tmp_path / "a.mp4", **TINY)
    assert undisturbed.cuts == (4,)
    output = tmp_path / "b.mp4"
    render_interrupted(clip, starry_night, output, after=6, **TINY)
    work = WorkDir(work_dir_for(output))
    assert 0 in work.journal.finished_shots()
    png = work.frames.path(2)
    png.write_bytes(png.read_bytes()[:-40])  # a copy or a write cut short
    assert not work.frames.is_whole(2) and work.frames.is_whole(1)
    report = stylize_video(clip, starry_night, output, **TINY)
    assert "frame 2 of the work folder is missing or damaged; rendering its shot (frames 0-3) again" in caplog.text
    assert report.rendered == 8 - 2  # shot 0 again, and what shot 1 had left
    expected = [f.frame for f in read_frames(undisturbed.output)]
    assert all(np.array_equal(a, b.frame) for a, b in zip(expected, read_frames(output), strict=True))


def test_a_damaged_frame_in_a_looped_clips_first_shot_paints_the_loops_seam_again(
    starry_night: Path, tmp_path: Path
) -> None:
    # The loop's seam belongs to the last shot and re-visits the first shot's first frames: a
    # first shot painted again after damage must get its seam again.
    first, second = moving_texture(64, 48, seed=0), moving_texture(64, 48, seed=7)
    clip = make_clip(tmp_path / "cut.mp4", frames=8, make_frame=lambda i: first(i) if i < 4 else second(i), audio=None)
    undisturbed = stylize_video(clip, starry_night, tmp_path / "a.mp4", loop=True, **TINY)
    assert undisturbed.cuts == (4,)
    output = tmp_path / "b.mp4"
    stylize_video(clip, starry_night, output, loop=True, keep_frames=True, **TINY)
    output.unlink()
    work = WorkDir(work_dir_for(output))
    assert work.journal.finished_shots().keys() == {0, 1}
    png = work.frames.path(1)
    png.write_bytes(png.read_bytes()[:-40])
    report = stylize_video(clip, starry_night, output, loop=True, **TINY)
    assert report.rendered == 4 + 4  # shot 0, then the seam's re-visits of frames 0-3
    expected = [f.frame for f in read_frames(undisturbed.output)]
    assert all(np.array_equal(a, b.frame) for a, b in zip(expected, read_frames(output), strict=True))


def test_a_render_resumes_after_its_source_moves_its_work_folder_is_copied_and_vidstyle_is_upgraded(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch, caplog
) -> None:
    undisturbed = [f.frame for f in read_frames(stylize_video(clip, starry_night, tmp_path / "a.mp4", **TINY).output)]
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    output = first / "out.mp4"
    render_interrupted(clip, starry_night, output, after=3, **TINY)
    # The clip moves (a new path and time), the work folder is copied to another folder.
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.copy(clip, moved)
    clip.unlink()
    shutil.copytree(first, second)
    monkeypatch.setattr("vidstyle.render_setup.__version__", "99.0")  # a release that paints the same
    caplog.set_level("INFO")
    report = stylize_video(moved, starry_night, second / "out.mp4", **TINY)
    assert report.resumed_from == 3 and report.rendered == 8 - 3
    assert "resuming on another setup (vidstyle" in caplog.text and "-> 99.0" in caplog.text
    resumed = [f.frame for f in read_frames(second / "out.mp4")]
    assert all(np.array_equal(a, b) for a, b in zip(undisturbed, resumed, strict=True))
    # Another clip under the old name is not taken for it.
    make_clip(clip, frames=8, rate=Fraction(25), make_frame=moving_texture(64, 48, seed=3))
    with pytest.raises(ResumeMismatchError, match="the source video"):
        stylize_video(clip, starry_night, first / "out.mp4", **TINY)


def test_running_out_of_memory_mid_render_keeps_the_frames_and_says_what_to_do(
    clip: Path, starry_night: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    import torch

    from tests.conftest import TINY_ARGS
    from vidstyle.cli import main
    from vidstyle.stylizer import Stylizer

    stylize, calls = Stylizer.stylize, []

    def short_of_memory(self: Stylizer, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return stylize(self, *args, **kwargs)  # type: ignore[arg-type]

    output = tmp_path / "out.mp4"
    args = [str(clip), "--style", str(starry_night), *TINY_ARGS, "-o", str(output)]
    monkeypatch.setattr(Stylizer, "stylize", short_of_memory)
    assert main([*args, "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    work = work_dir_for(output)
    again = " ".join(["vidstyle", *args, "-q"])
    assert err == [
        f"vidstyle: error: the device ran out of memory while painting; 3 finished frame(s) are kept in {work}. "
        f"Free memory (close other programs) and run the same command again to resume: {again}; "
        "or paint smaller, starting over: add --size 48 --restart"
    ]
    monkeypatch.setattr(Stylizer, "stylize", stylize)
    assert main([*args, "-q"]) == 0
    assert len(list(read_frames(output))) == 8


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "frames", "after"),
    [({"passes": 2}, 8, 11), ({"loop": True}, 8, 6), ({"chunk_frames": 24}, 30, 27)],
    ids=["passes", "loop", "chunks"],
)
def test_multi_pass_loop_and_chunked_renders_resume_to_the_same_frames(
    options: dict[str, object], frames: int, after: int, starry_night: Path, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=frames, rate=Fraction(25), audio=None)
    undisturbed = list(read_frames(stylize_video(clip, starry_night, tmp_path / "a.mp4", **TINY, **options).output))
    output = tmp_path / "b.mp4"
    render_interrupted(clip, starry_night, output, after=after, **TINY, **options)
    assert len(WorkDir(work_dir_for(output)).records()) > 0
    report = stylize_video(clip, starry_night, output, **TINY, **options)
    assert report.resumed_from > 0 or report.rendered < report.visits
    resumed = list(read_frames(output))
    assert [f.pts for f in resumed] == [f.pts for f in undisturbed]
    assert all(np.array_equal(a.frame, b.frame) for a, b in zip(undisturbed, resumed, strict=True))
